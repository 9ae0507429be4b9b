"""The pinned, sha256-verified scipy-openblas wheel, unpacked and exposed through pkg-config.

numpy's own release CI pip-installs ``scipy-openblas64`` and writes the pkg-config file with
the package's ``get_pkg_config()``; we do the same from a wheel file whose sha256 is pinned per
platform in ``resources/openblas.toml``, so the library cannot change under a build unnoticed.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import shutil
import sys
import tomllib
import zipfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from numpy_wheels.build.pinned import pinned_wheel
from numpy_wheels.cmd import call
from numpy_wheels.errors import ConfigError, DependencyError
from numpy_wheels.log import log
from numpy_wheels.model.matrix import BuildId

PKG_CONFIG_NAME = "scipy-openblas"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OpenBLASPin:
    package: str  # "scipy-openblas64"
    version: str
    wheel_tag: str  # the platform tag of the scipy-openblas wheel file
    sha256: str

    @property
    def module(self) -> str:
        return self.package.replace("-", "_")

    @property
    def filename(self) -> str:
        return f"{self.module}-{self.version}-py3-none-{self.wheel_tag}.whl"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OpenBLAS:
    pin: OpenBLASPin
    wheel: Path  # verified wheel file in the cache
    prefix: Path  # unpacked wheel (import path of the module)
    pkgconfig_dir: Path

    def as_json(self) -> dict[str, str]:
        return {
            "package": self.pin.package,
            "version": self.pin.version,
            "file": self.pin.filename,
            "sha256": self.pin.sha256,
        }


@functools.cache
def _pins_data() -> dict[str, object]:
    text = resources.files("numpy_wheels").joinpath("resources/openblas.toml").read_text()
    return tomllib.loads(text)


def pin_for(build_id: BuildId, data: Mapping[str, object] | None = None) -> OpenBLASPin | None:
    """The pinned OpenBLAS wheel for this identifier's platform (None: builds without BLAS,
    or with Accelerate)."""
    package = build_id.platform.blas
    if package == "none" or build_id.variant != "openblas":
        return None
    packages = (data or _pins_data()).get("packages", {})
    assert isinstance(packages, dict)
    entry = packages.get(package)
    files = entry.get("files", {}) if isinstance(entry, dict) else {}
    pinned = files.get(build_id.platform.name)
    if not isinstance(entry, dict) or not isinstance(pinned, dict):
        msg = f"openblas.toml pins no {package} wheel for {build_id.platform.name}"
        raise ConfigError(msg)
    sha = str(pinned.get("sha256", ""))
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        msg = f"openblas.toml: {package} {build_id.platform.name} needs a sha256 pin"
        raise ConfigError(msg)
    return OpenBLASPin(
        package=package, version=str(entry["version"]), wheel_tag=str(pinned["tag"]), sha256=sha
    )


def fetch(
    build_id: BuildId,
    *,
    cache: Path,
    env: Mapping[str, str],
    pin: OpenBLASPin | None = None,
    unpack: Path | None = None,
) -> OpenBLAS | None:
    """Download (once), verify, unpack and write ``scipy-openblas.pc`` for this identifier.
    ``unpack``: where to unpack (the build place: its paths reach the wheel), default the
    cache."""
    pin = pin or pin_for(build_id)
    if pin is None:
        log.write(f"{build_id}: builds without BLAS (as numpy does for this platform)")
        return None
    cache.mkdir(parents=True, exist_ok=True)
    wheel = pinned_wheel(
        f"{pin.package}=={pin.version}",
        filename=pin.filename,
        platform_tag=pin.wheel_tag,
        sha256=pin.sha256,
        cache=cache,
        env=env,
        python_version=build_id.python.version,
    )
    prefix = (unpack or cache) / f"{pin.module}-{pin.version}-{pin.wheel_tag}"
    if not (prefix / pin.module).is_dir():
        shutil.rmtree(prefix, ignore_errors=True)
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(prefix)
        for lib in (prefix / pin.module / "lib").glob("*.so*"):
            lib.chmod(0o755)  # zipfile drops the mode bits; the linker and auditwheel need r+x
    pkgconfig_dir = prefix / "pkgconfig"
    pkgconfig_dir.mkdir(exist_ok=True)
    if build_id.platform.os == "linux":
        # The package writes a .pc with absolute paths to where it is unpacked.
        pc = call(
            sys.executable,
            "-c",
            f"import {pin.module} as m; print(m.get_pkg_config())",
            env={**env, "PYTHONPATH": str(prefix)},
            capture=True,
            error=DependencyError,
            echo=False,
        )
        (pkgconfig_dir / f"{PKG_CONFIG_NAME}.pc").write_text(pc)
    log.write(
        f"{pin.package} {pin.version} ({pin.wheel_tag}) sha256 {pin.sha256[:16]}… "
        f"→ PKG_CONFIG_PATH={pkgconfig_dir}"
    )
    return OpenBLAS(pin=pin, wheel=wheel, prefix=prefix, pkgconfig_dir=pkgconfig_dir)


_VERSION = re.compile(rb"OpenBLAS (\d+\.\d+\.\d+(?:\.\d+\.\d+)?)")


def bundled_versions(library_bytes: bytes) -> set[str]:
    """OpenBLAS version strings compiled into a library (its ``openblas_get_config`` text).

    >>> sorted(bundled_versions(b"..OpenBLAS 0.3.31.188.0  USE64BITINT DYNAMIC_ARCH.."))
    ['0.3.31.188.0']
    """
    return {m.group(1).decode() for m in _VERSION.finditer(library_bytes)}


def check_bundled(wheel: Path, pin: OpenBLASPin) -> str:
    """The repaired wheel must carry exactly the pinned OpenBLAS; return the library's name."""
    with zipfile.ZipFile(wheel) as zf:
        libs = [
            n
            for n in zf.namelist()
            if "openblas" in n.rsplit("/", 1)[-1].lower()
            and re.search(r"\.(so(\.\d+)*|dylib|dll)$", n)
        ]
        if not libs:
            msg = f"{wheel.name} bundles no OpenBLAS library, but the build pinned {pin.package}"
            raise DependencyError(msg)
        found = {v for name in libs for v in bundled_versions(zf.read(name))}
    if found != {pin.version}:
        msg = (
            f"{wheel.name} bundles OpenBLAS {', '.join(sorted(found)) or 'of unknown version'}"
            f" in {', '.join(libs)}; the pin is {pin.version}"
        )
        raise DependencyError(msg)
    return libs[0]
