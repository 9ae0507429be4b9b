"""Identifiers, selectors and the release manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from numpy_wheels.__main__ import main
from numpy_wheels.config.build import read_project_config
from numpy_wheels.errors import SelectionError
from numpy_wheels.model.matrix import (
    BuildId,
    identifier_from_multibuild,
    load_catalogue,
    manifest,
    select,
)

ROOT = Path(__file__).resolve().parents[2]
# numpy 2.4.6 on PyPI (the command that captured it: tests/unit/data/README.md).
PUBLISHED = (Path(__file__).parent / "data" / "numpy-2.4.6-files.txt").read_text().split()


def _selection() -> tuple[BuildId, ...]:
    project = read_project_config(ROOT)
    return select(load_catalogue(), build=project.build, skip=project.skip)


def test_published_list_is_numpys_whole_release() -> None:
    assert len(PUBLISHED) == 72
    assert sum(n.endswith(".tar.gz") for n in PUBLISHED) == 1
    assert sum("-pp311-" in n for n in PUBLISHED) == 7
    assert sum("macosx_14_0" in n for n in PUBLISHED) == 14  # Accelerate, 7 Pythons x 2 archs


def test_this_repository_manifest_is_what_numpy_published() -> None:
    project = read_project_config(ROOT)
    names = manifest(_selection(), project="numpy", version="2.4.6", sdist=project.sdist)
    assert list(names) == sorted(PUBLISHED)


def test_matrix_wheels_command_prints_the_published_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--root", str(ROOT), "matrix", "--wheels", "2.4.6"], env={}) == 0
    assert capsys.readouterr().out.split() == sorted(PUBLISHED)


def test_accelerate_is_a_variant_of_the_same_identifier() -> None:
    ids = [b for b in _selection() if b.identifier == "cp313-macosx_arm64"]
    assert [(b.key, b.variant, b.deployment_target) for b in ids] == [
        ("cp313-macosx_arm64", "openblas", "11.0"),
        ("cp313-macosx_arm64+accelerate", "accelerate", "14.0"),
    ]
    # the free-threaded Intel macOS build exists only with Accelerate (numpy's exclude)
    intel_ft = [b.key for b in _selection() if b.identifier == "cp314t-macosx_x86_64"]
    assert intel_ft == ["cp314t-macosx_x86_64+accelerate"]


def test_find_by_key_and_unknown_variant() -> None:
    cat = load_catalogue()
    assert cat.find("cp312-macosx_x86_64+accelerate").wheel_platform == "macosx_14_0_x86_64"
    assert cat.find("cp312-macosx_x86_64").wheel_platform == "macosx_10_13_x86_64"
    assert cat.find("cp312-win32").variant == "none"
    with pytest.raises(SelectionError, match="no 'accelerate' variant; its variants: openblas"):
        cat.find("cp312-win_amd64+accelerate")
    with pytest.raises(SelectionError, match="matches no known identifier"):
        cat.find("pp311-musllinux_x86_64")  # cibuildwheel has no PyPy for musl


def test_variant_selectors() -> None:
    cat = load_catalogue()
    keys = [b.key for b in select(cat, build=["cp311-macosx_*"], skip=["*+openblas"])]
    assert keys == ["cp311-macosx_x86_64+accelerate", "cp311-macosx_arm64+accelerate"]
    keys = [b.key for b in select(cat, build=["cp311-macosx_arm64+accelerate"])]
    assert keys == ["cp311-macosx_arm64+accelerate"]
    with pytest.raises(SelectionError, match="matches no known identifier"):
        select(cat, build=["*-win_amd64+accelerate"])


def _cibuildwheel_platforms() -> dict[str, str]:
    """Identifier -> install path/URL of the installed (pinned) cibuildwheel."""
    import tomllib
    from importlib import resources

    text = resources.files("cibuildwheel").joinpath("resources/build-platforms.toml").read_text()
    data = tomllib.loads(text)
    return {
        entry["identifier"]: str(entry.get("path_str") or entry.get("url") or "")
        for table in data.values()
        for entry in table["python_configurations"]
    }


def _pinned(package: str) -> str:
    import re
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    tools = extras["optional-dependencies"]["tools"]
    return next(re.split("==", t)[1] for t in tools if t.startswith(f"{package}=="))


def test_catalogue_agrees_with_the_pinned_cibuildwheel() -> None:
    import importlib.metadata

    installed, pinned = importlib.metadata.version("cibuildwheel"), _pinned("cibuildwheel")
    if installed != pinned:
        pytest.skip(f"cibuildwheel {installed} installed, {pinned} pinned: pip install -e .[test]")
    known = _cibuildwheel_platforms()
    for build_id in load_catalogue().all_ids():
        assert build_id.identifier in known, build_id
    # PyPy's ABI tag is the one the pinned cibuildwheel's manylinux images install
    pypy = load_catalogue().find("pp311-manylinux_x86_64").python
    assert known["pp311-manylinux_x86_64"].endswith("/pp311-" + pypy.abi_tag)


def test_braces_and_globs() -> None:
    ids = select(load_catalogue(), build=["cp31{1,4t}-win_amd64"])
    assert [b.identifier for b in ids] == ["cp311-win_amd64", "cp314t-win_amd64"]


def test_skip_and_empty_selection() -> None:
    ids = select(load_catalogue(), build=["cp312-*"], skip=["*-win*", "*-macosx_*"])
    assert {b.platform.os for b in ids} == {"linux"}
    with pytest.raises(SelectionError, match="select no identifier"):
        select(load_catalogue(), build=["cp312-*"], skip=["*-win*", "*-macosx_*", "*linux*"])


def test_selector_that_matches_nothing_suggests() -> None:
    with pytest.raises(SelectionError, match=r"'cp3l3-\*' matches no known identifier"):
        select(load_catalogue(), build=["cp3l3-*"])
    with pytest.raises(SelectionError, match="did you mean cp313-win_amd64"):
        select(load_catalogue(), build=["cp313-win_amd46"])


def test_only_unknown() -> None:
    with pytest.raises(SelectionError, match="did you mean"):
        select(load_catalogue(), build=["*"], only="cp311-manylinux_x86_46")


def test_manifest_names_parse() -> None:
    for name in manifest(select(load_catalogue(), build=["*"]), project="numpy", version="2.4.6"):
        project, version, build_tag, tags = parse_wheel_filename(name)
        assert project == "numpy"
        assert str(version) == "2.4.6"
        assert build_tag == ()
        assert tags


@pytest.mark.parametrize(
    ("py", "plat", "os_name", "libc", "expected"),
    [
        ("3.11", "x86_64", "linux", "manylinux", "cp311-manylinux_x86_64"),
        ("3.14t", "aarch64", "linux", "manylinux", "cp314t-manylinux_aarch64"),
        ("3.12", "arm64", "linux", "manylinux", "cp312-manylinux_aarch64"),
        ("3.12", "x86_64", "linux", "musllinux", "cp312-musllinux_x86_64"),
        ("3.13", "arm64", "macos", "manylinux", "cp313-macosx_arm64"),
        ("3.13", "universal2", "macos", "manylinux", "cp313-macosx_universal2"),
        ("3.13", "x86_64", "windows", "manylinux", "cp313-win_amd64"),
        ("3.13", "ARM64", "windows", "manylinux", "cp313-win_arm64"),
        ("3.13", "i686", "windows", "manylinux", "cp313-win32"),
        ("pypy3.11", "x86_64", "linux", "manylinux", "pp311-manylinux_x86_64"),
        ("pypy3.11", "AMD64", "windows", "manylinux", "pp311-win_amd64"),
    ],
)
def test_identifier_from_multibuild(
    py: str, plat: str, os_name: str, libc: str, expected: str
) -> None:
    assert (
        identifier_from_multibuild(
            python_version=py,
            plat=plat,
            os_name=os_name,  # type: ignore[arg-type]
            libc=libc,
        )
        == expected
    )


def test_bad_python_version() -> None:
    with pytest.raises(SelectionError, match="not a Python version"):
        identifier_from_multibuild(python_version="pypy3.11t", plat="x86_64", os_name="linux")
    with pytest.raises(SelectionError, match="not a Python version"):
        identifier_from_multibuild(python_version="3.x", plat="x86_64", os_name="linux")
