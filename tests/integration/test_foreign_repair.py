"""The plan's repair step run for real on real, un-repaired numpy macOS and Windows wheels
(downloaded from the package index; see tests/foreign.py), checked with pefile / macholib."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from numpy_wheels.build.repair import merge_universal2, repair_with_plan
from numpy_wheels.model.matrix import load_catalogue
from numpy_wheels.model.plan import make_plan
from tests.foreign import apple_tool_shims, download, unrepair_macos, unrepair_windows

BIN = str(Path(sys.executable).parent)


@pytest.fixture(scope="session")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("foreign-wheels")


def test_windows_wheel_imports_its_dlls_from_inside(downloads: Path, tmp_path: Path) -> None:
    import pefile

    original = download(downloads / "win", "win_amd64")
    libs = tmp_path / "openblas-lib"
    bare = unrepair_windows(original, tmp_path / "bare", libs)
    with zipfile.ZipFile(bare) as zf:
        assert not [n for n in zf.namelist() if ".libs/" in n]  # really un-repaired
    plan = make_plan(load_catalogue().find("cp312-win_amd64"))
    dest = tmp_path / "wheelhouse"
    dest.mkdir()
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = repair_with_plan(plan, bare, dest=dest, lib_dir=libs, env=env)
    assert result.wheel.name.endswith("-win_amd64.whl")
    with zipfile.ZipFile(result.wheel) as zf:
        names = zf.namelist()
        vendored = {n.rsplit("/", 1)[1] for n in names if n.startswith("numpy.libs/")}
        assert any(v.startswith("libscipy_openblas64_-") for v in vendored)  # name-mangled
        importers = 0
        for name in (n for n in names if n.endswith(".pyd")):
            pe = pefile.PE(data=zf.read(name))
            for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", []):
                dll = entry.dll.decode()
                if "openblas" in dll or dll.startswith("msvcp140"):
                    assert dll in vendored, f"{name} imports {dll}, not inside the wheel"
                    importers += 1
        assert importers >= 2  # _multiarray_umath, _umath_linalg, …
        init = zf.read("numpy/__init__.py").decode()
        assert "os.add_dll_directory(libs_dir)" in init  # delvewheel's loader patch
        distributor = zf.read("numpy/_distributor_init.py").decode()
        assert "add_dll_directory" not in distributor
        assert "WinDLL" not in distributor


def test_macos_wheel_load_commands_point_inside(downloads: Path, tmp_path: Path) -> None:
    from macholib.mach_o import LC_LOAD_DYLIB
    from macholib.MachO import MachO

    original = download(downloads / "mac", "macosx_10_13_x86_64")
    libs = tmp_path / "openblas-lib"
    bare = unrepair_macos(original, tmp_path / "bare", libs, tmp_path / "work")
    shims = apple_tool_shims(tmp_path / "shims")
    plan = make_plan(load_catalogue().find("cp312-macosx_x86_64"))
    assert plan.repair is not None
    assert plan.repair[:3] == (
        "delocate-wheel",
        "--require-archs",
        "x86_64",
    )
    dest = tmp_path / "wheelhouse"
    dest.mkdir()
    env = {"PATH": f"{BIN}:{shims}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = repair_with_plan(plan, bare, dest=dest, lib_dir=libs, env=env)
    assert result.wheel.name.endswith("-macosx_10_13_x86_64.whl")  # tag kept: lib is 10.9
    assert result.grafted == ("numpy/.dylibs/libscipy_openblas64_.dylib",)
    out = tmp_path / "unpacked"
    with zipfile.ZipFile(result.wheel) as zf:
        zf.extractall(out)
    linked = 0
    for so in out.rglob("*.so"):
        for header in MachO(str(so)).headers:
            for command, _, data in header.commands:
                if command.cmd != LC_LOAD_DYLIB:
                    continue
                ref = data.rstrip(b"\0").decode()
                assert not ref.startswith(str(libs)), f"{so.name} still links {ref}"
                if "openblas" in ref:
                    assert ref.startswith("@loader_path/"), ref
                    target = so.parent / ref.removeprefix("@loader_path/")
                    assert target.is_file(), f"{so.name}: {ref} is not in the wheel"
                    linked += 1
    assert linked >= 2


def test_universal2_fuses_the_two_arch_wheels(downloads: Path, tmp_path: Path) -> None:
    """The plan's universal2 step on numpy's real x86_64 and arm64 OpenBLAS wheels: every
    binary in the result carries both architectures (checked with macholib)."""
    from macholib.mach_o import CPU_TYPE_NAMES
    from macholib.MachO import MachO

    wheels = {
        "x86_64": download(downloads / "mac", "macosx_10_13_x86_64"),
        "arm64": download(downloads / "arm", "macosx_11_0_arm64"),
    }
    shims = apple_tool_shims(tmp_path / "shims")
    plan = make_plan(load_catalogue().find("cp312-macosx_universal2"))
    dest = tmp_path / "wheelhouse"
    dest.mkdir()
    env = {"PATH": f"{BIN}:{shims}:/usr/bin:/bin", "HOME": str(tmp_path)}
    merged = merge_universal2(plan, wheels, dest=dest, env=env)
    assert merged.name.endswith("-macosx_10_13_universal2.whl")
    out = tmp_path / "unpacked"
    with zipfile.ZipFile(merged) as zf:
        zf.extractall(out)
    binaries = [*out.rglob("*.so"), *out.rglob("*.dylib")]
    assert len(binaries) > 10
    for path in binaries:
        archs = {CPU_TYPE_NAMES.get(h.header.cputype) for h in MachO(str(path)).headers}
        assert archs == {"x86_64", "ARM64"}, f"{path.name}: {archs}"
