"""Build on this machine (no container): PEP 517 through ``build``, repair, fresh-venv tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from numpy_wheels.build.backends import WheelJob
from numpy_wheels.build.repair import RepairResult, auditwheel_repair
from numpy_wheels.build.wheeltest import run_wheel_tests, venv_env
from numpy_wheels.cmd import call
from numpy_wheels.errors import BuildError, RepairError
from numpy_wheels.files import only_file
from numpy_wheels.log import log


def config_setting_args(settings: dict[str, str | tuple[str, ...]]) -> list[str]:
    """``-Ckey=value`` per value; lists repeat the key, as ``build`` expects.

    >>> config_setting_args({"setup-args": ("-Duse-ilp64=true", "-Dallow-noblas=false")})
    ['-Csetup-args=-Duse-ilp64=true', '-Csetup-args=-Dallow-noblas=false']
    """
    out = []
    for key, value in settings.items():
        for item in (value,) if isinstance(value, str) else value:
            out.append(f"-C{key}={item}")
    return out


def _policy(job: WheelJob) -> str | None:
    """multibuild's MB_ML_VER as auditwheel's --plat (``2014`` → ``manylinux2014_x86_64``,
    ``_2_28`` → ``manylinux_2_28_x86_64``); None: auditwheel's highest policy."""
    version = job.options.build_env.get("MB_ML_VER")
    if not version:
        return None
    libc = "musllinux" if job.build_id.platform.name.startswith("musllinux") else "manylinux"
    return f"{libc}{version}_{job.build_id.platform.arch}"


class HostBackend:
    name = "host"

    def pre_build(self, job: WheelJob) -> None:
        if job.hooks.defines("pre_build", env=job.env, cwd=job.options.root):
            job.hooks.run("pre_build", env=job.env, cwd=job.options.root)
        else:
            log.write("config.sh defines no pre_build")

    def build(self, job: WheelJob) -> Path:
        out = job.workdir / "dist"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        env = {**job.env, "WHEEL_SDIR": str(out)}
        if job.hooks.defines("build_wheel", env=env, cwd=job.options.root):
            # The project overrides multibuild's build_wheel: it must leave a wheel in WHEEL_SDIR.
            job.hooks.run(
                "build_wheel",
                str(job.source.path),
                job.build_id.platform.arch,
                env=env,
                cwd=job.options.root,
                error=BuildError,
            )
        else:
            python = sys.executable
            isolation = ["--no-isolation"] if job.options.build_depends else []
            if job.options.build_depends:
                # multibuild installs BUILD_DEPENDS into the build environment: a venv of its own.
                venv = job.workdir / "build-venv"
                call(sys.executable, "-m", "venv", str(venv), env=env, error=BuildError)
                env = venv_env(venv, env)
                python = env["PYTHON_EXE"]
                call(
                    python,
                    "-m",
                    "pip",
                    "install",
                    "build",
                    *job.options.build_depends,
                    env=env,
                    error=BuildError,
                )
            call(
                python,
                "-m",
                "build",
                "--wheel",
                *isolation,
                "--outdir",
                str(out),
                *config_setting_args(dict(job.options.project.config_settings)),
                str(job.source.path),
                env=env,
                cwd=job.source.path,
                error=BuildError,
            )
        return only_file(out, "*.whl", what="the build", error=BuildError)

    def repair(self, job: WheelJob, wheel: Path) -> RepairResult:
        match job.build_id.platform.os:
            case "linux":
                return auditwheel_repair(
                    wheel, dest=job.options.wheelhouse, env=job.env, plat=_policy(job)
                )
            case "macos" | "windows":
                msg = (
                    f"{job.build_id}: host builds of {job.build_id.platform.os} wheels are "
                    "not supported yet; use --backend cibuildwheel on that OS"
                )
                raise RepairError(msg)

    def test(self, job: WheelJob, wheel: Path) -> str:
        run_wheel_tests(
            [wheel],
            hooks=job.hooks,
            test_depends=job.options.test_depends,
            env=job.env,
            root=job.options.root,
        )
        return "passed (host venv)"
