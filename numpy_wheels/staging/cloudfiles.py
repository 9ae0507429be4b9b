"""Rackspace Cloud Files: API-key identity, the region's endpoints, CDN publication.

What the original staging did (wheelhouse-uploader 0.10 on libcloud's ``CLOUDFILES`` driver),
in Rackspace's documented APIs:

- **Identity** (v2.0; default ``https://identity.api.rackspacecloud.com/v2.0/``, set in
  config/staging.py with the default region):
  ``POST <identity>/tokens`` with
  ``{"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": …, "apiKey": …}}}`` returns a token
  and the service catalogue. A wrong key is ``401 {"unauthorized": {"message": "Username or
  api key is invalid."}}``.
- **Storage**: the catalogue's ``object-store`` endpoint of the region (``ORD`` unless
  ``--region``; matched case-insensitively, as libcloud did) is plain Swift, driven by the same
  :class:`SwiftStore` as the ``swift`` provider.
- **Publication**: a Cloud Files container is published through the CDN management endpoint
  (``rax:object-cdn``), not through a Swift ``.r:*`` ACL: ``PUT <cdn>/<container>`` with
  ``X-CDN-Enabled: True`` answers 201/202 with ``X-Cdn-Uri`` and ``X-Cdn-Ssl-Uri``;
  ``HEAD <cdn>/<container>`` reports them (``X-Cdn-Enabled: True``) later. The container also
  gets ``X-Container-Meta-Web-Index: index.html`` (libcloud's ``ex_enable_static_website``),
  so the CDN address itself serves the index page ``wheel-uploader -u`` reads.

Identity is a keystoneauth1 plugin (the ``RAX-KSKEY:apiKeyCredentials`` body on keystoneauth1's
v2.0 ``Auth``) handed to python-swiftclient as a session. Not ``rackspaceauth``: it is that same
plugin, unmaintained since its 0.8.1 of January 2018. Not apache-libcloud's ``CLOUDFILES``
driver: it is maintained, but it would be a second Swift client beside swiftclient, with its
own uploads, listings, retries and errors, for what differs from the ``swift`` provider only in
the identity request and two CDN calls.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, TypeVar

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v2

from numpy_wheels.config.staging import StoreConfig
from numpy_wheels.errors import AuthError, StoreError, UsageError
from numpy_wheels.log import log
from numpy_wheels.staging.store import SwiftStore

#: CDN cache lifetime. Rackspace's minimum (15 minutes) instead of its 72-hour default, as
#: wheelhouse-uploader's README advised: index.html changes with every CI job, and a release
#: started after the last job must not read a stale page from the CDN.
CDN_TTL = 900
WEB_INDEX = "index.html"
CDN_RETRIES = 2
#: Container metadata holding the CDN address this tool last saw for the container.
CDN_ADDRESS_META = "X-Container-Meta-Numpy-Wheels-Cdn-Address"
T = TypeVar("T")


class APIKeyAuth(v2.Auth):
    """keystoneauth1 plugin for Rackspace's ``RAX-KSKEY:apiKeyCredentials`` (identity v2.0)."""

    def __init__(self, auth_url: str, *, username: str, api_key: str) -> None:
        super().__init__(auth_url)
        self.username = username
        self.api_key = api_key

    def get_auth_data(self, headers: MutableMapping[str, str] | None = None) -> dict[str, object]:
        del headers
        return {"RAX-KSKEY:apiKeyCredentials": {"username": self.username, "apiKey": self.api_key}}


def _rackspace_message(exc: ks_exc.HttpError) -> str:
    """The message of a Rackspace fault body (``{"unauthorized": {"code", "message"}}``),
    else keystoneauth's own."""
    try:
        body = exc.response.json() if exc.response is not None else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        for fault in body.values():
            if isinstance(fault, dict) and isinstance(fault.get("message"), str):
                return str(fault["message"])
    return str(exc.message or exc)


def _answer_shape(response: Any) -> str:
    """What came back instead of a token: status, content type and the body's first words
    (an HTML page from a proxy or a portal, a JSON error without ``access``)."""
    kind = response.headers.get("Content-Type", "no content type").split(";")[0].strip()
    start = " ".join(response.text[:80].split())
    return f"HTTP {response.status_code}, {kind}, beginning {start!r}"


class CloudFilesStore(SwiftStore):
    """A Cloud Files container: Swift storage of one region, published through the CDN."""

    def __init__(self, config: StoreConfig) -> None:
        super().__init__(config)
        if not config.auth_url or not config.region:  # config/staging.py supplies defaults
            msg = "Cloud Files needs an identity URL and a region"
            raise UsageError(msg)
        self.identity = config.auth_url
        self.region = config.region.upper()
        self.auth = APIKeyAuth(
            self.identity, username=config.username or "", api_key=config.secret or ""
        )
        # No redirects: keystoneauth follows them and re-sends the request, API key included,
        # to wherever the Location points (another host, https -> http).
        self.session = ks_session.Session(auth=self.auth, timeout=config.timeout, redirect=False)
        self._storage_url: str | None = None
        self._cdn_endpoint: str | None = None
        self._resolved = False
        self._lock = threading.Lock()
        self._public: str | None = None
        self._cdn_checked = False

    # -- identity and catalogue -------------------------------------------------------------
    def _identity(self, action: Callable[[], T]) -> T:
        """Run ``action``; keystoneauth's failures in Rackspace's terms (401/403 -> AuthError)."""
        try:
            return action()
        except (ks_exc.Unauthorized, ks_exc.Forbidden) as exc:
            msg = (
                f"Rackspace identity ({self.identity}) refused user {self.config.username!r}: "
                f"{_rackspace_message(exc)} The secret (WHEELHOUSE_UPLOADER_SECRET, ST_KEY or "
                "--secret) must be the account's API key (Cloud Control Panel > Account "
                "Settings > API Key), not its password"
            )
            raise AuthError(log.redact(msg)) from None
        except ks_exc.HttpError as exc:
            msg = (
                f"Rackspace identity ({self.identity}) answered HTTP {exc.http_status}: "
                f"{_rackspace_message(exc)}"
            )
            if exc.http_status == 404:
                msg += "; is --auth-url the identity service's v2.0 endpoint (…/v2.0/)?"
            raise StoreError(log.redact(msg)) from None
        except ks_exc.InvalidResponse as exc:
            raise StoreError(log.redact(self._not_a_token(exc.response))) from None
        except ks_exc.ClientException as exc:  # connection failures, timeouts
            msg = f"cannot authenticate at Rackspace identity ({self.identity}): {exc}"
            raise StoreError(log.redact(msg)) from None

    def _not_a_token(self, response: Any) -> str:
        """What the identity answered instead of a token, and what to do about it."""
        where = f"Rackspace identity ({self.identity})"
        if 300 <= response.status_code < 400:
            return (
                f"{where} answered with a redirect (HTTP {response.status_code}) to "
                f"{response.headers.get('Location', 'nowhere')!r}, not followed: the API key "
                "would be sent there; pass that address as --auth-url if you trust it"
            )
        return (
            f"{where} did not answer with a token: {_answer_shape(response)}; is --auth-url "
            "the identity service's v2.0 endpoint (…/v2.0/)?"
        )

    def _token(self) -> Any:
        """The token and catalogue, the whole answer within ``--timeout`` seconds: the
        session's timeout bounds each read only, so an identity that drips its answer a byte
        at a time held the run for ever. The request runs in a daemon thread that is left
        behind when the deadline passes (the run then ends with this StoreError)."""
        box: dict[str, Any] = {}

        def ask() -> None:
            try:
                box["access"] = self._identity(lambda: self.auth.get_access(self.session))
            except BaseException as exc:  # handed to the caller below
                box["error"] = exc

        asking = threading.Thread(target=ask, name="rackspace-identity", daemon=True)
        asking.start()
        asking.join(self.config.timeout)
        if asking.is_alive():
            msg = (
                f"Rackspace identity ({self.identity}) sent no complete answer within "
                f"{self.config.timeout:g} s (--timeout)"
            )
            raise StoreError(msg)
        if "error" in box:
            raise box["error"]
        return box["access"]

    def _resolve(self) -> None:
        """Authenticate once; choose the region's storage and CDN endpoints."""
        with self._lock:  # upload and listing workers share the store
            if not self._resolved:
                self._resolve_once()

    def _resolve_once(self) -> None:
        access = self._token()
        catalog = access.service_catalog
        storage = self.config.storage_url
        if storage is None:
            try:
                storage = catalog.url_for(
                    service_type="object-store", interface="public", region_name=self.region
                )
            except ks_exc.EndpointNotFound:
                found = catalog.get_endpoints_data(service_type="object-store", interface="public")
                regions = sorted(
                    {e.region_name for eps in found.values() for e in eps if e.region_name}
                )
                if not regions:
                    msg = (
                        f"the service catalogue of user {self.config.username!r} has no "
                        "Cloud Files (object-store) endpoint in any region: the account has "
                        "no Cloud Files service, or the identity service is not Rackspace's"
                    )
                    raise StoreError(msg) from None
                msg = (
                    f"Cloud Files has no region {self.region!r} for user "
                    f"{self.config.username!r}: the service catalogue lists "
                    f"{', '.join(regions)}; pass one of them with --region (or [staging] region)"
                )
                raise UsageError(msg) from None
        self._storage_url = storage
        try:
            self._cdn_endpoint = catalog.url_for(
                service_type="rax:object-cdn", interface="public", region_name=self.region
            )
        except ks_exc.EndpointNotFound:
            self._cdn_endpoint = None
        self._resolved = True

    def _connect(self) -> Any:
        """A swiftclient connection on the shared keystoneauth session (one token for all
        threads), pinned to the storage endpoint chosen in the catalogue: swiftclient would
        otherwise ask the session for one itself."""
        from swiftclient.client import Connection

        self._resolve()
        return Connection(
            session=self.session,
            os_options={"region_name": self.region, "object_storage_url": self._storage_url},
            retries=self.config.retries,
            starting_backoff=0.5,
            max_backoff=8,
            timeout=self.config.timeout,
        )

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._resolve()
        # a token refreshed inside swiftclient goes through keystoneauth too
        return self._identity(lambda: super(CloudFilesStore, self)._call(what, fn, *args, **kwargs))

    # -- CDN ---------------------------------------------------------------------------------
    def _cdn(self, method: str, headers: Mapping[str, str] | None = None) -> Any:
        """One CDN management request for the container, or None (warned) when the CDN is
        not available: no ``rax:object-cdn`` endpoint in the region, unreachable, refused."""
        container = self.config.container
        if self._cdn_endpoint is None:
            return self._cdn_unavailable(
                f"the service catalogue has no rax:object-cdn endpoint in {self.region}", method
            )
        url = f"{self._cdn_endpoint.rstrip('/')}/{urllib.parse.quote(container)}"
        try:
            resp = self._identity(
                lambda: self.session.request(
                    url,
                    method,
                    headers=dict(headers or {}),
                    raise_exc=False,
                    # publication is not worth a long wait: the files are staged anyway
                    connect_retries=CDN_RETRIES,
                    status_code_retries=CDN_RETRIES,
                    retriable_status_codes=[500, 502, 503, 504],
                )
            )
        except StoreError as exc:
            return self._cdn_unavailable(str(exc), method)
        if resp.status_code == 404 and method == "HEAD":
            return resp  # never CDN-enabled: a fact, not a failure
        if resp.status_code >= 300:
            why = f"{method} {url}: HTTP {resp.status_code} {resp.reason}"
            return self._cdn_unavailable(why, method)
        return resp

    def _cdn_unavailable(self, why: str, method: str = "PUT") -> None:
        container = repr(self.config.container)
        if method == "HEAD":  # only asked whether the container is published
            text = f"Rackspace CDN not available: cannot tell whether {container} is published"
            log.warning(log.redact(f"{text} ({why})"))
            return
        log.warning(
            log.redact(
                f"Rackspace CDN not available for container {container} ({why}). The files "
                f"are staged in {self.region} but not published; enable the CDN in the Cloud "
                "Control Panel or run the upload again. wheel-uploader can read the container "
                "meanwhile with --provider-name cloudfiles."
            )
        )

    @staticmethod
    def _uri(resp: Any) -> str | None:
        uri = resp.headers.get("X-Cdn-Ssl-Uri") or resp.headers.get("X-Cdn-Uri")
        return f"{uri.rstrip('/')}/" if uri else None

    def ensure_container(self) -> None:
        # The static-website header makes the CDN address serve index.html.
        self._call(
            "put container",
            self.conn.put_container,
            self.config.container,
            {"X-Container-Meta-Web-Index": WEB_INDEX},
        )
        if not self.config.public:  # --no-enable-cdn
            return
        resp = self._cdn("PUT", {"X-CDN-Enabled": "True", "X-TTL": str(CDN_TTL)})
        self._cdn_checked = True
        if resp is None:
            self._public = self._last_known_address()
            return
        if (uri := self._uri(resp)) is None:  # some answers carry no URIs: ask again
            head = self._cdn("HEAD")
            uri = self._uri(head) if head is not None and head.status_code < 300 else None
        if uri is None:
            self._cdn_unavailable("the CDN enabled the container but reported no address")
        elif uri != self._recorded_address():
            headers = {CDN_ADDRESS_META: uri}
            self._call("post container", self.conn.post_container, self.config.container, headers)
        self._public = uri

    def _recorded_address(self) -> str | None:
        """The CDN address this tool recorded on the container when it last published it."""
        headers = self._call("head container", self.conn.head_container, self.config.container)
        return None if headers is None else headers.get(CDN_ADDRESS_META.lower()) or None

    def _last_known_address(self) -> str | None:
        """When the CDN's management API does not answer, the address recorded when the
        container was published: the edge serves a published container whatever the API
        does, and pages rewritten without it lost the address (issue 16 tryout)."""
        uri = self._recorded_address()
        if uri is not None:
            log.warning(
                f"using the CDN address recorded when {self.config.container!r} was last "
                f"published, {uri} (the CDN could not be asked; its edge keeps serving a "
                "published container)"
            )
        return uri

    def public_address(self) -> str | None:
        """The CDN address (SSL URI) when the container is CDN-enabled, else None; the CDN
        is asked (read-only) when this run did not enable it (``staged``, --no-enable-cdn)."""
        if self.config.public_url:
            return self.config.public_url
        if not self._cdn_checked:
            self._resolve()
            self._cdn_checked = True
            resp = self._cdn("HEAD")
            if resp is None:
                self._public = self._last_known_address()
            elif resp.status_code < 300 and resp.headers.get("X-Cdn-Enabled", "").lower() == "true":
                self._public = self._uri(resp)
        return self._public

    def base_url(self) -> str:
        return self.public_address() or super().base_url()
