"""Real servers on 127.0.0.1 for the staging and release tests: OpenStack Swift "all in one"
(tempauth), moto_server and rclone (S3). Each starts on a free port, is polled until it
answers, and is stopped by PID. Recipes: shared/reference/infra-experiment.md."""

from __future__ import annotations

import http.server
import json
import os
import pwd
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

BIN = Path(sys.executable).parent
SWIFT_SERVERS = ("account", "container", "object")


class QuietHTTPServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server that does not print a traceback when a client goes away
    mid-answer (a test's tool stopping a transfer on purpose): socketserver prints it to
    whatever stderr the test running then captures, which reads as the tool's traceback."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(
    url: str, proc: subprocess.Popen[bytes], ok: tuple[int, ...] = (200,), timeout: float = 30.0
) -> None:
    """Poll ``url`` until it answers with one of ``ok`` (readiness, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            msg = f"server exited early with {proc.returncode}: {url}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310
                if resp.status in ok:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code in ok:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(url)
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def popen(
    argv: list[str],
    log: Path,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen(
            argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )


def _swift_conf(etc: Path, node: Path, port: int, user: str, body: str) -> str:
    return (
        f"[DEFAULT]\nswift_dir = {etc}\ndevices = {node}\nmount_check = false\n"
        f"disable_fallocate = true\nbind_ip = 127.0.0.1\nbind_port = {port}\n"
        f"workers = 0\nuser = {user}\nlog_udp_host = 127.0.0.1\nlog_udp_port = 9\n" + body
    )


RING_SCRIPT = """
import sys
from swift.common.ring import RingBuilder
args = sys.argv[1:]
for path, port in zip(args[::2], args[1::2]):  # ring file, server port
    builder = RingBuilder(6, 1, 0)  # part power, replicas, min part hours
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1",
                     "port": int(port), "device": "d1", "weight": 1})
    builder.rebalance()
    builder.get_ring().save(path)
"""


class SwiftIdentity(Protocol):
    """An identity service Swift validates tokens with (authtoken + keystoneauth)."""

    def swift_filters(self) -> str: ...
    def register_object_store(self, proxy: str) -> None: ...


class SwiftAIO:
    """Swift all-in-one: account, container and object servers plus a tempauth proxy."""

    def __init__(
        self, d: Path, key: str = "testing", identity: SwiftIdentity | None = None
    ) -> None:
        """``identity``: authenticate with Keystone (or the Rackspace test cloud: authtoken +
        keystoneauth) instead of tempauth; the proxy is registered as its object-store
        endpoint; staticweb follows the auth filters there (Cloud Files' static-website
        header). The tempauth pipeline stays as it was."""
        from cryptography.fernet import Fernet

        self.dir = d
        self.key = key  # the password of test:tester
        etc, node = d / "etc", d / "node"
        etc.mkdir(parents=True)
        (node / "d1").mkdir(parents=True)
        user = pwd.getpwuid(os.getuid()).pw_name
        self.ports = {k: free_port() for k in ("proxy", *SWIFT_SERVERS)}
        (etc / "swift.conf").write_text(
            "[swift-hash]\nswift_hash_path_suffix = t\nswift_hash_path_prefix = t\n"
            "[storage-policy:0]\nname = gold\ndefault = yes\n"
        )
        for kind in SWIFT_SERVERS:
            (etc / f"{kind}-server.conf").write_text(
                _swift_conf(
                    etc,
                    node,
                    self.ports[kind],
                    user,
                    f"[pipeline:main]\npipeline = {kind}-server\n"
                    f"[app:{kind}-server]\nuse = egg:swift#{kind}\n",
                )
            )
        # Rings are built in a child (one for the three): importing swift pulls in eventlet,
        # whose hub must never run in the test process (it deadlocked our thread pool).
        rings = [(str(etc / f"{k}.ring.gz"), str(self.ports[k])) for k in SWIFT_SERVERS]
        subprocess.run(
            [sys.executable, "-c", RING_SCRIPT, *(a for ring in rings for a in ring)],
            check=True,
            capture_output=True,
        )
        auth = ["authtoken", "keystoneauth"] if identity else ["tempauth"]
        filters = [
            "catch_errors",
            "gatekeeper",
            "healthcheck",
            "proxy-logging",
            "listing_formats",
            *auth,
            *(["staticweb"] if identity else []),
            "copy",
            "dlo",
            "slo",
        ]
        if identity:
            auth_conf = identity.swift_filters()
            identity.register_object_store(f"http://127.0.0.1:{self.ports['proxy']}")
        else:
            auth_conf = (
                f"[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = {key} .admin\n"
            )
        (etc / "proxy-server.conf").write_text(
            _swift_conf(
                etc,
                node,
                self.ports["proxy"],
                user,
                f"[pipeline:main]\npipeline = {' '.join(filters)} proxy-logging proxy-server\n"
                "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n"
                + auth_conf
                + f"fernet_key_1 = {Fernet.generate_key().decode()}\nactive_fernet_key_id = 1\n"
                + "".join(
                    f"[filter:{f}]\nuse = egg:swift#{f.replace('-', '_')}\n"
                    for f in filters
                    if f not in ("tempauth", "authtoken", "keystoneauth")
                ),
            )
        )
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, *kinds: str) -> None:
        """Start the servers (all at once), then wait until each answers."""
        self.launch(*kinds)
        self.wait_ready(*kinds)

    def launch(self, *kinds: str) -> None:
        etc = self.dir / "etc"
        for kind in kinds:
            self.procs[kind] = popen(
                [str(BIN / f"swift-{kind}-server"), str(etc / f"{kind}-server.conf"), "-v"],
                self.dir / f"{kind}.log",
            )

    def wait_ready(self, *kinds: str, timeout: float = 120.0) -> None:
        """Poll each server until it answers; the bound is generous because several Swifts
        start at once on a shared 2-core machine (it only matters when one never comes up)."""
        for kind in kinds:
            proc = self.procs[kind]
            if kind == "proxy":
                url = f"http://127.0.0.1:{self.ports['proxy']}/healthcheck"
                wait_http(url, proc, timeout=timeout)
            else:
                wait_http(f"http://127.0.0.1:{self.ports[kind]}/", proc, ok=(400,), timeout=timeout)

    def stop(self, kind: str) -> None:
        stop(self.procs.pop(kind))

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['proxy']}/auth/v1.0"

    @property
    def storage_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['proxy']}/v1/AUTH_test"


@contextmanager
def swift_server(
    d: Path, key: str = "testing", identity: SwiftIdentity | None = None
) -> Iterator[SwiftAIO]:
    swift = SwiftAIO(d, key, identity)
    try:
        swift.start(*SWIFT_SERVERS, "proxy")
        yield swift
    finally:
        for kind in list(swift.procs):
            swift.stop(kind)


@contextmanager
def moto_server(d: Path) -> Iterator[str]:
    port = free_port()
    proc = popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], d / "moto.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/moto-api/", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@contextmanager
def rclone_server(d: Path, key: str, secret: str) -> Iterator[str]:
    port = free_port()
    (d / "data").mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(d / "cache"), "XDG_CONFIG_HOME": str(d / "cfg")}
    proc = popen(
        [
            str(BIN / "rclone"),
            "serve",
            "s3",
            "--addr",
            f"127.0.0.1:{port}",
            "--auth-key",
            f"{key},{secret}",
            "--config",
            "/dev/null",
            str(d / "data"),
        ],
        d / "rclone.log",
        env=env,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc, ok=(200, 400, 403))
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@contextmanager
def pypi_server(d: Path, user: str, password: str) -> Iterator[str]:
    """pypiserver with an htpasswd: uploads need the password, reads are anonymous."""
    import warnings

    with warnings.catch_warnings():  # passlib 1.7.4 imports the deprecated crypt module
        warnings.simplefilter("ignore", DeprecationWarning)
        from passlib.apache import HtpasswdFile

    port = free_port()
    ht = HtpasswdFile(str(d / "htpasswd"), new=True, default_scheme="apr_md5_crypt")
    ht.set_password(user, password)
    ht.save()
    (d / "packages").mkdir()
    proc = popen(
        [
            str(BIN / "pypi-server"),
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-P",
            str(d / "htpasswd"),
            "-a",
            "update",
            "--disable-fallback",
            str(d / "packages"),
        ],
        d / "pypiserver.log",
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(proc)


@contextmanager
def gpg_home(d: Path, passphrase: str = "") -> Iterator[tuple[dict[str, str], str]]:
    """A throwaway GnuPG home with one signing key (passphrase-less unless ``passphrase``):
    (env, key fingerprint). The agent gpg starts is killed after the key is made (so no
    passphrase stays cached) and on exit (it would outlive the test)."""
    home = d / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    try:
        subprocess.run(
            [
                "gpg",
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                passphrase,
                "--quick-generate-key",
                "Release Test <release@example.invalid>",
                "ed25519",
                "sign",
                "never",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        listing = subprocess.run(
            ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        )
        subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True)
        yield env, fingerprint
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True)


KEYSTONE_SERVER = """
import os, sys
port = int(sys.argv[1]); os.environ["OS_KEYSTONE_CONFIG_FILES"] = sys.argv[2]
sys.argv = sys.argv[:1]  # oslo.config parses argv
from wsgiref.simple_server import WSGIRequestHandler, make_server
from keystone.server.wsgi import initialize_public_application
class Quiet(WSGIRequestHandler):
    def log_message(self, *args): pass
make_server("127.0.0.1", port, initialize_public_application(),
            handler_class=Quiet).serve_forever()
"""


class Keystone:
    """OpenStack Keystone (identity v3) on sqlite, bootstrapped with an admin user/project."""

    def __init__(self, d: Path, password: str) -> None:
        self.dir, self.password, self.port = d, password, free_port()
        d.mkdir(parents=True, exist_ok=True)
        self.conf = d / "keystone.conf"
        self.conf.write_text(
            f"[DEFAULT]\nlog_dir = {d}\n[database]\nconnection = sqlite:///{d}/keystone.db\n"
            f"[token]\nprovider = fernet\n[fernet_tokens]\nkey_repository = {d}/fernet\n"
            f"[fernet_receipts]\nkey_repository = {d}/receipts\n"
            f"[credential]\nkey_repository = {d}/credential\n"
        )
        user = pwd.getpwuid(os.getuid()).pw_name
        manage = [str(BIN / "keystone-manage"), "--config-file", str(self.conf)]
        owner = ["--keystone-user", user, "--keystone-group", user]
        for step in (
            ["db_sync"],
            ["fernet_setup", *owner],
            ["credential_setup", *owner],
            [
                "bootstrap",
                "--bootstrap-password",
                password,
                "--bootstrap-public-url",
                self.url,
                "--bootstrap-region-id",
                "RegionOne",
            ],
        ):
            subprocess.run([*manage, *step], check=True, capture_output=True)
        self.proc = popen(
            [sys.executable, "-c", KEYSTONE_SERVER, str(self.port), str(self.conf)],
            d / "keystone.log",
        )
        wait_http(self.url, self.proc, timeout=60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3"

    def _request(
        self,
        path: str,
        body: dict[str, object],
        token: str | None = None,
    ) -> tuple[dict[str, object], str]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Auth-Token"] = token
        req = urllib.request.Request(  # noqa: S310 - a loopback http URL
            f"{self.url}{path}", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            return json.loads(resp.read()), resp.headers.get("X-Subject-Token", "")

    def register_object_store(self, proxy: str) -> None:
        """The catalogue entry swiftclient looks up after authenticating."""
        _, token = self._request(
            "/auth/tokens",
            {
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {
                                "name": "admin",
                                "domain": {"id": "default"},
                                "password": self.password,
                            }
                        },
                    },
                    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
                }
            },
        )
        service, _ = self._request(
            "/services", {"service": {"type": "object-store", "name": "swift"}}, token
        )
        service_id = service["service"]["id"]  # type: ignore[index]
        self._request(
            "/endpoints",
            {
                "endpoint": {
                    "interface": "public",
                    "region_id": "RegionOne",
                    "service_id": service_id,
                    "url": f"{proxy}/v1/AUTH_$(project_id)s",
                }
            },
            token,
        )

    def swift_filters(self) -> str:
        return (
            "[filter:authtoken]\n"
            "paste.filter_factory = keystonemiddleware.auth_token:filter_factory\n"
            f"www_authenticate_uri = {self.url}\nauth_url = {self.url}\nauth_type = password\n"
            f"username = admin\npassword = {self.password}\nproject_name = admin\n"
            "user_domain_id = default\nproject_domain_id = default\n"
            "delay_auth_decision = True\ninterface = public\n"
            "[filter:keystoneauth]\nuse = egg:swift#keystoneauth\noperator_roles = admin\n"
        )

    def stop(self) -> None:
        stop(self.proc)


@contextmanager
def keystone_server(d: Path, password: str) -> Iterator[Keystone]:
    keystone = Keystone(d, password)
    try:
        yield keystone
    finally:
        keystone.stop()


@contextmanager
def flaky_index(d: Path) -> Iterator[str]:
    """A package index of our own that misbehaves as a real one did: an upload is stored,
    then answered ``500``; twine's retry of it gets ``400 File already exists``. Reads (the
    PEP 503 page with sha256 fragments, the files) are correct. pypiserver cannot be made to
    do this, hence this small server (twine's legacy upload API: a multipart POST)."""
    import email.parser
    import email.policy
    import hashlib
    import html
    import http.server
    import threading

    store = d / "flaky-index"
    store.mkdir()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, body: bytes, reason: str | None = None) -> None:
            self.send_response(status, reason)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
            for part in message.iter_parts():
                name = part.get_filename()
                if part.get_param("name", header="content-disposition") == "content" and name:
                    target = store / Path(name).name
                    if target.exists():
                        self._reply(400, b"File already exists", "File already exists")
                        return
                    payload = part.get_payload(decode=True)
                    assert isinstance(payload, bytes)
                    target.write_bytes(payload)
                    self._reply(500, b"Internal Server Error")  # stored, but says it failed
                    return
            self._reply(200, b"OK")  # a .asc or another part: nothing to store

        def do_GET(self) -> None:
            if self.path.startswith("/simple/"):
                links = "".join(
                    f'<a href="/packages/{html.escape(p.name)}#sha256='
                    f'{hashlib.sha256(p.read_bytes()).hexdigest()}">{html.escape(p.name)}</a>\n'
                    for p in sorted(store.iterdir())
                )
                self._reply(200, f"<!DOCTYPE html><html><body>{links}</body></html>".encode())
            elif self.path.startswith("/packages/") and (store / self.path[10:]).is_file():
                self._reply(200, (store / self.path[10:]).read_bytes())
            else:
                self._reply(404, b"Not Found")

    server = QuietHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@contextmanager
def emptying_proxy(upstream: str, *, marker: str) -> Iterator[tuple[str, list[str]]]:
    """A forwarding proxy to ``upstream`` (``http://host:port``) that answers the first GET
    of each path containing ``marker`` with the object's own headers but an empty body
    (Content-Length 0) — what a Swift read under load once gave the staging code. Real Swift
    cannot be made to do this on purpose, hence this small server. Yields its URL and the
    paths it emptied."""
    import http.client
    import http.server
    import threading
    import urllib.parse

    target = urllib.parse.urlsplit(upstream)
    emptied: list[str] = []
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            conn = http.client.HTTPConnection(target.netloc, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            with lock:
                empty = (
                    self.command == "GET"
                    and resp.status == 200
                    and marker in self.path
                    and self.path not in emptied
                )
                if empty:
                    emptied.append(self.path)
            self.send_response(resp.status, resp.reason)
            kept = ("transfer-encoding", "connection") + (
                () if self.command == "HEAD" else ("content-length",)
            )
            for key, value in resp.getheaders():
                if key.lower() not in kept:
                    self.send_header(key, value)
            sent = b"" if empty else data
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(sent)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(sent)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

    server = QuietHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", emptied
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
