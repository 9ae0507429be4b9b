"""Build on this machine (no container): PEP 517 through ``build``, repair, fresh-venv tests."""

from __future__ import annotations

import json
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


# Run inside the build venv: the build requirements of the project, as ``build`` would install
# them into an isolated environment (pyproject's, then the backend's own for a wheel).
_REQUIRES = """\
import json, sys, build
builder = build.ProjectBuilder(sys.argv[1])
if sys.argv[2] == "system":
    print(json.dumps(sorted(builder.build_system_requires)))
else:
    print(json.dumps(sorted(builder.get_requires_for_build("wheel", json.loads(sys.argv[2])))))
"""


def _pip_install(
    python: str, requirements: list[str], *, env: dict[str, str], constraints: Path | None
) -> None:
    if requirements:
        extra = ["-c", str(constraints)] if constraints else []
        call(python, "-m", "pip", "install", *extra, *requirements, env=env, error=BuildError)


def _requires(python: str, job: WheelJob, which: str, env: dict[str, str]) -> list[str]:
    out = call(
        python,
        "-c",
        _REQUIRES,
        str(job.source.path),
        which,
        env=env,
        cwd=job.source.path,
        capture=True,
        error=BuildError,
    )
    try:
        found = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        msg = f"could not read the build requirements of {job.source.path}: {out[-300:]}"
        raise BuildError(msg) from None
    return [str(r) for r in found]


def build_venv(job: WheelJob, env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A build venv of our own at the build place, not ``build``'s isolated environment at a
    random path (numpy records its build Python's path): ``build``, then BUILD_DEPENDS
    (multibuild) or the project's build requirements; what it holds is recorded."""
    venv = (job.place or job.workdir) / "build-venv"
    call(sys.executable, "-m", "venv", "--clear", str(venv), env=env, error=BuildError)
    env = venv_env(venv, env)
    python = env["PYTHON_EXE"]
    constraints = None
    if job.options.build_constraints:
        constraints = venv.parent / "build-constraints.txt"
        constraints.write_text("\n".join(job.options.build_constraints) + "\n")
    _pip_install(python, ["build"], env=env, constraints=constraints)
    if job.options.build_depends:
        _pip_install(python, list(job.options.build_depends), env=env, constraints=constraints)
    else:
        _pip_install(
            python, _requires(python, job, "system", env), env=env, constraints=constraints
        )
        settings = json.dumps(dict(job.options.project.config_settings))
        _pip_install(
            python, _requires(python, job, settings, env), env=env, constraints=constraints
        )
    frozen = call(
        python, "-m", "pip", "freeze", "--all", env=env, capture=True, error=BuildError, echo=False
    )
    job.facts["build_requirements"] = sorted(line for line in frozen.splitlines() if "==" in line)
    return python, env


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
            python, env = build_venv(job, env)
            call(
                python,
                "-m",
                "build",
                "--wheel",
                "--no-isolation",
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
