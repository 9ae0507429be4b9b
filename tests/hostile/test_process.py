"""The CLI as a real process where only a process shows the behaviour: the reader of its
output going away (EPIPE, ``… | head -1``), and --debug-traceback."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "numpy_wheels"]


def numpy_repo(root: Path) -> Path:
    """A wheels repository that names its project (none is assumed)."""
    (root / "pyproject.toml").write_text('[tool.numpy-wheels]\nproject = "numpy"\n')
    return root


def test_reader_gone_exits_141_quietly(tmp_path: Path) -> None:
    """As `numpy-wheels matrix --wheels 2.4.6 | head -1` once head has exited."""
    numpy_repo(tmp_path)
    proc = subprocess.Popen(
        [*CLI, "--root", str(tmp_path), "matrix", "--wheels", "2.4.6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first line
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141
    assert b"Traceback" not in err
    assert b"BrokenPipeError" not in err
    assert err == b""


def test_head_in_a_shell_pipeline(tmp_path: Path) -> None:
    numpy_repo(tmp_path)
    script = (
        f"{' '.join(CLI)} --root {tmp_path} matrix --wheels 2.4.6 | head -1; "
        'echo "status ${PIPESTATUS[0]}" >&2'
    )
    done = subprocess.run(
        ["bash", "-c", script], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.startswith("numpy-2.4.6-")
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] in ("status 0", "status 141")


def test_debug_traceback_still_shows_the_stack(tmp_path: Path) -> None:
    (tmp_path / ".travis.yml").write_text("env: {global: [[1]]}\n")
    plain = subprocess.run(
        [*CLI, "--root", str(tmp_path), "lint"], check=False, capture_output=True, text=True
    )
    debug = subprocess.run(
        [*CLI, "--root", str(tmp_path), "--debug-traceback", "lint"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert plain.returncode == debug.returncode == 3
    assert "Traceback" not in plain.stderr
    assert "Traceback (most recent call last)" in debug.stderr
    assert "readers.py" in debug.stderr


def closed_pipe() -> int:
    """The write end of a pipe whose reader is already gone: every write is EPIPE, with no
    race against the child's start-up."""
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.mark.parametrize(
    ("argv", "stream"),
    [
        (["lint"], "stderr"),  # a typed error (ConfigError: no CI files) to a gone reader
        (["matrix", "--bogus"], "stderr"),  # argparse's usage error
        (["matrix", "--wheels", "2.4.6"], "stdout"),
        (["matrix", "--wheels", "2.4.6", "--json"], "stdout"),
    ],
    ids=["error", "usage", "output", "json"],
)
def test_a_gone_reader_of_either_stream_is_141(
    tmp_path: Path, argv: list[str], stream: str
) -> None:
    """`numpy-wheels lint 2>&1 | head -0`: the message cannot be written, and writing it must
    not become a second failure (it was BrokenPipeError inside the error handler, exit 1).
    argparse swallows its own write errors, so a usage error keeps its 2."""
    root = tmp_path if argv[0] == "lint" else numpy_repo(tmp_path)
    pipe = closed_pipe()
    try:
        done = subprocess.run(
            [*CLI, "--root", str(root), *argv],
            check=False,
            timeout=60,
            stdout=pipe if stream == "stdout" else subprocess.DEVNULL,
            stderr=pipe if stream == "stderr" else subprocess.PIPE,
        )
    finally:
        os.close(pipe)
    assert done.returncode == (2 if "--bogus" in argv else 141)
    assert not done.stderr  # nothing said about the pipe on the other stream


@pytest.mark.parametrize(
    ("argv", "code"),
    [(["lint"], 3), (["matrix", "--wheels", "2.4.6"], 0), (["matrix", "--bogus"], 2)],
    ids=["error", "output", "usage"],
)
@pytest.mark.parametrize("closed", ["stdout", "stderr", "both"])
def test_a_closed_stream_keeps_the_documented_code(
    tmp_path: Path, argv: list[str], code: int, closed: str
) -> None:
    """Started with stdout/stderr closed (`>&-`, `2>&-`): Python's streams are None; output
    is dropped, as print() drops it, and the command's own exit code stands."""
    root = tmp_path if argv[0] == "lint" else numpy_repo(tmp_path)
    redirect = {"stdout": ">&-", "stderr": "2>&-", "both": ">&- 2>&-"}[closed]
    command = " ".join(shlex.quote(a) for a in [*CLI, "--root", str(root), *argv])
    done = subprocess.run(
        ["bash", "-c", f'{command} {redirect}; echo "status $?"'],
        check=False,
        timeout=60,
        capture_output=True,
        text=True,
    )
    assert done.stdout.splitlines()[-1] == f"status {code}"
    assert "internal error" not in done.stderr
    assert "Traceback" not in done.stderr
    if closed == "stdout" and argv[0] == "lint":
        assert "numpy-wheels: error: no CI files" in done.stderr  # stderr still says why
