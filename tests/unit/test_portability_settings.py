"""Test images per platform (DOCKER_TEST_IMAGE, [tool.numpy-wheels.test-images]), when the
portability test cannot run, and the pure pieces of the tag check."""

from __future__ import annotations

from pathlib import Path

import pytest

from numpy_wheels.build.hooks import Hooks
from numpy_wheels.build.portability import container_env, download_platforms, explain_failure
from numpy_wheels.build.tagcheck import linux_tag, macos_tag, rules_for
from numpy_wheels.config.build import (
    ProjectConfig,
    portability_images,
    read_project_config,
)
from numpy_wheels.errors import ConfigError, WheelTagError
from numpy_wheels.model.matrix import load_catalogue

CATALOGUE = load_catalogue()


def test_pyproject_selectors_collect_images_in_file_order(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.numpy-wheels.test-images]\n"
        'manylinux_x86_64 = ["local/bullseye:1", "local/trixie:1"]\n'
        '"manylinux_*" = "quay.io/pypa/manylinux2014_{PLAT}"\n'
        'musllinux_x86_64 = "multibuild/alpine3.20_{PLAT}"\n'
    )
    project = read_project_config(tmp_path)
    x86 = CATALOGUE.find("cp312-manylinux_x86_64")
    arm = CATALOGUE.find("cp312-manylinux_aarch64")
    assert portability_images(project, {}, x86) == (
        "local/bullseye:1",
        "local/trixie:1",
        "quay.io/pypa/manylinux2014_x86_64",
    )
    # multibuild's {PLAT}: aarch64 is arm64v8 in Ubuntu-style image names
    assert portability_images(project, {}, arm) == ("quay.io/pypa/manylinux2014_arm64v8",)
    assert portability_images(project, {}, CATALOGUE.find("cp312-macosx_arm64")) == ()


def test_docker_test_image_wins_and_may_name_several() -> None:
    project = ProjectConfig(test_images={"*": ("from/pyproject",)})
    x86 = CATALOGUE.find("cp312-manylinux_x86_64")
    env = {"DOCKER_TEST_IMAGE": "multibuild/focal_{PLAT}  local/t-$plat:1"}
    assert portability_images(project, env, x86) == ("multibuild/focal_x86_64", "local/t-x86_64:1")
    assert portability_images(project, {"DOCKER_TEST_IMAGE": " "}, x86) == ("from/pyproject",)


@pytest.mark.parametrize(
    "body",
    [
        "test-images = 3\n",
        "[tool.numpy-wheels.test-images]\nmanylinux_x86_64 = []\n",
        "[tool.numpy-wheels.test-images]\nmanylinux_x86_64 = [1]\n",
        "test-image = {}\n",
    ],
)
def test_bad_test_images_are_config_errors(tmp_path: Path, body: str) -> None:
    text = "[tool.numpy-wheels]\n" + body if not body.startswith("[") else body
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError, match="test-image"):
        read_project_config(tmp_path)


def test_container_env_drops_host_paths(tmp_path: Path) -> None:
    hooks = Hooks(
        config_path=tmp_path / "cfg.sh", env_vars_path=tmp_path / "vars.sh", root=tmp_path
    )
    crossing = {
        "REPO_DIR": "/host/numpy",
        "PKG_CONFIG_PATH": "/host/openblas",
        "FOOEXT_MARK": "x",
        "NUMPY_WHEELS_MODE": "daily",
    }
    values = container_env(
        crossing,
        {"NUMPY_TEST_LABEL": "fast", "HOME": "/root"},
        hooks=hooks,
        image="img",
        wheel="a.whl",
        deps="/nw/deps/0",
        test_depends=("pytest", "hypothesis>=6"),
    )
    assert "REPO_DIR" not in values
    assert "PKG_CONFIG_PATH" not in values
    assert "HOME" not in values
    assert values["FOOEXT_MARK"] == "x"
    assert values["NUMPY_TEST_LABEL"] == "fast"
    assert values["CONFIG_PATH"] == "/nw/repo/cfg.sh"
    assert values["ENV_VARS_PATH"] == "/nw/repo/vars.sh"
    assert values["TEST_DEPENDS"] == "pytest 'hypothesis>=6'"
    assert values["PIP_NO_INDEX"] == "1"
    assert values["PIP_FIND_LINKS"] == "/nw/deps/0"


def test_download_platforms_cover_every_older_glibc() -> None:
    platforms = download_platforms({"libc": "glibc", "libc_version": "2.31", "machine": "x86_64"})
    assert platforms[0] == "manylinux_2_31_x86_64"
    assert "manylinux2014_x86_64" in platforms
    assert platforms[-1] == "manylinux1_x86_64"
    assert "manylinux_2_32_x86_64" not in platforms


def testexplain_failure_names_the_missing_library() -> None:
    output = (
        "Traceback (most recent call last):\n"
        '  File "<string>", line 1, in <module>\n'
        "ImportError: libglib-2.0.so.0: cannot open shared object file: No such file\n"
        "run_tests failed\n"
    )
    assert explain_failure(output).startswith("ImportError: libglib-2.0.so.0")
    assert explain_failure("ERROR: x.whl is not a supported wheel on this platform.\n").startswith(
        "ERROR:"
    )
    assert explain_failure("") == ""


def test_tag_rules_follow_auditwheel_policies() -> None:
    assert linux_tag("manylinux1_i686") == ("manylinux", (2, 5), "i686")
    assert macos_tag("win_amd64") is None
    rules = rules_for("manylinux_2_29_x86_64")  # between two policies: the older lists
    assert rules.libc == (2, 29)
    assert "libstdc++.so.6" in rules.whitelist
    assert "GLIBCXX" in rules.symbol_versions
    with pytest.raises(WheelTagError, match="knows no architecture"):
        rules_for("manylinux_2_28_sparc")
