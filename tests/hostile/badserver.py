"""A small HTTP server of ours on 127.0.0.1 that misbehaves on purpose: it answers, stalls,
drips, resets, lies about lengths or never stops sending, per path. Real servers (pypiserver,
Swift) cannot be made to misbehave like this, so the hostile suite uses this one; the
well-behaved paths serve plain files and pages like any static server.

Routes are registered per test under unique prefixes, so parallel tests share one server.
Every misbehaving handler waits on the server's ``closing`` event, so shutdown is prompt.
"""

from __future__ import annotations

import dataclasses
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Literal, TypeAlias

Behaviour: TypeAlias = Literal[
    "ok",  # 200 with the body
    "stall",  # read the request, never answer
    "stall-headers",  # send the status line, then nothing
    "drip-headers",  # one header byte every `interval` seconds, forever
    "drip",  # headers announcing the body, then one byte every `interval` seconds
    "stall-body",  # headers + half of the body, then nothing
    "short",  # headers + half of the body, then close (a lying Content-Length)
    "reset",  # close with a TCP reset at once
    "endless",  # 200 without a length, bytes forever
    "error500",  # always 500
    "status",  # the given status code, empty body
    "redirect",  # the given status code (a 3xx) with Location: `location`
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Route:
    behaviour: Behaviour = "ok"
    body: bytes = b""
    content_type: str = "text/html"
    interval: float = 0.5
    status: int = 200
    location: str = ""
    reason: str = "X"  # the status line's reason phrase (a server's own words)


class BadServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.closing = threading.Event()
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add(self, path: str, route: Route) -> str:
        """Serve ``route`` at ``path``; returns its URL."""
        with self.lock:
            self.routes[path] = route
        return self.url + path


class _Handler(socketserver.BaseRequestHandler):
    server: BadServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split()
        path = parts[1] if len(parts) > 1 else "/"
        with self.server.lock:
            route = self.server.routes.get(path.split("?")[0].split("#")[0])
            self.server.hits[path] = self.server.hits.get(path, 0) + 1
        if route is None:
            route = Route(behaviour="status", status=404)
        with suppress(OSError):
            self._serve(sock, route)

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the server is closing; True when it is."""
        return self.server.closing.wait(seconds)

    def _serve(self, sock: socket.socket, route: Route) -> None:
        head = (
            f"HTTP/1.1 {route.status} {route.reason}\r\nContent-Type: {route.content_type}\r\n"
            f"Content-Length: {len(route.body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        match route.behaviour:
            case "ok":
                sock.sendall(head + route.body)
            case "status":
                sock.sendall(
                    f"HTTP/1.1 {route.status} {route.reason}\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
            case "redirect":
                sock.sendall(
                    f"HTTP/1.1 {route.status} X\r\nLocation: {route.location}\r\n"
                    "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
                )
            case "error500":
                sock.sendall(b"HTTP/1.1 500 X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            case "stall":
                while not self._wait(0.5):
                    pass
            case "stall-headers":
                sock.sendall(b"HTTP/1.1 200 OK\r\n")
                while not self._wait(0.5):
                    pass
            case "drip-headers":
                sock.sendall(b"HTTP/1.1 200 OK\r\n")
                for byte in (b"X-Drip: " + b"a" * 100000)[:100000]:
                    sock.sendall(bytes([byte]))
                    if self._wait(route.interval):
                        return
            case "drip":
                sock.sendall(head)
                for byte in route.body:
                    sock.sendall(bytes([byte]))
                    if self._wait(route.interval):
                        return
            case "stall-body":
                sock.sendall(head + route.body[: len(route.body) // 2])
                while not self._wait(0.5):
                    pass
            case "short":
                sock.sendall(head + route.body[: len(route.body) // 2])
            case "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            case "endless":
                sock.sendall(
                    f"HTTP/1.1 200 OK\r\nContent-Type: {route.content_type}\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                block = b"<a>" * 20000
                deadline = time.monotonic() + 120
                while not self.server.closing.is_set() and time.monotonic() < deadline:
                    sock.sendall(block)


@contextmanager
def bad_server() -> Iterator[BadServer]:
    server = BadServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        thread.join()
        server.server_close()
