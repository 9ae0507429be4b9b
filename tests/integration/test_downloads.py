"""Downloads have deadlines and retries: a stalled server fails the step (never hangs it), a
transient 503 is retried, a wrong sha256 leaves nothing behind. Real sockets on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from numpy_wheels.errors import SourceError
from numpy_wheels.files import download, fetch

BODY = b"sdist bytes " * 1000


class Flaky(http.server.BaseHTTPRequestHandler):
    """503 for the first ``failures`` requests, then the body."""

    failures = 0
    seen: list[str] = []  # noqa: RUF012 (per-test class attribute, reset by the fixture)

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        if len(type(self).seen) <= type(self).failures:
            self.send_response(503)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def flaky() -> Iterator[tuple[str, type[Flaky]]]:
    handler = type("Handler", (Flaky,), {"failures": 2, "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def stalled() -> Iterator[str]:
    """Accepts connections and reads the request, but never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/numpy-2.4.6.tar.gz"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_a_stalled_connection_fails_within_its_deadline(stalled: str, tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(
        SourceError, match=r"cannot download .*numpy-2\.4\.6\.tar\.gz.*after 2 attempts"
    ):
        download(stalled, tmp_path / "x.tar.gz", sha256="0" * 64, error=SourceError,
                 timeout=0.5, retries=1)  # fmt: skip
    elapsed = time.monotonic() - start
    assert elapsed < 10  # two attempts of 0.5 s plus backoff, not forever
    assert list(tmp_path.iterdir()) == []  # no .part left behind


def test_transient_503s_are_retried(flaky: tuple[str, type[Flaky]], tmp_path: Path) -> None:
    url, handler = flaky
    target = tmp_path / "p.tar.gz"
    download(f"{url}/p.tar.gz", target, sha256=hashlib.sha256(BODY).hexdigest(),
             error=SourceError, retries=3)  # fmt: skip
    assert target.read_bytes() == BODY
    assert handler.seen == ["/p.tar.gz"] * 3


def test_too_many_failures_is_a_typed_error(flaky: tuple[str, type[Flaky]]) -> None:
    url, handler = flaky
    with pytest.raises(SourceError, match="cannot download"):
        fetch(f"{url}/index/", error=SourceError, retries=1)
    assert len(handler.seen) == 2


def test_a_wrong_sha256_leaves_nothing(flaky: tuple[str, type[Flaky]], tmp_path: Path) -> None:
    url, _ = flaky
    with pytest.raises(SourceError, match="does not match"):
        download(f"{url}/p.tar.gz", tmp_path / "p.tar.gz", sha256="0" * 64, error=SourceError)
    assert list(tmp_path.iterdir()) == []
