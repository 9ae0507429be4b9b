"""Test images for the portability tests: clean Debian systems made with debootstrap.

No registry is reachable here, so the "other distributions" a wheel is tested in are made from
Debian's packages (shared/reference/container-engine.md): a minimal root file system with one
CPython (the suite's ``python3`` + ``python3-venv``) and nothing else — no compiler, no build
tree, no OpenBLAS. Suites and what they pin:

============  =======  ========
suite         glibc    CPython
============  =======  ========
bullseye      2.31     3.9
bookworm      2.36     3.11
trixie        2.41     3.13
============  =======  ========

debootstrap takes a minute or so per suite, so the root file system is kept as a tarball in a
cache directory keyed by the recipe (``$NUMPY_WHEELS_TEST_IMAGE_CACHE``, default
``~/.cache/numpy-wheels/test-images``): made once per machine, imported into each test
session's fresh Docker engine in seconds, never committed. Change the recipe and the key
changes with it. Pre-build them with ``python -m tests.images bullseye trixie``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

# Bump when the recipe changes in a way the fields below do not show.
RECIPE_VERSION = 1
PACKAGES = ("python3", "python3-venv")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Suite:
    name: str
    glibc: str
    python: str

    @property
    def key(self) -> str:
        """The cache key: everything that changes what debootstrap makes."""
        text = f"{RECIPE_VERSION} {self.name} minbase {' '.join(PACKAGES)}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def tag(self) -> str:
        return f"local/nw-test-{self.name}:{self.key}"


SUITES = {
    s.name: s
    for s in (
        Suite(name="bullseye", glibc="2.31", python="3.9"),
        Suite(name="bookworm", glibc="2.36", python="3.11"),
        Suite(name="trixie", glibc="2.41", python="3.13"),
    )
}


def sbin_env() -> dict[str, str]:
    """This process's environment with the system directories first on PATH: debootstrap
    lives in /usr/sbin and runs chroot from there, which a user's PATH (and CI's
    ``PATH=/usr/bin:/bin``) does not name."""
    return {**os.environ, "PATH": f"/usr/sbin:/usr/bin:/sbin:/bin:{os.environ.get('PATH', '')}"}


def cache_dir(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("NUMPY_WHEELS_TEST_IMAGE_CACHE"):
        return Path(env["NUMPY_WHEELS_TEST_IMAGE_CACHE"])
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "/root")) / ".cache")
    return Path(base) / "numpy-wheels" / "test-images"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (parallel test workers build each image once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def prune(cache: Path, name: str, keep: Path) -> None:
    """Drop the tarballs of older recipes of ``name`` (each is hundreds of MB)."""
    for old in cache.glob(f"{name}-*.tar"):
        if old != keep and old.name.removeprefix(f"{name}-").count("-") == 0:
            old.unlink(missing_ok=True)
            old.with_suffix(".lock").unlink(missing_ok=True)


def _run(*args: str, env: Mapping[str, str] | None = None) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        msg = f"{' '.join(args)} failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}"
        raise RuntimeError(msg)


def rootfs_tarball(suite: Suite, cache: Path | None = None) -> Path:
    """The suite's root file system as a tarball, made with debootstrap once per machine."""
    cache = cache or cache_dir()
    tarball = cache / f"{suite.name}-{suite.key}.tar"
    with locked(cache / f"{suite.name}-{suite.key}.lock"):
        if tarball.is_file():
            return tarball
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"nw-{suite.name}-", dir=cache) as tmp:
            rootfs = Path(tmp) / "rootfs"
            _run(
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                suite.name,
                str(rootfs),
                env=sbin_env(),
            )
            # The downloaded .debs are not part of the system.
            for deb in (rootfs / "var" / "cache" / "apt" / "archives").glob("*.deb"):
                deb.unlink()
            part = tarball.with_suffix(".tar.part")
            _run("tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(part), ".")
            part.replace(tarball)
            prune(cache, suite.name, tarball)
            # debootstrap leaves root-owned special files; rmtree handles them as root.
            shutil.rmtree(rootfs, ignore_errors=True)
    return tarball


def import_image(suite: Suite, docker_env: Mapping[str, str], cache: Path | None = None) -> str:
    """The suite's image in the engine at ``docker_env`` (imported from the cached tarball)."""
    tarball = rootfs_tarball(suite, cache)
    _run(
        "docker",
        "import",
        "--change",
        "ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "--change",
        "ENV LANG=C.UTF-8",
        str(tarball),
        suite.tag,
        env={**os.environ, **docker_env},
    )
    return suite.tag


def main(argv: list[str]) -> int:
    for name in argv or list(SUITES):
        print(rootfs_tarball(SUITES[name]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
