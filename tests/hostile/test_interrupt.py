"""Ctrl-C (SIGINT) and SIGTERM during a stalled parallel download, or during a long
``twine check``: the CLI exits 130/143 within 5 s and leaves no ``.part`` behind (issue 18,
cause 10). The CLI runs as a real process; the stalled server is ours
(tests/hostile/badserver.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from numpy_wheels.files import sha256_of
from numpy_wheels.model.matrix import load_catalogue, manifest, select
from tests.hostile.badserver import BadServer, Route, bad_server
from tests.wheelfiles import make_wheel

BUILD = ["cp311-manylinux_x86_64", "cp311-win_amd64", "cp312-manylinux_x86_64", "cp313-win32"]


@pytest.fixture
def server() -> Iterator[BadServer]:
    with bad_server() as s:
        yield s


def stalled_listing(server: BadServer, tmp: Path) -> str:
    """A listing of the four expected wheels whose downloads send half and then stall."""
    expected = manifest(
        select(load_catalogue(), build=BUILD, skip=[]), project="fooext", version="0.1.0"
    )
    links = []
    for name in expected:
        tag = name.removeprefix("fooext-0.1.0-").removesuffix(".whl")
        wheel = make_wheel(tmp / "house", tag=tag, size=200_000)
        url = server.add(f"/dl/{name}", Route(behaviour="stall-body", body=wheel.read_bytes()))
        links.append(f'<a href="{url}#sha256={sha256_of(wheel)}">{name}</a>')
    return server.add("/listing/", Route(body="\n".join(links).encode()))


# Ctrl-C as in a terminal: SIGINT raises KeyboardInterrupt. A process inherits an ignored
# SIGINT (a job started with '&' by a non-interactive shell, as a CI script may start the
# suite), and a CLI rightly does not answer it then; the premise is set, not inherited.
CLI = (
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from numpy_wheels.__main__ import wheel_uploader_main as m; raise SystemExit(m())"
)
SIGNALS = pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)


def wheels_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(
        f'[tool.numpy-wheels]\nproject = "fooext"\nbuild = {json.dumps(BUILD)}\nsdist = false\n'
    )
    return repo


@SIGNALS
def test_signal_during_stalled_parallel_download(
    server: BadServer, tmp_path: Path, signum: int, code: int
) -> None:
    repo = wheels_repo(tmp_path)
    listing = stalled_listing(server, tmp_path)
    dl = tmp_path / "dl"
    argv = [
        *(sys.executable, "-c", CLI, "--root", str(repo), "-u", listing, "-w", str(dl)),
        *("-n", "--max-workers", "4", "--allow-unverified-provenance", "fooext", "0.1.0"),
    ]
    # faulthandler: a run that does not stop is made to dump every thread's stack (SIGABRT)
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        # Synchronise on the server seeing all four downloads, not on a sleep.
        deadline = time.monotonic() + 30
        while sum(v for k, v in server.hits.items() if k.startswith("/dl/")) < 4:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the downloads never started"
            time.sleep(0.02)
        assert len(list(dl.glob("*.part"))) == 4  # the stalled downloads are in flight
        start = time.monotonic()
        proc.send_signal(signum)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            out, err = proc.communicate(timeout=30)
            pytest.fail(f"no exit 30 s after the signal; the threads were:\n{err[-6000:]}")
        elapsed = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()  # and its pipes closed: no ResourceWarning in a later test
    assert proc.returncode == code, out + err
    assert elapsed < 5, f"took {elapsed:.1f} s to stop"
    assert not list(dl.glob("*.part"))
    assert "Traceback" not in out + err


#: A valid reStructuredText description that takes docutils about a minute to render (a
#: simple table of 300,000 rows, 1.8 MB): twine check's rendering cannot be interrupted.
SLOW_RST = "Description-Content-Type: text/x-rst\n\n=== ===\n" + "a   b\n" * 300_000 + "=== ===\n"


@SIGNALS
def test_signal_during_a_long_twine_check(
    server: BadServer, tmp_path: Path, signum: int, code: int
) -> None:
    """Tryout 30: the release waited for twine's check in progress (46 s for a 1 MiB
    description) before it exited; its thread is now a daemon the exit does not wait for."""
    repo = wheels_repo(tmp_path)
    expected = manifest(
        select(load_catalogue(), build=BUILD, skip=[]), project="fooext", version="0.1.0"
    )
    metadata = f"Metadata-Version: 2.1\nName: fooext\nVersion: 0.1.0\n{SLOW_RST}".encode()
    links = []
    for name in expected:
        tag = name.removeprefix("fooext-0.1.0-").removesuffix(".whl")
        wheel = make_wheel(tmp_path / "house", tag=tag, metadata=metadata)
        url = server.add(f"/dl/{name}", Route(body=wheel.read_bytes()))
        links.append(f'<a href="{url}#sha256={sha256_of(wheel)}">{name}</a>')
    listing = server.add("/listing/", Route(body="\n".join(links).encode()))
    argv = [
        *(sys.executable, "-c", CLI, "--root", str(repo), "-u", listing),
        *("-w", str(tmp_path / "dl"), "-n", "--allow-unverified-provenance", "fooext", "0.1.0"),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        # Synchronise on the check's own line: it says it starts rendering (not on a sleep).
        deadline = time.monotonic() + 60
        while not any("rendering a 1.8 MB description" in line for line in lines):
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.02)
        start = time.monotonic()
        proc.send_signal(signum)
        proc.wait(timeout=30)
        elapsed = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    output = "".join(lines)
    assert proc.returncode == code, output
    assert elapsed < 5, f"took {elapsed:.1f} s to stop"
    assert "PASSED" not in output  # the check was still rendering
    assert "Traceback" not in output
