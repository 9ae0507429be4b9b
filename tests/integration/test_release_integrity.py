"""Release integrity from the field (issue 14), each situation against real servers on
127.0.0.1: pypiserver as the index, a plain HTTP server or the local store as the staging
container, and a small index of our own only where pypiserver cannot misbehave on purpose."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main, wheel_uploader_main
from numpy_wheels.config.staging import StoreConfig
from numpy_wheels.errors import (
    AuthError,
    ConfigError,
    CredentialsMissingError,
    ReleaseGateError,
    SigningError,
    UsageError,
)
from numpy_wheels.files import sha256_of
from numpy_wheels.model.matrix import load_catalogue, manifest, select
from numpy_wheels.staging.pages import Record
from numpy_wheels.staging.stage import RECORDS, publish_pages
from numpy_wheels.staging.store import LocalStore
from tests.integration.conftest import CANARY
from tests.integration.test_release import on_index, twine_env
from tests.servers import SwiftAIO, flaky_index, gpg_home, pypi_server
from tests.wheelfiles import make_sdist, make_wheel

BUILD = ["cp311-manylinux_x86_64", "cp311-win_amd64"]
PYPI_PASSWORD = "pypi-" + CANARY


def expected(project: str, version: str) -> list[str]:
    return list(manifest(select(load_catalogue(), build=BUILD, skip=[]), project=project,
                         version=version))  # fmt: skip


def wheels_repo(tmp_path: Path, project: str) -> Path:
    root = tmp_path / "wheels"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        f'[tool.numpy-wheels]\nproject = "{project}"\nbuild = {json.dumps(BUILD)}\n'
    )
    return root


def built_set(house: Path, project: str, version: str) -> list[Path]:
    """The manifest's wheels (hand-made, valid) and the sdist of ``project`` ``version``."""
    files = [
        make_wheel(
            house,
            name=project,
            version=version,
            tag=name.removeprefix(f"{project}-{version}-").removesuffix(".whl"),
            size=2000,
        )
        for name in expected(project, version)
    ]
    return [*files, make_sdist(house, name=project, version=version)]


@pytest.fixture
def pypi(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "pypi").mkdir()
    with pypi_server(tmp_path / "pypi", "uploader", PYPI_PASSWORD) as url:
        yield url


def uploader(
    capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str]
) -> tuple[int, str]:
    return _run(wheel_uploader_main, capsys, argv, env)


def numpy_wheels(
    capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str]
) -> tuple[int, str]:
    return _run(main, capsys, argv, env)


def _run(
    entry: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
) -> tuple[int, str]:
    """One command (``entry(argv, env=env)``): its code and output, never a traceback or the
    secret."""
    code = entry(argv, env=env)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert CANARY not in out + err
    return code, out + err


def test_html_pages_served_as_wheels(
    tmp_path: Path,
    http_root: tuple[Path, str],
    pypi: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A download script that saved error pages under the wheels' names: a page of links
    without hashes (so --allow-unhashed is what gets past the first refusal)."""
    served, url = http_root
    repo = wheels_repo(tmp_path, "fooext")
    names = [*expected("fooext", "0.1.0"), "fooext-0.1.0.tar.gz"]
    for name in names:
        (served / name).write_text("<!DOCTYPE html>\n<html><body>429 Too Many Requests</body>")
    (served / "index.html").write_text("".join(f'<a href="{n}">{n}</a>\n' for n in names))
    dl = tmp_path / "dl"
    argv = ["--root", str(repo), "-u", url, "--repository-url", pypi, "-w", str(dl),
            "--allow-unverified-provenance"]  # fmt: skip
    code, output = uploader(capsys, [*argv, "fooext", "0.1.0"], twine_env())
    assert code == ReleaseGateError.return_code
    assert "publishes no sha256" in output
    assert "--allow-unhashed" in output.split("hint:")[1]  # the flag that applies here
    assert "--allow-incomplete" not in output
    code, output = uploader(capsys, [*argv, "--allow-unhashed", "fooext", "0.1.0"], twine_env())
    assert code == ReleaseGateError.return_code, output
    # the first to arrive of the (parallel) downloads is named
    assert (
        any(f"{n} is not a valid wheel: not a zip archive" in output for n in names[:2])
        or "fooext-0.1.0.tar.gz is not a valid sdist: not a readable tar.gz archive" in output
    )
    assert "an HTML page?" in output
    assert "--allow-" not in output.split("hint:")[1]  # no flag releases it
    assert [p.name for p in dl.iterdir() if p.suffix != ".json"] == []  # nothing left behind
    assert on_index(pypi) == {}


def test_a_pure_wheel_of_a_platform_project_is_refused_even_with_allow_incomplete(
    tmp_path: Path, pypi: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """numpy 9.9.9 (hand-made): one real wheel is late, so --allow-incomplete is needed, and a
    py3-none-any wheel was staged meanwhile: it must not ride along."""
    repo = wheels_repo(tmp_path, "numpy")
    house = tmp_path / "house"
    files = built_set(house, "numpy", "9.9.9")
    files[1].unlink()  # the late wheel
    pure = make_wheel(house, name="numpy", version="9.9.9", tag="py3-none-any")
    store = ["--provider-name", "local", "--local-root", str(tmp_path / "store")]
    (tmp_path / "store").mkdir(exist_ok=True)  # a named store root must exist
    env = {"PATH": "/usr/bin:/bin"}
    code, output = numpy_wheels(
        capsys, ["--root", str(repo), "upload", *store, "w", "--local-folder", str(house)], env
    )
    assert code == 0, output
    release = ["--root", str(repo), "release", "9.9.9", *store, "--container", "w",
               "--allow-unverified-provenance",
               "--repository-url", pypi, "-w", str(tmp_path / "dl")]  # fmt: skip
    code, output = numpy_wheels(capsys, [*release, "--allow-incomplete"], twine_env())
    assert code == ReleaseGateError.return_code, output
    assert f"platform-independent wheel of a project whose every wheel is a platform wheel: " \
        f"{pure.name}" in output  # fmt: skip
    assert "--allow-incomplete only allows missing files" in output
    assert on_index(pypi, "numpy") == {}
    assert not (tmp_path / "dl").exists() or not any((tmp_path / "dl").glob("*.whl"))


def stage_local(
    tmp_path: Path, repo: Path, house: Path, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """``house`` staged in a local container; the store options of a release from it."""
    store = ["--provider-name", "local", "--local-root", str(tmp_path / "store")]
    (tmp_path / "store").mkdir(exist_ok=True)  # a named store root must exist
    argv = ["--root", str(repo), "upload", *store, "w", "--local-folder", str(house)]
    code, output = numpy_wheels(capsys, argv, {"PATH": "/usr/bin:/bin"})
    assert code == 0, output
    return [*store, "--container", "w", "--allow-unverified-provenance"]


def test_an_index_that_stores_then_answers_500_converges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every upload is stored, answered 500, and twine's retry gets 400 File already exists:
    each file is read back from the index, found with the staged sha256, reported uploaded;
    the run goes on with the rest, and a rerun finds everything there."""
    repo = wheels_repo(tmp_path, "fooext")
    files = built_set(tmp_path / "house", "fooext", "0.1.0")
    store = stage_local(tmp_path, repo, tmp_path / "house", capsys)
    with flaky_index(tmp_path) as index:
        argv = ["--root", str(repo), "release", "0.1.0", *store, "--repository-url", index,
                "-w", str(tmp_path / "dl"), "--json"]  # fmt: skip
        code = main(argv, env=twine_env())
        out, err = capsys.readouterr()
        assert code == 0, err
        assert "Traceback" not in out + err
        report = json.loads(out)
        assert report["complete"] is True
        assert report["error"] is None
        by_name = {f["filename"]: f for f in report["files"]}
        assert set(by_name) == {p.name for p in files}
        for f in by_name.values():
            assert (f["action"], f["verified"]) == ("uploaded", True)
            assert "HTTPError: 400 Bad Request" in f["note"]  # twine's retry after the 500
            assert "the index holds the staged sha256" in f["note"]
        assert json.loads((tmp_path / "dl" / "release-fooext-0.1.0.json").read_text()) == report
        # the rerun: everything is on the index with the staged bytes, nothing is sent again
        code = main(argv, env=twine_env())
        out, err = capsys.readouterr()
        assert code == 0, err
        rerun = json.loads(out)["files"]
        assert {(f["action"], f["verified"]) for f in rerun} == {("skipped", True)}


def test_the_report_is_written_when_the_release_fails(
    tmp_path: Path, pypi: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = wheels_repo(tmp_path, "fooext")
    built_set(tmp_path / "house", "fooext", "0.1.0")
    store = stage_local(tmp_path, repo, tmp_path / "house", capsys)
    argv = ["--root", str(repo), "release", "0.1.0", *store, "--repository-url", pypi,
            "-w", str(tmp_path / "dl")]  # fmt: skip
    code, output = numpy_wheels(capsys, argv, twine_env(TWINE_PASSWORD="wrong-" + CANARY))
    assert code == AuthError.return_code, output
    report = json.loads((tmp_path / "dl" / "release-fooext-0.1.0.json").read_text())
    assert report["complete"] is False
    assert report["error"]["class"] == "AuthError"
    assert report["error"]["exit_code"] == AuthError.return_code
    assert {f["action"] for f in report["files"]} == {"would upload"}
    # a refused set leaves its report too (nothing downloaded, the refusal in it)
    (tmp_path / "store" / "w" / ".records" / "fooext-0.1.0.tar.gz.json").unlink()
    code, output = numpy_wheels(capsys, [*argv, "--report", str(tmp_path / "r.json")], twine_env())
    assert code == ReleaseGateError.return_code, output
    refused = json.loads((tmp_path / "r.json").read_text())
    assert refused["error"]["class"] == "ReleaseGateError"
    assert refused["files"] == []


def test_twine_repository_url_is_the_one_target_of_all_three_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-r names a pypirc section (index A) and TWINE_REPOSITORY_URL another index (B): twine
    would upload to B, so B is the target of the pre-check, the upload and the read-back, and
    it is printed before anything is sent."""
    repo = wheels_repo(tmp_path, "fooext")
    files = built_set(tmp_path / "house", "fooext", "0.1.0")
    store = stage_local(tmp_path, repo, tmp_path / "house", capsys)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        pypi_server(tmp_path / "a", "uploader", PYPI_PASSWORD) as index_a,
        pypi_server(tmp_path / "b", "uploader", PYPI_PASSWORD) as index_b,
    ):
        pypirc = tmp_path / "pypirc"
        pypirc.write_text(
            f"[distutils]\nindex-servers = a\n\n[a]\nrepository = {index_a}\n"
            f"username = uploader\npassword = {PYPI_PASSWORD}\n"
        )
        # already on B with the staged bytes: the pre-check must look at B to skip it
        twine = [sys.executable, "-m", "twine", "upload", "--non-interactive", "-u", "uploader",
                 "-p", PYPI_PASSWORD, "--repository-url", index_b, str(files[0])]  # fmt: skip
        subprocess.run(twine, check=True, capture_output=True)
        argv = ["--root", str(repo), "release", "0.1.0", *store, "-r", "a", "--config-file",
                str(pypirc), "-w", str(tmp_path / "dl"), "--json"]  # fmt: skip
        code = main(argv, env=twine_env(TWINE_REPOSITORY_URL=index_b))
        out, err = capsys.readouterr()
        assert code == 0, err
        assert f"target: {index_b}, from TWINE_REPOSITORY_URL" in err
        assert err.index("target:") < err.index("uploading")
        report = json.loads(out)
        assert report["index"] == index_b
        actions = {f["filename"]: (f["action"], f["verified"]) for f in report["files"]}
        assert actions == {
            p.name: ("skipped" if p == files[0] else "uploaded", True) for p in files
        }
        assert on_index(index_b) == {p.name: sha256_of(p) for p in files}
        assert on_index(index_a) == {}


def test_a_pypirc_section_with_a_space(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = wheels_repo(tmp_path, "fooext")
    pypirc = tmp_path / "pypirc"
    pypirc.write_text(
        "[distutils]\nindex-servers = my index\n\n[my index]\nrepository = http://x.invalid/\n"
    )
    argv = ["--root", str(repo), "release", "0.1.0", "-u", "http://127.0.0.1:9/", "-r",
            "my index", "--config-file", str(pypirc)]  # fmt: skip
    code, output = numpy_wheels(capsys, argv, {"PATH": "/usr/bin:/bin"})
    assert code == ConfigError.return_code
    assert "Missing 'my index' section" in output
    assert "twine splits [distutils] index-servers on whitespace" in output


def test_a_key_with_a_passphrase_is_a_signing_error(
    tmp_path: Path, pypi: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = wheels_repo(tmp_path, "fooext")
    built_set(tmp_path / "house", "fooext", "0.1.0")
    store = stage_local(tmp_path, repo, tmp_path / "house", capsys)
    with gpg_home(tmp_path, passphrase="correct horse") as (gpg_env, fingerprint):
        env = twine_env(GNUPGHOME=gpg_env["GNUPGHOME"])
        argv = ["--root", str(repo), "release", "0.1.0", *store, "--repository-url", pypi,
                "-w", str(tmp_path / "dl"), "-s", "-i", fingerprint]  # fmt: skip
        code, output = numpy_wheels(capsys, argv, env)
    assert code == SigningError.return_code == 22, output
    assert "gpg could not sign" in output
    hint = output.split("hint:")[1]
    assert "gpg-agent" in hint
    assert "--pinentry-mode loopback" in hint
    assert "Fix the staged set" not in output
    assert "--allow-incomplete" not in output
    assert on_index(pypi) == {}
    assert not list((tmp_path / "dl").glob("*.asc"))
    report = json.loads((tmp_path / "dl" / "release-fooext-0.1.0.json").read_text())
    assert report["error"]["class"] == "SigningError"


def test_dry_runs_need_no_credentials(
    tmp_path: Path, pypi: str, swift: SwiftAIO, capsys: pytest.CaptureFixture[str]
) -> None:
    """The release's dry run needs no index credentials; the staging command's dry run none
    for the store (it checks the local files and says what it would send)."""
    repo = wheels_repo(tmp_path, "fooext")
    files = built_set(tmp_path / "house", "fooext", "0.1.0")
    store = stage_local(tmp_path, repo, tmp_path / "house", capsys)
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home")}  # no TWINE_*, no pypirc
    argv = ["--root", str(repo), "release", "0.1.0", *store, "--repository-url", pypi,
            "-w", str(tmp_path / "dl"), "--dry-run", "--json"]  # fmt: skip
    code = main(argv, env=bare)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert {f["action"] for f in json.loads(out)["files"]} == {"would upload"}
    upload = ["--root", str(repo), "upload", "--provider-name", "swift", "--auth-url",
              swift.auth_url, "c", "--local-folder", str(tmp_path / "house"), "--dry-run",
              "--json"]  # fmt: skip
    code = main(upload, env=bare)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "the container is not read" in err
    assert {(f["filename"], f["action"]) for f in json.loads(out)["files"]} == {
        (p.name, "would upload") for p in files
    }
    # without --dry-run the credentials are still required
    code, output = numpy_wheels(capsys, upload[:-2], bare)
    assert code == CredentialsMissingError.return_code, output


def git(cwd: Path, *argv: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}  # fmt: skip
    return subprocess.run(
        ["git", *argv], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def tagged_project(repo: Path) -> tuple[str, str]:
    """REPO_DIR ``fooext``: a git repository whose v0.1.0 (annotated) is one commit behind
    main; returns (the tag's commit, main's commit)."""
    src = repo / "fooext"
    src.mkdir()
    git(src, "init", "-q", "-b", "main")
    (src / "README").write_text("0.1.0\n")
    git(src, "add", "README")
    git(src, "commit", "-q", "-m", "0.1.0")
    git(src, "tag", "-a", "v0.1.0", "-m", "fooext 0.1.0")
    (src / "README").write_text("0.2.0.dev0\n")
    git(src, "commit", "-q", "-am", "after the release")
    return git(src, "rev-parse", "v0.1.0^{commit}"), git(src, "rev-parse", "main")


def write_summaries(house: Path, files: list[Path], *, commit: str, resolved: str) -> None:
    """build-summary.json and sdist-summary.json as ``build``/``sdist`` write them."""
    source = {"kind": "git", "path": "/w/fooext", "commit": commit, "resolved": resolved,
              "origin": "https://example.invalid/fooext.git"}  # fmt: skip
    head = {"tool": "numpy-wheels test", "project": "fooext",
            "commit": {"commit": commit, "mode": "release"}, "source": source}  # fmt: skip
    wheels = [
        {
            "identifier": p.name.split("-")[2],
            "ok": True,
            "wheel": p.name,
            "size": 1,
            "sha256": sha256_of(p),
            "test": "passed (host venv)",
        }
        for p in files
        if p.suffix == ".whl"
    ]
    (house / "build-summary.json").write_text(json.dumps(head | {"wheels": wheels}))
    sdist = next(p for p in files if p.name.endswith(".tar.gz"))
    record = {"filename": sdist.name, "sha256": sha256_of(sdist), "size": 1,
              "version": "0.1.0", "source": source, "checks": {"twine": "ok"}}  # fmt: skip
    (house / "sdist-summary.json").write_text(json.dumps(head | {"sdist": record}))


def test_a_set_built_from_the_tag_is_published_with_each_files_build(
    tmp_path: Path, pypi: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = wheels_repo(tmp_path, "fooext")
    tag_sha, _ = tagged_project(repo)
    house = tmp_path / "house"
    files = built_set(house, "fooext", "0.1.0")
    write_summaries(house, files, commit="v0.1.0", resolved=tag_sha)
    store = ["--provider-name", "local", "--local-root", str(tmp_path / "store")]
    (tmp_path / "store").mkdir(exist_ok=True)  # a named store root must exist
    argv = ["--root", str(repo), "upload", *store, "w", "--local-folder", str(house)]
    code, output = numpy_wheels(capsys, argv, {"PATH": "/usr/bin:/bin"})
    assert code == 0, output
    assert f"build records (provenance) for {len(files)} of {len(files)} file(s)" in output
    page = (tmp_path / "store" / "w" / "index.html").read_text()
    assert page.count(f"built: git v0.1.0 {tag_sha[:12]}, tests passed") == len(files) - 1
    argv = ["--root", str(repo), "release", "0.1.0", *store, "--container", "w",
            "--repository-url", pypi, "-w", str(tmp_path / "dl"), "--json"]  # fmt: skip
    code = main(argv, env=twine_env())
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"v0.1.0 is {tag_sha}" in err
    assert "provenance: every file was built from v0.1.0 and tested" in err
    report = json.loads(out)
    for f in report["files"]:
        assert (f["action"], f["verified"]) == ("uploaded", True)
        assert f["build"]["source"]["resolved"] == tag_sha
        assert f["build"]["sha256"] == f["sha256"]
        assert f["build"]["kind"] == ("wheel" if f["filename"].endswith(".whl") else "sdist")
    assert on_index(pypi) == {p.name: sha256_of(p) for p in files}


def test_a_set_built_from_another_commit_is_refused(
    tmp_path: Path, pypi: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = wheels_repo(tmp_path, "fooext")
    tag_sha, main_sha = tagged_project(repo)
    house = tmp_path / "house"
    files = built_set(house, "fooext", "0.1.0")
    write_summaries(house, files, commit="main", resolved=main_sha)
    store = ["--provider-name", "local", "--local-root", str(tmp_path / "store")]
    (tmp_path / "store").mkdir(exist_ok=True)  # a named store root must exist
    argv = ["--root", str(repo), "upload", *store, "w", "--local-folder", str(house)]
    assert numpy_wheels(capsys, argv, {"PATH": "/usr/bin:/bin"})[0] == 0
    release = ["--root", str(repo), "release", "0.1.0", *store, "--container", "w",
               "--repository-url", pypi, "-w", str(tmp_path / "dl")]  # fmt: skip
    code, output = numpy_wheels(capsys, release, twine_env())
    assert code == ReleaseGateError.return_code, output
    assert f"{len(files)} file(s) are not tied to a tested build of v0.1.0" in output
    assert f"built from {main_sha[:12]} (main), not from the tag v0.1.0 ({tag_sha[:12]})" in output
    assert "--allow-unverified-provenance" in output.split("hint:")[1]
    assert on_index(pypi) == {}
    assert not list((tmp_path / "dl").glob("*.whl"))  # refused before any download
    # --tag names the tag the set was built from (here: a tag on main)
    git(repo / "fooext", "tag", "fooext-0.1.0-final", "main")
    code, output = numpy_wheels(capsys, [*release, "--tag", "fooext-0.1.0-final"], twine_env())
    assert code == 0, output
    assert set(on_index(pypi)) == {p.name for p in files}


@pytest.mark.parametrize(
    ("variable", "reference"),
    [("TWINE_PASSWORD", "$(PYPI_TOKEN)"), ("TWINE_USERNAME", "${{ secrets.PYPI_USER }}"),
     ("pypirc", "${PYPI_TOKEN}")],
)  # fmt: skip
def test_an_unexpanded_index_credential_is_refused_before_any_network(
    tmp_path: Path, pypi: str, capsys: pytest.CaptureFixture[str], variable: str, reference: str
) -> None:
    """As ``upload`` refuses a store secret that arrived as ``$(SECRET)``: exit 17 before the
    listing is read or anything is sent, the variable named, its value never shown."""
    repo = wheels_repo(tmp_path, "fooext")
    built_set(tmp_path / "house", "fooext", "0.1.0")
    store = stage_local(tmp_path, repo, tmp_path / "house", capsys)
    target = ["--repository-url", pypi]
    env = twine_env()
    if variable == "pypirc":
        pypirc = tmp_path / "pypirc"
        pypirc.write_text(
            f"[distutils]\nindex-servers = a\n\n[a]\nrepository = {pypi}\n"
            f"username = uploader\npassword = {reference}\n"
        )
        target = ["-r", "a", "--config-file", str(pypirc)]
        del env["TWINE_PASSWORD"]
    else:
        env[variable] = reference
    argv = ["--root", str(repo), "release", "0.1.0", *store, *target,
            "-w", str(tmp_path / "dl")]  # fmt: skip
    code, output = numpy_wheels(capsys, argv, env)
    assert code == CredentialsMissingError.return_code == 17, output
    assert "unexpanded reference" in output
    assert (str(tmp_path / "pypirc") if variable == "pypirc" else variable) in output
    assert reference not in output
    assert "listing" not in output  # refused before the staged files were read
    assert on_index(pypi) == {}
    assert not list((tmp_path / "dl").glob("*.whl"))
    report = json.loads((tmp_path / "dl" / "release-fooext-0.1.0.json").read_text())
    assert report["error"]["class"] == "CredentialsMissingError"
    assert reference not in json.dumps(report)
    # wheel-uploader, the same check
    if variable != "pypirc":
        uploader_argv = ["--root", str(repo), *store, *target, "-w", str(tmp_path / "dl"),
                         "fooext", "0.1.0"]  # fmt: skip
        code, output = uploader(capsys, uploader_argv, env)
        assert code == CredentialsMissingError.return_code, output
        assert reference not in output
    # a dry run sends nothing and needs no credentials: not refused
    code, output = numpy_wheels(capsys, [*argv, "--dry-run"], env)
    assert code == 0, output


def test_early_failures_leave_a_redacted_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad version (with --report: the default name would hold the version) and a listing
    that cannot be read each leave a report naming the error; credentials written into the
    listing URL and the run's secrets are redacted in it as on the terminal."""
    repo = wheels_repo(tmp_path, "fooext")
    report = tmp_path / "out" / "report.json"
    argv = ["--root", str(repo), "release", "not-a-version", "-u", "http://127.0.0.1:9/",
            "-w", str(tmp_path / "dl"), "--report", str(report), "-n"]  # fmt: skip
    code, output = numpy_wheels(capsys, argv, twine_env())
    assert code == 2, output
    assert "'not-a-version' is not a version" in output
    bad = json.loads(report.read_text())
    assert (bad["version"], bad["complete"], bad["files"]) == ("not-a-version", False, [])
    assert (bad["error"]["class"], bad["error"]["exit_code"]) == ("UsageError", 2)
    # a listing URL with credentials, refused connection: the report names it redacted
    listing = f"http://user:{CANARY}@127.0.0.1:9/x/"
    argv = ["--root", str(repo), "release", "0.1.0", "-u", listing, "-w", str(tmp_path / "dl"),
            "--timeout", "5", "--repository-url", "http://127.0.0.1:9/"]  # fmt: skip
    code, output = numpy_wheels(capsys, argv, twine_env())
    assert code == 15, output
    written = (tmp_path / "dl" / "release-fooext-0.1.0.json").read_text()
    failed = json.loads(written)
    assert failed["source"] == "http://user:****@127.0.0.1:9/x/"
    assert failed["error"]["class"] == "StoreError"
    assert CANARY not in written  # neither the URL's password nor TWINE_PASSWORD's value


def slip_in(store_root: Path, wheels: list[Path]) -> None:
    """Replace staged fooext 0.1.0 files in local container ``w`` behind ``upload``'s back (by
    hand, or by an older tool), with records and pages that agree with the new bytes."""
    local = LocalStore(StoreConfig(provider="local", container="w", local_root=store_root))
    for wheel in wheels:
        local.put_file(wheel.name, wheel, content_type="application/zip")
        record = Record(filename=wheel.name, project="fooext", version="0.1.0",
                        sha256=sha256_of(wheel), size=wheel.stat().st_size,
                        uploaded="2026-01-01T00:00:00+00:00")  # fmt: skip
        local.put_bytes(f"{RECORDS}{wheel.name}.json", json.dumps(record.as_json()).encode(),
                        content_type="application/json")  # fmt: skip
    publish_pages(local, project="fooext", expected=select(load_catalogue(), build=BUILD, skip=[]))


def test_a_wheel_whose_binary_overclaims_its_valid_name_is_refused_at_release(
    tmp_path: Path, pypi: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The manifest's own name (manylinux_2_28), so the name checks pass, with an extension
    calling closefrom() (GLIBC_2.34): the release's binary tag check, after the download and
    before any upload, refuses it naming the symbol; nothing reaches the index."""
    src = tmp_path / "ext.c"
    src.write_text("#include <unistd.h>\nvoid close_all(void) { closefrom(3); }\n")
    so = tmp_path / "ext.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    repo = wheels_repo(tmp_path, "fooext")
    house = tmp_path / "house"
    files = built_set(house, "fooext", "0.1.0")
    store = stage_local(tmp_path, repo, house, capsys)
    linux = next(p for p in files if "manylinux_2_28_x86_64" in p.name)
    tag = linux.name.removeprefix("fooext-0.1.0-").removesuffix(".whl")
    overclaiming = make_wheel(
        tmp_path / "bad", tag=tag, members={"fooext/_ext.cpython-311-x86_64-linux-gnu.so":
                                            so.read_bytes()}
    )  # fmt: skip
    assert overclaiming.name == linux.name  # the manifest's name: the name checks pass
    # upload refuses it (its own tag check): slipped in by hand, or by an older tool
    slip_in(tmp_path / "store", [overclaiming])
    argv = ["--root", str(repo), "release", "0.1.0", *store, "--repository-url", pypi,
            "-w", str(tmp_path / "dl")]  # fmt: skip
    code, output = numpy_wheels(capsys, argv, twine_env())
    assert code == ReleaseGateError.return_code, output
    assert f"{linux.name}: the platform tags promise more than the binaries keep" in output
    assert "GLIBC_2.34 from libc.so.6 by closefrom" in output
    assert "uploading" not in output
    assert on_index(pypi) == {}
    report = json.loads((tmp_path / "dl" / "release-fooext-0.1.0.json").read_text())
    assert report["error"]["class"] == "ReleaseGateError"


@pytest.mark.parametrize(
    ("description", "why"),
    [
        # reStructuredText that does not render: twine's error names the line
        (
            "Description-Content-Type: text/x-rst\n\nA `broken inline literal\n",
            "would not be rendered on PyPI",
        ),
        # no content type: only a warning, which --strict makes a failure
        ("\nA description.\n", "`long_description_content_type` missing"),
    ],
)
def test_a_description_twine_check_refuses_stops_the_release(
    tmp_path: Path, pypi: str, capsys: pytest.CaptureFixture[str], description: str, why: str
) -> None:
    """``twine check --strict`` (run in process, once per distinct METADATA) refuses the
    wheels' METADATA: ``upload`` refuses to stage them (exit 2, nothing staged); slipped into
    the container anyway, the release refuses them naming twine's reason, nothing uploaded."""
    repo = wheels_repo(tmp_path, "fooext")
    house = tmp_path / "house"
    files = built_set(house, "fooext", "0.1.0")
    store = stage_local(tmp_path, repo, house, capsys)
    metadata = f"Metadata-Version: 2.1\nName: fooext\nVersion: 0.1.0\n{description}".encode()
    tags = [w.name.removeprefix("fooext-0.1.0-").removesuffix(".whl") for w in files[:-1]]
    bad = [make_wheel(tmp_path / "bad", tag=tag, metadata=metadata) for tag in tags]
    upload = ["--root", str(repo), "upload", *store[:4], "v", "--local-folder", str(bad[0].parent)]
    code, output = numpy_wheels(capsys, upload, {"PATH": "/usr/bin:/bin"})
    assert code == UsageError.return_code, output
    assert why in output
    assert "Nothing was staged: PyPI would refuse this file at the release." in output
    assert "Fix the package's metadata" in output.split("hint:")[1]  # not "see --help"
    assert not (tmp_path / "store" / "v").exists() or not any((tmp_path / "store" / "v").iterdir())
    slip_in(tmp_path / "store", bad)
    argv = ["--root", str(repo), "release", "0.1.0", *store, "--repository-url", pypi,
            "-w", str(tmp_path / "dl")]  # fmt: skip
    code, output = numpy_wheels(capsys, argv, twine_env())
    assert code == ReleaseGateError.return_code, output
    assert "twine check --strict fooext-0.1.0-" in output
    assert why in output
    assert output.count("Nothing was uploaded") == 1
    assert "Fix the package's metadata" in output.split("hint:")[1]
    assert "uploading" not in output
    assert on_index(pypi) == {}
