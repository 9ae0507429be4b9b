"""The CLI as a real process where only a process shows the behaviour: the reader of its
output going away (EPIPE, ``… | head -1``), and --debug-traceback."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile.badserver import BadServer, Route

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
    """Started with stdout/stderr closed (`>&-`, `2>&-`): Python's streams are None. Output
    the command has to write to a closed stdout is OutputError (24) — it was exit 0 with the
    output lost; errors keep their own code; a closed stderr only loses the messages."""
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
    if code == 0 and closed != "stderr":
        code = 24
    assert done.stdout.splitlines()[-1] == f"status {code}"
    assert "internal error" not in done.stderr
    assert "Traceback" not in done.stderr
    if closed == "stdout" and argv[0] == "lint":
        assert "numpy-wheels: error: no CI files" in done.stderr  # stderr still says why
    if closed == "stdout" and code == 24:
        assert "numpy-wheels: error: standard output is closed" in done.stderr


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_a_full_disk_on_stdout_is_an_output_error(tmp_path: Path, json_output: bool) -> None:
    """`matrix > /dev/full`: every write fails with ENOSPC; one line says so, exit 24 (it was
    'internal error', exit 1), and the interpreter's last flush does not fail again (120)."""
    numpy_repo(tmp_path)
    with Path("/dev/full").open("w") as full:
        done = subprocess.run(
            [*CLI, "--root", str(tmp_path), "matrix", *(["--json"] if json_output else [])],
            check=False,
            timeout=60,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert done.returncode == 24
    assert done.stderr.splitlines()[0] == (
        "numpy-wheels: error: cannot write to standard output: No space left on device"
    )
    assert "internal error" not in done.stderr
    assert "Exception ignored" not in done.stderr


def zip_bomb_wheel(house: Path, *, claimed: int) -> Path:
    """A valid manylinux wheel (RECORD right) whose one binary is an ELF magic followed by
    ``claimed`` zero bytes: a file of about a thousandth of that size, written a MiB at a
    time (the test itself never holds it)."""
    import base64
    import hashlib
    import zipfile

    house.mkdir(parents=True, exist_ok=True)
    dist_info = "fooext-0.1.0.dist-info"
    path = house / "fooext-0.1.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    small = {
        f"{dist_info}/METADATA": b"Metadata-Version: 2.1\nName: fooext\nVersion: 0.1.0\n",
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\n"
        b"Tag: cp311-cp311-manylinux_2_28_x86_64\n",
    }
    digest = hashlib.sha256(b"\x7fELF")
    block = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("fooext/_big.so", "w", force_zip64=True) as fh:
            fh.write(b"\x7fELF")
            for _ in range(claimed >> 20):
                fh.write(block)
                digest.update(block)
        b64 = base64.urlsafe_b64encode

        def entry(name: str, data: bytes) -> str:
            return f"{name},sha256={b64(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"

        for name, data in small.items():
            zf.writestr(name, data)
        big = b64(digest.digest()).rstrip(b"=").decode()
        record = [f"fooext/_big.so,sha256={big},", *(entry(n, d) for n, d in small.items())]
        zf.writestr(f"{dist_info}/RECORD", "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n")
    return path


def test_a_zip_bomb_binary_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """A ~1 MB wheel whose ELF member inflates to 1.1 GiB: upload's checks (RECORD hashes,
    tag check) stream it and refuse it as a wheel-tag error (21) naming the member, the
    process never growing past a few hundred MB (it was 3 GB: every member read whole)."""
    wheel = zip_bomb_wheel(tmp_path / "house", claimed=(1 << 30) + (100 << 20))
    assert wheel.stat().st_size < 5 << 20
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "pyproject.toml").write_text('[tool.numpy-wheels]\nproject = "fooext"\n')
    # The child's peak memory, as its parent (this small wrapper) sees it.
    measure = (
        "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
        "print(f'PEAK_KIB {peak}'); sys.exit(code)"
    )
    (tmp_path / "s").mkdir()  # a named store root must exist
    argv = ["--root", str(tmp_path / "repo"), "upload", "w", "--local-root", str(tmp_path / "s")]
    proc = subprocess.run(
        [sys.executable, "-c", measure, *CLI, *argv, "--local-folder", str(wheel.parent)],
        check=False,
        capture_output=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    peak_mib = int(out.split(b"PEAK_KIB ")[1].split()[0]) / 1024
    assert peak_mib < 400, f"peak {peak_mib:.0f} MiB"
    assert proc.returncode == 21, out.decode()
    assert b"fooext/_big.so is 1178599428 bytes uncompressed" in out
    assert b"Traceback" not in out
    assert not (tmp_path / "s" / "w").exists()


@pytest.mark.parametrize("what", ["missing", "stalled-url"])
def test_verify_leaves_no_work_dir_behind(tmp_path: Path, bad: BadServer, what: str) -> None:
    """A verify that fails before anything is rebuilt leaves nothing in TMPDIR (it left an
    empty numpy-wheels-verify-* per run), and a stalled URL ends at --timeout."""
    numpy_repo(tmp_path)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    if what == "missing":
        target, code = str(tmp_path / "numpy-2.4.6-cp312-cp312-win_amd64.whl"), 2
    else:
        route = Route(behaviour="stall")
        target, code = bad.add(f"/{tmp_path.name}/numpy-2.4.6-cp312-cp312-win_amd64.whl", route), 15
    start = time.monotonic()
    done = subprocess.run(
        [*CLI, "--root", str(tmp_path), "verify", target, "--timeout", "2"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    assert done.returncode == code, done.stderr
    assert time.monotonic() - start < 15
    assert list(tmp.iterdir()) == []
    assert ("does not exist" if what == "missing" else "within the 2 s deadline") in done.stderr
