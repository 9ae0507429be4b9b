"""The tag honesty check on real wheels: numpy's published wheels (kept promises, then the
same bytes under tags they do not keep), and a fooext build that uses closefrom() (glibc 2.34)
under a manylinux_2_28 tag, refused by build, by upload and at release."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from numpy_wheels.__main__ import main
from numpy_wheels.build.tagcheck import check_wheel
from numpy_wheels.config.staging import StoreConfig
from numpy_wheels.errors import ReleaseGateError, WheelTagError
from numpy_wheels.files import sha256_of
from numpy_wheels.staging.pages import Record
from numpy_wheels.staging.stage import RECORDS, publish_pages
from numpy_wheels.staging.store import LocalStore
from tests.foreign import unrepair_macos

NUMPY = "numpy==2.2.6"  # has manylinux2014, musllinux_1_2, macOS 10.13 x86_64 and 14.0 arm64


@pytest.fixture(scope="session")
def numpy_wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("numpy-wheels")
    platforms = {
        "manylinux": "manylinux_2_17_x86_64",
        "musllinux": "musllinux_1_2_x86_64",
        "macos-x86_64": "macosx_10_13_x86_64",
        "macos-arm64": "macosx_14_0_arm64",
    }
    out = {}
    for key, platform in platforms.items():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--isolated",
                "--only-binary=:all:",
                "--no-deps",
                "--platform",
                platform,
                "--python-version",
                "3.12",
                "-d",
                str(directory / key),
                NUMPY,
            ],
            check=True,
            capture_output=True,
        )
        (out[key],) = (directory / key).glob("numpy-*.whl")
    return out


def renamed(wheel: Path, directory: Path, platform: str) -> Path:
    """The same bytes under another platform tag (what a manual re-tag does)."""
    name, version, _, tags = parse_wheel_filename(wheel.name)
    (tag,) = {f"{t.interpreter}-{t.abi}" for t in tags}
    directory.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(wheel, directory / f"{name}-{version}-{tag}-{platform}.whl"))


def test_numpy_wheels_keep_their_tags(numpy_wheels: dict[str, Path]) -> None:
    reports = {key: check_wheel(path) for key, path in numpy_wheels.items()}
    for key, report in reports.items():
        assert report.ok, (key, [str(v) for v in report.violations])
        assert len(report.binaries) > 10, key  # every extension module and OpenBLAS read
    linux = reports["manylinux"]
    assert linux.checked == "linux"
    assert linux.needs["GLIBC"] == "2.17"
    assert "libc.so.6" in linux.external
    assert not [e for e in linux.external if "openblas" in e]  # grafted: inside the wheel
    assert reports["musllinux"].external == ("libc.musl-x86_64.so.1",)
    arm = reports["macos-arm64"]
    assert arm.checked == "macos"
    assert arm.needs == {"macOS": "14.0"}
    assert all(e.startswith(("/usr/lib/", "/System/")) for e in arm.external)


def test_a_wheel_that_keeps_its_tags_is_read_without_its_symbol_table(
    numpy_wheels: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Naming the symbols behind each version walks .dynsym (0.9 s of a numpy wheel's 0.95 s
    check): done only for versions a violation names, so a wheel that keeps its tags never
    walks it (the retagged wheel below still names its symbols)."""
    from elftools.elf.sections import SymbolTableSection

    def walked(self: SymbolTableSection) -> None:
        raise AssertionError(self.name)

    monkeypatch.setattr(SymbolTableSection, "iter_symbols", walked)
    report = check_wheel(numpy_wheels["manylinux"])
    assert report.ok
    assert report.needs["GLIBC"] == "2.17"


def test_retagged_linux_wheel_names_symbol_and_version(
    numpy_wheels: dict[str, Path], tmp_path: Path
) -> None:
    older = check_wheel(renamed(numpy_wheels["manylinux"], tmp_path, "manylinux_2_12_x86_64"))
    assert not older.ok
    symbols = [v for v in older.violations if v.kind == "symbol"]
    assert symbols
    assert all(v.tag == "manylinux_2_12_x86_64" for v in symbols)
    assert any("GLIBC_2.17 from libc.so.6 by " in v.detail for v in symbols)
    other_cpu = check_wheel(renamed(numpy_wheels["manylinux"], tmp_path, "manylinux_2_17_aarch64"))
    arch = [v for v in other_cpu.violations if v.kind == "arch"]
    assert len(arch) == len(other_cpu.binaries)  # every ELF is x86-64 code
    assert "is EM_X86_64, not EM_AARCH64" in arch[0].detail
    wrong_libc = check_wheel(renamed(numpy_wheels["musllinux"], tmp_path, "manylinux_2_17_x86_64"))
    assert any("needs libc.musl-x86_64.so.1" in v.detail for v in wrong_libc.violations)


def test_macos_minimum_version_and_outside_libraries(
    numpy_wheels: dict[str, Path], tmp_path: Path
) -> None:
    retagged = check_wheel(renamed(numpy_wheels["macos-arm64"], tmp_path, "macosx_11_0_arm64"))
    assert {v.kind for v in retagged.violations} == {"macos"}
    assert "arm64 code needs macOS 14.0, the tag promises 11.0" in retagged.violations[0].detail
    universal = check_wheel(
        renamed(numpy_wheels["macos-arm64"], tmp_path, "macosx_14_0_universal2")
    )
    assert any(v.kind == "arch" and "has no x86_64 code" in v.detail for v in universal.violations)
    libs = tmp_path / "outside"
    bare = unrepair_macos(numpy_wheels["macos-x86_64"], tmp_path / "bare", libs, tmp_path / "w")
    report = check_wheel(bare)
    loads = [v for v in report.violations if v.kind == "load"]
    assert loads
    assert all(str(libs) in v.detail for v in loads)
    assert any("libscipy_openblas" in v.detail for v in loads)


def test_overclaiming_wheel_refused_by_build_upload_and_release(
    fooext_repo: Callable[..., Path],
    build_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # fooext calling closefrom() (glibc 2.34), tagged manylinux_2_28 by its own setup:
    # auditwheel keeps that tag and adds manylinux_2_34 — a wheel pip would install on 2.28.
    root = fooext_repo(closefrom=True, pyproject_extra='build = ["cp311-manylinux_x86_64"]\n')
    code = main(["--root", str(root), "build", "--backend", "host"], env=build_env)
    out, err = capsys.readouterr()
    assert code == WheelTagError.return_code, out + err
    assert "manylinux_2_28_x86_64" in err
    assert "GLIBC_2.34 from libc.so.6 by closefrom" in err
    assert "Traceback" not in out + err
    summary = json.loads((root / "wheelhouse" / "build-summary.json").read_text())
    assert summary["wheels"][0]["error_class"] == "WheelTagError"
    (wheel,) = (root / "wheelhouse").glob("*.whl")  # left for inspection, never staged
    _, _, _, tags = parse_wheel_filename(wheel.name)
    assert {t.platform for t in tags} == {"manylinux_2_28_x86_64", "manylinux_2_34_x86_64"}

    store_root = tmp_path / "store"
    store_root.mkdir()  # a named store root must exist
    store_args = ["--provider-name", "local", "--local-root", str(store_root)]
    code = main(
        ["--root", str(root), "upload", *store_args, "wheels", "--local-folder", str(wheel.parent)],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    out, err = capsys.readouterr()
    assert code == WheelTagError.return_code, out + err
    assert "closefrom" in err
    assert "GLIBC_2.34" in err
    assert not list(store_root.rglob("*.whl"))  # nothing was sent

    # One that slipped through (staged by hand, or by an older tool) stops at the gate.
    store = LocalStore(StoreConfig(provider="local", container="wheels", local_root=store_root))
    store.ensure_container()
    store.put_file(wheel.name, wheel, content_type="application/zip")
    record = Record(
        filename=wheel.name,
        project="fooext",
        version="0.1.0",
        sha256=sha256_of(wheel),
        size=wheel.stat().st_size,
        uploaded="2026-01-01T00:00:00+00:00",
    )
    store.put_bytes(
        f"{RECORDS}{wheel.name}.json",
        json.dumps(record.as_json()).encode(),
        content_type="application/json",
    )
    publish_pages(store, project="fooext", expected=[])
    code = main(
        [
            "--root",
            str(root),
            "release",
            "0.1.0",
            *store_args,
            "--container",
            "wheels",
            "--no-twine",
            "--allow-incomplete",
            "--allow-unverified-provenance",
            "-w",
            str(tmp_path / "release"),
        ],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    out, err = capsys.readouterr()
    # Its name is not the manifest's (manylinux_2_34 added): refused by name, whatever the
    # flags, before any download (the binaries' check would refuse it after the download).
    assert code == ReleaseGateError.return_code, out + err
    assert f"unexpected (staged, not in the manifest): {wheel.name}" in err
    assert "--allow-incomplete only allows missing files" in err
    report = json.loads((tmp_path / "release" / "release-fooext-0.1.0.json").read_text())
    assert report["complete"] is False  # the refusal's report
    assert report["error"]["class"] == "ReleaseGateError"
    assert not (tmp_path / "release" / wheel.name).exists()
