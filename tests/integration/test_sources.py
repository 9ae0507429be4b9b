"""Source and dependency fetching: git refs and submodules, sdist via a loopback index,
OpenBLAS pins and the cache, wheel selection for the test interpreter."""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from numpy_wheels.build.openblas import OpenBLASPin, fetch, pin_for
from numpy_wheels.build.source import checkout, fetch_sdist
from numpy_wheels.build.wheeltest import supported_wheel
from numpy_wheels.errors import DependencyError, SourceError, WheelTestError
from numpy_wheels.files import sha256_of
from numpy_wheels.model.matrix import load_catalogue
from tests.wheels_repo import git, make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "upstream"
    make_project(path)
    (path / "NEWS").write_text("on a branch\n")
    git("checkout", "-q", "-b", "maintenance/0.1.x", cwd=path)
    git("add", "NEWS", cwd=path)
    git("commit", "-qm", "branch work", cwd=path)
    git("checkout", "-q", "main", cwd=path)
    return path


@pytest.mark.parametrize("ref", ["v0.1.0", "maintenance/0.1.x", "HASH"])
def test_clone_and_checkout_any_commit_ish(
    project: Path, tmp_path: Path, ref: str, build_env: dict[str, str]
) -> None:
    expected = git("rev-parse", "main" if ref == "HASH" else ref, cwd=project)
    ref = expected if ref == "HASH" else ref
    info = checkout(repo_dir=tmp_path / "clone", repo_url=str(project), commit=ref, env=build_env)
    assert info.resolved == expected
    assert git("rev-parse", "HEAD", cwd=tmp_path / "clone") == expected
    assert info.origin == str(project)


def test_checkout_cleans_the_tree(project: Path, tmp_path: Path, build_env: dict[str, str]) -> None:
    """Ignored build products go (git clean -fxd, as multibuild's clean_code); a user's own
    work stops the build before anything is deleted (issue 12 tryout: an uncommitted edit
    and an untracked NOTES.txt were destroyed without a word)."""
    clone = tmp_path / "clone"
    checkout(repo_dir=clone, repo_url=str(project), commit="v0.1.0", env=build_env)
    (clone / ".git" / "info" / "exclude").write_text("*.o\n")
    (clone / "stray.o").write_text("x")
    (clone / ".numpy_wheels").mkdir()  # the cibuildwheel backend's own staging
    checkout(repo_dir=clone, repo_url=str(project), commit="v0.1.0", env=build_env)
    assert not (clone / "stray.o").exists()
    (clone / "setup.py").write_text("modified")
    (clone / "NOTES.txt").write_text("mine")
    with (clone / "LICENSE.txt").open("a") as fh:  # no exception for the file we append to
        fh.write("my own edit\n")
    with pytest.raises(
        SourceError, match=r"local changes .* delete: LICENSE.txt, setup.py, NOTES.txt"
    ):
        checkout(repo_dir=clone, repo_url=str(project), commit="v0.1.0", env=build_env)
    assert (clone / "setup.py").read_text() == "modified"
    assert (clone / "NOTES.txt").read_text() == "mine"
    assert (clone / "LICENSE.txt").read_text().endswith("my own edit\n")


def test_unknown_commit_names_the_remote(
    project: Path, tmp_path: Path, build_env: dict[str, str]
) -> None:
    with pytest.raises(SourceError, match=f"'nope' is not a tag, branch or commit of {project}"):
        checkout(repo_dir=tmp_path / "clone", repo_url=str(project), commit="nope", env=build_env)


def test_submodule_gitfile_becomes_a_repository(
    project: Path, tmp_path: Path, build_env: dict[str, str]
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    git("init", "-q", cwd=wheels)
    git(
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(project),
        "fooext",
        cwd=wheels,
    )
    assert (wheels / "fooext" / ".git").is_file()
    info = checkout(
        repo_dir=wheels / "fooext", repo_url="unused", commit="maintenance/0.1.x", env=build_env
    )
    assert (wheels / "fooext" / ".git").is_dir()
    assert info.resolved == git("rev-parse", "maintenance/0.1.x", cwd=project)
    assert git("rev-parse", "--show-toplevel", cwd=wheels / "fooext") == str(wheels / "fooext")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A PEP 691 JSON simple index on 127.0.0.1 serving files from a directory."""
    files = tmp_path / "files"
    files.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(files), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            if self.path.startswith("/simple/"):
                name = self.path.split("/")[2]
                entries = [
                    {
                        "filename": p.name,
                        "url": f"/{p.name}",
                        "hashes": {
                            "sha256": (
                                p.with_suffix(p.suffix + ".sha").read_text()
                                if p.with_suffix(p.suffix + ".sha").exists()
                                else sha256_of(p)
                            )
                        },
                    }
                    for p in files.glob(f"{name}-*.tar.gz")
                ]
                body = json.dumps({"files": entries}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/", files
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def make_sdist(files: Path, version: str) -> Path:
    src = files / f"fooext-{version}"
    src.mkdir()
    (src / "PKG-INFO").write_text(f"Name: fooext\nVersion: {version}\n")
    archive = files / f"fooext-{version}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname=src.name)
    shutil.rmtree(src)
    return archive


def test_sdist_downloaded_verified_unpacked(index: tuple[str, Path], tmp_path: Path) -> None:
    url, files = index
    archive = make_sdist(files, "0.1.0")
    info = fetch_sdist(
        project="fooext",
        commit="v0.1.0",
        dest=tmp_path / "src",
        cache=tmp_path / "cache",
        index_url=url,
    )
    assert info.kind == "sdist"
    assert info.resolved == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert (info.path / "PKG-INFO").is_file()
    assert info.origin.endswith("/fooext-0.1.0.tar.gz")


def test_sdist_hash_mismatch_leaves_nothing(index: tuple[str, Path], tmp_path: Path) -> None:
    url, files = index
    archive = make_sdist(files, "0.1.0")
    archive.with_suffix(".gz.sha").write_text("0" * 64)
    with pytest.raises(SourceError, match="does not match the index"):
        fetch_sdist(
            project="fooext",
            commit="v0.1.0",
            dest=tmp_path / "src",
            cache=tmp_path / "cache",
            index_url=url,
        )
    assert list((tmp_path / "cache").iterdir()) == []


def test_sdist_needs_a_release_tag(index: tuple[str, Path], tmp_path: Path) -> None:
    url, files = index
    make_sdist(files, "0.1.0")
    with pytest.raises(SourceError, match="no sdist"):
        fetch_sdist(
            project="fooext",
            commit="v0.2.0",
            dest=tmp_path / "src",
            cache=tmp_path / "cache",
            index_url=url,
        )
    with pytest.raises(SourceError, match="not a release tag"):
        fetch_sdist(
            project="fooext",
            commit="main",
            dest=tmp_path / "src",
            cache=tmp_path / "cache",
            index_url=url,
        )


def test_openblas_hash_mismatch_deletes_the_download(
    tmp_path: Path, build_env: dict[str, str]
) -> None:
    build_id = load_catalogue().find("cp311-manylinux_x86_64")
    good = pin_for(build_id)
    assert good is not None
    bad = OpenBLASPin(
        package=good.package, version=good.version, wheel_tag=good.wheel_tag, sha256="0" * 64
    )
    with pytest.raises(DependencyError, match="does not match the pinned"):
        fetch(build_id, cache=tmp_path, env=build_env, pin=bad)
    assert not list(tmp_path.rglob("*.whl"))


def test_openblas_cache_is_verified_before_use(
    tmp_path: Path, build_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    build_id = load_catalogue().find("cp311-manylinux_x86_64")
    first = fetch(build_id, cache=tmp_path, env=build_env)
    assert first is not None
    assert sha256_of(first.wheel) == first.pin.sha256
    assert (first.pkgconfig_dir / "scipy-openblas.pc").read_text().count("Libs:") == 1
    first.wheel.write_bytes(b"tampered")
    second = fetch(build_id, cache=tmp_path, env=build_env)
    assert second is not None
    assert sha256_of(second.wheel) == second.pin.sha256
    assert "does not match its pin" in capsys.readouterr().out


def test_no_blas_platform() -> None:
    assert pin_for(load_catalogue().find("cp311-win32")) is None


def test_wheel_no_interpreter_supports(tmp_path: Path) -> None:
    wheels = [
        tmp_path / "fooext-0.1.0-cp27-cp27mu-manylinux1_x86_64.whl",
        tmp_path / "fooext-0.1.0-cp311-cp311-win_amd64.whl",
    ]
    with pytest.raises(WheelTestError, match="can be installed by this interpreter"):
        supported_wheel(wheels)
    assert (
        supported_wheel([*wheels, tmp_path / "fooext-0.1.0-py3-none-any.whl"]).name
        == "fooext-0.1.0-py3-none-any.whl"
    )
