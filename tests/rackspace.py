"""A small Rackspace cloud of ours on 127.0.0.1, in front of REAL Swift clusters (one per region).

Rackspace's identity and CDN endpoints cannot be reached from here, so this service speaks the
parts of their documented APIs the ``cloudfiles`` provider uses:

- **Identity v2.0** (``POST /v2.0/tokens``): ``{"auth": {"RAX-KSKEY:apiKeyCredentials":
  {"username", "apiKey"}}}`` -> ``{"access": {"token", "serviceCatalog", "user"}}`` with
  ``object-store`` (``cloudFiles``) and ``rax:object-cdn`` (``cloudFilesCDN``) endpoints per
  region; a wrong key (or ``passwordCredentials`` carrying the key) is Rackspace's
  ``401 {"unauthorized": {"code": 401, "message": "Username or api key is invalid."}}``.
- **CDN management** (``rax:object-cdn``, ``/cdn/<REGION>/v1/<account>/<container>``):
  ``PUT`` with ``X-CDN-Enabled: True`` (201 first, 202 after; ``X-Cdn-Uri``, ``X-Cdn-Ssl-Uri``)
  and ``HEAD`` (204 with ``X-Cdn-Enabled``, the URIs and ``X-Ttl``; 404 if never enabled).
- **CDN edge**: ``https://127.0.0.1:<port>/<hash>/…`` (and an http twin) serves a CDN-enabled
  container, fetched from its Swift with ``X-Web-Mode: true`` so Swift's own staticweb serves
  ``X-Container-Meta-Web-Index`` at the root, as the Rackspace CDN does. The certificate is
  made here by a throwaway CA (``ca_file``; clients get it through ``SSL_CERT_FILE``).

Swift validates the tokens itself, keystone-style: keystonemiddleware's ``authtoken`` and
Swift's ``keystoneauth`` (reseller prefix ``MossoCloudFS_``) in each proxy's pipeline, talking
to the minimal Keystone v3 surface this service also offers (version discovery, a password
token for the ``swift`` service user, ``GET /v3/auth/tokens`` validation).
"""

from __future__ import annotations

import dataclasses
import datetime
import http.client
import http.server
import ipaddress
import json
import secrets
import ssl
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.servers import SWIFT_SERVERS, SwiftAIO

RESELLER = "MossoCloudFS_"
ROLES = ("object-store:default", "identity:default")
SERVICE_USER, SERVICE_PASSWORD = "swift", "swift-service-password"
EXPIRES = "2999-01-01T00:00:00.000000Z"


@dataclasses.dataclass
class Token:
    user: str
    project: str  # Keystone project = Cloud Files tenant without the reseller prefix


@dataclasses.dataclass
class CdnContainer:
    region: str
    account: str
    container: str
    hash: str
    enabled: bool = True
    ttl: int = 259200


@dataclasses.dataclass
class CdnRequest:
    method: str
    path: str
    headers: dict[str, str]


class RackspaceCloud:
    """Identity + CDN management (http) and the CDN edge (https + http), in threads."""

    def __init__(self, d: Path, *, username: str, api_key: str, regions: tuple[str, ...]) -> None:
        self.dir = d
        self.username, self.api_key = username, api_key
        self.regions = regions
        self.tenant = uuid.uuid4().hex  # the Cloud Files account is MossoCloudFS_<tenant>
        self.account = RESELLER + self.tenant
        self.storage: dict[str, str] = {}  # region -> Swift proxy base URL
        self.tokens: dict[str, Token] = {}
        self.cdn: dict[tuple[str, str], CdnContainer] = {}  # (region, container)
        self.cdn_requests: list[CdnRequest] = []
        self.identity_requests: list[dict[str, Any]] = []
        #: when set, the CDN management API answers every request with this status
        self.cdn_status: int | None = None
        self.lock = threading.Lock()
        self.ca_file, cert, key = _certificates(d)
        self._servers: list[http.server.ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self.port = self._serve(_ApiHandler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        self.edge_port = self._serve(_EdgeHandler, tls)
        self.edge_http_port = self._serve(_EdgeHandler)

    def _serve(self, handler: type[_Handler], tls: ssl.SSLContext | None = None) -> int:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.cloud = self  # type: ignore[attr-defined]
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self._servers.append(server)
        self._threads.append(thread)
        return int(server.server_address[1])

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()

    # -- URLs -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def identity_url(self) -> str:
        """What ``--auth-url`` takes (Rackspace: https://identity.api.rackspacecloud.com/v2.0/)."""
        return f"{self.url}/v2.0/"

    def storage_url(self, region: str) -> str:
        return f"{self.storage[region]}/v1/{self.account}"

    def cdn_url(self, region: str) -> str:
        return f"{self.url}/cdn/{region}/v1/{self.account}"

    def edge_url(self, item: CdnContainer, *, ssl_uri: bool = True) -> str:
        if ssl_uri:
            return f"https://127.0.0.1:{self.edge_port}/{item.hash}"
        return f"http://127.0.0.1:{self.edge_http_port}/{item.hash}"

    def region(self, name: str) -> RegionIdentity:
        """What one region's Swift proxy is configured with (see SwiftAIO ``identity``)."""
        return RegionIdentity(self, name)

    # -- identity ---------------------------------------------------------------------------
    def issue(self, user: str, project: str) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = Token(user=user, project=project)
        return token

    def catalogue_v2(self) -> list[dict[str, Any]]:
        return [
            {
                "name": "cloudFiles",
                "type": "object-store",
                "endpoints": [
                    {
                        "region": r,
                        "tenantId": self.account,
                        "publicURL": self.storage_url(r),
                        "internalURL": self.storage_url(r),
                    }
                    for r in self.regions
                ],
            },
            {
                "name": "cloudFilesCDN",
                "type": "rax:object-cdn",
                "endpoints": [
                    {"region": r, "tenantId": self.account, "publicURL": self.cdn_url(r)}
                    for r in self.regions
                ],
            },
        ]

    def token_v3(self, token: Token) -> dict[str, Any]:
        domain = {"id": "default", "name": "Default"}
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        return {
            "token": {
                "methods": ["password"],
                "issued_at": now,
                "expires_at": EXPIRES,
                "user": {"id": token.user, "name": token.user, "domain": domain},
                "project": {"id": token.project, "name": token.project, "domain": domain},
                "roles": [{"id": name, "name": name} for name in ROLES],
                "catalog": [
                    {
                        "id": "identity",
                        "type": "identity",
                        "name": "keystone",
                        "endpoints": [
                            {
                                "id": f"identity-{r}",
                                "interface": "public",
                                "region": r,
                                "region_id": r,
                                "url": f"{self.url}/v3",
                            }
                            for r in self.regions
                        ],
                    }
                ],
            }
        }

    @contextmanager
    def swift_get(
        self, region: str, container: str, path: str | None, method: str = "GET"
    ) -> Iterator[http.client.HTTPResponse]:
        """The CDN's origin pull from the region's Swift: the object at ``path`` (or
        staticweb's index for a directory), or the container itself when ``path`` is None."""
        parsed = urllib.parse.urlsplit(self.storage[region])
        conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=30)
        headers = {"X-Auth-Token": self.issue(self.username, self.tenant)}
        target = f"/v1/{self.account}/{urllib.parse.quote(container)}"
        if path is not None:
            target += f"/{path}"
            headers["X-Web-Mode"] = "true"
        try:
            conn.request(method, target, headers=headers)
            with conn.getresponse() as resp:
                yield resp
        finally:
            conn.close()


@dataclasses.dataclass(frozen=True)
class RegionIdentity:
    """SwiftAIO's identity hook for one region: authtoken + keystoneauth against the cloud."""

    cloud: RackspaceCloud
    name: str

    def swift_filters(self) -> str:
        v3 = f"{self.cloud.url}/v3"
        return (
            "[filter:authtoken]\n"
            "paste.filter_factory = keystonemiddleware.auth_token:filter_factory\n"
            f"www_authenticate_uri = {v3}\nauth_url = {v3}\nauth_type = password\n"
            f"username = {SERVICE_USER}\npassword = {SERVICE_PASSWORD}\nproject_name = service\n"
            "user_domain_id = default\nproject_domain_id = default\n"
            f"region_name = {self.name}\n"
            "delay_auth_decision = True\ninterface = public\n"
            "[filter:keystoneauth]\nuse = egg:swift#keystoneauth\n"
            f"reseller_prefix = {RESELLER.rstrip('_')}\noperator_roles = {ROLES[0]}\n"
        )

    def register_object_store(self, proxy: str) -> None:
        self.cloud.storage[self.name] = proxy


def _certificates(d: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it: (ca, cert, key) files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CDN CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = d / "ca.pem", d / "cdn.pem", d / "cdn.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def cloud(self) -> RackspaceCloud:
        return self.server.cloud  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def reply(
        self, status: int, body: object = None, headers: dict[str, str] | None = None
    ) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None


class _ApiHandler(_Handler):
    """Identity v2.0 (Rackspace), the Keystone v3 subset authtoken uses, CDN management."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        version = {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{self.cloud.url}/v3/"}],
            "media-types": [
                {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
            ],
        }
        if path == "":
            self.reply(300, {"versions": {"values": [version]}})
        elif path == "/v3":
            self.reply(200, {"version": version})
        elif path == "/v3/auth/tokens":
            self.validate()
        else:
            self.reply(404, {"itemNotFound": {"code": 404, "message": "Resource not found"}})

    def do_POST(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        body = self.body()
        if path == "/v2.0/tokens":
            self.tokens_v2(body)
        elif path == "/v3/auth/tokens":
            self.tokens_v3(body)
        else:
            self.reply(404, {"itemNotFound": {"code": 404, "message": "Resource not found"}})

    def do_PUT(self) -> None:
        self.cdn()

    def do_HEAD(self) -> None:
        self.cdn()

    # -- identity ---------------------------------------------------------------------------
    def tokens_v2(self, body: Any) -> None:
        auth = body.get("auth") if isinstance(body, dict) else None
        if not isinstance(auth, dict):
            self.reply(400, {"badRequest": {"code": 400, "message": "Invalid json request body"}})
            return
        with self.cloud.lock:
            self.cloud.identity_requests.append(auth)
        creds = auth.get("RAX-KSKEY:apiKeyCredentials")
        if not (
            isinstance(creds, dict)
            and creds.get("username") == self.cloud.username
            and creds.get("apiKey") == self.cloud.api_key
        ):
            what = "api key" if creds is not None else "password"
            self.reply(
                401,
                {"unauthorized": {"code": 401, "message": f"Username or {what} is invalid."}},
                {"WWW-Authenticate": "Keystone uri='https://identity.api.rackspacecloud.com'"},
            )
            return
        token = self.cloud.issue(self.cloud.username, self.cloud.tenant)
        self.reply(
            200,
            {
                "access": {
                    "token": {
                        "id": token,
                        "expires": EXPIRES,
                        "tenant": {"id": "123456", "name": "123456"},
                        "RAX-AUTH:authenticatedBy": ["APIKEY"],
                    },
                    "serviceCatalog": self.cloud.catalogue_v2(),
                    "user": {
                        "id": "172157",
                        "name": self.cloud.username,
                        "RAX-AUTH:defaultRegion": self.cloud.regions[0],
                        "roles": [{"id": name, "name": name} for name in ROLES],
                    },
                }
            },
        )

    def tokens_v3(self, body: Any) -> None:
        """Password tokens for Swift's service user only (authtoken's own credentials)."""
        try:
            user = body["auth"]["identity"]["password"]["user"]
            ok = user["name"] == SERVICE_USER and user["password"] == SERVICE_PASSWORD
        except (KeyError, TypeError):
            ok = False
        if not ok:
            self.reply(401, {"error": {"code": 401, "message": "The request requires auth."}})
            return
        token = self.cloud.issue(SERVICE_USER, "service")
        data = self.cloud.token_v3(self.cloud.tokens[token])
        self.reply(201, data, {"X-Subject-Token": token})

    def validate(self) -> None:
        caller = self.cloud.tokens.get(self.headers.get("X-Auth-Token", ""))
        if caller is None or caller.user != SERVICE_USER:
            self.reply(401, {"error": {"code": 401, "message": "The request requires auth."}})
            return
        subject = self.headers.get("X-Subject-Token", "")
        token = self.cloud.tokens.get(subject)
        if token is None:
            self.reply(404, {"error": {"code": 404, "message": "Could not find token."}})
            return
        self.reply(200, self.cloud.token_v3(token), {"X-Subject-Token": subject})

    # -- CDN management ---------------------------------------------------------------------
    def cdn(self) -> None:
        cloud = self.cloud
        parts = urllib.parse.urlsplit(self.path).path.split("/")
        # "", "cdn", REGION, "v1", account, container
        if len(parts) != 6 or parts[1] != "cdn" or parts[3] != "v1":
            self.reply(404)
            return
        _, _, region, _, account, quoted = parts
        container = urllib.parse.unquote(quoted)
        with cloud.lock:
            cloud.cdn_requests.append(CdnRequest(self.command, self.path, dict(self.headers)))
        if cloud.cdn_status is not None:
            self.reply(cloud.cdn_status)
            return
        token = cloud.tokens.get(self.headers.get("X-Auth-Token", ""))
        if token is None:
            self.reply(401)
            return
        if account != cloud.account or RESELLER + token.project != account:
            self.reply(403)
            return
        if region not in cloud.regions:
            self.reply(404)
            return
        key = (region, container)
        if self.command == "PUT":
            with cloud.swift_get(region, container, None, "HEAD") as r:
                if r.status == 404:  # CDN-enabling needs the container in the region
                    self.reply(404)
                    return
            with cloud.lock:
                known = cloud.cdn.get(key)
                item = known or CdnContainer(region, account, container, secrets.token_hex(10))
                item.enabled = self.headers.get("X-CDN-Enabled", "True").lower() == "true"
                if self.headers.get("X-TTL"):
                    item.ttl = int(self.headers["X-TTL"])
                cloud.cdn[key] = item
            self.reply(202 if known else 201, None, self.uris(item))
            return
        found = cloud.cdn.get(key)
        if found is None:
            self.reply(404)
            return
        self.reply(
            204,
            None,
            {
                **self.uris(found),
                "X-Cdn-Enabled": str(found.enabled),
                "X-Ttl": str(found.ttl),
                "X-Log-Retention": "False",
            },
        )

    def uris(self, item: CdnContainer) -> dict[str, str]:
        return {
            "X-Cdn-Uri": self.cloud.edge_url(item, ssl_uri=False),
            "X-Cdn-Ssl-Uri": self.cloud.edge_url(item),
        }


class _EdgeHandler(_Handler):
    """The CDN edge: ``/<hash>/<path>`` of a CDN-enabled container, pulled from its Swift."""

    def do_GET(self) -> None:
        self.serve()

    def do_HEAD(self) -> None:
        self.serve()

    def serve(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        hash_, slash, rest = path.lstrip("/").partition("/")
        item = next((c for c in self.cloud.cdn.values() if c.hash == hash_), None)
        if item is None or not item.enabled:
            self.reply(404)
            return
        if not slash:  # the container root is a directory: as staticweb does
            self.reply(301, None, {"Location": f"/{hash_}/"})
            return
        with self.cloud.swift_get(item.region, item.container, rest, self.command) as resp:
            data = resp.read()
            self.send_response(resp.status)
            for name in ("Content-Type", "ETag", "Last-Modified"):
                if resp.getheader(name):
                    self.send_header(name, resp.getheader(name) or "")
            location = resp.getheader("Location")
            if location:  # staticweb's redirect to a directory: the same path on the edge
                prefix = f"/v1/{item.account}/{urllib.parse.quote(item.container)}/"
                tail = urllib.parse.urlsplit(location).path.removeprefix(prefix)
                self.send_header("Location", f"/{hash_}/{tail}")
            length = resp.getheader("Content-Length") or str(len(data))
            self.send_header("Content-Length", length)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)


@contextmanager
def rackspace_cloud(
    d: Path, *, username: str, api_key: str, regions: tuple[str, ...] = ("ORD", "DFW")
) -> Iterator[tuple[RackspaceCloud, dict[str, SwiftAIO]]]:
    """The cloud service and one real Swift per region behind it."""
    d.mkdir(parents=True, exist_ok=True)
    cloud = RackspaceCloud(d, username=username, api_key=api_key, regions=regions)
    swifts = {r: SwiftAIO(d / f"swift-{r}", identity=cloud.region(r)) for r in regions}
    kinds = (*SWIFT_SERVERS, "proxy")
    try:
        for swift in swifts.values():  # all processes of all regions start at once
            swift.launch(*kinds)
        for swift in swifts.values():
            swift.wait_ready(*kinds)
        yield cloud, swifts
    finally:
        for swift in swifts.values():
            for kind in list(swift.procs):
                swift.stop(kind)
        cloud.stop()
