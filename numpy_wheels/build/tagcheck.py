"""Tag honesty: does every binary in a wheel keep the promise of the wheel's platform tags?

A ``manylinux_2_28_x86_64`` tag says "runs on any x86_64 distribution with glibc >= 2.28";
a ``macosx_11_0_arm64`` tag says "runs on macOS 11 and later". A manual re-tag, a wrong
``--plat``/``plat_name`` or a grafting mistake breaks the promise silently (auditwheel keeps a
tag the wheel already had: a wheel built as ``manylinux_2_28`` that needs glibc 2.34 comes out
of ``auditwheel repair`` as ``manylinux_2_28_x86_64.manylinux_2_34_x86_64``). This module reads
the binaries — never the build machine — and checks them against each tag:

- **Linux** (ELF, read with pyelftools): the CPU of each ELF; every versioned symbol it needs
  (``GLIBC_*`` compared with the tag's glibc version, as PEP 600 defines it; ``GLIBCXX_*``,
  ``CXXABI_*``, ``GCC_*``, ``ZLIB_*`` … against auditwheel's policy data for that tag); every
  ``DT_NEEDED`` library that is neither inside the wheel (grafted) nor on the policy's
  whitelist. Source of the rules: PEP 600 / PEP 656 and auditwheel's
  ``manylinux-policy.json``/``musllinux-policy.json`` (the pinned auditwheel's copy).
- **macOS** (Mach-O, read with macholib): the architectures the tag names are present; the
  minimum macOS of every binary (``LC_BUILD_VERSION``/``LC_VERSION_MIN_MACOSX``) is not newer
  than the tag's (arm64 binaries count as 11.0 at least, as delocate does); every library load
  command resolves inside the wheel (``@loader_path``, ``@rpath`` through the binary's
  ``LC_RPATH``) or to the system (``/usr/lib/``, ``/System/``).

Windows and pure wheels are not checked (the report says so).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import posixpath
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeAlias, TypeVar

from packaging.utils import parse_wheel_filename
from packaging.version import Version

from numpy_wheels.errors import WheelTagError
from numpy_wheels.files import as_version

Kind: TypeAlias = Literal["symbol", "library", "arch", "macos", "load"]

_LINUX_TAG = re.compile(
    r"^(?P<family>manylinux|musllinux)_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>.+)$"
)
_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_MACOS_TAG = re.compile(r"^macosx_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>.+)$")
# ELF e_machine per Linux platform-tag arch (PEP 599's list plus what manylinux builds today).
_ELF_MACHINE = {
    "x86_64": "EM_X86_64",
    "i686": "EM_386",
    "aarch64": "EM_AARCH64",
    "ppc64le": "EM_PPC64",
    "s390x": "EM_S390",
    "armv7l": "EM_ARM",
    "riscv64": "EM_RISCV",
}
_MACOS_ARCHS = {
    "universal2": ("x86_64", "arm64"),
    "universal": ("i386", "x86_64"),
    "intel": ("i386", "x86_64"),
}
_MACHO_MAGICS = (
    b"\xfe\xed\xfa\xce",
    b"\xce\xfa\xed\xfe",
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
_SYSTEM_PREFIXES = ("/usr/lib/", "/System/")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Violation:
    """One broken promise: ``binary`` (archive path) against platform tag ``tag``."""

    binary: str
    tag: str
    kind: Kind
    detail: str

    def __str__(self) -> str:
        return f"{self.binary}: {self.detail} (tag {self.tag})"


@dataclasses.dataclass(frozen=True, kw_only=True)
class TagReport:
    """What a wheel's binaries need, and where that breaks its tags.

    ``needs``: the highest version per symbol-version family across all binaries (``GLIBC``:
    ``2.34``, ``GLIBCXX``: ``3.4.30``; ``macOS``: ``14.0``). ``external``: libraries loaded from
    outside the wheel (sonames on Linux, install names on macOS).
    """

    wheel: str
    checked: Literal["linux", "macos", "not checked"]
    platforms: tuple[str, ...]
    binaries: tuple[str, ...] = ()
    needs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    external: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        if self.checked == "not checked":
            return f"{self.wheel}: tags not checked (no Linux or macOS platform tag)"
        needs = ", ".join(f"{k} {v}" for k, v in sorted(self.needs.items())) or "nothing versioned"
        verdict = "keep" if self.ok else f"BREAK ({len(self.violations)} problem(s))"
        return (
            f"{self.wheel}: {len(self.binaries)} binaries need {needs}; external libraries: "
            f"{', '.join(self.external) or 'none'}; they {verdict} the tags "
            f"{', '.join(self.platforms)}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "ok": self.ok,
            "platforms": list(self.platforms),
            "binaries": list(self.binaries),
            "needs": dict(self.needs),
            "external": list(self.external),
            "violations": [str(v) for v in self.violations],
        }


def check_wheel(wheel: Path) -> TagReport:
    """Read the binaries of ``wheel`` and check them against its platform tags.

    Binaries are copied out one member at a time into a scratch directory and parsed from
    there (never held in memory); a member larger than ``MAX_BINARY_BYTES`` is refused unread.
    WheelTagError when the wheel cannot be read."""
    _, _, _, tags = parse_wheel_filename(wheel.name)
    platforms = tuple(sorted({t.platform for t in tags}))
    linux = [p for p in platforms if linux_tag(p) is not None]
    macos = [p for p in platforms if p.startswith("macosx_")]
    if not linux and not macos:
        return TagReport(wheel=wheel.name, checked="not checked", platforms=platforms)
    with contextlib.ExitStack() as stack:

        @functools.cache
        def scratch() -> Path:  # made on the first binary: most wheels' members are not
            return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=_SCRATCH)))

        try:
            if linux:
                rules = [rules_for(p) for p in linux]
                read = functools.partial(_read_elf, attribute=_suspicious(rules))
                names, elves = _names_and_binaries(wheel, scratch, read)
                return _check_linux(wheel.name, platforms, linux, names, elves)
            names, machos = _names_and_binaries(wheel, scratch, _read_macho)
            return _check_macos(wheel.name, platforms, macos, names, machos)
        except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:  # zlib: damaged data
            msg = f"{wheel.name}: cannot read the wheel ({exc})"
            raise WheelTagError(msg) from None


def enforce(reports: Iterable[TagReport], *, error: type[Exception] = WheelTagError) -> None:
    """Raise ``error`` naming every binary, symbol and library that breaks its wheel's tags."""
    lines = [str(v) for r in reports for v in r.violations]
    if lines:
        wheels = sorted({r.wheel for r in reports if not r.ok})
        msg = (
            f"{', '.join(wheels)}: the platform tags promise more than the binaries keep:\n  "
            + "\n  ".join(lines)
        )
        raise error(msg)


#: The largest member read as a binary (numpy's largest, OpenBLAS, is ~35 MB uncompressed):
#: a bigger one is refused, not copied out (a zip bomb of a few MB can claim gigabytes).
MAX_BINARY_BYTES = 1 << 30


_SCRATCH = "numpy-wheels-tagcheck-"
#: What a binary member is read as: an ELF's or a Mach-O's facts (``_Elf``, ``_MachO``).
_Binary = TypeVar("_Binary")


def _names_and_binaries(
    wheel: Path, scratch: Callable[[], Path], read: Callable[[str, Path], _Binary | None]
) -> tuple[frozenset[str], list[_Binary]]:
    """Every member name of ``wheel``, and what ``read`` makes of each member that starts
    with an ELF or Mach-O magic, by name: only binaries are parsed, and a release's wheels
    are mostly other files (Python sources, test data) that need not be inflated.

    Each binary is copied out to ``scratch()``, read, and deleted before the next one: the
    scratch directory never holds more than one (a wheel of three members inflating to a GiB
    each wrote 3 GiB to TMPDIR). WheelTagError for a binary member larger than
    MAX_BINARY_BYTES (its header says so, and zipfile never inflates past the size the header
    gives)."""
    names: set[str] = set()
    binaries: list[tuple[str, _Binary]] = []
    with zipfile.ZipFile(wheel) as zf:
        for number, info in enumerate(zf.infolist()):
            if info.is_dir():
                continue
            names.add(info.filename)
            with zf.open(info) as member:
                head = member.read(4)
                if not (head.startswith(b"\x7fELF") or head.startswith(_MACHO_MAGICS)):
                    continue
                if info.file_size > MAX_BINARY_BYTES:
                    msg = (
                        f"{wheel.name}: {info.filename} is {info.file_size} bytes uncompressed, "
                        f"more than the {MAX_BINARY_BYTES >> 20} MiB a binary may be; not read "
                        "(a damaged or hostile wheel)"
                    )
                    raise WheelTagError(msg)
                copy = scratch() / str(number)
                try:
                    with copy.open("wb") as out:
                        out.write(head)
                        shutil.copyfileobj(member, out, 1 << 20)
                    binary = read(info.filename, copy)
                finally:
                    copy.unlink(missing_ok=True)
                if binary is not None:
                    binaries.append((info.filename, binary))
    return frozenset(names), [b for _, b in sorted(binaries, key=lambda nb: nb[0])]


def check_files(paths: Sequence[Path]) -> list[TagReport]:
    """``check_wheel`` for every wheel among ``paths`` (sdists are skipped), in threads:
    inflating and CRC-checking members release the GIL (zlib), so a release's 70 wheels are
    read side by side."""
    from concurrent.futures import ThreadPoolExecutor

    wheels = [p for p in paths if p.name.endswith(".whl")]
    if len(wheels) < 2:
        return [check_wheel(p) for p in wheels]
    with ThreadPoolExecutor(max_workers=min(8, len(wheels))) as pool:
        return list(pool.map(check_wheel, wheels))


# -- Linux ---------------------------------------------------------------------------------


def linux_tag(platform: str) -> tuple[str, tuple[int, int], str] | None:
    """(family, libc version, arch) of a manylinux/musllinux tag; None for anything else.

    >>> linux_tag("manylinux_2_28_x86_64"), linux_tag("manylinux2014_aarch64")
    (('manylinux', (2, 28), 'x86_64'), ('manylinux', (2, 17), 'aarch64'))
    >>> linux_tag("musllinux_1_2_x86_64"), linux_tag("linux_x86_64")
    (('musllinux', (1, 2), 'x86_64'), None)
    """
    if m := _LINUX_TAG.match(platform):
        return m["family"], (int(m["major"]), int(m["minor"])), m["arch"]
    legacy, _, arch = platform.partition("_")
    if legacy in _LEGACY and arch:
        return "manylinux", _LEGACY[legacy], arch
    return None


@dataclasses.dataclass(frozen=True)
class _Rules:
    """What one tag allows: the libc version, and auditwheel's policy for the rest."""

    tag: str
    family: str
    libc: tuple[int, int]
    arch: str
    symbol_versions: Mapping[str, frozenset[str]]
    whitelist: frozenset[str]


def _version_key(text: str) -> tuple[int, ...]:
    """Policy names sort by libc version: ``manylinux_2_28`` -> (2, 28)."""
    return tuple(int(x) for x in re.findall(r"\d+", text)[:2])


@functools.lru_cache(maxsize=64)
def rules_for(platform: str) -> _Rules:
    """auditwheel's policy for ``platform``; a tag between two policies gets the older one's
    library lists (PEP 600: a newer glibc only adds).

    Cached (the rules are auditwheel's static tables, the result is frozen): building
    WheelPolicies parses and validates its JSON, ~2 ms, and a release checks every Linux
    wheel against each of its tags (50 calls for 25 manylinux wheels). An unknown tag raises
    each time (exceptions are not cached)."""
    from auditwheel.architecture import Architecture
    from auditwheel.libc import Libc
    from auditwheel.policy import WheelPolicies

    parsed = linux_tag(platform)
    assert parsed is not None
    family, libc, arch = parsed
    try:
        architecture = Architecture(arch)
    except ValueError:
        msg = f"platform tag {platform}: auditwheel knows no architecture {arch!r}"
        raise WheelTagError(msg) from None
    if family == "manylinux":
        policies = list(WheelPolicies(libc=Libc.GLIBC, arch=architecture))
    else:
        musl = f"musllinux_{libc[0]}_{libc[1]}"
        policies = list(WheelPolicies(libc=Libc.MUSL, arch=architecture, musl_policy=musl))
    candidates = [
        p
        for p in policies
        if p.name != "linux" and _version_key(p.name.removesuffix(f"_{arch}")) <= libc
    ]
    if not candidates:
        msg = f"platform tag {platform}: older than every auditwheel policy for {arch}"
        raise WheelTagError(msg)
    policy = max(candidates, key=lambda p: _version_key(p.name.removesuffix(f"_{arch}")))
    return _Rules(
        tag=platform,
        family=family,
        libc=libc,
        arch=arch,
        symbol_versions=policy.symbol_versions,
        whitelist=policy.whitelist,
    )


@dataclasses.dataclass(frozen=True)
class _Elf:
    path: str
    machine: str
    needed: tuple[str, ...]
    # (library file, version name, symbols needing it)
    versions: tuple[tuple[str, str, tuple[str, ...]], ...]


#: Whether the symbols needing a version (``GLIBC_2.34``) are named: only those a violation
#: message will show are looked up (see ``_parse_elf``).
Attribute = Callable[[str], bool]


def _read_elf(path: str, file: Path, *, attribute: Attribute) -> _Elf | None:
    """The facts of the ELF copied to ``file`` (None: not an ELF). pyelftools reads the
    sections it is asked for from the open file, never the whole binary."""
    with file.open("rb") as fh:
        if not fh.read(4).startswith(b"\x7fELF"):
            return None
        fh.seek(0)
        return _parse_elf(path, fh, attribute=attribute)


def _suspicious(rules: Sequence[_Rules]) -> Attribute:
    """The versions a violation may name under any of ``rules`` (as if nothing were grafted)."""
    return lambda name: any(_version_problem(r, name) for r in rules)


def _parse_elf(path: str, fh: BinaryIO, *, attribute: Attribute) -> _Elf:
    """The facts of an ELF; the symbols using a version only where ``attribute`` says so.

    Walking ``.dynsym`` is most of the cost: pyelftools parses each symbol and its version
    entry (numpy 2.1.3's manylinux wheel: 14,500 symbols, 0.9 s of the wheel's 0.95 s), and
    the names are only shown in a violation's message. A wheel whose binaries keep their tags
    is read without it; one that breaks them names every symbol that does."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection
    from elftools.elf.sections import SymbolTableSection

    try:
        elf = ELFFile(fh)
        dynamic = elf.get_section_by_name(".dynamic")
        needed = (
            tuple(t.needed for t in dynamic.iter_tags() if t.entry.d_tag == "DT_NEEDED")  # type: ignore[attr-defined]
            if isinstance(dynamic, DynamicSection)
            else ()
        )
        verneed = elf.get_section_by_name(".gnu.version_r")
        versym = elf.get_section_by_name(".gnu.version")
        dynsym = elf.get_section_by_name(".dynsym")
        by_index: dict[int, tuple[str, str]] = {}
        if isinstance(verneed, GNUVerNeedSection):
            for entry, auxiliaries in verneed.iter_versions():
                for aux in auxiliaries:
                    by_index[int(aux.entry["vna_other"])] = (str(entry.name), str(aux.name))
        users: dict[int, list[str]] = {i: [] for i in by_index}
        wanted = {i for i, (_, name) in by_index.items() if attribute(name)}
        if (
            wanted
            and isinstance(versym, GNUVerSymSection)
            and isinstance(dynsym, SymbolTableSection)
        ):
            for i, sym in enumerate(dynsym.iter_symbols()):
                ndx = versym.get_symbol(i).entry["ndx"]
                if (
                    sym["st_shndx"] == "SHN_UNDEF"
                    and isinstance(ndx, int)
                    and ndx & 0x7FFF in wanted
                ):
                    users[ndx & 0x7FFF].append(sym.name)
        versions = tuple(
            (lib, name, tuple(sorted(users.get(i, ()))))
            for i, (lib, name) in sorted(by_index.items())
        )
        return _Elf(path=path, machine=str(elf["e_machine"]), needed=needed, versions=versions)
    except (ELFError, ValueError, KeyError, struct_error()) as exc:
        # A file that starts like an ELF but is not one we can read: say so, never skip it.
        return _Elf(path=path, machine=f"unreadable ({exc})", needed=(), versions=())


def _highest(versions: Iterable[str]) -> str:
    parsed = [(v, as_version(v)) for v in versions]
    good = [p for p in parsed if p[1] is not None]
    if len(good) != len(parsed):  # GLIBC_PRIVATE & co.: name them, they are never allowed
        return ", ".join(sorted(v for v, p in parsed if p is None))
    return max(good, key=lambda p: p[1])[0]  # type: ignore[arg-type, return-value]


def _elf_violations(elf: _Elf, rules: _Rules, in_wheel: frozenset[str]) -> list[Violation]:
    out: list[Violation] = []

    def bad(kind: Kind, detail: str) -> None:
        out.append(Violation(binary=elf.path, tag=rules.tag, kind=kind, detail=detail))

    want = _ELF_MACHINE.get(rules.arch)
    if want is not None and elf.machine != want:
        bad("arch", f"is {elf.machine}, not {want} as {rules.arch} requires")
    for lib in elf.needed:
        if lib in in_wheel or lib in rules.whitelist or _is_loader(lib):
            continue
        bad(
            "library",
            f"needs {lib}, which is neither inside the wheel (grafted) nor on the "
            f"{rules.family} whitelist of the tag",
        )
    for lib, name, symbols in elf.versions:
        if lib in in_wheel:  # a grafted library's own version names
            continue
        why = _version_problem(rules, name)
        if why is not None:
            used = f" by {', '.join(symbols)}" if symbols else ""
            bad("symbol", f"needs {name} from {lib}{used}; {why}")
    return out


def _version_problem(rules: _Rules, name: str) -> str | None:
    """Why the tag's ``rules`` do not allow symbol version ``name`` (GLIBC_2.34), or None."""
    family, _, version = name.partition("_")
    if family == "GLIBC" and rules.family == "manylinux":
        libc = ".".join(map(str, rules.libc))
        parsed = as_version(version)
        if parsed is None or parsed > Version(libc):
            return f"glibc {libc} has no such version"
    elif family in rules.symbol_versions and name not in {
        f"{family}_{v}" for v in rules.symbol_versions[family]
    }:
        allowed = _highest(rules.symbol_versions[family]) or "none"
        return f"the tag allows {family} up to {allowed}"
    return None


def _is_loader(lib: str) -> bool:
    return lib.startswith(("ld-linux", "ld64.so", "ld-musl")) or lib == "ld.so.1"


def _check_linux(
    wheel: str,
    platforms: tuple[str, ...],
    linux: Sequence[str],
    names: frozenset[str],
    elves: Sequence[_Elf],
) -> TagReport:
    in_wheel = frozenset(posixpath.basename(n) for n in names)
    violations: list[Violation] = []
    for platform in linux:
        rules = rules_for(platform)
        for elf in elves:
            violations.extend(_elf_violations(elf, rules, in_wheel))
    families: dict[str, set[str]] = {}
    external: set[str] = set()
    for elf in elves:
        for lib, name, _ in elf.versions:
            if lib not in in_wheel:
                family, _, version = name.partition("_")
                families.setdefault(family, set()).add(version)
        external.update(lib for lib in elf.needed if lib not in in_wheel and not _is_loader(lib))
    needs = {family: _highest(versions) for family, versions in families.items()}
    return TagReport(
        wheel=wheel,
        checked="linux",
        platforms=platforms,
        binaries=tuple(e.path for e in elves),
        needs=needs,
        external=tuple(sorted(external)),
        violations=tuple(violations),
    )


# -- macOS ---------------------------------------------------------------------------------


def macos_tag(platform: str) -> tuple[Version, tuple[str, ...]] | None:
    """(minimum macOS, architectures) a macOS platform tag promises.

    >>> macos_tag("macosx_11_0_universal2")
    (<Version('11.0')>, ('x86_64', 'arm64'))
    >>> macos_tag("macosx_10_9_arm64")  # arm64 Macs start at macOS 11
    (<Version('11.0')>, ('arm64',))
    """
    m = _MACOS_TAG.match(platform)
    if m is None:
        return None
    arch = m["arch"]
    archs = _MACOS_ARCHS.get(arch, (arch,))
    version = Version(f"{m['major']}.{m['minor']}")
    if archs == ("arm64",) and version < Version("11.0"):
        version = Version("11.0")
    return version, archs


@dataclasses.dataclass(frozen=True)
class _MachO:
    path: str
    minimum: Mapping[str, Version]  # per arch
    loads: tuple[str, ...]
    rpaths: tuple[str, ...]


def _read_macho(path: str, file: Path) -> _MachO | None:
    from macholib import mach_o
    from macholib.MachO import MachO

    with file.open("rb") as fh:
        magic = fh.read(4)
    if not magic.startswith(_MACHO_MAGICS):
        return None
    try:
        macho = MachO(str(file))
    except (ValueError, struct_error()) as exc:
        if magic.startswith(b"\xca\xfe\xba\xbe"):  # also a Java class file's magic
            return None
        return _MachO(path=path, minimum={f"unreadable ({exc})": Version("0")}, loads=(), rpaths=())
    minimum: dict[str, Version] = {}
    loads: list[str] = []
    rpaths: list[str] = []
    load_commands = {
        mach_o.LC_LOAD_DYLIB,
        mach_o.LC_LOAD_WEAK_DYLIB,
        mach_o.LC_REEXPORT_DYLIB,
        mach_o.LC_LAZY_LOAD_DYLIB,
        mach_o.LC_LOAD_UPWARD_DYLIB,
    }
    for header in macho.headers:
        arch = mach_o.CPU_TYPE_NAMES.get(header.header.cputype, str(header.header.cputype))
        arch = {"x86_64": "x86_64", "ARM64": "arm64", "i386": "i386"}.get(arch, arch.lower())
        for command, body, payload in header.commands:
            if command.cmd == mach_o.LC_BUILD_VERSION:
                value = body.minos
            elif command.cmd == mach_o.LC_VERSION_MIN_MACOSX:
                value = body.version
            else:
                if command.cmd in load_commands or command.cmd == mach_o.LC_RPATH:
                    name = payload.rstrip(b"\0").decode("utf-8", "replace")
                    (rpaths if command.cmd == mach_o.LC_RPATH else loads).append(name)
                continue
            minimum[arch] = Version(f"{value >> 16 & 0xFFFF}.{value >> 8 & 0xFF}")
        minimum.setdefault(arch, Version("0"))
    return _MachO(
        path=path,
        minimum=minimum,
        loads=tuple(dict.fromkeys(loads)),
        rpaths=tuple(dict.fromkeys(rpaths)),
    )


def struct_error() -> type[Exception]:
    import struct

    return struct.error


def _resolve(ref: str, binary: str, names: frozenset[str], rpaths: Sequence[str]) -> str | None:
    """Where ``ref`` resolves: ``"system"``, the archive path inside the wheel, or None."""
    if ref.startswith(_SYSTEM_PREFIXES):
        return "system"
    here = posixpath.dirname(binary)
    if ref.startswith("@loader_path/"):
        target = posixpath.normpath(posixpath.join(here, ref.removeprefix("@loader_path/")))
        return target if target in names else None
    if ref.startswith("@rpath/"):
        rest = ref.removeprefix("@rpath/")
        for rpath in rpaths:
            if rpath.startswith("@loader_path"):
                base = posixpath.join(here, rpath.removeprefix("@loader_path").lstrip("/"))
                target = posixpath.normpath(posixpath.join(base, rest))
                if target in names:
                    return target
            elif rpath.startswith(_SYSTEM_PREFIXES):
                return "system"
    return None


def _check_macos(
    wheel: str,
    platforms: tuple[str, ...],
    macos: Sequence[str],
    names: frozenset[str],
    binaries: Sequence[_MachO],
) -> TagReport:
    external: set[str] = set()
    violations = [v for b in binaries for v in _macos_load_violations(b, names, macos, external)]
    for platform in macos:
        violations += [v for b in binaries for v in _macos_tag_violations(b, platform)]
    highest = max((v for b in binaries for v in b.minimum.values()), default=None)
    return TagReport(
        wheel=wheel,
        checked="macos",
        platforms=platforms,
        binaries=tuple(b.path for b in binaries),
        needs={"macOS": str(highest)} if highest is not None else {},
        external=tuple(sorted(external)),
        violations=tuple(violations),
    )


def _macos_load_violations(
    binary: _MachO, names: frozenset[str], macos: Sequence[str], external: set[str]
) -> list[Violation]:
    """Each load command that finds its library neither in the wheel nor in macOS, once per
    promised tag; the system libraries it loads are added to ``external``."""
    violations = []
    for ref in binary.loads:
        where = _resolve(ref, binary.path, names, binary.rpaths)
        if where == "system":
            external.add(ref)
        elif where is None:
            detail = (
                f"loads {ref}, which is neither inside the wheel nor part "
                "of macOS (delocate-wheel vendors such libraries)"
            )
            violations += [
                Violation(binary=binary.path, tag=platform, kind="load", detail=detail)
                for platform in macos
            ]
    return violations


def _macos_tag_violations(binary: _MachO, platform: str) -> list[Violation]:
    """The architectures ``platform`` promises that ``binary`` lacks, and code that needs a
    newer macOS than the tag (arm64 Macs start at 11.0, so arm64 code may need 11.0)."""
    parsed = macos_tag(platform)
    assert parsed is not None
    promised, archs = parsed
    violations = []
    missing = [a for a in archs if a not in binary.minimum]
    if missing:
        detail = f"has no {', '.join(missing)} code (it has {', '.join(sorted(binary.minimum))})"
        violations.append(Violation(binary=binary.path, tag=platform, kind="arch", detail=detail))
    for arch in archs:
        floor = Version("11.0") if arch == "arm64" else Version("0")
        need = binary.minimum.get(arch)
        if need is not None and need > max(promised, floor):
            detail = f"{arch} code needs macOS {need}, the tag promises {promised}"
            violations.append(
                Violation(binary=binary.path, tag=platform, kind="macos", detail=detail)
            )
    return violations
