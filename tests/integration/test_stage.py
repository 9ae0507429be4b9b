"""Staging against real servers on 127.0.0.1: Swift (tempauth), S3 (moto; rclone for auth) and
a local directory. One suite, parametrised over the backends."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.errors import (
    AuthError,
    CredentialsMissingError,
    StoreError,
    UploadConflictError,
)
from numpy_wheels.files import sha256_of
from tests.integration.conftest import CANARY
from tests.servers import SwiftAIO, emptying_proxy, swift_server
from tests.wheelfiles import make_sdist, make_wheel

# The real secret of every store in this suite: no captured output may ever contain it.
PYPROJECT = (
    '[tool.numpy-wheels]\nproject = "fooext"\n'
    'build = ["cp311-manylinux_x86_64", "cp311-win_amd64", "cp312-manylinux_x86_64"]\n'
)


@dataclasses.dataclass
class Target:
    provider: str
    args: list[str]
    env: dict[str, str]
    public_url: str  # anonymous read base URL of the container, ending in "/"
    container: str


@pytest.fixture(params=["local", "swift", "s3"])
def target(request: pytest.FixtureRequest) -> Target:
    container = f"c{uuid.uuid4().hex[:10]}"
    if request.param == "local":
        root, url = request.getfixturevalue("http_root")
        return Target(
            "local",
            ["--provider-name", "local", "--local-root", str(root)],
            {},
            f"{url}{container}/",
            container,
        )
    if request.param == "swift":
        swift: SwiftAIO = request.getfixturevalue("swift")
        return Target(
            "swift",
            ["--provider-name", "swift", "--auth-url", swift.auth_url],
            {"WHEELHOUSE_UPLOADER_USERNAME": "test:tester", "WHEELHOUSE_UPLOADER_SECRET": CANARY},
            f"{swift.storage_url}/{container}/",
            container,
        )
    endpoint = request.getfixturevalue("moto")
    return Target(
        "s3",
        ["--provider-name", "s3", "--endpoint-url", endpoint],
        {"AWS_ACCESS_KEY_ID": "testing", "WHEELHOUSE_UPLOADER_SECRET": CANARY},
        f"{endpoint}/{container}/",
        container,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "wheels"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], repo: Path) -> Run:
    def go(
        target: Target,
        *argv: str,
        env: dict[str, str] | None = None,
        folder: Path | None = None,
        command: str = "upload",
    ) -> tuple[int, str, str]:
        full_env = {"PATH": "/usr/bin:/bin", **target.env, **(env or {})}
        debug = [a for a in argv if a == "--debug-traceback"]  # a global option
        argv = tuple(a for a in argv if a not in debug)
        args = [*debug, "--root", str(repo), command, *target.args]
        if command == "upload":
            args += [target.container, "--local-folder", str(folder or repo / "wheelhouse")]
        else:
            args += ["--container", target.container]
        code = main([*args, *argv], env=full_env)
        out, err = capsys.readouterr()
        assert debug or "Traceback" not in out + err
        assert CANARY not in out + err
        return code, out, err

    return go


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310
        return bytes(resp.read())


def wheelhouse(repo: Path) -> list[Path]:
    house = repo / "wheelhouse"
    return [
        make_wheel(house, tag="cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64", size=2000),
        make_wheel(house, tag="py3-none-any", payload=b"# any\n"),
        make_sdist(house),
    ]


def test_upload_listing_index_and_pip(target: Target, run: Run, repo: Path, tmp_path: Path) -> None:
    files = wheelhouse(repo)
    code, out, err = run(target, "--json")
    assert code == 0, err
    report = json.loads(out)  # stdout carries only the JSON; progress goes to stderr
    assert sorted(f["action"] for f in report["files"]) == ["uploaded"] * 3
    assert "[3/3]" in err
    metadata = json.loads(fetch(target.public_url + "metadata.json"))
    assert {name: m["sha256"] for name, m in metadata.items()} == {
        p.name: sha256_of(p) for p in files
    }
    page = fetch(target.public_url + "index.html").decode()
    # 3 wheels and the sdist expected; one wheel and the sdist staged
    assert "0.1.0: 2 of 4 expected files" in page
    assert page.count("class='missing'") == 2
    assert "<th>sdist</th><td class='present'><a href='fooext-0.1.0.tar.gz#sha256=" in page
    assert f"#sha256={sha256_of(files[0])}" in page
    # pip, anonymously, against the container's PEP 503 index
    out_dir = tmp_path / "dl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--isolated",
            "--no-deps",
            "--no-cache-dir",
            "--index-url",
            target.public_url + "simple/",
            "--only-binary",
            ":all:",
            "-d",
            str(out_dir),
            "fooext==0.1.0",
        ],
        check=True,
        capture_output=True,
    )
    (got,) = out_dir.iterdir()  # pip picks the best wheel for this interpreter
    assert got.read_bytes() == {p.name: p for p in files}[got.name].read_bytes()
    # staged: what the container holds, with hashes
    code, out, _ = run(target, "0.1.0", "--json", command="staged")
    assert code == 0
    staged = json.loads(out)["files"]
    assert {f["filename"]: f["sha256"] for f in staged} == {p.name: sha256_of(p) for p in files}


def test_duplicate_is_skipped_conflict_refused(target: Target, run: Run, repo: Path) -> None:
    files = wheelhouse(repo)
    assert run(target)[0] == 0
    code, out, _ = run(target)
    assert code == 0
    assert out.count("skipped") >= 3
    make_wheel(repo / "wheelhouse", tag="py3-none-any", payload=b"# different bytes\n")
    code, _, err = run(target)
    assert code == UploadConflictError.return_code
    assert files[1].name in err
    metadata = json.loads(fetch(target.public_url + "metadata.json"))
    assert metadata[files[1].name]["sha256"] != sha256_of(files[1])  # nothing replaced
    code, out, _ = run(target, "--force")
    assert code == 0
    assert "replaced" in out
    metadata = json.loads(fetch(target.public_url + "metadata.json"))
    assert metadata[files[1].name]["sha256"] == sha256_of(files[1])


def test_swift_record_read_empty_is_read_again(swift: SwiftAIO, run: Run, repo: Path) -> None:
    """An earlier uploader's record read back with an empty body (the flake of
    test_eight_concurrent_uploaders_lose_nothing[swift]) is read again, not taken as a lost
    record: the next upload's pages still list every file."""
    container = f"c{uuid.uuid4().hex[:10]}"
    env = {"WHEELHOUSE_UPLOADER_USERNAME": "test:tester", "WHEELHOUSE_UPLOADER_SECRET": CANARY}
    direct = Target(
        "swift",
        ["--provider-name", "swift", "--auth-url", swift.auth_url],
        env,
        f"{swift.storage_url}/{container}/",
        container,
    )
    first = [make_wheel(repo / "first", tag="py3-none-any")]
    assert run(direct, folder=repo / "first")[0] == 0
    upstream = swift.storage_url.split("/v1/")[0]
    with emptying_proxy(upstream, marker="/.records/") as (proxy, emptied):
        path = swift.storage_url.removeprefix(upstream)
        through = dataclasses.replace(direct, args=[*direct.args, "--storage-url", proxy + path])
        second = [make_sdist(repo / "second")]
        code, _, err = run(through, folder=repo / "second")
    assert code == 0, err
    assert emptied  # the proxy did empty a record's body
    metadata = json.loads(fetch(direct.public_url + "metadata.json"))
    assert sorted(metadata) == sorted(p.name for p in first + second)


@pytest.mark.parametrize("target", ["swift", "s3"], indirect=True)  # local needs none
def test_missing_and_unexpanded_credentials(target: Target, run: Run, repo: Path) -> None:
    wheelhouse(repo)
    code, _, err = run(dataclasses.replace(target, env={}))
    assert code == CredentialsMissingError.return_code
    assert "nothing was uploaded" in err
    unexpanded = dataclasses.replace(
        target, env={**target.env, "WHEELHOUSE_UPLOADER_SECRET": "$(WHEELHOUSE_UPLOADER_SECRET)"}
    )
    code, _, err = run(unexpanded)
    assert code == CredentialsMissingError.return_code
    assert "unexpanded reference" in err


def test_pull_request_builds_skip(target: Target, run: Run, repo: Path) -> None:
    wheelhouse(repo)
    code, out, _ = run(target, env={"TRAVIS_PULL_REQUEST": "17"})
    assert code == 0
    assert "upload skipped: this is a pull request build (TRAVIS_PULL_REQUEST=17)" in out
    assert run(target, "--json", command="staged")[1].count('"filename"') == 0
    code, out, _ = run(target, "--upload-pull-request", env={"TRAVIS_PULL_REQUEST": "17"})
    assert code == 0
    assert "uploaded" in out


def test_dev_wheels_keep_newest_by_version(target: Target, run: Run, repo: Path) -> None:
    house = repo / "wheelhouse"
    versions = [f"2.5.0.dev{n}" for n in (1, 2, 3, 9, 10, 11, 12)]  # dev10 > dev9 > dev3
    for v in versions:
        make_wheel(house, version=v, tag="py3-none-any")
    code, out, _ = run(target, "--keep-dev", "5")
    assert code == 0, out
    metadata = json.loads(fetch(target.public_url + "metadata.json"))
    kept = sorted(int(name.split("dev")[1].split("-")[0]) for name in metadata)
    assert kept == [3, 9, 10, 11, 12]


def test_wrong_credentials(swift: SwiftAIO, rclone: str, run: Run, repo: Path) -> None:
    wheelhouse(repo)
    bad_swift = Target(
        "swift",
        ["--provider-name", "swift", "--auth-url", swift.auth_url],
        {
            "WHEELHOUSE_UPLOADER_USERNAME": "test:tester",
            "WHEELHOUSE_UPLOADER_SECRET": CANARY + "-wrong",
        },
        "",
        "wrong",
    )
    code, _, err = run(bad_swift, "--debug-traceback")
    assert code == AuthError.return_code
    assert "refused the credentials" in err
    bad_s3 = Target(
        "s3",
        ["--provider-name", "s3", "--endpoint-url", rclone],
        {"AWS_ACCESS_KEY_ID": "AKTEST", "AWS_SECRET_ACCESS_KEY": CANARY},
        "",
        "wrong",
    )
    code, _, err = run(bad_s3, "--debug-traceback")
    assert code == AuthError.return_code
    assert "Traceback" in err  # asked for; still redacted (checked by run)
    good_s3 = dataclasses.replace(
        bad_s3, env={"AWS_ACCESS_KEY_ID": "AKTEST", "AWS_SECRET_ACCESS_KEY": "SKTEST"}
    )
    # rclone keeps objects as files, so the page keys ending in "/" (simple/fooext/) cannot
    # live next to their directories there; the control only needs the credentials accepted.
    code, _, err = run(good_s3, "--no-update-index")
    assert code == 0, err  # the same server accepts the right secret


def test_unreachable_store(run: Run, repo: Path) -> None:
    wheelhouse(repo)
    dead = Target(
        "s3",
        ["--provider-name", "s3", "--endpoint-url", "http://127.0.0.1:9"],
        {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"},
        "",
        "c",
    )
    code, _, err = run(dead)
    assert code == StoreError.return_code
    assert "127.0.0.1:9" in err


@pytest.mark.parametrize("target", ["local", "swift", "s3"], indirect=True)
def test_eight_concurrent_uploaders_lose_nothing(
    target: Target, repo: Path, tmp_path: Path
) -> None:
    """Eight CI jobs (real processes) upload to one container at once; each job's files are
    in metadata.json and index.html at the end, whoever wrote the pages last."""
    houses = []
    for job in range(8):
        house = tmp_path / f"job{job}"
        make_wheel(house, version=f"0.1.{job}", tag="py3-none-any", size=20_000 + job)
        make_wheel(house, version=f"0.1.{job}", tag="cp311-cp311-win_amd64", size=30_000 + job)
        houses.append(house)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **target.env}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "numpy_wheels",
                "--root",
                str(repo),
                "upload",
                *target.args,
                target.container,
                "--local-folder",
                str(house),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for house in houses
    ]
    outputs = [proc.communicate(timeout=240)[0].decode() for proc in procs]
    for proc, output in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, output
        assert CANARY not in output
    want = {p.name: sha256_of(p) for house in houses for p in house.iterdir()}
    metadata = json.loads(fetch(target.public_url + "metadata.json"))
    assert {name: m["sha256"] for name, m in metadata.items()} == want
    page = fetch(target.public_url + "index.html").decode()
    for name, digest in want.items():
        assert f"{name}#sha256={digest}" in page


def test_interrupted_upload_resumes(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Swift proxy dies after the first of five files; the rerun after its restart
    uploads the rest, skips what arrived, and metadata.json is exact."""
    from numpy_wheels.config.staging import StoreConfig
    from numpy_wheels.staging import open_store
    from numpy_wheels.staging.stage import Staged, upload

    house = repo / "wheelhouse"
    files = [
        make_wheel(house, version=f"0.2.{n}", tag="py3-none-any", size=50_000) for n in range(5)
    ]
    with swift_server(tmp_path / "swift", key=CANARY) as swift:
        config = StoreConfig(
            provider="swift",
            container="wheels",
            auth_url=swift.auth_url,
            username="test:tester",
            secret=CANARY,
            retries=1,
        )
        done: list[str] = []

        def kill_after_first(item: Staged) -> None:
            done.append(item.filename)
            if len(done) == 1:
                swift.stop("proxy")

        with pytest.raises(StoreError):
            upload(
                files,
                store=open_store(config),
                project="fooext",
                expected=[],
                max_workers=1,
                progress=kill_after_first,
            )
        assert done == [files[0].name]
        capsys.readouterr()  # the interrupted run's lines
        swift.start("proxy")
        target = Target(
            "swift",
            ["--provider-name", "swift", "--auth-url", swift.auth_url],
            {"WHEELHOUSE_UPLOADER_USERNAME": "test:tester", "WHEELHOUSE_UPLOADER_SECRET": CANARY},
            "",
            "wheels",
        )
        code = main(
            [
                "--root",
                str(repo),
                "upload",
                *target.args,
                "wheels",
                "--local-folder",
                str(house),
                "--json",
            ],
            env={"PATH": "/usr/bin:/bin", **target.env},
        )
        out, err = capsys.readouterr()
        assert code == 0, err
        actions = {f["filename"]: f["action"] for f in json.loads(out)["files"]}
        assert actions == {p.name: "skipped" if p == files[0] else "uploaded" for p in files}
        metadata = json.loads(fetch(f"{swift.storage_url}/wheels/metadata.json"))
        assert {n: (m["sha256"], m["size"]) for n, m in metadata.items()} == {
            p.name: (sha256_of(p), p.stat().st_size) for p in files
        }


def test_index_page_in_chromium(swift: SwiftAIO, run: Run, repo: Path, tmp_path: Path) -> None:
    """The maintainer's view, rendered by headless Chromium from the public Swift container:
    the sdist line and one grid cell present (green), two grid cells missing (red)."""
    from PIL import Image

    files = wheelhouse(repo)
    target = Target(
        "swift",
        ["--provider-name", "swift", "--auth-url", swift.auth_url],
        {"WHEELHOUSE_UPLOADER_USERNAME": "test:tester", "WHEELHOUSE_UPLOADER_SECRET": CANARY},
        f"{swift.storage_url}/page/",
        "page",
    )
    assert run(target)[0] == 0
    url = target.public_url + "index.html"
    chromium = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*chromium, "--dump-dom", url], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert dom.count('class="missing"') == 2
    assert dom.count('class="present"') == 2
    assert f"#sha256={sha256_of(files[0])}" in dom
    shot = tmp_path / "index.png"
    subprocess.run(
        [*chromium, f"--screenshot={shot}", "--window-size=1000,700", url],
        capture_output=True,
        check=True,
        timeout=120,
    )
    pixels = Image.open(shot).convert("RGB").getcolors(1_000_000) or []
    colours = {rgb for _, rgb in pixels}
    assert (0xDD, 0xFF, 0xDD) in colours  # a present cell
    assert (0xFF, 0xDD, 0xDD) in colours  # a missing cell


@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_corrupt_record_is_a_store_error(target: Target, run: Run, repo: Path) -> None:
    files = wheelhouse(repo)
    assert run(target)[0] == 0
    root = Path(target.args[target.args.index("--local-root") + 1])
    (root / target.container / ".records" / f"{files[0].name}.json").write_text("{half")
    code, _, err = run(target, command="staged")
    assert code == StoreError.return_code
    assert f".records/{files[0].name}.json in the store is not a record" in err


def test_swift_with_keystone_v3(tmp_path: Path, repo: Path, run: Run) -> None:
    """Keystone identity v3 in front of Swift (authtoken + keystoneauth): the store
    authenticates, finds its endpoint in the catalogue, uploads; a wrong password is 16."""
    from tests.servers import keystone_server

    with (
        keystone_server(tmp_path / "keystone", CANARY) as keystone,
        swift_server(tmp_path / "swift", identity=keystone) as swift,
    ):
        files = wheelhouse(repo)
        args = ["--provider-name", "swift", "--auth-url", keystone.url, "--auth-version", "3",
                "--project-name", "admin"]  # fmt: skip
        env = {"WHEELHOUSE_UPLOADER_USERNAME": "admin", "WHEELHOUSE_UPLOADER_SECRET": CANARY}
        container = "ks"
        target = Target("swift", args, env, f"{swift.storage_url}/{container}/", container)
        code, out, err = run(target, "--json")
        assert code == 0, err
        assert sorted(f["action"] for f in json.loads(out)["files"]) == ["uploaded"] * 3
        code, out, _ = run(target, "--json", command="staged")
        assert code == 0
        staged = {f["filename"]: f["sha256"] for f in json.loads(out)["files"]}
        assert staged == {p.name: sha256_of(p) for p in files}
        wrong = dataclasses.replace(target, env={**env, "WHEELHOUSE_UPLOADER_SECRET": "nope"})
        code, _, err = run(wrong)
        assert code == AuthError.return_code, err


def test_swift_workers_each_read_their_own_object(swift: SwiftAIO, tmp_path: Path) -> None:
    """Eight threads reading 32 objects of one store at once each get their own object's
    bytes: one swiftclient Connection shared by the release's download workers interleaved
    two bodies ('Swift download of fooext-0.1.0.tar.gz ended after 3262 of 294 bytes')."""
    import concurrent.futures

    from numpy_wheels.config.staging import StoreConfig
    from numpy_wheels.staging import open_store

    config = StoreConfig(
        provider="swift",
        container=f"c{uuid.uuid4().hex[:10]}",
        auth_url=swift.auth_url,
        username="test:tester",
        secret=CANARY,
        retries=1,
    )
    store = open_store(config)
    store.ensure_container()
    bodies = {f"o{n}": bytes([n]) * (1000 + 4099 * n) for n in range(32)}
    for name, body in bodies.items():
        store.put_bytes(name, body, content_type="application/octet-stream")

    def read(name: str) -> bytes:
        store.download(name, tmp_path / name)
        return (tmp_path / name).read_bytes()

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            got = dict(zip(bodies, pool.map(read, bodies), strict=True))
            assert got == bodies
