"""The CLI as a real process where only a process shows the behaviour: the reader of its
output going away (EPIPE, ``… | head -1``), and --debug-traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
