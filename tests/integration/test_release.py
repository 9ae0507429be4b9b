"""Release against real servers on 127.0.0.1: pypiserver with an htpasswd, the Swift and S3
containers of the staging tests (stage, then release), a throwaway GPG key, and pages of links
served by a plain HTTP server."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main, wheel_uploader_main
from numpy_wheels.config.staging import StoreConfig
from numpy_wheels.errors import (
    AuthError,
    CredentialsMissingError,
    IndexUploadError,
    ReleaseGateError,
    UsageError,
)
from numpy_wheels.files import sha256_of
from numpy_wheels.model.matrix import load_catalogue, manifest, select
from numpy_wheels.staging import open_store
from numpy_wheels.staging.pages import Record
from numpy_wheels.staging.stage import publish_pages
from tests.integration.conftest import CANARY
from tests.servers import SwiftAIO, gpg_home, pypi_server
from tests.wheelfiles import make_sdist, make_wheel

BUILD = ["cp311-manylinux_x86_64", "cp311-win_amd64"]
PYPROJECT = f'[tool.numpy-wheels]\nproject = "fooext"\nbuild = {json.dumps(BUILD)}\n'
PYPI_PASSWORD = "pypi-" + CANARY
EXPECTED = manifest(
    select(load_catalogue(), build=BUILD, skip=[]), project="fooext", version="0.1.0"
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "wheels"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


@pytest.fixture
def pypi(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "pypi").mkdir()
    with pypi_server(tmp_path / "pypi", "uploader", PYPI_PASSWORD) as url:
        yield url


def staged_set(house: Path, *, sdist: bool = True) -> list[Path]:
    """The expected wheels of 0.1.0 (from the manifest) and the sdist."""
    files = [
        make_wheel(house, tag=name.removeprefix("fooext-0.1.0-").removesuffix(".whl"), size=3000)
        for name in EXPECTED
    ]
    return files + ([make_sdist(house)] if sdist else [])


def release_argv(repo: Path, url: str, pypi: str, wheel_dir: Path | str, *rest: str) -> list[str]:
    """wheel-uploader's arguments; ``rest`` ends with PACKAGE VERSION when it is given."""
    return ["--root", str(repo), "-u", url, "--repository-url", pypi, "-w", str(wheel_dir),
            "--allow-unverified-provenance", *rest]  # fmt: skip


def twine_env(**extra: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/nonexistent",
        "TWINE_USERNAME": "uploader",
        "TWINE_PASSWORD": PYPI_PASSWORD,
        **extra,
    }


def run(
    capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str]
) -> tuple[int, str, str]:
    code = wheel_uploader_main(argv, env=env)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert CANARY not in out + err  # neither the store secret nor the index password
    return code, out, err


def stage_swift(
    swift: SwiftAIO, repo: Path, house: Path, container: str, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    args = ["--provider-name", "swift", "--auth-url", swift.auth_url]
    env = {
        "PATH": "/usr/bin:/bin",
        "WHEELHOUSE_UPLOADER_USERNAME": "test:tester",
        "WHEELHOUSE_UPLOADER_SECRET": CANARY,
    }
    assert (
        main(
            ["--root", str(repo), "upload", *args, container, "--local-folder", str(house)], env=env
        )
        == 0
    )
    capsys.readouterr()
    return args


def on_index(pypi: str, project: str = "fooext") -> dict[str, str]:
    """file name -> sha256 from the index's simple page."""
    try:
        with urllib.request.urlopen(f"{pypi}simple/{project}/", timeout=10) as resp:  # noqa: S310
            page = resp.read().decode()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:  # the project has no files yet
            return {}
        raise
    out = {}
    for part in page.split('href="')[1:]:
        href = part.split('"')[0]
        name = href.split("#")[0].rsplit("/", 1)[-1]
        out[name] = href.split("#sha256=")[-1] if "#sha256=" in href else ""
    return out


def test_stage_then_release_from_the_public_container(
    swift: SwiftAIO,
    pypi: str,
    repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = staged_set(tmp_path / "house")
    container = f"r{uuid.uuid4().hex[:8]}"
    stage_swift(swift, repo, tmp_path / "house", container, capsys)
    out_dir = tmp_path / "dl"
    argv = release_argv(
        repo,
        f"{swift.storage_url}/{container}/index.html",
        pypi,
        str(out_dir),
        "--json",
        "fooext",
        "0.1.0",
    )
    code, out, err = run(capsys, argv, twine_env())
    assert code == 0, err
    report = json.loads(out)
    assert [f["filename"] for f in report["files"]][-1] == "fooext-0.1.0.tar.gz"  # sdist last
    assert {f["filename"]: (f["action"], f["verified"]) for f in report["files"]} == {
        p.name: ("uploaded", True) for p in files
    }
    assert on_index(pypi) == {p.name: sha256_of(p) for p in files}
    saved = json.loads((out_dir / "release-fooext-0.1.0.json").read_text())
    assert saved == report
    # a rerun (say after a network failure) skips what the index holds, verifies it again
    code, out, err = run(capsys, argv, twine_env())
    assert code == 0, err
    assert {f["action"] for f in json.loads(out)["files"]} == {"skipped"}
    assert "reused (sha256 matches)" in err


@pytest.mark.parametrize("provider", ["swift", "s3"])
def test_release_through_the_store(
    provider: str,
    swift: SwiftAIO,
    moto: str,
    pypi: str,
    repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A private container read with the store's own credentials (no public URL)."""
    files = staged_set(tmp_path / "house")
    container = f"p{uuid.uuid4().hex[:8]}"
    if provider == "swift":
        args = ["--provider-name", "swift", "--auth-url", swift.auth_url]
        store_env = {
            "WHEELHOUSE_UPLOADER_USERNAME": "test:tester",
            "WHEELHOUSE_UPLOADER_SECRET": CANARY,
        }
    else:
        args = ["--provider-name", "s3", "--endpoint-url", moto]
        store_env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": CANARY}
    assert (
        main(
            [
                "--root",
                str(repo),
                "upload",
                *args,
                container,
                "--no-enable-cdn",
                "--local-folder",
                str(tmp_path / "house"),
            ],
            env={"PATH": "/usr/bin:/bin", **store_env},
        )
        == 0
    )
    capsys.readouterr()
    code, _, err = run(
        capsys,
        [
            "--root",
            str(repo),
            *args,
            "--container",
            container,
            "--repository-url",
            pypi,
            "-w",
            str(tmp_path / "dl"),
            "-t",
            "win",
            "--allow-unverified-provenance",
            "fooext",
            "0.1.0",
        ],
        twine_env(**store_env),
    )
    assert code == 0, err
    assert set(on_index(pypi)) == {p.name for p in files if "win_amd64" in p.name}


def test_index_conflicts_credentials_and_incomplete_sets(
    swift: SwiftAIO,
    pypi: str,
    repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    house = tmp_path / "house"
    files = staged_set(house)
    container = f"c{uuid.uuid4().hex[:8]}"
    stage_swift(swift, repo, house, container, capsys)
    base = release_argv(repo, f"{swift.storage_url}/{container}/", pypi, str(tmp_path / "dl"))
    # wrong password: typed error, the index untouched
    code, _, err = run(
        capsys, [*base, "fooext", "0.1.0"], twine_env(TWINE_PASSWORD="wrong-" + CANARY)
    )
    assert code == AuthError.return_code, err
    assert "hint: Check TWINE_USERNAME/TWINE_PASSWORD" in err  # the index's, not the store's
    assert "WHEELHOUSE_UPLOADER" not in err
    assert on_index(pypi) == {}
    env = twine_env()
    del env["TWINE_PASSWORD"]
    code, _, err = run(capsys, [*base, "fooext", "0.1.0"], env)
    assert code == CredentialsMissingError.return_code, err
    # other bytes already on the index under one of the names: refused before any upload
    other = make_wheel(
        tmp_path / "other",
        tag=files[0].name.removeprefix("fooext-0.1.0-").removesuffix(".whl"),
        payload=b"# other bytes\n",
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "twine",
            "upload",
            "--non-interactive",
            "--repository-url",
            pypi,
            "-u",
            "uploader",
            "-p",
            PYPI_PASSWORD,
            str(other),
        ],
        check=True,
        capture_output=True,
    )
    code, _, err = run(capsys, [*base, "fooext", "0.1.0"], twine_env())
    assert code == IndexUploadError.return_code, err
    assert files[0].name in err
    assert set(on_index(pypi)) == {files[0].name}


def test_incomplete_set_gate(
    swift: SwiftAIO, pypi: str, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    house = tmp_path / "house"
    files = staged_set(house)
    files[1].unlink()  # one expected wheel never made it to the container
    container = f"i{uuid.uuid4().hex[:8]}"
    stage_swift(swift, repo, house, container, capsys)
    base = release_argv(
        repo,
        f"{swift.storage_url}/{container}/metadata.json",
        pypi,
        str(tmp_path / "dl"),
        "fooext",
        "0.1.0",
    )
    code, out, err = run(capsys, base, twine_env())
    assert code == ReleaseGateError.return_code
    assert f"missing (expected, not staged): {files[1].name}" in out + err
    assert on_index(pypi) == {}
    code, _, err = run(capsys, ["--allow-incomplete", *base], twine_env())
    assert code == 0, err
    assert set(on_index(pypi)) == {files[0].name, files[2].name}


def test_stale_local_file_and_lying_metadata(
    swift: SwiftAIO, pypi: str, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    house = tmp_path / "house"
    files = staged_set(house)
    container = f"s{uuid.uuid4().hex[:8]}"
    stage_swift(swift, repo, house, container, capsys)
    dl = tmp_path / "dl"
    dl.mkdir()
    (dl / files[0].name).write_bytes(b"stale bytes from an earlier attempt")
    base = release_argv(repo, f"{swift.storage_url}/{container}/", pypi, str(dl), "fooext", "0.1.0")
    code, _, err = run(capsys, base, twine_env())
    assert code == ReleaseGateError.return_code
    assert "-c/--clobber" in err
    code, _, err = run(capsys, ["-c", "-n", *base], twine_env())
    assert code == 0, err
    assert sha256_of(dl / files[0].name) == sha256_of(files[0])
    assert not list(dl.glob("*.part"))
    # a wheel whose METADATA says another version than its name
    liar_house = tmp_path / "liar"
    staged_set(liar_house)  # honest, then one of them replaced by a liar
    make_wheel(
        liar_house,
        version="0.1.0",
        metadata_version="0.1.1",
        tag=files[0].name.removeprefix("fooext-0.1.0-").removesuffix(".whl"),
    )
    container = f"l{uuid.uuid4().hex[:8]}"
    # upload refuses a mislabelled wheel itself (nothing staged) ...
    args = ["--provider-name", "swift", "--auth-url", swift.auth_url]
    env = {
        "PATH": "/usr/bin:/bin",
        "WHEELHOUSE_UPLOADER_USERNAME": "test:tester",
        "WHEELHOUSE_UPLOADER_SECRET": CANARY,
    }
    argv = ["--root", str(repo), "upload", *args, container, "--local-folder", str(liar_house)]
    assert main(argv, env=env) == UsageError.return_code
    assert "METADATA says fooext 0.1.1" in capsys.readouterr().err
    # ... so the liar is put in the container past upload's checks, as another tool could
    store = open_store(
        StoreConfig(
            provider="swift",
            container=container,
            username="test:tester",
            secret=CANARY,
            auth_url=swift.auth_url,
        )
    )
    store.ensure_container()
    for path in sorted(liar_house.iterdir()):  # the wheels and the sdist the release requires
        kind = "application/zip" if path.suffix == ".whl" else "application/gzip"
        store.put_file(path.name, path, content_type=kind)
        record = Record(
            filename=path.name,
            project="fooext",
            version="0.1.0",
            sha256=sha256_of(path),
            size=path.stat().st_size,
            uploaded="2026-01-01T00:00:00+00:00",
        )
        store.put_bytes(
            f".records/{path.name}.json", json.dumps(record.as_json()).encode(), content_type="a/b"
        )
    publish_pages(store, project="fooext", expected=[])
    code, _, err = run(
        capsys,
        release_argv(
            repo,
            f"{swift.storage_url}/{container}/",
            pypi,
            str(tmp_path / "dl2"),
            "fooext",
            "0.1.0",
        ),
        twine_env(),
    )
    assert code == ReleaseGateError.return_code
    assert "METADATA says fooext 0.1.1" in err


def test_signed_release_verifies(
    swift: SwiftAIO, pypi: str, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    house = tmp_path / "house"
    files = staged_set(house)
    container = f"g{uuid.uuid4().hex[:8]}"
    stage_swift(swift, repo, house, container, capsys)
    with gpg_home(tmp_path) as (gpg_env, fingerprint):
        env = twine_env(GNUPGHOME=gpg_env["GNUPGHOME"])
        code, _, err = run(
            capsys,
            release_argv(
                repo,
                f"{swift.storage_url}/{container}/",
                pypi,
                str(tmp_path / "dl"),
                "-s",
                "-i",
                fingerprint,
                "fooext",
                "0.1.0",
            ),
            env,
        )
        assert code == 0, err
        stored = tmp_path / "pypi" / "packages"
        for p in files:
            asc = stored / (p.name + ".asc")
            assert asc.is_file()
            verify = subprocess.run(  # noqa: PLW1510 - the return code is asserted below
                ["gpg", "--verify", str(asc), str(stored / p.name)],
                env=gpg_env,
                capture_output=True,
                text=True,
            )
            assert verify.returncode == 0, verify.stderr
            assert "Good signature" in verify.stderr


def test_pypirc_repository_section(
    swift: SwiftAIO, pypi: str, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-r NAME reads the upload URL and credentials from a pypirc (twine's own reader)."""
    house = tmp_path / "house"
    files = staged_set(house)
    container = f"y{uuid.uuid4().hex[:8]}"
    stage_swift(swift, repo, house, container, capsys)
    pypirc = tmp_path / "pypirc"
    pypirc.write_text(
        "[distutils]\nindex-servers = staging-index\n\n[staging-index]\n"
        f"repository = {pypi}\nusername = uploader\npassword = {PYPI_PASSWORD}\n"
    )
    argv = ["--root", str(repo), "-u", f"{swift.storage_url}/{container}/", "-r",
            "staging-index", "--config-file", str(pypirc), "-w", str(tmp_path / "dl"),
            "--allow-unverified-provenance", "fooext", "0.1.0"]  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no TWINE_* at all
    code, _, err = run(capsys, argv, env)
    assert code == 0, err
    assert on_index(pypi) == {p.name: sha256_of(p) for p in files}
    code, _, err = run(capsys, [*argv[:-2], "-r", "nope", "fooext", "0.1.0"], env)
    assert code == 3  # ConfigError: the pypirc lacks the section
    assert "Missing 'nope' section" in err


def test_a_legacy_upload_url_reads_back_from_simple(
    pypi: str, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--repository-url http://host/legacy/` (Warehouse's upload endpoint) has its simple
    pages at http://host/simple/, not /legacy/simple/: the index is read there before the
    upload and after it. Against pypiserver (which holds the files at /simple/ and accepts
    no upload at /legacy/), a second release through the /legacy/ URL finds every file
    already there and skips it; with /legacy/simple/ it found nothing and tried to upload."""
    house = tmp_path / "house"
    files = staged_set(house)
    store = ["--container", "w", "--local-root", str(tmp_path / "store")]
    (tmp_path / "store").mkdir(exist_ok=True)  # a named store root must exist
    upload = ["--root", str(repo), "upload", "w", *store[2:], "--local-folder", str(house)]
    assert main(upload, env={"PATH": "/usr/bin:/bin"}) == 0
    base = ["--root", str(repo), "release", "0.1.0", *store, "-w", str(tmp_path / "dl"),
            "--allow-unverified-provenance", "--json"]  # fmt: skip
    assert main([*base, "--repository-url", pypi], env=twine_env()) == 0
    capsys.readouterr()
    assert on_index(pypi) == {p.name: sha256_of(p) for p in files}
    code = main([*base, "--repository-url", f"{pypi}legacy/"], env=twine_env())
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert f"simple index {pypi}simple/" in err
    assert {f["filename"]: f["action"] for f in report["files"]} == {
        p.name: "skipped" for p in files
    }
