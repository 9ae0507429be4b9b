"""Rackspace Cloud Files (``--provider-name cloudfiles``) through our Rackspace identity + CDN
service (tests/rackspace.py) in front of two REAL Swift clusters, ORD and DFW, which validate
the tokens themselves (authtoken + keystoneauth). The API key is the canary: no output may
contain it."""

from __future__ import annotations

import dataclasses
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import parse_wheel_filename

from numpy_wheels.__main__ import main, wheel_uploader_main
from numpy_wheels.errors import AuthError, CredentialsMissingError, StoreError, UsageError
from numpy_wheels.files import sha256_of
from tests.integration.conftest import CANARY
from tests.rackspace import RackspaceCloud, rackspace_cloud
from tests.servers import BIN, SwiftAIO
from tests.wheelfiles import make_sdist, make_wheel

# One cloud (identity, CDN, two Swifts) per worker: all tests of this module on one worker.
pytestmark = pytest.mark.xdist_group("cloudfiles")

USER = "numpy-wheels"
PYPROJECT = (
    '[tool.numpy-wheels]\nproject = "fooext"\n'
    'build = ["cp311-manylinux_x86_64", "cp311-win_amd64", "cp312-manylinux_x86_64"]\n'
)


@dataclasses.dataclass
class Rax:
    cloud: RackspaceCloud
    swifts: dict[str, SwiftAIO]


@pytest.fixture(scope="module")
def rax(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rax]:
    with rackspace_cloud(tmp_path_factory.mktemp("rackspace"), username=USER, api_key=CANARY) as (
        cloud,
        swifts,
    ):
        yield Rax(cloud, swifts)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "wheels"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


def wheelhouse(repo: Path) -> list[Path]:
    house = repo / "wheelhouse"
    return [
        make_wheel(house, tag="cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64", size=2000),
        make_wheel(house, tag="cp311-cp311-win_amd64", payload=b"# win\n"),
        make_sdist(house),
    ]


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], repo: Path, rax: Rax) -> Run:
    """``numpy-wheels upload|staged --provider-name cloudfiles`` against the test cloud."""

    def go(
        command: str,
        container: str,
        *argv: str,
        secret: str = CANARY,
        env: dict[str, str] | None = None,
    ) -> tuple[int, str, str]:
        full_env = {
            "PATH": "/usr/bin:/bin",
            "WHEELHOUSE_UPLOADER_USERNAME": USER,
            "WHEELHOUSE_UPLOADER_SECRET": secret,
            **(env or {}),
        }
        store = ["--provider-name", "cloudfiles", "--auth-url", rax.cloud.identity_url]
        if command == "upload":
            where = [container, "--local-folder", str(repo / "wheelhouse")]
        else:
            where = ["--container", container]
        code = main(["--root", str(repo), command, *store, *where, *argv], env=full_env)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert CANARY not in out + err
        return code, out, err

    return go


def fetch(rax: Rax, url: str) -> tuple[int, bytes]:
    """GET ``url``; the CDN edge's certificate is trusted through the test CA only."""
    context = ssl.create_default_context(cafile=str(rax.cloud.ca_file))
    try:
        with urllib.request.urlopen(url, timeout=30, context=context) as resp:  # noqa: S310
            return resp.status, bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, b""


@contextmanager
def swift(rax: Rax, region: str) -> Iterator[Any]:
    """A swiftclient connection to a region's Swift with a token of the account."""
    from swiftclient.client import Connection

    conn = Connection(
        preauthurl=rax.cloud.storage_url(region),
        preauthtoken=rax.cloud.issue(USER, rax.cloud.tenant),
        retries=0,
    )
    try:
        yield conn
    finally:
        conn.close()


def containers(rax: Rax, region: str) -> list[str]:
    """The account's containers in a region, read from that region's Swift."""
    with swift(rax, region) as conn:
        _, listing = conn.get_account(full_listing=True)
    return [c["name"] for c in listing]


def container_headers(rax: Rax, region: str, container: str) -> dict[str, str]:
    with swift(rax, region) as conn:
        return dict(conn.head_container(container))


def test_upload_to_ord_published_through_the_cdn(
    rax: Rax, run: Run, repo: Path, tmp_path: Path
) -> None:
    files = wheelhouse(repo)
    container = f"w{uuid.uuid4().hex[:10]}"
    requests_before = len(rax.cloud.identity_requests)
    code, out, err = run("upload", container, "--json")  # no --region: ORD
    assert code == 0, err
    report = json.loads(out)
    assert sorted(f["action"] for f in report["files"]) == ["uploaded"] * 3
    cdn = rax.cloud.cdn[("ORD", container)]
    public = rax.cloud.edge_url(cdn) + "/"
    assert public.startswith("https://")  # the SSL URI is the recorded address
    assert report["public_url"] == public
    # Identity: Rackspace's API-key credentials, nothing else.
    (auth,) = rax.cloud.identity_requests[requests_before:]
    assert auth == {"RAX-KSKEY:apiKeyCredentials": {"username": USER, "apiKey": CANARY}}
    # CDN management: enabled with the short TTL; static-website index on the container.
    puts = [r for r in rax.cloud.cdn_requests if r.method == "PUT" and r.path.endswith(container)]
    assert [(r.headers["X-CDN-Enabled"], r.headers["X-TTL"]) for r in puts] == [("True", "900")]
    assert container_headers(rax, "ORD", container)["x-container-meta-web-index"] == "index.html"
    # ORD holds the container, DFW's Swift was never touched.
    assert container in containers(rax, "ORD")
    assert containers(rax, "DFW") == []
    # Publication is the CDN, not a Swift ACL: the storage URL stays private.
    status, _ = fetch(rax, f"{rax.cloud.storage_url('ORD')}/{container}/index.html")
    assert status == 401
    # The CDN root serves index.html (staticweb), which names the CDN address.
    status, page = fetch(rax, public.rstrip("/"))  # redirected to the directory, as staticweb
    assert status == 200
    text = page.decode()
    assert f"Public address: <a href='{public}'>{public}</a>" in text
    assert f"pip install --index-url {public}simple/ fooext" in text
    assert "0.1.0: 3 of 4 expected files" in text  # three wheels and the sdist expected
    metadata = json.loads(fetch(rax, public + "metadata.json")[1])
    assert {n: m["sha256"] for n, m in metadata.items()} == {p.name: sha256_of(p) for p in files}
    # A rerun skips everything, re-enables the CDN (202) and prints the address.
    code, out, _ = run("upload", container)
    assert code == 0
    assert out.count("skipped") >= 3
    assert f"published at {public} (wheel-uploader -u {public} fooext VERSION)" in out
    # staged: the files with hashes, and the public address (asked from the CDN, read-only)
    code, out, _ = run("staged", container, "0.1.0", "--json")
    assert code == 0
    staged = json.loads(out)
    assert staged["public_url"] == public
    assert {f["filename"]: f["sha256"] for f in staged["files"]} == {
        p.name: sha256_of(p) for p in files
    }
    # pip, anonymously, through the CDN's simple index (HTTPS, the test CA)
    dl = tmp_path / "pip"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--isolated", "--no-deps", "--no-cache-dir",
         "--index-url", f"{public}simple/",
         "--only-binary", ":all:", "-d", str(dl), "fooext==0.1.0"],
        env={**os.environ, "SSL_CERT_FILE": str(rax.cloud.ca_file)},  # pip's truststore
        check=False,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stdout + pip.stderr
    (got,) = dl.iterdir()
    assert got.read_bytes() == {p.name: p for p in files}[got.name].read_bytes()


def test_wheel_uploader_reads_the_cdn_address(
    rax: Rax, run: Run, repo: Path, tmp_path: Path
) -> None:
    """The release manager's step: ``wheel-uploader -u <CDN URL>`` (the real console script,
    HTTPS to the CDN edge) lists the version from the pages the upload wrote."""
    files = wheelhouse(repo)
    container = f"w{uuid.uuid4().hex[:10]}"
    code, out, err = run("upload", container, "--json")
    assert code == 0, err
    public = json.loads(out)["public_url"]
    assert public == rax.cloud.edge_url(rax.cloud.cdn[("ORD", container)]) + "/"
    dl = tmp_path / "dl"
    proc = subprocess.run(
        [str(BIN / "wheel-uploader"), "--root", str(repo), "-u", public, "-n",
         "--allow-unverified-provenance",
         "--allow-incomplete", "-w", str(dl), "--json", "fooext", "0.1.0"],
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path),
             "SSL_CERT_FILE": str(rax.cloud.ca_file)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"listing {public}: 3 file(s)" in proc.stdout + proc.stderr
    listed = {f["filename"]: f for f in json.loads(proc.stdout)["files"]}
    want = {p.name: sha256_of(p) for p in files}
    assert {n: f["sha256"] for n, f in listed.items()} == want
    assert {f["action"] for f in listed.values()} == {"downloaded only"}
    for name, digest in want.items():  # downloaded through the CDN, hash-checked
        assert sha256_of(dl / name) == digest
    wheels = [parse_wheel_filename(n) for n in want if n.endswith(".whl")]
    assert {str(v) for _, v, _, _ in wheels} == {"0.1.0"}
    # Without the test CA the edge is not trusted: said at once, not retried, with the remedy
    untrusted = subprocess.run(
        [str(BIN / "wheel-uploader"), "--root", str(repo), "-u", public, "-n",
         "--allow-unverified-provenance", "-w", str(tmp_path / "dl2"), "fooext", "0.1.0"],
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert untrusted.returncode == StoreError.return_code, untrusted.stderr
    assert "TLS certificate of 127.0.0.1 is not trusted" in untrusted.stderr
    assert "SSL_CERT_FILE" in untrusted.stderr
    assert "attempts" not in untrusted.stderr


def test_other_region_lower_case_as_wheelhouse_uploader_wrote_it(
    rax: Rax, run: Run, repo: Path
) -> None:
    wheelhouse(repo)
    container = f"w{uuid.uuid4().hex[:10]}"
    code, out, err = run("upload", container, "--region", "dfw", "--json")
    assert code == 0, err
    assert container in containers(rax, "DFW")
    assert container not in containers(rax, "ORD")
    assert (
        json.loads(out)["public_url"] == rax.cloud.edge_url(rax.cloud.cdn[("DFW", container)]) + "/"
    )


def test_wrong_api_key_is_16(rax: Rax, run: Run, repo: Path) -> None:
    wheelhouse(repo)
    container = f"w{uuid.uuid4().hex[:10]}"
    code, _, err = run("upload", container, secret=CANARY + "-old")
    assert code == AuthError.return_code
    assert f"refused user '{USER}': Username or api key is invalid." in err
    assert "must be the account's API key" in err
    assert "-old" not in err  # the wrong key is a secret as well
    assert container not in containers(rax, "ORD")
    # no key at all: a distinct exit, nothing uploaded
    code, _, err = run("upload", container, secret="")
    assert code == CredentialsMissingError.return_code
    # OS_PASSWORD is a password, never taken for the API key
    code, _, err = run("upload", container, secret="", env={"OS_PASSWORD": CANARY})
    assert code == CredentialsMissingError.return_code


def test_unknown_region_lists_the_catalogue(run: Run, repo: Path) -> None:
    wheelhouse(repo)
    code, _, err = run("upload", "wheels", "--region", "SYD")
    assert code == UsageError.return_code
    assert "Cloud Files has no region 'SYD'" in err
    assert "the service catalogue lists DFW, ORD" in err


def with_cdn_down(
    rax: Rax, run: Run, container: str
) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """``upload --json`` then ``staged --json`` while the CDN's management API answers 503."""
    rax.cloud.cdn_status = 503
    try:
        return run("upload", container, "--json"), run("staged", container, "--json")
    finally:
        rax.cloud.cdn_status = None


def test_cdn_unavailable_files_still_staged(
    rax: Rax, run: Run, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = wheelhouse(repo)
    container = f"w{uuid.uuid4().hex[:10]}"
    (code, out, err), (staged_code, staged_out, staged_err) = with_cdn_down(rax, run, container)
    assert code == 0, err
    assert "Rackspace CDN not available for container" in out + err
    assert "HTTP 503" in out + err
    assert "files are staged in ORD but not published" in out + err
    assert json.loads(out)["public_url"] is None
    with swift(rax, "ORD") as conn:
        _, page = conn.get_object(container, "index.html")
    assert b"Public address" not in page  # no address the container does not have
    assert staged_code == 0, staged_err
    assert "cannot tell whether" in staged_err
    staged = json.loads(staged_out)
    assert {f["filename"] for f in staged["files"]} == {p.name for p in files}
    assert staged["public_url"] is None
    # As the warning says: wheel-uploader reads the private container through the store ...
    code = wheel_uploader_main(
        ["--root", str(repo), "--provider-name", "cloudfiles", "--auth-url",
         rax.cloud.identity_url, "--container", container, "-n", "--allow-incomplete",
         "--allow-unverified-provenance",
         "-w", str(tmp_path / "dl"), "--json", "fooext", "0.1.0"],
        env={"PATH": "/usr/bin:/bin", "WHEELHOUSE_UPLOADER_USERNAME": USER,
             "WHEELHOUSE_UPLOADER_SECRET": CANARY},
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert CANARY not in out + err
    assert {f["filename"]: f["sha256"] for f in json.loads(out)["files"]} == {
        p.name: sha256_of(p) for p in files
    }
    # ... and the next upload that reaches the CDN publishes it.
    code, out, err = run("upload", container, "--json")
    assert code == 0, err
    assert (
        json.loads(out)["public_url"] == rax.cloud.edge_url(rax.cloud.cdn[("ORD", container)]) + "/"
    )


def test_cdn_outage_keeps_the_address_of_a_published_container(
    rax: Rax, run: Run, repo: Path
) -> None:
    """Published once, then the CDN's management API answers 503: the files are staged, the
    pages and ``staged`` keep the address recorded when it was published (the tryout's
    rewritten index.html lost it while the edge still served the container)."""
    wheelhouse(repo)
    container = f"w{uuid.uuid4().hex[:10]}"
    code, out, err = run("upload", container, "--json")
    assert code == 0, err
    address = json.loads(out)["public_url"]
    assert address == rax.cloud.edge_url(rax.cloud.cdn[("ORD", container)]) + "/"
    make_wheel(repo / "wheelhouse", tag="cp312-cp312-win_amd64", payload=b"# late\n")
    (code, out, err), (staged_code, staged_out, staged_err) = with_cdn_down(rax, run, container)
    assert code == 0, err
    assert "HTTP 503" in err
    assert f"using the CDN address recorded when '{container}' was last published" in err
    assert json.loads(out)["public_url"] == address
    with swift(rax, "ORD") as conn:
        _, page = conn.get_object(container, "index.html")
    assert f"Public address: <a href='{address}'>".encode() in page
    assert staged_code == 0, staged_err
    assert json.loads(staged_out)["public_url"] == address


def test_no_enable_cdn_keeps_the_container_private(rax: Rax, run: Run, repo: Path) -> None:
    wheelhouse(repo)
    container = f"w{uuid.uuid4().hex[:10]}"
    code, out, err = run("upload", container, "--no-enable-cdn", "--json")
    assert code == 0, err
    assert json.loads(out)["public_url"] is None
    mine = [r for r in rax.cloud.cdn_requests if r.path.endswith(f"/{container}")]
    assert {r.method for r in mine} == {"HEAD"}  # asked, never enabled
    assert ("ORD", container) not in rax.cloud.cdn
    assert container_headers(rax, "ORD", container)["x-container-meta-web-index"] == "index.html"
    assert fetch(rax, f"{rax.cloud.storage_url('ORD')}/{container}/index.html")[0] == 401


def test_dry_run_writes_nothing_anywhere(rax: Rax, run: Run, repo: Path) -> None:
    """upload --dry-run: no container created, no CDN request but reads, nothing stored."""
    wheelhouse(repo)
    container = f"w{uuid.uuid4().hex[:10]}"
    code, out, err = run("upload", container, "--dry-run", "--json")
    assert code == 0, err
    assert sorted(f["action"] for f in json.loads(out)["files"]) == ["would upload"] * 3
    assert container not in containers(rax, "ORD")
    assert ("ORD", container) not in rax.cloud.cdn
    mine = [r for r in rax.cloud.cdn_requests if r.path.endswith(f"/{container}")]
    assert {r.method for r in mine} <= {"HEAD"}
    code, _, err = run("staged", container)
    assert code == 15
    assert f"container {container!r} does not exist" in err
