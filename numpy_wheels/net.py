"""HTTP GETs with an overall deadline, a size bound and cancellation (a leaf of the kernel).

Why not ``urlopen(timeout=…)``: its timeout bounds one socket operation, so a server that
sends one byte every 20 s (or a header line at a time) never times out, and a read blocked in
a worker thread cannot be interrupted by Ctrl-C. Here every request has a deadline covering
connect, headers, body and retries: a timer shuts the socket down when it passes, and a
``Canceller`` shuts down every socket in flight at once (Ctrl-C, SIGTERM), so blocked reads in
worker threads return immediately. Bodies are bounded (``max_bytes``, the expected size).
Only ``http``/``https`` go to the network; ``file:`` is read from disk only when the caller
allows it (a listing URL the user typed, never a link found in a remote page).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.client
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from numpy_wheels.errors import AuthError, StoreError

#: The advice for a 401/403 to a GET: URLs are read without credentials (none are sent).
ANONYMOUS_READ_HINT = (
    "URLs are read anonymously: give one anyone can read, or read a private staging container "
    "through the store options (--provider-name, --container and its credentials) instead."
)

#: Connection errors and these statuses are retried (with backoff, inside the deadline).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5


@dataclasses.dataclass(frozen=True, kw_only=True)
class Limits:
    """Bounds of one request. ``deadline``: seconds for all of it, retries included;
    ``read_timeout``: the longest silence of the server; ``max_bytes``: the body's bound."""

    deadline: float = 300.0
    read_timeout: float = 60.0
    max_bytes: int = 64 << 20
    attempts: int = 4


class Cancelled(Exception):
    """The transfer was cancelled (Ctrl-C/SIGTERM in the main thread)."""


class Canceller:
    """Cancels every transfer registered with it: sets a flag and shuts their sockets down."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()
        with self._lock:
            for sock in self._sockets:
                _shutdown(sock)

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` (a retry's backoff) unless cancelled meanwhile; True if cancelled."""
        return self._event.wait(seconds)

    def register(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            if self._event.is_set():
                _shutdown(sock)

    def unregister(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Response:
    content_type: str
    url: str  # after redirects
    size: int
    sha256: str


class _Deadline(Exception):
    pass


class _Retryable(Exception):
    pass


def _connection(parts: urllib.parse.SplitResult, timeout: float) -> http.client.HTTPConnection:
    host = parts.hostname or ""
    if parts.scheme == "https":
        proxy = _https_proxy(host)
        if proxy is not None:  # CONNECT through the proxy, TLS with the host end to end
            conn = http.client.HTTPSConnection(
                proxy.hostname or "",
                proxy.port or 8080,
                timeout=timeout,
                context=ssl.create_default_context(),
            )
            conn.set_tunnel(host, parts.port or 443, headers=_proxy_auth(proxy))
            return conn
        return http.client.HTTPSConnection(
            host, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    return http.client.HTTPConnection(host, parts.port, timeout=timeout)


def _https_proxy(host: str) -> urllib.parse.SplitResult | None:
    """``https_proxy`` unless ``no_proxy`` exempts ``host`` (as pip and urllib read them)."""
    proxy = urllib.request.getproxies().get("https")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")


def _proxy_auth(proxy: urllib.parse.SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    import base64

    user = urllib.parse.unquote(proxy.username)
    password = urllib.parse.unquote(proxy.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Proxy-Authorization": f"Basic {token}"}


Writer = Callable[[memoryview], object]
Sink = Callable[[], Writer]
"""Called at the start of each attempt's body: returns the writer of that attempt's blocks
(a retry starts over: the file is truncated, the buffer cleared)."""


def get(
    url: str,
    sink: Sink,
    *,
    limits: Limits = Limits(),  # frozen: one shared default is safe
    accept: str = "*/*",
    canceller: Canceller | None = None,
    allow_file: bool = False,
    what: str | None = None,
) -> Response:
    """GET ``url``, passing the body to the writer ``sink()`` returns, in blocks; a StoreError
    naming ``what`` when the deadline passes, the body exceeds ``max_bytes``, the status is not
    200 (after redirects; 5xx and connection errors retried) or the scheme is not allowed."""
    what = what or f"GET {url}"
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "file" and allow_file:
        return _get_file(url, sink, limits=limits, what=what)
    if scheme not in ("http", "https"):
        msg = f"{what}: only http and https URLs are fetched, not {scheme or 'a relative'}:"
        raise StoreError(msg)
    host = urllib.parse.urlsplit(url).netloc.rpartition("@")[2]  # never the credentials
    if not host.isascii() or not host.isprintable() or " " in host:
        msg = (
            f"{what}: the host {host!r} is not a plain ASCII name (an internationalised "
            "name is written in its xn-- form)"
        )
        raise StoreError(msg)
    start = time.monotonic()
    delay = 0.5
    last = ""
    for attempt in range(1, limits.attempts + 1):
        remaining = limits.deadline - (time.monotonic() - start)
        if remaining <= 0:
            break
        try:
            return _attempt(url, sink, limits, remaining, accept, canceller, what)
        except _Retryable as exc:
            last = str(exc)
        except _Deadline:
            break
        if attempt == limits.attempts:
            msg = f"{what}: {last} (after {attempt} attempts)"
            raise StoreError(msg)
        pause = min(delay, max(0.0, limits.deadline - (time.monotonic() - start)))
        if canceller is not None and canceller.wait(pause):
            raise Cancelled
        if canceller is None:
            time.sleep(pause)  # backoff between retries of a failing server
        delay *= 2
    msg = f"{what}: no complete answer within the {limits.deadline:g} s deadline"
    raise StoreError(msg + (f" (last attempt: {last})" if last else ""))


def _attempt(
    url: str,
    sink: Sink,
    limits: Limits,
    remaining: float,
    accept: str,
    canceller: Canceller | None,
    what: str,
) -> Response:
    expired = threading.Event()
    for _ in range(MAX_REDIRECTS + 1):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            msg = f"{what}: redirected to a {parts.scheme}: URL; refused"
            raise StoreError(msg)
        conn = _connection(parts, min(limits.read_timeout, remaining))
        sock: socket.socket | None = None
        timer: threading.Timer | None = None
        try:
            sock = _connect(conn, canceller)

            def expire(s: socket.socket = sock) -> None:
                expired.set()
                _shutdown(s)

            timer = threading.Timer(remaining, expire)
            timer.daemon = True
            timer.start()
            try:
                _request(conn, parts, accept)
                # closed explicitly: with "Connection: close" the connection does not
                # close the response, whose file object keeps the socket open
                with conn.getresponse() as resp:
                    got = _answer(resp, url, sink, limits, what)
                if isinstance(got, str):  # a redirect
                    url = got
                    continue
                if expired.is_set():  # the shutdown at the deadline can look like an EOF
                    raise _Deadline
                return got
            except (OSError, http.client.HTTPException) as exc:
                if canceller is not None and canceller.cancelled:
                    raise Cancelled from None
                if expired.is_set():
                    raise _Deadline from None
                raise _Retryable(_why(exc)) from None
        finally:
            if timer is not None:
                timer.cancel()
            if sock is not None and canceller is not None:
                canceller.unregister(sock)
            conn.close()
    msg = f"{what}: more than {MAX_REDIRECTS} redirects"
    raise StoreError(msg)


def _connect(conn: http.client.HTTPConnection, canceller: Canceller | None) -> socket.socket:
    """Connect (a failure is retryable); the socket is registered for Ctrl-C to shut."""
    try:
        conn.connect()
    except ssl.SSLCertVerificationError as exc:  # another attempt cannot change the answer
        msg = f"the TLS certificate of {conn.host} is not trusted ({exc.verify_message})"
        hint = (
            "A server with a private CA: name that CA's bundle in SSL_CERT_FILE (the file "
            "OpenSSL reads in place of the system's trusted certificates)."
        )
        raise StoreError(msg, hint=hint) from None
    except OSError as exc:
        raise _Retryable(_why(exc)) from None
    sock: socket.socket = conn.sock
    if canceller is not None:
        canceller.register(sock)
    return sock


def _request(
    conn: http.client.HTTPConnection, parts: urllib.parse.SplitResult, accept: str
) -> None:
    path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    # As browsers and requests (requote_uri) send a link: a character HTTP does not allow
    # in a request line (non-ASCII, a space, a control character) is percent-encoded as
    # UTF-8; what is already encoded, and the reserved characters, stay as written.
    path = urllib.parse.quote(path, safe="!#$%&'()*+,/:;=?@[]~")
    host = parts.netloc.rpartition("@")[2]
    conn.request(
        "GET", path, headers={"Accept": accept, "Host": host, "User-Agent": "numpy-wheels"}
    )


def _answer(
    resp: http.client.HTTPResponse, url: str, sink: Sink, limits: Limits, what: str
) -> Response | str:
    """The body of a 200; the URL a redirect points to; a retryable error for 429/5xx; any
    other status is a StoreError."""
    if resp.status in (301, 302, 303, 307, 308):
        location = resp.getheader("Location")
        if not location:
            msg = f"{what}: HTTP {resp.status} without a Location"
            raise StoreError(msg)
        return urllib.parse.urljoin(url, location)
    if resp.status in RETRY_STATUSES:
        msg = f"HTTP {resp.status} {resp.reason}"
        raise _Retryable(msg)
    if resp.status in (401, 403):
        msg = f"{what}: HTTP {resp.status} {resp.reason}: the server refused an anonymous read"
        raise AuthError(msg, hint=ANONYMOUS_READ_HINT)
    if resp.status != 200:
        msg = f"{what}: HTTP {resp.status} {resp.reason}"
        raise StoreError(msg)
    return _body(resp, url, sink, limits, what)


def _body(
    resp: http.client.HTTPResponse, url: str, sink: Sink, limits: Limits, what: str
) -> Response:
    length = resp.getheader("Content-Length")
    declared = int(length) if length and length.isdigit() else None
    if declared is not None and declared > limits.max_bytes:
        msg = f"{what}: the server announces {declared} bytes, more than the {limits.max_bytes}"
        raise StoreError(msg)
    digest = hashlib.sha256()
    size = 0
    write = sink()
    # One buffer, filled in place: no allocation per block. A blocked read is bounded by the
    # deadline timer (it shuts the socket down), not by the size of the reads.
    view = memoryview(bytearray(1 << 20))
    while count := resp.readinto(view):
        size += count
        if size > limits.max_bytes:
            msg = f"{what}: the body is larger than {limits.max_bytes} bytes; stopped"
            raise StoreError(msg)
        block = view[:count]
        digest.update(block)
        write(block)
    if declared is not None and size != declared:
        msg = f"the body ended after {size} of {declared} bytes"
        raise _Retryable(msg)
    ctype = resp.headers.get_content_type()
    return Response(content_type=ctype, url=url, size=size, sha256=digest.hexdigest())


def _get_file(url: str, sink: Sink, *, limits: Limits, what: str) -> Response:
    path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    digest = hashlib.sha256()
    size = 0
    write = sink()
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                size += len(block)
                if size > limits.max_bytes:
                    msg = f"{what}: larger than {limits.max_bytes} bytes; stopped"
                    raise StoreError(msg)
                digest.update(block)
                write(memoryview(block))
    except OSError as exc:
        msg = f"{what}: {exc.strerror or exc}"
        raise StoreError(msg) from None
    ctype = {".json": "application/json", ".txt": "text/plain"}.get(path.suffix, "text/html")
    return Response(content_type=ctype, url=url, size=size, sha256=digest.hexdigest())


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "the server stopped answering"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def get_bytes(
    url: str,
    *,
    limits: Limits = Limits(),
    accept: str = "*/*",
    canceller: Canceller | None = None,
    allow_file: bool = False,
    what: str | None = None,
) -> tuple[bytes, Response]:
    """The body of ``url`` (bounded by ``limits.max_bytes``) and what the server said."""
    chunks: list[bytes] = []

    def sink() -> Writer:
        chunks.clear()
        return lambda block: chunks.append(bytes(block))  # a copy: the buffer is reused

    resp = get(
        url,
        sink,
        limits=limits,
        accept=accept,
        canceller=canceller,
        allow_file=allow_file,
        what=what,
    )
    return b"".join(chunks), resp


def download(
    url: str,
    dest: Path,
    *,
    limits: Limits = Limits(),
    canceller: Canceller | None = None,
    allow_file: bool = False,
    what: str | None = None,
    tap: Sink | None = None,
) -> Response:
    """Stream ``url`` into ``dest`` (the caller's ``.part``), hashing as it arrives; a retry
    starts the file again. Returns the size and sha256 of what was written. ``tap``: called
    at the start of each attempt like a Sink; its writer is handed every block written."""
    with dest.open("wb") as fh:

        def sink() -> Writer:
            fh.seek(0)
            fh.truncate()
            if tap is None:
                return fh.write
            also = tap()

            def both(block: memoryview) -> None:
                fh.write(block)
                also(block)

            return both

        return get(
            url,
            sink,
            limits=limits,
            canceller=canceller,
            allow_file=allow_file,
            what=what or f"download {url}",
        )
