"""Identifiers, selectors and the release manifest."""

from __future__ import annotations

import pytest
from packaging.utils import parse_wheel_filename

from numpy_wheels.errors import SelectionError
from numpy_wheels.model.matrix import identifier_from_multibuild, load_catalogue, manifest, select

REQUIRED = {
    f"{py}-{plat}"
    for py in ("cp311", "cp312", "cp313", "cp314", "cp314t")
    for plat in (
        "manylinux_x86_64",
        "manylinux_aarch64",
        "macosx_x86_64",
        "macosx_arm64",
        "win_amd64",
    )
}
BUILD = ("cp311-*", "cp312-*", "cp313-*", "cp314-*", "cp314t-*")
SKIP = ("*-musllinux_*", "*-macosx_universal2", "*-win32", "*-win_arm64")


def test_this_repository_selection() -> None:
    ids = {b.identifier for b in select(load_catalogue(), build=BUILD, skip=SKIP)}
    assert ids == REQUIRED


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


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", True),
        ("numpy-2.4.6-cp314-cp314t-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl", True),
        ("numpy-2.4.6-cp311-cp311-macosx_10_9_x86_64.whl", True),
        ("numpy-2.4.6-cp312-cp312-macosx_10_13_x86_64.whl", True),
        ("numpy-2.4.6-cp314-cp314-macosx_11_0_arm64.whl", True),
        ("numpy-2.4.6-cp314-cp314t-win_amd64.whl", True),
        ("numpy-2.4.6-cp311-cp311-win32.whl", False),
    ],
)
def test_manifest_matches_numpy_release_names(name: str, expected: bool) -> None:
    names = manifest(
        select(load_catalogue(), build=BUILD, skip=SKIP), project="numpy", version="2.4.6"
    )
    assert len(names) == 25
    assert (name in names) is expected


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
    with pytest.raises(SelectionError, match="not a CPython version"):
        identifier_from_multibuild(python_version="pypy3.10", plat="x86_64", os_name="linux")
