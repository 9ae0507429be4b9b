"""The configuration layer for multibuild-style repositories: CI globals as defaults (the
process environment overriding), the project named by REPO_DIR's own metadata, the source
chosen with a reason, OpenBLAS only when the project asks."""

from __future__ import annotations

from pathlib import Path

import pytest

from numpy_wheels.cifiles.jobs import ci_globals, run_environment
from numpy_wheels.cifiles.readers import read_config
from numpy_wheels.config.build import (
    BuildRequest,
    ProjectConfig,
    read_project_config,
    resolve_build_options,
    resolve_project,
    tree_project_name,
)
from numpy_wheels.errors import ConfigError

TRAVIS = """\
env:
  global:
    - REPO_DIR=fooext
    - BUILD_COMMIT=v0.1.0
    - TEST_DEPENDS="pytest hypothesis"
    - EXTRA_ARGV="-x"
    - secure: "abc"
    - WHEELHOUSE_UPLOADER_SECRET=plain
    - CONFIG_PATH=$TRAVIS_BUILD_DIR/config.sh
"""
APPVEYOR = """\
environment:
  global:
    REPO_DIR: fooext
    BUILD_COMMIT: v0.1.0
    TEST_DEPENDS: pytest
    MB_ML_VER: "2014"
"""


def repo(tmp_path: Path) -> Path:
    (tmp_path / ".travis.yml").write_text(TRAVIS)
    (tmp_path / "appveyor.yml").write_text(APPVEYOR)
    (tmp_path / "config.sh").write_text("")
    return tmp_path


def test_globals_are_defaults_and_the_environment_overrides(tmp_path: Path) -> None:
    config = read_config(repo(tmp_path))
    env = run_environment({"EXTRA_ARGV": "-k dot"}, config=config)
    assert env["REPO_DIR"] == "fooext"
    assert env["TEST_DEPENDS"] == "pytest hypothesis"  # first file wins locally
    assert env["MB_ML_VER"] == "2014"  # only AppVeyor sets it: still a default
    assert env["EXTRA_ARGV"] == "-k dot"  # the process overrides
    # Never a secret, a credential-named value, or what only the CI can expand.
    assert "WHEELHOUSE_UPLOADER_SECRET" not in env
    assert "CONFIG_PATH" not in env
    # On AppVeyor, AppVeyor's own file is the one (its globals are already in the env there).
    on_appveyor = ci_globals(config, service="appveyor")
    assert on_appveyor["TEST_DEPENDS"].value == "pytest"


def test_the_project_is_what_repo_dir_holds(tmp_path: Path) -> None:
    (tmp_path / "fooext").mkdir()
    (tmp_path / "fooext" / "setup.py").write_text('setup(\n    name="foo-ext",\n)\n')
    found = resolve_project(tmp_path, {"REPO_DIR": "fooext"}, ProjectConfig())
    assert (found.name, found.name_from) == ("foo-ext", "the metadata in fooext/")
    # Not a checkout and no REPO_URL: the index sdist, and why.
    assert found.kind == "sdist"
    assert "no git checkout at fooext/ and no REPO_URL" in found.reason
    (tmp_path / "fooext" / ".git").mkdir()
    found = resolve_project(tmp_path, {"REPO_DIR": "fooext"}, ProjectConfig())
    assert (found.kind, found.reason) == ("git", "REPO_DIR fooext is a git checkout")


def test_a_repo_url_makes_git_the_source(tmp_path: Path) -> None:
    env = {"REPO_DIR": "checkout", "REPO_URL": "https://example.invalid/myext.git"}
    found = resolve_project(tmp_path, env, ProjectConfig())
    assert found.kind == "git"
    assert found.repo_url == "https://example.invalid/myext.git"
    # nothing cloned yet: the repository's name, not REPO_DIR's (issue 12 tryout: the first
    # build was "checkout", the next "myext", with two build places and two sha256s)
    assert (found.name, found.name_from) == ("myext", "REPO_URL=https://example.invalid/myext.git")
    assert not found.name_guessed


def test_a_repo_dir_that_holds_nothing_is_no_licence_for_the_index(tmp_path: Path) -> None:
    """REPO_DIR=myextt (a typo), not checked out, no REPO_URL, no configured project: the
    build stopped at the index's 404 for myextt; a typo that is another project's name
    would have built that project's sdist."""
    (tmp_path / ".travis.yml").write_text(TRAVIS.replace("REPO_DIR=fooext", "REPO_DIR=myextt"))
    (tmp_path / "config.sh").write_text("")
    request = BuildRequest(root=tmp_path)
    env = {"HOME": str(tmp_path)}
    with pytest.raises(ConfigError, match="REPO_DIR myextt does not hold the project") as err:
        resolve_build_options(request, env=env, host_id="cp311-manylinux_x86_64")
    assert "--source sdist" in err.value.hint
    # asked for, the index sdist is still there
    chosen = BuildRequest(root=tmp_path, source="sdist")
    opts = resolve_build_options(chosen, env=env, host_id="cp311-manylinux_x86_64")
    assert (opts.source, opts.project_name) == ("sdist", "myextt")


def test_a_configured_repo_url_is_only_where_git_clones_from(tmp_path: Path) -> None:
    project = ProjectConfig(project="numpy", repo_url="https://github.com/numpy/numpy.git")
    assert resolve_project(tmp_path, {}, project).kind == "sdist"
    assert resolve_project(tmp_path, {}, project, source="git").kind == "git"
    with pytest.raises(ConfigError, match=r"needs a git checkout .* or a REPO_URL"):
        resolve_project(tmp_path, {}, ProjectConfig(project="numpy"), source="git")


def test_no_repo_dir_and_no_project_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set REPO_DIR in the CI files"):
        resolve_project(tmp_path, {}, ProjectConfig())


@pytest.mark.parametrize(
    ("files", "name"),
    [
        ({"pyproject.toml": '[project]\nname = "a-b"\n'}, "a-b"),
        ({"setup.cfg": "[metadata]\nname = cfgname\n"}, "cfgname"),
        ({"PKG-INFO": "Metadata-Version: 2.1\nName: numpy\nVersion: 2.4.6\n"}, "numpy"),
        ({"setup.py": "from setuptools import setup\nsetup(name='legacy')\n"}, "legacy"),
        ({"setup.py": "setup(name=NAME)\n"}, None),
    ],
)
def test_tree_project_name(tmp_path: Path, files: dict[str, str], name: str | None) -> None:
    for filename, text in files.items():
        (tmp_path / filename).write_text(text)
    assert tree_project_name(tmp_path) == name


def test_options_of_a_multibuild_repo_without_pyproject(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "fooext" / ".git").mkdir(parents=True)
    assert read_project_config(root) == ProjectConfig(sdist=False)  # CI jobs build wheels only
    opts = resolve_build_options(
        BuildRequest(root=root), env={"HOME": str(tmp_path)}, host_id="cp311-manylinux_x86_64"
    )
    assert opts.project_name == "fooext"
    assert (opts.source, opts.repo_dir) == ("git", root / "fooext")
    assert opts.openblas is False  # a project that does not ask links no OpenBLAS
    assert opts.test_depends == ("pytest", "hypothesis")
    assert opts.extra_argv == ("-x",)
    assert opts.build_env["MB_ML_VER"] == "2014"


def test_this_repository_asks_for_openblas() -> None:
    project = read_project_config(Path(__file__).resolve().parents[2])
    assert (project.project, project.openblas) == ("numpy", True)
