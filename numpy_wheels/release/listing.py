"""Read a container's listing in every form it comes in, into ``Remote`` records.

- the store itself (Swift/S3/local through ``store.py``): the per-file records, with sha256;
- a URL that serves ``metadata.json`` (``{file: {sha256, size}}``);
- a PEP 691 JSON or PEP 503 HTML simple page (a simple root gets ``<project>/`` appended);
- a plain HTML page of links (the Rackspace-era listing, the container's ``index.html``),
  ``#sha256=`` fragments used when present and ``rel="next"`` pages followed;
- a Swift plain-text listing (one name per line), paged with ``?marker=``.

Hashes missing from a page are looked up in ``metadata.json`` next to it.
"""

from __future__ import annotations

import dataclasses
import functools
import html.parser
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path

from packaging.utils import canonicalize_name

from numpy_wheels.errors import AuthError, ReleaseGateError, StoreError
from numpy_wheels.files import is_dist
from numpy_wheels.net import Canceller, Limits, Response, Sink, download, get_bytes
from numpy_wheels.staging.stage import read_records
from numpy_wheels.staging.store import Store

PEP691 = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{PEP691}, application/json;q=0.9, text/html;q=0.5, text/plain;q=0.1"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Remote:
    """One file a listing offers: where it is and the sha256 the container published."""

    filename: str
    url: str | None  # None: fetched through the store
    sha256: str | None
    size: int | None = None
    build: Mapping[str, object] | None = None  # the staged build record (provenance)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Page:
    body: bytes
    content_type: str
    url: str  # after redirects


Fetch = Callable[[str], Page]


#: The most a listing page may weigh (numpy's container index is ~200 KiB).
MAX_PAGE_BYTES = 32 << 20


def fetch(url: str, *, limits: Limits | None = None, allow_file: bool = False) -> Page:
    """GET ``url`` within ``limits`` (deadline over retries, bounded body)."""
    limits = dataclasses.replace(limits or Limits(), max_bytes=MAX_PAGE_BYTES)
    body, resp = get_bytes(url, limits=limits, accept=ACCEPT, allow_file=allow_file)
    return Page(body=body, content_type=resp.content_type, url=resp.url)


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.next: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        a = dict(attrs)
        href = a.get("href")
        if not href:
            return
        if (a.get("rel") or "").lower() == "next":
            self.next = href
        else:
            self.links.append(href)


def _checked_url(url: str, base: str) -> str:
    """A link of a listing: http(s) from a remote page; ``file:`` only from a local one."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    page_scheme = urllib.parse.urlsplit(base).scheme.lower()
    allowed = ("file",) if page_scheme == "file" else ("http", "https")
    if scheme not in allowed:
        msg = (
            f"{base} links to {url[:80]!r}: a {page_scheme} listing may only link "
            f"{'/'.join(allowed)} URLs; refused"
        )
        raise StoreError(msg)
    return url


def _sha256(value: object) -> str | None:
    """A published sha256, lower-cased; anything but 64 hex digits counts as no hash."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if re.fullmatch(r"[0-9a-f]{64}", value) else None


def _from_links(base: str, hrefs: list[str]) -> list[Remote]:
    """The distribution files a page links, named by the last segment of each link's path
    (PEP 503). A query is part of the URL fetched, not of the name: a pre-signed S3 URL or a
    Swift temp URL (``...whl?X-Amz-Signature=...``, ``?temp_url_sig=...``)."""
    out = []
    for href in hrefs:
        url, _, fragment = urllib.parse.urljoin(base, href).partition("#")
        path = urllib.parse.urlsplit(url).path
        filename = urllib.parse.unquote(path.rstrip("/").rsplit("/", 1)[-1])
        if not is_dist(filename):
            continue
        algo, _, digest = fragment.partition("=")
        out.append(
            Remote(
                filename=filename,
                url=_checked_url(url, base),
                sha256=_sha256(digest) if algo.lower() == "sha256" else None,
            )
        )
    return out


def _size(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _from_metadata(base: str, body: bytes) -> list[Remote]:
    data = json.loads(body)
    return [
        Remote(
            filename=name,
            url=_checked_url(urllib.parse.urljoin(base, urllib.parse.quote(name)), base),
            sha256=_sha256(meta.get("sha256")),
            size=_size(meta.get("size")),
            build=meta["build"] if isinstance(meta.get("build"), dict) else None,
        )
        for name, meta in data.items()
        if is_dist(name)
    ]


def _from_pep691(base: str, body: bytes) -> list[Remote]:
    return [
        Remote(
            filename=f["filename"],
            url=_checked_url(urllib.parse.urljoin(base, f["url"]).partition("#")[0], base),
            sha256=_sha256(f.get("hashes", {}).get("sha256")),
            size=_size(f.get("size")),
        )
        for f in json.loads(body)["files"]
        if is_dist(f["filename"])
    ]


def _parse_page(page: Page) -> tuple[str, list[Remote], str | None]:
    """What one page lists: (kind, files, next page or None)."""
    data = json.loads(page.body) if page.content_type.endswith("json") else None
    if page.content_type == PEP691 or (isinstance(data, dict) and "meta" in data):
        return "simple JSON", _from_pep691(page.url, page.body), None
    if isinstance(data, dict):
        return "metadata.json", _from_metadata(page.url, page.body), None
    if isinstance(data, list) or page.content_type == "text/plain":
        # A Swift/Cloud Files container listing (JSON or plain), paged by marker.
        names = [o["name"] for o in data] if data is not None else page.body.decode().split()
        base = page.url.split("?", maxsplit=1)[0]
        following = f"{base}?marker={urllib.parse.quote(names[-1])}" if names else None
        return "container listing", _from_links(base, names), following
    parser = _Links()
    parser.feed(page.body.decode(errors="replace"))
    following = urllib.parse.urljoin(page.url, parser.next) if parser.next else None
    return "HTML links", _from_links(page.url, parser.links), following


def from_url(
    url: str,
    project: str,
    *,
    get: Fetch | None = None,
    max_pages: int = 1000,
    builds: bool = False,
) -> list[Remote]:
    """Every distribution file the page(s) at ``url`` offer, with the published hashes (and
    with ``builds`` the build records, from the container's metadata.json next to the page).

    ``get`` fetches one page (default: ``fetch``, reading ``file:`` only when ``url`` is one).
    """
    parsed = urllib.parse.urlsplit(url)
    if get is None:
        get = functools.partial(fetch, allow_file=parsed.scheme == "file")
    if parsed.path.rstrip("/").endswith("/simple") or parsed.path.rstrip("/") == "simple":
        url = url.rstrip("/") + f"/{canonicalize_name(project)}/"
    found: dict[str, Remote] = {}
    seen: set[str] = set()
    next_url: str | None = url
    kind = ""
    while next_url and next_url not in seen and len(seen) < max_pages:
        seen.add(next_url)
        page = get(next_url)
        try:
            kind, items, next_url = _parse_page(page)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            why = str(exc).splitlines()[0][:200] if str(exc) else ""
            msg = f"{page.url} is not a listing this tool can read ({type(exc).__name__}: {why})"
            raise StoreError(msg) from None
        for item in items:
            _refuse_contradiction(found.setdefault(item.filename, item), item, page.url)
    lacking = any(r.sha256 is None or (builds and r.build is None) for r in found.values())
    if lacking and kind != "metadata.json":
        found = _hashes_from_metadata(url, found, get)
    return sorted(found.values(), key=lambda r: r.filename)


def _refuse_contradiction(first: Remote, other: Remote, page_url: str) -> None:
    """ReleaseGateError when the listing names one file twice with two sha256 (the first
    link won, unsaid: which bytes are the release is not for link order to decide)."""
    if first.sha256 and other.sha256 and first.sha256 != other.sha256:
        msg = (
            f"{page_url} lists {first.filename} twice, with two sha256 ({first.sha256[:12]}... "
            f"and {other.sha256[:12]}...): which one is the release is not clear. Nothing was "
            "downloaded."
        )
        raise ReleaseGateError(msg)


def _hashes_from_metadata(url: str, found: dict[str, Remote], get: Fetch) -> dict[str, Remote]:
    """Fill in missing hashes (and build records) from the container's metadata.json next
    to the page, if any."""
    try:
        page = get(urllib.parse.urljoin(url.split("?", maxsplit=1)[0], "metadata.json"))
        published = {r.filename: r for r in _from_metadata(page.url, page.body)}
    except (StoreError, AuthError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        # no usable metadata.json (S3 and CDNs answer 403 for a missing object): the hashes
        # stay unknown (and are refused)
        return found
    out = {}
    for name, r in found.items():
        other = published.get(name)
        if other is None:
            out[name] = r
        elif r.sha256 is None:
            out[name] = dataclasses.replace(
                r, sha256=other.sha256, size=other.size, build=other.build
            )
        elif r.build is None and other.sha256 == r.sha256:  # the record of these very bytes
            out[name] = dataclasses.replace(r, build=other.build)
        else:
            out[name] = r
    return out


def from_store(store: Store) -> list[Remote]:
    """The store's own records (written by ``upload``), each with its sha256 and size."""
    return sorted(
        (
            Remote(filename=r.filename, url=None, sha256=r.sha256, size=r.size, build=r.build)
            for r in read_records(store).values()
        ),
        key=lambda r: r.filename,
    )


def download_url(
    url: str,
    dest: Path,
    *,
    limits: Limits | None = None,
    canceller: Canceller | None = None,
    tap: Sink | None = None,
) -> Response:
    """Stream ``url`` into ``dest`` (the caller's ``.part`` file), hashing as it arrives;
    ``tap`` as ``net.download``'s."""
    return download(url, dest, limits=limits or Limits(), canceller=canceller, tap=tap)
