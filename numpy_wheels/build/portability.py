"""The portability test: each Linux wheel installed and tested in other, clean images.

multibuild built in one image and tested in another (``DOCKER_TEST_IMAGE``); cibuildwheel and
the host backend test where they built, where every library the build happened to find is
still there. Here each image gets a container with **no network** and one read-only mount
holding only:

- the wheel, and the wheels its dependencies and ``TEST_DEPENDS`` need, downloaded on the
  host for the image's own interpreter and libc (``pip download --only-binary :all:``),
- the hook files (``config.sh``, ``env_vars.sh``, ``ci/``, multibuild's helpers) and a driver.

Never the build tree, the build's OpenBLAS or the build venv. In the container the driver
picks the interpreter (the identifier's ``/opt/python/<tag>`` of a manylinux image, else
``python3.X``, else ``python3``), makes a fresh venv, installs from the mounted wheels only
(``PIP_NO_INDEX``), and runs ``run_tests`` from an empty directory — multibuild's
``install_run``. Images need ``bash`` and a Python with ``venv``.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeAlias

from numpy_wheels.build.hooks import Hooks, sourced_files
from numpy_wheels.cmd import call
from numpy_wheels.errors import ContainerEngineError, WheelTestError
from numpy_wheels.files import load_json
from numpy_wheels.log import log
from numpy_wheels.model.matrix import BuildId

Status: TypeAlias = Literal["passed", "failed", "not run"]
MOUNT = "/nw"
# Variables of the build that name host paths: they never cross into a test container.
_HOST_PATHS = frozenset(
    {
        "REPO_DIR",
        "CONFIG_PATH",
        "ENV_VARS_PATH",
        "WHEEL_SDIR",
        "PKG_CONFIG_PATH",
        "CCACHE_DIR",
        "CCACHE_BASEDIR",
        "WHEELS_REPO",
    }
)
# Test settings a CI job may set outside env_vars.sh (numpy's config.sh reads them).
_TEST_SETTINGS = ("TEST_DEPENDS", "EXTRA_ARGV", "NUMPY_TEST_LABEL")

DRIVER = r"""#!/bin/bash
# numpy_wheels' portability driver: runs inside a clean test image (no network; /nw read-only).
set -eo pipefail
mode=$1; shift
py=""
for candidate in "$@"; do
    if found=$(command -v "$candidate" 2>/dev/null); then py=$found; break; fi
done
if [ -z "$py" ]; then
    echo "numpy-wheels: no Python interpreter in this image (tried: $*)" >&2
    exit 3
fi
case "$mode" in
probe)
    exec "$py" -c '
import json, os, platform, sys, sysconfig
libc, version = platform.libc_ver()
if not libc:
    libc, version = "musl", ""
print("NUMPY_WHEELS_PROBE " + json.dumps({
    "python": sys.executable,
    "implementation": sys.implementation.name,
    "version": "%d.%d.%d" % sys.version_info[:3],
    "abi": "cp%d%d%s" % (sys.version_info[0], sys.version_info[1],
                         "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""),
    "libc": libc,
    "libc_version": version,
    "machine": platform.machine(),
}))' ;;
test)
    cd /tmp
    "$py" -m venv /tmp/nw-venv
    export VIRTUAL_ENV=/tmp/nw-venv PATH="/tmp/nw-venv/bin:$PATH"
    export PYTHON_EXE=/tmp/nw-venv/bin/python PIP_CMD="/tmp/nw-venv/bin/python -m pip"
    echo "numpy-wheels: testing in $NUMPY_WHEELS_TEST_IMAGE with $("$py" -VV | head -1)"
    if [ -n "${TEST_DEPENDS:-}" ]; then
        # shellcheck disable=SC2086  # word-split, as multibuild did
        python -m pip install $TEST_DEPENDS
    fi
    python -m pip install "$NUMPY_WHEELS_WHEEL"
    mkdir /tmp/tmp_for_test
    cd "$(dirname "$CONFIG_PATH")"  # sourced from the wheels repository, as multibuild
    source "$MB_COMPAT"
    [ -f "$ENV_VARS_PATH" ] && source "$ENV_VARS_PATH"
    source "$CONFIG_PATH"
    cd /tmp/tmp_for_test
    run_tests ;;
*)
    echo "usage: driver.sh probe|test PYTHON..." >&2; exit 2 ;;
esac
"""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageResult:
    """One image's outcome: what it runs (from the probe) and what the test did."""

    image: str
    ok: bool
    python: str | None = None  # "cpython 3.9.2"
    libc: str | None = None  # "glibc 2.31"
    seconds: float = 0.0
    detail: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PortabilityResult:
    status: Status
    reason: str
    images: tuple[ImageResult, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "images": [dataclasses.asdict(r) for r in self.images],
        }


def not_run(reason: str) -> PortabilityResult:
    return PortabilityResult(status="not run", reason=reason)


def interpreters(build_id: BuildId) -> list[str]:
    """Interpreter candidates in a test image, most specific first.

    >>> from numpy_wheels.model.matrix import load_catalogue
    >>> interpreters(load_catalogue().find("cp314t-manylinux_x86_64"))
    ['/opt/python/cp314-cp314t/bin/python', 'python3.14t', 'python3']
    """
    py = build_id.python
    tag = py.tag.removesuffix("t")
    abi = py.tag
    suffix = "t" if py.free_threaded else ""
    return [f"/opt/python/{tag}-{abi}/bin/python", f"python{py.version}{suffix}", "python3"]


def download_platforms(probe: Mapping[str, str]) -> list[str]:
    """The platform tags ``pip download`` may pick for an image (PEP 600/656: every older
    libc version too).

    >>> download_platforms({"libc": "glibc", "libc_version": "2.18", "machine": "x86_64"})[:3]
    ['manylinux_2_18_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64']
    >>> download_platforms({"libc": "musl", "libc_version": "", "machine": "aarch64"})
    ['musllinux_1_2_aarch64', 'musllinux_1_1_aarch64']
    """
    arch = probe["machine"]
    if probe["libc"] != "glibc":
        return [f"musllinux_1_{minor}_{arch}" for minor in (2, 1)]
    major, minor = (int(x) for x in probe["libc_version"].split(".")[:2])
    out = []
    for m in range(minor, 4, -1):
        out.append(f"manylinux_{major}_{m}_{arch}")
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}.get(m)
        if legacy:
            out.append(f"{legacy}_{arch}")
    return out


def _stage(wheel: Path, hooks: Hooks, root: Path, stage: Path) -> None:
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "wheel").mkdir(parents=True)
    (stage / "repo").mkdir()
    (stage / "deps").mkdir()
    shutil.copy(wheel, stage / "wheel" / wheel.name)
    (stage / "driver.sh").write_text(DRIVER)
    compat = resources.files("numpy_wheels").joinpath("resources/mb_compat.sh")
    (stage / "mb_compat.sh").write_text(compat.read_text())
    for path in (hooks.config_path, hooks.env_vars_path):
        if path.is_file():
            shutil.copy(path, stage / "repo" / path.name)
    for rel in sourced_files(hooks):  # `source ci/helpers.sh`, relative to the repository
        (stage / "repo" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / rel, stage / "repo" / rel)
    if (root / "ci").is_dir():
        shutil.copytree(root / "ci", stage / "repo" / "ci")


def _docker_run(image: str, stage: Path, *, names: Sequence[str] = ()) -> list[str]:
    return [
        "docker",
        "run",
        "--rm",
        "--network",
        "none",
        "--volume",
        f"{stage}:{MOUNT}:ro",
        *(a for n in names for a in ("--env", n)),
        image,
        "bash",
        f"{MOUNT}/driver.sh",
    ]


def _probe(
    image: str, stage: Path, candidates: Sequence[str], env: Mapping[str, str]
) -> dict[str, str]:
    try:
        out = call(
            *_docker_run(image, stage),
            "probe",
            *candidates,
            env=env,
            capture=True,
            error=ContainerEngineError,
        )
    except ContainerEngineError as exc:
        msg = (
            f"test image {image} could not be started or has no usable Python "
            f"(bash and python3 with venv are needed): {explain_failure(exc.output) or exc}"
        )
        raise ContainerEngineError(msg) from None
    for line in out.splitlines():
        if line.startswith("NUMPY_WHEELS_PROBE "):
            found = load_json(
                line.removeprefix("NUMPY_WHEELS_PROBE "),
                where=f"the probe's result in test image {image}",
                error=ContainerEngineError,
            )
            if isinstance(found, dict):
                return found
            break
    msg = f"test image {image}: the probe printed no result:\n{out[-1000:]}"
    raise ContainerEngineError(msg)


def explain_failure(output: str) -> str:
    """The line that explains a failure: a missing library, an exception, pip's error."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for pattern in (r"cannot open shared object file", r"(Error|Exception)\b.*:", r"ERROR:"):
        found = [ln for ln in lines if re.search(pattern, ln)]
        if found:
            return found[-1]
    return lines[-1] if lines else ""


def _download(
    wheel: Path,
    dest: Path,
    probe: Mapping[str, str],
    test_depends: Sequence[str],
    env: Mapping[str, str],
) -> None:
    """The wheel's dependencies and TEST_DEPENDS as wheels for the image, fetched on the host."""
    dest.mkdir(parents=True, exist_ok=True)
    version = ".".join(probe["version"].split(".")[:2])
    platforms = [a for p in download_platforms(probe) for a in ("--platform", p)]
    call(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--only-binary=:all:",
        "--python-version",
        version,
        "--implementation",
        "cp" if probe["implementation"] == "cpython" else probe["implementation"],
        "--abi",
        probe["abi"],
        *platforms,
        "--dest",
        str(dest),
        str(wheel),
        *test_depends,
        env=env,
        error=WheelTestError,
    )


def container_env(
    crossing: Mapping[str, str],
    env: Mapping[str, str],
    *,
    hooks: Hooks,
    image: str,
    wheel: str,
    deps: str,
    test_depends: Sequence[str] = (),
) -> dict[str, str]:
    """What crosses into the test container: the build's recorded variables without host
    paths, the test settings, and paths as the container sees them."""
    values = {k: v for k, v in crossing.items() if k not in _HOST_PATHS}
    values.update({k: env[k] for k in _TEST_SETTINGS if env.get(k)})
    if test_depends:
        values["TEST_DEPENDS"] = shlex.join(test_depends)
    values.update(
        {
            "WHEELS_REPO": f"{MOUNT}/repo",
            "CONFIG_PATH": f"{MOUNT}/repo/{hooks.config_path.name}",
            "ENV_VARS_PATH": f"{MOUNT}/repo/{hooks.env_vars_path.name}",
            "MB_COMPAT": f"{MOUNT}/mb_compat.sh",
            "NUMPY_WHEELS_TEST_IMAGE": image,
            "NUMPY_WHEELS_WHEEL": f"{MOUNT}/wheel/{wheel}",
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": deps,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_ROOT_USER_ACTION": "ignore",
        }
    )
    return values


@dataclasses.dataclass(frozen=True, kw_only=True)
class _ImageRun:
    """What every image's test of one wheel shares."""

    wheel: Path
    build_id: BuildId
    hooks: Hooks
    stage: Path
    candidates: Sequence[str]
    test_depends: Sequence[str]
    crossing: Mapping[str, str]
    env: Mapping[str, str]


def run_in_images(
    wheel: Path,
    *,
    build_id: BuildId,
    images: Sequence[str],
    hooks: Hooks,
    root: Path,
    test_depends: Sequence[str],
    crossing: Mapping[str, str],
    env: Mapping[str, str],
    workdir: Path,
) -> PortabilityResult:
    """Test ``wheel`` in every image; all images run, the result names each one."""
    stage = workdir / "portability"
    _stage(wheel, hooks, root, stage)
    run = _ImageRun(
        wheel=wheel,
        build_id=build_id,
        hooks=hooks,
        stage=stage,
        candidates=interpreters(build_id),
        test_depends=test_depends,
        crossing=crossing,
        env=env,
    )
    results = [_test_in_image(run, index, image) for index, image in enumerate(images)]
    shutil.rmtree(stage, ignore_errors=True)
    failed = [r for r in results if not r.ok]
    if failed:
        reason = "; ".join(f"{r.image}: {r.detail}" for r in failed)
        return PortabilityResult(status="failed", reason=reason, images=tuple(results))
    return PortabilityResult(
        status="passed", reason=f"passed in {len(results)} image(s)", images=tuple(results)
    )


def _test_in_image(run: _ImageRun, index: int, image: str) -> ImageResult:
    """Install the wheel offline in ``image`` and run the project's tests; a failed test is
    a result (the other images still run), any other error stops the build."""
    start = time.monotonic()
    with log.step(f"{run.build_id.identifier}: portability test in {image}"):
        probe = _probe(image, run.stage, run.candidates, run.env)
        python = f"{probe['implementation']} {probe['version']}"
        libc = f"{probe['libc']} {probe['libc_version']}".strip()
        log.write(f"{image}: {python} ({probe['python']}), {libc}, {probe['machine']}")
        values = container_env(
            run.crossing,
            run.env,
            hooks=run.hooks,
            image=image,
            wheel=run.wheel.name,
            deps=f"{MOUNT}/deps/{index}",
            test_depends=run.test_depends,
        )
        try:
            deps = run.stage / "deps" / str(index)
            _download(run.wheel, deps, probe, run.test_depends, run.env)
            call(
                *_docker_run(image, run.stage, names=sorted(values)),
                "test",
                *run.candidates,
                env={**run.env, **values},
                error=WheelTestError,
            )
        except WheelTestError as exc:
            detail = explain_failure(exc.output) or str(exc)
            log.error(f"{run.wheel.name} failed in {image}: {detail}")
            ok = False
        else:
            detail, ok = "passed", True
    return ImageResult(
        image=image,
        ok=ok,
        python=python,
        libc=libc,
        seconds=round(time.monotonic() - start, 1),
        detail=detail,
    )
