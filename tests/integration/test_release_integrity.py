"""Release integrity from the field (issue 14), each situation against real servers on
127.0.0.1: pypiserver as the index, a plain HTTP server or the local store as the staging
container, and a small index of our own only where pypiserver cannot misbehave on purpose."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main, wheel_uploader_main
from numpy_wheels.errors import ReleaseGateError
from numpy_wheels.model.matrix import load_catalogue, manifest, select
from tests.integration.conftest import CANARY
from tests.integration.test_release import on_index, twine_env
from tests.servers import pypi_server
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
    code = wheel_uploader_main(argv, env=env)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert CANARY not in out + err
    return code, out + err


def numpy_wheels(
    capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str]
) -> tuple[int, str]:
    code = main(argv, env=env)
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
    argv = ["--root", str(repo), "-u", url, "--repository-url", pypi, "-w", str(dl)]
    code, output = uploader(capsys, [*argv, "fooext", "0.1.0"], twine_env())
    assert code == ReleaseGateError.return_code
    assert "publishes no sha256" in output
    assert "--allow-unhashed" in output.split("hint:")[1]  # the flag that applies here
    assert "--allow-incomplete" not in output
    code, output = uploader(capsys, [*argv, "--allow-unhashed", "fooext", "0.1.0"], twine_env())
    assert code == ReleaseGateError.return_code, output
    assert any(f"{n} is not a valid wheel: not a zip archive" in output for n in names[:2])
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
    env = {"PATH": "/usr/bin:/bin"}
    code, output = numpy_wheels(
        capsys, ["--root", str(repo), "upload", *store, "w", "--local-folder", str(house)], env
    )
    assert code == 0, output
    release = ["--root", str(repo), "release", "9.9.9", *store, "--container", "w",
               "--repository-url", pypi, "-w", str(tmp_path / "dl")]  # fmt: skip
    code, output = numpy_wheels(capsys, [*release, "--allow-incomplete"], twine_env())
    assert code == ReleaseGateError.return_code, output
    assert f"platform-independent wheel of a project whose every wheel is a platform wheel: " \
        f"{pure.name}" in output  # fmt: skip
    assert "--allow-incomplete only allows missing files" in output
    assert on_index(pypi, "numpy") == {}
    assert not (tmp_path / "dl").exists() or not any((tmp_path / "dl").glob("*.whl"))
