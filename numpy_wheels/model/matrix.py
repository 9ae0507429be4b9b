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
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Literal, TypeAlias

from packaging.utils import canonicalize_name

from numpy_wheels.errors import ConfigError, SelectionError

OSName: TypeAlias = Literal["linux", "macos", "windows"]
_OS_NAMES: tuple[OSName, ...] = ("linux", "macos", "windows")


@dataclasses.dataclass(frozen=True, kw_only=True)
class PythonSpec:
    tag: str  # identifier part: "cp314t"
    version: str  # "3.14"
    free_threaded: bool
    macos_min: str

    @property
    def python_tag(self) -> str:
        """The wheel's interpreter tag (free-threaded builds share it: ``cp314``)."""
        return self.tag.removesuffix("t")

    @property
    def abi_tag(self) -> str:
        return self.tag


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlatformSpec:
    name: str  # "manylinux_x86_64"
    os: OSName
    arch: str
    wheel_platform: str  # may hold "{macos_min}"
    blas: str  # "scipy-openblas64", "scipy-openblas32" or "none"
    image: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildId:
    python: PythonSpec
    platform: PlatformSpec

    @property
    def identifier(self) -> str:
        return f"{self.python.tag}-{self.platform.name}"

    @property
    def wheel_platform(self) -> str:
        return self.platform.wheel_platform.format(
            macos_min=self.python.macos_min.replace(".", "_")
        )

    def wheel_name(self, project: str, version: str) -> str:
        """The file name of this identifier's repaired wheel (PEP 427 escaping of the name)."""
        dist = re.sub(r"[-_.]+", "_", canonicalize_name(project))
        return (
            f"{dist}-{version}-{self.python.python_tag}-{self.python.abi_tag}-"
            f"{self.wheel_platform}.whl"
        )

    def __str__(self) -> str:
        return self.identifier


@dataclasses.dataclass(frozen=True, kw_only=True)
class Catalogue:
    """Everything the tool knows how to build (``resources/matrix.toml``)."""

    pythons: tuple[PythonSpec, ...]
    platforms: tuple[PlatformSpec, ...]

    def all_ids(self) -> tuple[BuildId, ...]:
        return tuple(
            BuildId(python=py, platform=pl) for pl in self.platforms for py in self.pythons
        )

    def find(self, identifier: str) -> BuildId:
        for build_id in self.all_ids():
            if build_id.identifier == identifier:
                return build_id
        raise SelectionError(_no_match_message(identifier, self.all_ids()))

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


@functools.cache
def load_catalogue() -> Catalogue:
    """Parse and validate ``resources/matrix.toml`` (cached: it is package data)."""
    text = resources.files("numpy_wheels").joinpath("resources/matrix.toml").read_text()
    data = tomllib.loads(text)
    pythons = []
    for tag, raw in data["python"].items():
        where = f"matrix.toml [python.{tag}]"
        pythons.append(
            PythonSpec(
                tag=tag,
                version=_str(raw, "version", where),
                free_threaded=bool(raw.get("free_threaded", False)),
                macos_min=_str(raw, "macos_min", where),
            )
        )
    platforms = []
    for name, raw in data["platform"].items():
        where = f"matrix.toml [platform.{name}]"
        os_name = _str(raw, "os", where)
        if os_name not in _OS_NAMES:
            msg = f"{where}: os must be one of {_OS_NAMES}, got {os_name!r}"
            raise ConfigError(msg)
        platforms.append(
            PlatformSpec(
                name=name,
                os=os_name,  # narrowed by the _OS_NAMES check above
                arch=_str(raw, "arch", where),
                wheel_platform=_str(raw, "wheel_platform", where),
                blas=_str(raw, "blas", where),
                image=raw.get("image"),
            )
        )
    return Catalogue(pythons=tuple(pythons), platforms=tuple(platforms))


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
    import bracex

    shown = pattern if len(pattern) <= 30 else pattern[:30] + "..."
    if len(pattern) > MAX_SELECTOR_LENGTH:
        msg = f"selector {shown!r} is longer than {MAX_SELECTOR_LENGTH} characters"
        raise SelectionError(msg)
    try:
        return list(bracex.expand(pattern, limit=MAX_SELECTOR_EXPANSION))
    except bracex.ExpansionLimitException:
        msg = f"selector {shown!r} expands to more than {MAX_SELECTOR_EXPANSION} patterns"
        raise SelectionError(msg) from None
    except RecursionError:
        msg = f"selector {shown!r} nests braces too deeply"
        raise SelectionError(msg) from None


def selector_matches(selector: str, identifier: str) -> bool:
    """True when one of the whitespace-separated patterns of ``selector`` matches.

    >>> selector_matches("cp31{1,2}-manylinux_*", "cp312-manylinux_x86_64")
    True
    >>> selector_matches("cp314-*", "cp314t-win_amd64")
    False
    """
    return any(
        fnmatch.fnmatchcase(identifier, pat)
        for word in selector.split()
        for pat in expand_braces(word)
    )


def _no_match_message(selector: str, candidates: Sequence[BuildId]) -> str:
    names = [c.identifier for c in candidates]
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
    """The identifiers a configuration selects; a build selector that matches nothing is an error.

    ``only`` names one identifier and overrides ``build``/``skip`` (as cibuildwheel's ``--only``).
    """
    all_ids = catalogue.all_ids()
    if only is not None:
        return (catalogue.find(only),)
    for selector in (*build, *skip):
        if not any(selector_matches(selector, b.identifier) for b in all_ids):
            raise SelectionError(_no_match_message(selector, all_ids))
    chosen = tuple(
        b
        for b in all_ids
        if any(selector_matches(s, b.identifier) for s in build)
        and not any(selector_matches(s, b.identifier) for s in skip)
    )
    if not chosen:
        msg = f"build={list(build)} skip={list(skip)} together select no identifier"
        raise SelectionError(msg)
    return chosen


def manifest(ids: Iterable[BuildId], *, project: str, version: str) -> tuple[str, ...]:
    """The exact wheel file names a release of ``version`` must contain (sorted)."""
    return tuple(sorted({b.wheel_name(project, version) for b in ids}))


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
    """
    match = re.fullmatch(r"(\d)\.(\d+)(t?)", python_version.strip())
    if match is None:
        msg = f"MB_PYTHON_VERSION={python_version!r} is not a CPython version like 3.12 or 3.14t"
        raise SelectionError(msg)
    py = f"cp{match.group(1)}{match.group(2)}{match.group(3)}"
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
