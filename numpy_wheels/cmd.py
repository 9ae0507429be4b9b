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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeAlias

from numpy_wheels.errors import CommandNotFoundError, FatalError
from numpy_wheels.log import log

Arg: TypeAlias = str | os.PathLike[str]


def _render(args: Sequence[Arg]) -> str:
    return shlex.join(os.fspath(a) for a in args)


def call(
    *args: Arg,
    env: Mapping[str, str] | None = None,
    cwd: Arg | None = None,
    capture: bool = False,
    error: type[FatalError] = FatalError,
    echo: bool = True,
) -> str:
    """Run ``args``; return its output when ``capture`` (else ``""``); raise ``error`` on failure.

    ``env`` replaces the environment entirely when given: callers build it on purpose.
    """
    argv = [os.fspath(a) for a in args]
    if (
        shutil.which(argv[0], path=(env or os.environ).get("PATH")) is None
        and not Path(argv[0]).is_file()
    ):
        msg = f"{argv[0]!r} is not installed or not on PATH (needed for: {_render(argv)})"
        raise CommandNotFoundError(msg)
    if echo:
        log.write(f"+ {_render(argv)}" + (f"  (in {os.fspath(cwd)})" if cwd else ""))
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
        tail: collections.deque[str] = collections.deque(maxlen=200)
        if capture:
            out, err = proc.communicate()
            tail.extend((out + err).splitlines())
            if proc.returncode != 0:
                for line in err.splitlines()[-40:]:
                    log.write(line)
        else:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line.rstrip("\n"))
                tail.append(line.rstrip("\n"))
            proc.wait()
            out = ""
    if proc.returncode != 0:
        msg = f"command failed with exit code {proc.returncode}: {_render(argv)}"
        exc = error(log.redact(msg))
        exc.output = log.redact("\n".join(tail))
        raise exc
    return out


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
