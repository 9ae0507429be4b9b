"""The release gate: pure checks of a version's file set before any byte goes to the index.

Platforms are matched by the parsed platform-tag family, never by substring (``-t linux``
matched ``manylinux1`` in the old wheel-uploader); file names are parsed with ``packaging``
(build tags, compressed tag sets, sdists); the set is compared with the expected manifest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal, TypeAlias

from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from numpy_wheels.build.validate import set_problems
from numpy_wheels.errors import ReleaseGateError
from numpy_wheels.files import BadDistribution, metadata_fields, parse_dist, raw_metadata
from numpy_wheels.model.matrix import match_manifest

WheelType: TypeAlias = Literal[
    "all", "macosx", "win", "manylinux1", "linux", "manylinux", "musllinux"
]
WHEEL_TYPES: tuple[WheelType, ...] = (
    "all",
    "macosx",
    "win",
    "manylinux1",
    "linux",
    "manylinux",
    "musllinux",
)


def families(platform: str) -> frozenset[str]:
    """The ``-t`` families a platform tag belongs to.

    >>> sorted(families("manylinux1_x86_64")), sorted(families("musllinux_1_2_aarch64"))
    (['linux', 'manylinux', 'manylinux1'], ['linux', 'musllinux'])
    >>> sorted(families("macosx_11_0_arm64")), sorted(families("linux_x86_64"))
    (['macosx'], ['linux'])
    """
    out = set()
    if platform.startswith("macosx_"):
        out.add("macosx")
    elif platform.startswith("win"):
        out.add("win")
    elif platform.startswith(("manylinux", "musllinux", "linux_")):
        out.add("linux")
        if platform.startswith("manylinux"):
            out.add("manylinux")
            if platform.startswith(("manylinux1_", "manylinux_2_5_")):
                out.add("manylinux1")
        elif platform.startswith("musllinux"):
            out.add("musllinux")
    return frozenset(out)


def wheel_tags(filename: str) -> frozenset[Tag]:
    """The tag set of a wheel; an sdist has none."""
    return parse_dist(filename).tags


def of_type(filename: str, wheel_type: WheelType) -> bool:
    """Whether ``-t wheel_type`` selects this file (sdists and pure wheels only with ``all``)."""
    if wheel_type == "all":
        return True
    return any(wheel_type in families(t.platform) for t in wheel_tags(filename))


def version_of(filename: str) -> tuple[str, Version]:
    dist = parse_dist(filename)
    return dist.project, dist.version


@dataclasses.dataclass(frozen=True, kw_only=True)
class GateReport:
    """What the found set lacks or has too much of, against the expected manifest."""

    expected: tuple[str, ...]
    found: tuple[str, ...]
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    duplicates: tuple[tuple[str, str], ...] = ()  # pairs sharing a tag
    unsupported: tuple[str, ...] = ()  # linux_* (no index accepts them)
    misspelt_version: tuple[str, ...] = ()  # same version, other spelling (2.4.06)
    wrong: tuple[str, ...] = ()  # validate.set_problems: wrongly tagged, pure among platform

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def consistent(self) -> bool:
        """Nothing staged that must never ship (no flag allows these; ``--allow-incomplete``
        only ever allows missing files)."""
        return not (
            self.unexpected
            or self.duplicates
            or self.unsupported
            or self.misspelt_version
            or self.wrong
        )

    def problems(self) -> list[str]:
        lines = [f"missing (expected, not staged): {n}" for n in self.missing]
        lines += [f"unexpected (staged, not in the manifest): {n}" for n in self.unexpected]
        lines += [f"duplicate tags: {a} and {b}" for a, b in self.duplicates]
        lines += [f"unsupported platform tag (linux_*): {n}" for n in self.unsupported]
        lines += [f"version spelt differently from the release: {n}" for n in self.misspelt_version]
        lines += list(self.wrong)
        return lines


def select(names: Iterable[str], *, project: str, version: str, wheel_type: WheelType) -> list[str]:
    """The files of ``project`` at ``version`` (compared as versions) of the chosen type."""
    want_name, want_version = canonicalize_name(project), Version(version)
    out = []
    for name in names:
        got_name, got_version = version_of(name)
        if (
            canonicalize_name(got_name) == want_name
            and got_version == want_version
            and of_type(name, wheel_type)
        ):
            out.append(name)
    return sorted(out)


def check(
    found: Sequence[str], *, expected: Sequence[str], version: str, wheel_type: WheelType
) -> GateReport:
    """Compare ``found`` (already selected) with the manifest entries of this type.

    The manifest (``matrix --wheels``) names every file: one wheel per (identifier, BLAS
    variant) — macOS OpenBLAS and Accelerate wheels differ in their platform tag — and the
    sdist when the project releases one (only ``-t all`` selects it). A staged wheel with the
    older-policy tags auditwheel adds to the manifest's (``model.matrix.accepts``) is that
    manifest entry.
    """
    wanted = sorted(n for n in expected if of_type(n, wheel_type))
    matched = match_manifest(wanted, found)
    present = set(matched.values())
    wheels = [n for n in found if n.endswith(".whl")]
    tags = {n: wheel_tags(n) for n in wheels}
    # Linear in the listing: each tag remembers the first wheel that claimed it (a listing
    # with 10,000 extra links must not take 10^8 comparisons).
    owner: dict[Tag, str] = {}
    duplicates: list[tuple[str, str]] = []
    for name in wheels:
        clashes = {owner[t] for t in tags[name] if t in owner and owner[t] != name}
        duplicates.extend((first, name) for first in sorted(clashes))
        for t in tags[name]:
            owner.setdefault(t, name)
    return GateReport(
        expected=tuple(wanted),
        found=tuple(found),
        missing=tuple(n for n in wanted if n not in present),
        # the sdist is a file of the release like any wheel: a second one (.zip) is unexpected
        unexpected=tuple(n for n in found if n not in matched),
        duplicates=tuple(duplicates),
        unsupported=tuple(
            n for n in wheels if any(t.platform.startswith("linux_") for t in tags[n])
        ),
        misspelt_version=tuple(n for n in found if parse_dist(n).spelt_version != version),
        wrong=tuple(set_problems(found, expected=expected)),
    )


def enforce(report: GateReport, *, allow_incomplete: bool) -> None:
    """Refuse an inconsistent set always, an incomplete one unless ``allow_incomplete``."""
    if not report.found:
        msg = "no files of this version and type were found in the listing"
        raise ReleaseGateError(msg)
    if not report.consistent:
        msg = "the staged set is not releasable:\n  " + "\n  ".join(report.problems())
        raise ReleaseGateError(msg, hint=REFUSED_HINT)
    if not report.complete and not allow_incomplete:
        msg = "the staged set is incomplete:\n  " + "\n  ".join(report.problems())
        raise ReleaseGateError(
            msg,
            hint="Stage the missing files (rerun their build jobs), or pass --allow-incomplete "
            "to release without them on purpose. Nothing was uploaded.",
        )


#: Files that must never ship: no flag releases them.
REFUSED_HINT = (
    "No flag releases these (--allow-incomplete only allows missing files): delete them from "
    "the container (or fix the build selection in pyproject.toml) and re-stage the right "
    "build. Nothing was uploaded."
)


def metadata_of(path: Path) -> bytes:
    """The file's own METADATA / PKG-INFO bytes (a file that is not a readable archive with
    one is refused: ReleaseGateError)."""
    try:
        return raw_metadata(path)
    except BadDistribution as exc:
        raise ReleaseGateError(str(exc)) from None


def check_coherence(found: Mapping[str, bytes], *, project: str, version: str) -> None:
    """Every file's METADATA (``found``: file name -> its METADATA bytes, as ``metadata_of``
    reads them) names this project and version (the file name is not enough)."""
    bad = []
    for filename, raw in sorted(found.items()):
        name, meta_version = metadata_fields(raw)
        if canonicalize_name(name) != canonicalize_name(project) or meta_version != version:
            bad.append(f"{filename}: METADATA says {name} {meta_version}")
    if bad:
        msg = f"files disagree with the release {project} {version}:\n  " + "\n  ".join(bad)
        raise ReleaseGateError(msg)
