"""Drive cibuildwheel (manylinux containers, macOS/Windows runners) with the same hooks, pins
and environment as the host backend, so nothing is lost at the container boundary.

The container sees only the project directory (cibuildwheel copies it to ``/project``), so the
hook files, the verified OpenBLAS wheel and a small driver are staged in
``<project>/.numpy_wheels/`` first. Every variable that crosses is written explicitly into
``CIBW_ENVIRONMENT`` (build) and ``CIBW_TEST_ENVIRONMENT`` (tests) — multibuild's silent
whitelist is what lost ``NPY_RELAXED_STRIDES_DEBUG`` at the docker boundary.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from numpy_wheels.build.backends import WheelJob
from numpy_wheels.build.hooks import sourced_files
from numpy_wheels.build.repair import RepairResult, grafted_libraries, one_platform_wheel
from numpy_wheels.cmd import call, python_tool
from numpy_wheels.errors import BuildError, ContainerEngineError
from numpy_wheels.log import log
from numpy_wheels.model.plan import make_plan

STAGE = ".numpy_wheels"
CONTAINER_PROJECT = "/project"
# Where the before-build hook unpacks the OpenBLAS shared library, relative to the project
# (delvewheel --add-path / DYLD_LIBRARY_PATH for delocate on the macOS and Windows runners).
OPENBLAS_LIB = ".openblas/lib"

DRIVER = """\
#!/bin/bash
# Runs inside the build container/VM: cibuildwheel's before-build and test-command.
set -eo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "$1" in
before_build)
    if [ -n "${OPENBLAS_WHEEL:-}" ]; then
        python -m pip install --no-deps "$here/$OPENBLAS_WHEEL"
        mkdir -p "$here/../.openblas"
        python -c "import ${OPENBLAS_MODULE} as m; print(m.get_pkg_config())" \\
            > "$here/../.openblas/scipy-openblas.pc"
        # The shared library where the repair finds it (delvewheel --add-path on Windows,
        # DYLD_LIBRARY_PATH for delocate on macOS): there is no RPATH on Windows.
        mkdir -p "$here/../.openblas/lib"
        cp -R "$(python -c "import ${OPENBLAS_MODULE} as m; print(m.get_lib_dir())")"/. \
            "$here/../.openblas/lib/"
    fi
    hook=pre_build ;;
run_tests)
    hook=run_tests ;;
build_wheel)
    # config.sh overrides multibuild's build_wheel: called by the override backend below as
    # the PEP 517 build cibuildwheel runs; it leaves its wheel in $WHEEL_SDIR.
    # sourced from the wheels repository's copy (relative `source helpers.sh`), as multibuild
    _nw_cwd=$PWD
    cd "$(dirname "$CONFIG_PATH")"
    source "$here/mb_compat.sh"
    [ -f "$ENV_VARS_PATH" ] && source "$ENV_VARS_PATH"
    source "$CONFIG_PATH"
    cd "$_nw_cwd"
    build_wheel "$REPO_DIR" "$PLAT"
    exit 0 ;;
*)
    echo "usage: driver.sh before_build|run_tests|build_wheel" >&2; exit 2 ;;
esac
_nw_cwd=$PWD
cd "$(dirname "$CONFIG_PATH")"
source "$here/mb_compat.sh"
[ -f "$ENV_VARS_PATH" ] && source "$ENV_VARS_PATH"
source "$CONFIG_PATH"
cd "$_nw_cwd"
if is_function "$hook"; then "$hook"; else echo "config.sh defines no $hook"; fi
"""


# A config.sh that overrides build_wheel builds the wheel itself. cibuildwheel only runs PEP 517
# builds, so it builds this tiny in-tree backend instead of the project: its build_wheel runs
# the hook (driver.sh build_wheel) in the build environment cibuildwheel prepared, and hands
# back the one wheel the hook made; cibuildwheel then repairs and tests it as any other.
OVERRIDE = f"{STAGE}/override"
OVERRIDE_PYPROJECT = """\
[build-system]
requires = []
build-backend = "override_backend"
backend-path = ["."]
"""
OVERRIDE_BACKEND = """\
\"\"\"PEP 517 backend whose wheel is the one config.sh's build_wheel hook builds.\"\"\"
import glob
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _hook_env(out):
    # The hook builds with the interpreter cibuildwheel prepared (pip, BUILD_DEPENDS), not
    # this isolated PEP 517 environment (no pip): its bin directory leaves PATH.
    isolated = os.path.realpath(sys.prefix)
    path = [
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and not os.path.realpath(p).startswith(isolated + os.sep)
    ]
    env = dict(os.environ, WHEEL_SDIR=out, PATH=os.pathsep.join(path))
    env.pop("VIRTUAL_ENV", None)
    python = shutil.which("python", path=env["PATH"]) or shutil.which("python3", path=env["PATH"])
    if python:
        env["PYTHON_EXE"] = python
        env["PIP_CMD"] = python + " -m pip"
    return env


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    out = os.path.join(HERE, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    env = _hook_env(out)
    driver = os.path.join(HERE, os.pardir, "driver.sh")
    subprocess.run(["bash", driver, "build_wheel"], check=True, env=env)
    wheels = glob.glob(os.path.join(out, "*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"build_wheel (config.sh) left {len(wheels)} wheels in {out}")
    shutil.copy(wheels[0], wheel_directory)
    return os.path.basename(wheels[0])
"""


def stage_override(project: Path) -> str:
    """Write the override backend into the staged directory; return its package dir."""
    target = project / OVERRIDE
    target.mkdir(parents=True, exist_ok=True)
    (target / "pyproject.toml").write_text(OVERRIDE_PYPROJECT)
    (target / "override_backend.py").write_text(OVERRIDE_BACKEND)
    return OVERRIDE


def engine_works(env: Mapping[str, str]) -> bool:
    """True when ``docker info`` answers (the engine cibuildwheel will use)."""
    try:
        proc = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            env=dict(env),
            capture_output=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def environment_string(values: Mapping[str, str]) -> str:
    """cibuildwheel's ``environment`` syntax, every value quoted (no expansion happens).

    >>> environment_string({"A": "x y", "B": "$HOME"})
    "A='x y' B='$HOME'"
    """
    return " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items())


#: Where the host's compiler cache directory is mounted in the build container.
CONTAINER_CCACHE = "/ccache"


def with_volume(engine: str, volume: str) -> str:
    """cibuildwheel's ``container-engine`` setting with one more ``--volume`` in create_args.

    >>> with_volume("", "/c:/ccache")
    'docker; create_args: --volume=/c:/ccache'
    >>> with_volume("docker; create_args: --network=none; disable_host_mount: true", "/c:/x")
    'docker; create_args: --network=none --volume=/c:/x; disable_host_mount: true'
    """
    parts = [p.strip() for p in engine.split(";") if p.strip()] or ["docker"]
    arg = shlex.quote(f"--volume={volume}")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("create_args:"):
            parts[i] = f"{part} {arg}"
            break
    else:
        parts.append(f"create_args: {arg}")
    return "; ".join(parts)


def stage_ccache(job: WheelJob, staged: Path) -> str | None:
    """The tool's ccache binary and its masquerade links in the staged directory; return the
    raw CIBW_ENVIRONMENT entries that put them first on the container's PATH."""
    cc = job.compiler_cache
    if cc is None:
        return None
    target = staged / "ccache"
    (target / "bin").mkdir(parents=True)
    shutil.copy(cc.binary, target / "ccache")
    for link in cc.masquerade.iterdir():
        (target / "bin" / link.name).symlink_to(Path("..") / "ccache")
    inside = f"{CONTAINER_PROJECT}/{STAGE}/ccache/bin"
    return f'PATH="{inside}:$PATH" CCACHE_DIR={CONTAINER_CCACHE}'


def stage(job: WheelJob) -> dict[str, str]:
    """Copy hooks, licence texts, ci/ and the OpenBLAS wheel into the project; return the
    variables the container needs, with paths as the container sees them."""
    opts = job.options
    staged = job.source.path / STAGE
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    compat = resources.files("numpy_wheels").joinpath("resources/mb_compat.sh")
    (staged / "mb_compat.sh").write_text(compat.read_text())
    (staged / "driver.sh").write_text(DRIVER)
    inside = f"{CONTAINER_PROJECT}/{STAGE}"
    for path in (opts.config_path, opts.env_vars_path, *opts.root.glob("LICENSE_*.txt")):
        if path.is_file():
            shutil.copy(path, staged / path.name)
    if (opts.root / "ci").is_dir():
        shutil.copytree(opts.root / "ci", staged / "ci")
    for rel in sourced_files(job.hooks):  # `source helpers.sh`, relative to the repository
        (staged / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(opts.root / rel, staged / rel)
    values = {
        k: v
        for k, v in job.crossing.items()
        if k not in ("PKG_CONFIG_PATH", "REPO_DIR", "CONFIG_PATH", "ENV_VARS_PATH", "WHEEL_SDIR")
    }
    values.update(
        {
            "REPO_DIR": CONTAINER_PROJECT,
            "WHEELS_REPO": inside,
            "CONFIG_PATH": f"{inside}/{opts.config_path.name}",
            "ENV_VARS_PATH": f"{inside}/{opts.env_vars_path.name}",
        }
    )
    if job.openblas is not None:
        shutil.copy(job.openblas.wheel, staged / job.openblas.wheel.name)
        values.update(
            {
                "OPENBLAS_WHEEL": job.openblas.wheel.name,
                "OPENBLAS_MODULE": job.openblas.pin.module,
                "PKG_CONFIG_PATH": f"{CONTAINER_PROJECT}/.openblas",
            }
        )
    return values


def cibuildwheel_env(job: WheelJob, values: dict[str, str]) -> dict[str, str]:
    """cibuildwheel's settings for one identifier: ``values`` (the staged environment, with
    container paths) and the plan's environment cross as CIBW_ENVIRONMENT after the user's
    own; the plan's repair command and meson setup args; tests, image."""
    opts = job.options
    # universal2 never gets here (runner refuses it)
    plan = make_plan(job.build_id, openblas=opts.openblas, project=opts.project_name)
    # The plan's environment (deployment target, compilers, OpenBLAS paths) crosses too;
    # what the staging set (container paths) wins.
    for key, value in plan.env().items():
        values.setdefault(key, value.format(project=".", openblas_lib=OPENBLAS_LIB))
    cache_entries = stage_ccache(job, job.source.path / STAGE)
    crossing = " ".join(
        x for x in (opts.cibw_environment, environment_string(values), cache_entries) if x
    )
    env = {
        **job.env,
        "CIBW_BUILD_VERBOSITY": job.env.get("CIBW_BUILD_VERBOSITY", "1"),
        "CIBW_ENVIRONMENT": crossing,
        "CIBW_TEST_ENVIRONMENT": crossing,
        "CIBW_BEFORE_BUILD": f"bash {{project}}/{STAGE}/driver.sh before_build",
        # The plan's repair (auditwheel / delocate-wheel / delvewheel, or none for win32).
        "CIBW_REPAIR_WHEEL_COMMAND": shlex.join(
            plan.repair_command(wheel="{wheel}", dest_dir="{dest_dir}", openblas_lib=OPENBLAS_LIB)
            or []
        ),
    }
    if job.compiler_cache is not None:
        # the host's cache directory, kept between jobs (and read for the hit rate)
        volume = f"{job.env['CCACHE_DIR']}:{CONTAINER_CCACHE}"
        env["CIBW_CONTAINER_ENGINE"] = with_volume(job.env.get("CIBW_CONTAINER_ENGINE", ""), volume)
    # The plan's meson setup args (Accelerate's -Dblas, Windows' --vsenv and win32's
    # -Dallow-noblas=true, as numpy's cibuildwheel config) replace the project's.
    config_settings = dict(opts.project.config_settings)
    if "setup-args" in config_settings:
        config_settings["setup-args"] = plan.setup_args
    settings = [
        f"{k}={v}"
        for k, vs in config_settings.items()
        for v in ((vs,) if isinstance(vs, str) else vs)
    ]
    if settings:
        env["CIBW_CONFIG_SETTINGS"] = " ".join(shlex.quote(s) for s in settings)
    if opts.run_tests:
        env["CIBW_TEST_COMMAND"] = f"bash {{project}}/{STAGE}/driver.sh run_tests"
        if opts.test_depends:
            env["CIBW_TEST_REQUIRES"] = " ".join(opts.test_depends)
    if opts.image:
        arch = job.build_id.platform.arch
        family = job.build_id.platform.name.split("_")[0].upper()
        env[f"CIBW_{family}_{arch.upper()}_IMAGE"] = opts.image
    return env


class CibuildwheelBackend:
    name = "cibuildwheel"

    def pre_build(self, job: WheelJob) -> None:
        del job  # runs inside the container, as cibuildwheel's before-build (driver.sh)

    def build(self, job: WheelJob) -> Path:
        """One cibuildwheel run builds, repairs (auditwheel in the container) and tests."""
        opts = job.options
        if job.build_id.platform.os == "linux" and not opts.engine_available:
            # cibuildwheel's own "docker is too old or is not working" became exit 9
            msg = (
                f"{job.build_id.key} is built in a manylinux/musllinux container, but no "
                "container engine answers `docker info` here"
            )
            hint = (
                "Start Docker (or name podman in CIBW_CONTAINER_ENGINE), or build this "
                "machine's own identifier with --backend host."
            )
            raise ContainerEngineError(msg, hint=hint)
        out = job.workdir / "cibw-out"
        shutil.rmtree(out, ignore_errors=True)
        env = cibuildwheel_env(job, stage(job))
        package_dir = "."
        if job.hooks.defines("build_wheel", env=job.env, cwd=opts.root):
            package_dir = stage_override(job.source.path)
            log.write(f"config.sh overrides build_wheel: cibuildwheel builds {package_dir}/")
        # cibuildwheel wants the project inside its working directory.
        call(
            *python_tool("cibuildwheel"),
            "--only",
            job.build_id.identifier,
            "--output-dir",
            str(out),
            package_dir,
            env=env,
            cwd=job.source.path,
            error=BuildError,
        )
        wheel = one_platform_wheel(out)
        final = opts.wheelhouse / wheel.name
        wheel.replace(final)
        return final

    def repair(self, job: WheelJob, wheel: Path) -> RepairResult:
        del job  # cibuildwheel ran the plan's repair command inside the container / on the VM
        return RepairResult(wheel=wheel, report=None, grafted=grafted_libraries(wheel))

    def test(self, job: WheelJob, wheel: Path) -> str:
        del wheel
        if not job.options.run_tests:
            return "not run (--no-test)"
        return "passed in the container (cibuildwheel test-command → run_tests)"
