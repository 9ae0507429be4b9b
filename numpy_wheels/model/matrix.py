"""Build identifiers, selectors and the expected wheel manifest (pure functions over data files).

Identifiers use cibuildwheel's grammar, ``<python>-<platform>`` (``cp314t-win_amd64``), so a
selection written for this tool also means the same thing to cibuildwheel.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Literal, TypeAlias, TypeVar, get_args

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from numpy_wheels.ci import HostOS
from numpy_wheels.errors import ConfigError, SelectionError
from numpy_wheels.model.choices import one_of

OSName: TypeAlias = HostOS  # one spelling of the three OS families (ci.py)
_OS_NAMES: tuple[OSName, ...] = get_args(HostOS)
#: BLAS variants: scipy-openblas, Apple's Accelerate (macOS 14+), none (numpy's win32).
Variant: TypeAlias = Literal["openblas", "accelerate", "none"]
VARIANTS: tuple[Variant, ...] = ("openblas", "accelerate", "none")
Implementation: TypeAlias = Literal["cpython", "pypy"]
IMPLEMENTATIONS: tuple[Implementation, ...] = get_args(Implementation)
_T = TypeVar("_T", bound=str)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


@dataclasses.dataclass(frozen=True, kw_only=True)
class PythonSpec:
    tag: str  # identifier part: "cp314t", "pp311"
    version: str  # "3.14"
    free_threaded: bool
    macos_min: str
    implementation: Implementation = "cpython"
    abi: str | None = None  # the wheel's ABI tag when it is not the identifier part (PyPy)
    unavailable: tuple[str, ...] = ()  # platform selectors this Python does not exist on

    @property
    def python_tag(self) -> str:
        """The wheel's interpreter tag (free-threaded builds share it: ``cp314``)."""
        return self.tag.removesuffix("t") if self.implementation == "cpython" else self.tag

    @property
    def abi_tag(self) -> str:
        return self.abi or self.tag

    @property
    def mb_version(self) -> str:
        """multibuild's ``MB_PYTHON_VERSION`` spelling: ``3.14t``, ``pypy3.11``."""
        if self.implementation == "pypy":
            return f"pypy{self.version}"
        return self.version + ("t" if self.free_threaded else "")

    def available_on(self, platform: str) -> bool:
        return not any(fnmatch.fnmatchcase(platform, pat) for pat in self.unavailable)


@dataclasses.dataclass(frozen=True, kw_only=True)
class VariantSpec:
    name: Variant
    os: tuple[OSName, ...] = _OS_NAMES  # where the variant can be built
    macos_min: str | None = None  # the wheel's macOS floor with this variant


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlatformSpec:
    name: str  # "manylinux_x86_64"
    os: OSName
    arch: str
    wheel_platform: str  # may hold "{macos}"
    blas: str  # "scipy-openblas64", "scipy-openblas32" or "none"
    image: str | None
    macos_min: str | None = None
    variants: tuple[Variant, ...] = ("openblas",)  # the first is the default

    @property
    def default_variant(self) -> Variant:
        return self.variants[0]


#: The legacy manylinux names (PEP 513, 571, 599) and the glibc version each is an alias of,
#: as auditwheel's ``manylinux-policy.json`` lists them ("aliases"; test_matrix checks the
#: pinned auditwheel's copy). multibuild's MB_ML_VER spells these ``1``, ``2010``, ``2014``.
_LEGACY_POLICY = {(2, 5): "manylinux1", (2, 12): "manylinux2010", (2, 17): "manylinux2014"}
_ML_VER = re.compile(r"_(\d+)_(\d+)")


def ml_policy(ml_ver: str, *, libc: str = "manylinux") -> tuple[int, int]:
    """multibuild's ``MB_ML_VER`` as the policy's libc version (PEP 600/656).

    ``1``/``2010``/``2014`` are the legacy manylinux names, ``_2_28`` (``_1_2`` with
    MB_ML_LIBC=musllinux) a PEP 600/656 one (multibuild's ``quay.io/pypa/${libc}${MB_ML_VER}``
    image names). ConfigError naming MB_ML_VER for anything else.

    >>> ml_policy("2014"), ml_policy("_2_28"), ml_policy("_1_2", libc="musllinux")
    ((2, 17), (2, 28), (1, 2))
    """
    legacy = {name.removeprefix("manylinux"): v for v, name in _LEGACY_POLICY.items()}
    if libc == "manylinux" and ml_ver in legacy:
        return legacy[ml_ver]
    match = _ML_VER.fullmatch(ml_ver)
    if match is None:
        known = "1, 2010, 2014, _2_24, _2_28 …" if libc == "manylinux" else "_1_1, _1_2"
        msg = f"MB_ML_VER={ml_ver!r} is not a {libc} policy multibuild names ({known})"
        raise ConfigError(msg, hint="Set MB_ML_VER as multibuild spells it, or unset it.")
    return int(match.group(1)), int(match.group(2))


def policy_tags(libc: str, version: tuple[int, int], arch: str) -> tuple[str, ...]:
    """The platform tags ``auditwheel repair --plat`` writes for a policy: its PEP 600/656
    name and its legacy alias (auditwheel's ``abis = [policy.name, *policy.aliases]``), sorted
    as auditwheel joins them in the file name (``wheeltools.add_platforms``).

    >>> policy_tags("manylinux", (2, 17), "x86_64")
    ('manylinux2014_x86_64', 'manylinux_2_17_x86_64')
    >>> policy_tags("musllinux", (1, 2), "aarch64")
    ('musllinux_1_2_aarch64',)
    """
    tags = [f"{libc}_{version[0]}_{version[1]}_{arch}"]
    if libc == "manylinux" and version in _LEGACY_POLICY:
        tags.append(f"{_LEGACY_POLICY[version]}_{arch}")
    return tuple(sorted(tags))


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildId:
    """One wheel to build: an identifier (cibuildwheel's) and its BLAS variant.

    ``policy``/``macos_target``: multibuild's MB_ML_VER / MB_PYTHON_OSX_VER of the job (None:
    the catalogue's platform tag); ``with_multibuild`` sets them. They change the wheel's
    platform tag, never the identifier.
    """

    python: PythonSpec
    platform: PlatformSpec
    blas: VariantSpec
    policy: tuple[int, int] | None = None  # Linux: the libc version of MB_ML_VER's policy
    macos_target: str | None = None  # macOS: MB_PYTHON_OSX_VER

    @property
    def identifier(self) -> str:
        """cibuildwheel's identifier (the same for every variant)."""
        return f"{self.python.tag}-{self.platform.name}"

    @property
    def variant(self) -> Variant:
        return self.blas.name

    @property
    def key(self) -> str:
        """The identifier, plus ``+variant`` for a variant other than the platform's default.

        This is what ``matrix`` lists and ``--only``/``plan`` accept.
        """
        if self.variant == self.platform.default_variant:
            return self.identifier
        return f"{self.identifier}+{self.variant}"

    @property
    def deployment_target(self) -> str | None:
        """``MACOSX_DEPLOYMENT_TARGET`` (macOS): the latest floor of Python, platform, variant.

        A wheel cannot claim an older macOS than the interpreter, the architecture, the OpenBLAS
        it bundles (delocate would refuse it) or Accelerate's ILP64 interface (14.0).
        """
        if self.platform.os != "macos":
            return None
        # MB_PYTHON_OSX_VER takes the place of the Python's floor (multibuild: the python.org
        # installer's target, exported as the wheel's platform, _PYTHON_HOST_PLATFORM); the
        # architecture's and the bundled library's floors stay (arm64: 11.0, as multibuild's
        # macos_arm64_*_build_setup; delocate refuses a lower tag than a library's).
        floors = [self.macos_target or self.python.macos_min, self.platform.macos_min]
        floors.append(self.blas.macos_min)
        return max((f for f in floors if f), key=_version_tuple)

    @property
    def libc(self) -> str:
        """``manylinux`` or ``musllinux`` (Linux platforms)."""
        return "musllinux" if self.platform.name.startswith("musllinux") else "manylinux"

    @property
    def repair_plat(self) -> str | None:
        """auditwheel's ``--plat`` for MB_ML_VER's policy (None: the image's or auditwheel's
        own default); the PEP 600/656 name, which auditwheel takes as its alias too."""
        if self.policy is None or self.platform.os != "linux":
            return None
        return f"{self.libc}_{self.policy[0]}_{self.policy[1]}_{self.platform.arch}"

    @property
    def wheel_platform(self) -> str:
        """The repaired wheel's platform tags as the manifest names them (``accepts_platforms``
        says which other tag sets auditwheel may write for the same build)."""
        if self.policy is not None and self.platform.os == "linux":
            return ".".join(policy_tags(self.libc, self.policy, self.platform.arch))
        target = self.deployment_target
        return self.platform.wheel_platform.format(macos=(target or "").replace(".", "_"))

    def wheel_name(self, project: str, version: str) -> str:
        """The file name of this identifier's repaired wheel (PEP 427 escaping of the name)."""
        dist = re.sub(r"[-_.]+", "_", canonicalize_name(project))
        return (
            f"{dist}-{version}-{self.python.python_tag}-{self.python.abi_tag}-"
            f"{self.wheel_platform}.whl"
        )

    def __str__(self) -> str:
        return self.key


@dataclasses.dataclass(frozen=True, kw_only=True)
class Catalogue:
    """Everything the tool knows how to build (``resources/matrix.toml``)."""

    pythons: tuple[PythonSpec, ...]
    platforms: tuple[PlatformSpec, ...]
    variants: tuple[VariantSpec, ...] = ()

    def variant(self, name: str) -> VariantSpec:
        for spec in self.variants:
            if spec.name == name:
                return spec
        if name in VARIANTS:
            return VariantSpec(name=name)
        msg = f"unknown BLAS variant {name!r}; known: {', '.join(VARIANTS)}"
        raise SelectionError(msg)

    def all_ids(self) -> tuple[BuildId, ...]:
        """Every buildable (identifier, variant), by platform, then Python, then variant."""
        return tuple(
            BuildId(python=py, platform=pl, blas=self.variant(v))
            for pl in self.platforms
            for py in self.pythons
            if py.available_on(pl.name)
            for v in pl.variants
        )

    def find(self, key: str) -> BuildId:
        """The build of ``identifier`` or ``identifier+variant`` (default variant if none)."""
        identifier, _, variant = key.partition("+")
        candidates = [b for b in self.all_ids() if b.identifier == identifier]
        if not candidates:
            raise SelectionError(_no_match_message(key, self.all_ids()))
        wanted = variant or candidates[0].platform.default_variant
        for build_id in candidates:
            if build_id.variant == wanted:
                return build_id
        have = ", ".join(b.variant for b in candidates)
        msg = f"{identifier} has no {wanted!r} variant; its variants: {have}"
        raise SelectionError(msg)

    def unbuildable_reason(self, key: str) -> str | None:
        """Why this tool cannot build ``key`` (a CI job's identifier, ``+variant`` allowed);
        None when it can. The catalogue is numpy's platforms and Pythons (resources/
        matrix.toml): a job of another project may name one it lacks (issue 12 tryout:
        MB_PYTHON_VERSION=3.10, PLAT=i686 were listed as "not built" and nowhere warned).

        >>> load_catalogue().unbuildable_reason("cp310-manylinux_x86_64")  # doctest: +ELLIPSIS
        'Python cp310 is not in resources/matrix.toml (it has cp311, ...)'
        >>> load_catalogue().unbuildable_reason("cp312-manylinux_x86_64") is None
        True
        """
        identifier, _, _ = key.partition("+")
        python, _, platform = identifier.partition("-")
        pythons = {p.tag: p for p in self.pythons}
        names = [p.name for p in self.platforms]
        if python not in pythons:
            return f"Python {python} is not in resources/matrix.toml (it has {', '.join(pythons)})"
        if platform not in names:
            arch = platform.rpartition("_")[2] if platform.startswith(("many", "musl")) else ""
            if arch and arch not in ARCHITECTURES:
                return f"PLAT {arch!r} is not an architecture ({', '.join(ARCHITECTURES)})"
            return (
                f"platform {platform} is not in resources/matrix.toml (it has {', '.join(names)})"
            )
        if not pythons[python].available_on(platform):
            return f"{python} is not built for {platform} (cibuildwheel has no such Python)"
        try:
            self.find(key)
        except SelectionError as exc:
            return str(exc)
        return None

    def platform(self, name: str) -> PlatformSpec:
        for pl in self.platforms:
            if pl.name == name:
                return pl
        msg = f"unknown platform {name!r}; known: {', '.join(p.name for p in self.platforms)}"
        raise SelectionError(msg)


def _str(table: dict[str, object], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str):
        msg = f"{where}: {key!r} must be a string, got {value!r}"
        raise ConfigError(msg)
    return value


def _opt_str(table: dict[str, object], key: str, where: str) -> str | None:
    return None if table.get(key) is None else _str(table, key, where)


def _str_list(table: dict[str, object], key: str, where: str, default: Sequence[str]) -> list[str]:
    value = table.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{where}: {key!r} must be a list of strings, got {value!r}"
        raise ConfigError(msg)
    return value


def _choice(value: str, allowed: tuple[_T, ...], where: str, what: str) -> _T:
    """``value`` as a member of the closed set ``allowed``; a ConfigError naming it otherwise."""
    found = one_of(value, allowed)
    if found is None:
        msg = f"{where}: {what} must be one of {allowed}, got {value!r}"
        raise ConfigError(msg)
    return found


def parse_catalogue(data: dict[str, dict[str, dict[str, object]]]) -> Catalogue:
    """Validate a parsed ``matrix.toml`` into a ``Catalogue`` (ConfigError on a bad entry)."""
    pythons = []
    for tag, raw in data["python"].items():
        where = f"matrix.toml [python.{tag}]"
        impl = _choice(
            str(raw.get("implementation", "cpython")), IMPLEMENTATIONS, where, "implementation"
        )
        pythons.append(
            PythonSpec(
                tag=tag,
                version=_str(raw, "version", where),
                free_threaded=bool(raw.get("free_threaded", False)),
                macos_min=_str(raw, "macos_min", where),
                implementation=impl,
                abi=_opt_str(raw, "abi", where),
                unavailable=tuple(_str_list(raw, "unavailable", where, ())),
            )
        )
    variants = []
    for name, raw in data.get("variant", {}).items():
        where = f"matrix.toml [variant.{name}]"
        variant = _choice(name, VARIANTS, where, "the variant name")
        oses = [_choice(o, _OS_NAMES, where, "os") for o in _str_list(raw, "os", where, _OS_NAMES)]
        variants.append(
            VariantSpec(
                name=variant,
                os=tuple(oses),
                macos_min=_opt_str(raw, "macos_min", where),
            )
        )
    platforms = []
    for name, raw in data["platform"].items():
        where = f"matrix.toml [platform.{name}]"
        os_name = _choice(_str(raw, "os", where), _OS_NAMES, where, "os")
        blas = _str(raw, "blas", where)
        default = ["none"] if blas == "none" else ["openblas"]
        names = [
            _choice(v, VARIANTS, where, "a variant")
            for v in _str_list(raw, "variants", where, default)
        ]
        for v in names:
            spec = next((s for s in variants if s.name == v), None)
            if spec is not None and os_name not in spec.os:
                msg = f"{where}: variant {v!r} exists only on {', '.join(spec.os)}"
                raise ConfigError(msg)
        platforms.append(
            PlatformSpec(
                name=name,
                os=os_name,
                arch=_str(raw, "arch", where),
                wheel_platform=_str(raw, "wheel_platform", where),
                blas=blas,
                image=_opt_str(raw, "image", where),
                macos_min=_opt_str(raw, "macos_min", where),
                variants=tuple(names),
            )
        )
    return Catalogue(pythons=tuple(pythons), platforms=tuple(platforms), variants=tuple(variants))


@functools.cache
def load_catalogue() -> Catalogue:
    """Parse and validate ``resources/matrix.toml`` (cached: it is package data)."""
    text = resources.files("numpy_wheels").joinpath("resources/matrix.toml").read_text()
    return parse_catalogue(tomllib.loads(text))


#: Limits on one selector word: cibuildwheel's grammar needs a handful of braces at most.
MAX_SELECTOR_LENGTH = 256
MAX_SELECTOR_EXPANSION = 1000


def expand_braces(pattern: str) -> list[str]:
    """Expand ``{a,b}`` alternatives and ``{1..3}`` ranges (cibuildwheel's selector syntax,
    with the same library, bracex), with limits: a long or exponential pattern is refused.

    >>> expand_braces("cp31{1,2}-*")
    ['cp311-*', 'cp312-*']
    >>> expand_braces("*-win_amd64")
    ['*-win_amd64']
    >>> expand_braces("{a,b}" * 22)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    numpy_wheels.errors.SelectionError: selector ... expands to more than 1000 patterns
    """
    return list(_expand_braces(pattern))


@functools.lru_cache(maxsize=1024)
def _expand_braces(pattern: str) -> tuple[str, ...]:
    # cached: selecting from the catalogue matches each selector against ~200 identifiers
    # (a refused pattern raises, and exceptions are not cached)
    import bracex

    shown = pattern if len(pattern) <= 30 else pattern[:30] + "..."
    if len(pattern) > MAX_SELECTOR_LENGTH:
        msg = f"selector {shown!r} is longer than {MAX_SELECTOR_LENGTH} characters"
        raise SelectionError(msg)
    try:
        return tuple(bracex.expand(pattern, limit=MAX_SELECTOR_EXPANSION))
    except bracex.ExpansionLimitException:
        msg = f"selector {shown!r} expands to more than {MAX_SELECTOR_EXPANSION} patterns"
        raise SelectionError(msg) from None
    except RecursionError:
        msg = f"selector {shown!r} nests braces too deeply"
        raise SelectionError(msg) from None


def selector_matches(selector: str, key: str) -> bool:
    """True when one of the whitespace-separated patterns of ``selector`` matches ``key``.

    ``key`` is an identifier, or ``identifier+variant``. A pattern without ``+`` matches the
    identifier whatever the variant; one with ``+`` matches ``identifier+variant`` only.

    >>> selector_matches("cp31{1,2}-manylinux_*", "cp312-manylinux_x86_64")
    True
    >>> selector_matches("cp314-*", "cp314t-win_amd64")
    False
    >>> selector_matches("*-macosx_arm64", "cp313-macosx_arm64+accelerate")
    True
    >>> selector_matches("*+openblas", "cp313-macosx_arm64+accelerate")
    False
    """
    identifier = key.partition("+")[0]
    with_variant, without = _compiled(selector)
    return bool(
        (with_variant and with_variant.fullmatch(key))
        or (without and without.fullmatch(identifier))
    )


@functools.lru_cache(maxsize=256)
def _compiled(selector: str) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """The patterns of ``selector`` as two regular expressions: those naming a variant
    (matched against ``identifier+variant``) and the others (against the identifier). One
    selector is matched against every identifier of the catalogue: expanded and translated
    once, not once per identifier."""
    patterns = [pat for word in selector.split() for pat in expand_braces(word)]

    def joined(group: list[str]) -> re.Pattern[str] | None:
        return re.compile("|".join(fnmatch.translate(p) for p in group)) if group else None

    return joined([p for p in patterns if "+" in p]), joined([p for p in patterns if "+" not in p])


def _matches(selector: str, build_id: BuildId) -> bool:
    return selector_matches(selector, f"{build_id.identifier}+{build_id.variant}")


def _no_match_message(selector: str, candidates: Sequence[BuildId]) -> str:
    names = list(dict.fromkeys(c.key for c in candidates))
    close = difflib.get_close_matches(selector.replace("*", ""), names, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"build selector {selector!r} matches no known identifier{hint}"


def select(
    catalogue: Catalogue,
    *,
    build: Sequence[str],
    skip: Sequence[str] = (),
    only: str | None = None,
) -> tuple[BuildId, ...]:
    """The builds a configuration selects; a build selector that matches nothing is an error.

    ``only`` names one identifier (``+variant`` for a non-default variant) and overrides
    ``build``/``skip`` (as cibuildwheel's ``--only``).
    """
    all_ids = catalogue.all_ids()
    if only is not None:
        return (catalogue.find(only),)
    for selector in (*build, *skip):
        if not any(_matches(selector, b) for b in all_ids):
            raise SelectionError(_no_match_message(selector, all_ids))
    chosen = tuple(
        b
        for b in all_ids
        if any(_matches(s, b) for s in build) and not any(_matches(s, b) for s in skip)
    )
    if not chosen:
        msg = f"build={list(build)} skip={list(skip)} together select no identifier"
        raise SelectionError(msg)
    return chosen


def assign(
    ids: Sequence[BuildId], shares: Sequence[tuple[str, Sequence[str]]]
) -> dict[str | None, tuple[BuildId, ...]]:
    """Which CI service builds each wheel: the first ``(provider, selectors)`` that matches;
    wheels no share matches are under ``None``. Every wheel is built (and staged) once.

    >>> ids = select(load_catalogue(), build=["cp312-*"], skip=["*-macosx_*", "*linux*"])
    >>> {k: [b.key for b in v] for k, v in assign(ids, [("appveyor", ["*-win32"])]).items()}
    {None: ['cp312-win_amd64', 'cp312-win_arm64'], 'appveyor': ['cp312-win32']}
    """
    out: dict[str | None, list[BuildId]] = {}
    for build_id in ids:
        owner = next((p for p, sel in shares if any(_matches(s, build_id) for s in sel)), None)
        out.setdefault(owner, []).append(build_id)
    return {k: tuple(v) for k, v in out.items()}


def idle_selectors(
    ids: Sequence[BuildId], shares: Sequence[tuple[str, Sequence[str]]]
) -> list[tuple[str, str]]:
    """The ``(provider, selector)`` pairs of ``shares`` that match no wheel of ``ids`` (a
    typo, or a platform the selection no longer builds).

    >>> ids = select(load_catalogue(), build=["cp312-*"], skip=["*-macosx_*", "*linux*"])
    >>> idle_selectors(ids, [("appveyor", ["*-win32", "*-win_ia64"])])
    [('appveyor', '*-win_ia64')]
    """
    return [
        (p, sel) for p, sels in shares for sel in sels if not any(_matches(sel, b) for b in ids)
    ]


def sdist_name(project: str, version: str) -> str:
    """The sdist's file name (PEP 625: normalised name, ``.tar.gz``).

    >>> sdist_name("NumPy", "2.4.6")
    'numpy-2.4.6.tar.gz'
    """
    return f"{re.sub(r'[-_.]+', '_', canonicalize_name(project))}-{version}.tar.gz"


def manifest(
    ids: Iterable[BuildId], *, project: str, version: str, sdist: bool = False
) -> tuple[str, ...]:
    """The exact file names a release of ``version`` must contain (sorted); ``sdist``: the
    source distribution is one of them."""
    names = {b.wheel_name(project, version) for b in ids}
    if sdist:
        names.add(sdist_name(project, version))
    return tuple(sorted(names))


_MACOS_VERSION = re.compile(r"\d+\.\d+")

#: Architectures multibuild's PLAT (and AppVeyor's PYTHON_ARCH mapping) names: Linux's uname
#: machines, macOS's arm64/universal2/intel, Windows' AMD64/x64/x86/win32 spellings.
ARCHITECTURES = (
    "x86_64", "i686", "aarch64", "arm64", "ppc64le", "s390x", "armv7l", "riscv64",
    "universal2", "intel", "amd64", "x64", "x86", "win32",
)  # fmt: skip


def plat_arch(plat: str) -> str:
    """multibuild's ``PLAT`` checked to be an architecture (case-insensitive, as
    identifier_from_multibuild maps it); ConfigError naming PLAT otherwise.

    >>> plat_arch("x86_64"), plat_arch("AMD64")
    ('x86_64', 'amd64')
    """
    arch = plat.strip().lower()
    if arch not in ARCHITECTURES:
        shown = plat if len(plat) <= 40 else plat[:40] + "…"
        msg = f"PLAT={shown!r} is not an architecture (multibuild's: {', '.join(ARCHITECTURES)})"
        raise ConfigError(msg, hint="Set PLAT to the architecture to build, or unset it.")
    return arch


def with_multibuild(build_id: BuildId, values: Mapping[str, str]) -> BuildId:
    """``build_id`` under a job's multibuild variables: MB_ML_VER picks the Linux policy
    (``ml_policy``), MB_PYTHON_OSX_VER the macOS target; the one place the wheel's platform
    tag follows them (plan, reproduce, ``matrix --wheels``, the release manifest and its
    check). ConfigError naming the variable for a value multibuild would not take.

    >>> cp312 = load_catalogue().find("cp312-manylinux_x86_64")
    >>> with_multibuild(cp312, {"MB_ML_VER": "2014"}).wheel_platform
    'manylinux2014_x86_64.manylinux_2_17_x86_64'
    >>> mac = load_catalogue().find("cp312-macosx_x86_64")
    >>> with_multibuild(mac, {"MB_PYTHON_OSX_VER": "10.9"}).wheel_platform
    'macosx_10_9_x86_64'
    """
    ml_ver = (values.get("MB_ML_VER") or "").strip()
    osx_ver = (values.get("MB_PYTHON_OSX_VER") or "").strip()
    policy = None
    if ml_ver and build_id.platform.os == "linux":
        policy = ml_policy(ml_ver, libc=build_id.libc)
    target = None
    if osx_ver and build_id.platform.os == "macos":
        if _MACOS_VERSION.fullmatch(osx_ver) is None:
            msg = f"MB_PYTHON_OSX_VER={osx_ver!r} is not a macOS version like 10.9 or 11.0"
            raise ConfigError(msg, hint="Set MB_PYTHON_OSX_VER as multibuild spells it.")
        target = osx_ver
    if (policy, target) == (build_id.policy, build_id.macos_target):
        return build_id
    return dataclasses.replace(build_id, policy=policy, macos_target=target)


def _linux_policy_of(tag: str) -> tuple[str, tuple[int, int], str] | None:
    """(libc, version, arch) of a manylinux/musllinux platform tag, legacy names included.

    >>> _linux_policy_of("manylinux1_x86_64"), _linux_policy_of("win_amd64")
    (('manylinux', (2, 5), 'x86_64'), None)
    """
    for version, name in _LEGACY_POLICY.items():
        if tag.startswith(f"{name}_"):
            return "manylinux", version, tag.removeprefix(f"{name}_")
    match = re.fullmatch(r"(manylinux|musllinux)_(\d+)_(\d+)_(.+)", tag)
    if match is None:
        return None
    return match.group(1), (int(match.group(2)), int(match.group(3))), match.group(4)


def accepts(expected: str, found: str) -> bool:
    """Whether ``found`` is the manifest's wheel ``expected`` as auditwheel may write it.

    ``auditwheel repair --plat P`` (auditwheel 6, ``main_repair``) tags the wheel with P's
    tags, and, when the wheel is eligible for an older (higher priority) policy Q, with Q's
    name and aliases too: ``--plat manylinux2014_x86_64`` gives a simple extension
    ``manylinux1_x86_64.manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_5_x86_64``.
    So a found wheel is accepted when it is the expected name, or the same name, version,
    build and Python/ABI tags with the expected platform tags plus exactly one older policy's
    tags (same libc and architecture). Nothing else is: a newer glibc, another architecture,
    a missing expected tag or two extra policies stay unexpected.

    >>> e = "x-1-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
    >>> accepts(e, "x-1-cp312-cp312-manylinux1_x86_64.manylinux2014_x86_64"
    ...            ".manylinux_2_17_x86_64.manylinux_2_5_x86_64.whl")
    True
    >>> accepts(e, "x-1-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64"
    ...            ".manylinux_2_28_x86_64.whl")
    False
    """
    if expected == found:
        return True
    if not (expected.endswith(".whl") and found.endswith(".whl")):
        return False
    try:
        want, got = parse_wheel_filename(expected), parse_wheel_filename(found)
    except InvalidWheelFilename:
        return False
    if want[:3] != got[:3]:
        return False
    if {(t.interpreter, t.abi) for t in want[3]} != {(t.interpreter, t.abi) for t in got[3]}:
        return False
    wanted = {t.platform for t in want[3]}
    extra = {t.platform for t in got[3]} - wanted
    if not extra or not wanted <= {t.platform for t in got[3]}:
        return False
    policies = {_linux_policy_of(p) for p in wanted | extra}
    if None in policies:
        return False
    libcs_arches = {(p[0], p[2]) for p in policies if p is not None}
    extra_versions = {p[1] for p in map(_linux_policy_of, extra) if p is not None}
    if len(libcs_arches) != 1 or len(extra_versions) != 1:
        return False
    (libc, arch), (older,) = next(iter(libcs_arches)), extra_versions
    lowest = min(p[1] for p in map(_linux_policy_of, wanted) if p is not None)
    return older < lowest and extra == set(policy_tags(libc, older, arch))


def match_manifest(wanted: Iterable[str], found: Iterable[str]) -> dict[str, str]:
    """Found name -> the manifest entry of ``wanted`` it is: the same name, or the same wheel
    with the older-policy tags auditwheel adds (``accepts``: its rule and source). Compared
    only within one name-version-python-abi prefix, so a long listing stays linear.

    >>> match_manifest(["x-1-cp312-cp312-manylinux_2_28_x86_64.whl"],
    ...                ["x-1-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    ...                 "x-1-cp312-cp312-win32.whl"])  # doctest: +NORMALIZE_WHITESPACE
    {'x-1-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl':
     'x-1-cp312-cp312-manylinux_2_28_x86_64.whl'}
    """
    exact = set(wanted)
    by_prefix: dict[str, list[str]] = {}
    for name in exact:
        if name.endswith(".whl"):
            by_prefix.setdefault(name.rsplit("-", 1)[0], []).append(name)
    out = {}
    for name in found:
        if name in exact:
            out[name] = name
        elif name.endswith(".whl"):
            same = by_prefix.get(name.rsplit("-", 1)[0], ())
            hit = next((w for w in sorted(same) if accepts(w, name)), None)
            if hit is not None:
                out[name] = hit
    return out


def identifier_from_multibuild(
    *, python_version: str, plat: str, os_name: OSName, libc: str = "manylinux"
) -> str:
    """Map multibuild's ``MB_PYTHON_VERSION`` + ``PLAT`` (+ OS) to an identifier.

    >>> identifier_from_multibuild(python_version="3.14t", plat="x86_64", os_name="linux")
    'cp314t-manylinux_x86_64'
    >>> identifier_from_multibuild(python_version="3.12", plat="arm64", os_name="macos")
    'cp312-macosx_arm64'
    >>> identifier_from_multibuild(python_version="3.13", plat="x86_64", os_name="windows")
    'cp313-win_amd64'
    >>> identifier_from_multibuild(python_version="pypy3.11", plat="arm64", os_name="macos")
    'pp311-macosx_arm64'
    """
    match = re.fullmatch(r"(pypy)?(\d)\.(\d+)(t?)", python_version.strip())
    if match is None or (match.group(1) and match.group(4)):
        msg = (
            f"MB_PYTHON_VERSION={python_version!r} is not a Python version like 3.12, 3.14t "
            "or pypy3.11"
        )
        raise SelectionError(msg)
    impl = "pp" if match.group(1) else "cp"
    py = f"{impl}{match.group(2)}{match.group(3)}{match.group(4)}"
    arch = {"amd64": "x86_64", "x64": "x86_64", "aarch64": "aarch64", "arm64": "arm64"}.get(
        plat.lower(), plat
    )
    platform: str
    match os_name:
        case "linux":
            if arch == "arm64":
                arch = "aarch64"
            platform = f"{libc}_{arch}"
        case "macos":
            platform = f"macosx_{'arm64' if arch == 'aarch64' else arch}"
        case "windows":
            platform = {"x86_64": "win_amd64", "arm64": "win_arm64", "aarch64": "win_arm64"}.get(
                arch, "win32"
            )
    return f"{py}-{platform}"
