"""Build on this machine (no container): PEP 517 through ``build``, repair, fresh-venv tests."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Any

from numpy_wheels.build.backends import WheelJob
from numpy_wheels.build.pinned import resolved_pins
from numpy_wheels.build.repair import RepairResult, auditwheel_repair
from numpy_wheels.build.wheeltest import run_wheel_tests, venv_env
from numpy_wheels.cmd import call
from numpy_wheels.errors import BuildError, ConfigError, RepairError
from numpy_wheels.files import only_file, read_config_text
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


#: config.sh functions that run in the build venv (HostBackend._build_env).
_VENV_HOOKS = ("pre_build", "build_wheel")

#: The marker in a finished build venv: its key and what it holds (build_venv, park_venv).
VENV_MARKER = "numpy-wheels-venv.json"


def _pip(python: str) -> list[str]:
    """Our own pip acting on the venv of ``python`` (pip >= 22.3 ``--python``), as ``build``'s
    isolated environments do: a venv without pip of its own skips ensurepip (11 s of a cold
    venv's 22 s here) and the byte-compiling of a second pip."""
    return [sys.executable, "-m", "pip", "--python", python]


def _pip_install(
    python: str, requirements: list[str], *, env: dict[str, str], constraints: Path | None
) -> None:
    if requirements:
        extra = ["-c", str(constraints)] if constraints else []
        call(*_pip(python), "install", *extra, *requirements, env=env, error=BuildError)


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
    except (ValueError, IndexError, RecursionError):
        msg = f"could not read the build requirements of {job.source.path}: {out[-300:]}"
        raise BuildError(msg) from None
    return [str(r) for r in found]


def venv_key(pins: list[str], venv: Path) -> str:
    """The key of a build venv: its exact pins, the interpreter, the platform and its path
    (scripts name their interpreter by absolute path; numpy records the build Python's)."""
    parts = {
        "pins": sorted(pins),
        "interpreter": f"{sys.version} ({os.path.realpath(sys.executable)})",
        "platform": sysconfig.get_platform(),
        "path": str(venv),
    }
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _reused_venv(stored: Path, venv: Path) -> list[str] | None:
    """Move a kept venv with this key into place; its frozen contents (None: none kept, or
    one whose marker cannot be read, which is removed: the venv is made again)."""
    marker = _marker(stored)
    if marker is None:
        return None
    frozen = marker.get("build_requirements")
    if not isinstance(frozen, list):
        log.write(f"the kept build venv {stored} has an unreadable marker: made again")
        shutil.rmtree(stored, ignore_errors=True)
        return None
    shutil.rmtree(venv, ignore_errors=True)
    shutil.move(stored, venv)
    log.write(f"build venv reused from {stored} (the same pins, interpreter and platform)")
    return [str(r) for r in frozen]


def _marker(venv: Path) -> dict[str, Any] | None:
    """The marker of a finished build venv; None when there is none or it is not the JSON
    object ``_make_venv`` writes (a cache cut short by a full disk or a killed job)."""
    try:
        marker = json.loads(read_config_text(venv / VENV_MARKER))
    except (ConfigError, ValueError, RecursionError):
        return None
    return marker if isinstance(marker, dict) else None


def _constraints_file(job: WheelJob, venv: Path) -> Path | None:
    if not job.options.build_constraints:
        return None
    constraints = venv.parent / "build-constraints.txt"
    constraints.write_text("\n".join(job.options.build_constraints) + "\n")
    return constraints


def _fresh_venv(job: WheelJob, venv: Path, env: dict[str, str], pins: list[str]) -> list[str]:
    """A new venv holding exactly ``pins`` (then what the backend asks for a wheel)."""
    call(
        *[sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)],
        env=env,
        error=BuildError,
    )
    venv_env_ = venv_env(venv, env)
    python = venv_env_["PYTHON_EXE"]
    _pip_install(python, pins, env=venv_env_, constraints=None)
    if not job.options.build_depends:
        settings = json.dumps(dict(job.options.project.config_settings))
        needed = _requires(python, job, settings, venv_env_)
        constraints = venv.parent / "build-pins.txt"
        given = list(job.options.build_constraints)
        constraints.write_text("\n".join([*pins, *given]) + "\n")
        _pip_install(python, needed, env=venv_env_, constraints=constraints)
    return _frozen(python, venv_env_)


def _frozen(python: str, env: dict[str, str]) -> list[str]:
    frozen = call(
        *_pip(python), "freeze", "--all", env=env, capture=True, error=BuildError, echo=False
    )
    # "name==version", or "name @ URL" for what a hook installed from a file
    return sorted(line for line in frozen.splitlines() if line and not line.startswith("#"))


def _site_listing(venv: Path) -> list[str]:
    """The names in the venv's site-packages: an install, upgrade or removal changes them
    (each one adds or removes a ``*.dist-info``)."""
    found = sorted(venv.glob("lib/python*/site-packages")) or sorted(venv.glob("Lib/site-packages"))
    return sorted(p.name for site in found for p in site.iterdir())


def build_venv(
    job: WheelJob, env: dict[str, str], *, with_pip: bool = False
) -> tuple[str, dict[str, str]]:
    """A build venv of our own at the build place, not ``build``'s isolated environment at a
    random path (numpy records its build Python's path): ``build``, the project's build
    requirements and BUILD_DEPENDS (multibuild), resolved to exact pins first; ``with_pip``
    adds pip, for config.sh hooks that run in it (multibuild's and cibuildwheel's build
    environments have pip). A venv kept with the same key (``venv_key``) in the cache is
    moved back instead of made again (``park_venv`` keeps it after the build). What it holds
    is recorded. Returns the venv's python and ``env`` with the venv first on PATH.

    Raises:
        BuildError: a requirement that does not resolve or install."""
    venv = (job.place or job.workdir) / "build-venv"
    venv.parent.mkdir(parents=True, exist_ok=True)
    constraints = _constraints_file(job, venv)
    # BUILD_DEPENDS comes on top of the project's own requirements, as multibuild installed
    # it into a venv that already had setuptools: a wheels repo's BUILD_DEPENDS=cython alone
    # left a setup.py project without its backend (issue 12 tryout)
    wanted = [*_requires(sys.executable, job, "system", env), *job.options.build_depends]
    pins = resolved_pins(
        ["build", *(["pip"] if with_pip else []), *wanted],
        env,
        error=BuildError,
        what="build requirements",
        constraints=constraints,
    )
    key = venv_key(pins, venv)
    frozen = _reused_venv(job.options.cache_dir / "build-venvs" / key, venv)
    if frozen is None:
        frozen = _fresh_venv(job, venv, env, pins)
        marker = {"key": key, "pins": pins, "build_requirements": frozen}
        marker["site_packages"] = _site_listing(venv)
        (venv / VENV_MARKER).write_text(json.dumps(marker, indent=1) + "\n")
    job.facts["build_requirements"] = frozen
    job.facts["build_venv_key"] = key
    env = venv_env(venv, env)
    # mb_compat.sh's pip_wheel_cmd builds without isolation only in this venv, which holds the
    # project's build requirements and BUILD_DEPENDS (an environment the tool did not make,
    # such as cibuildwheel's, may hold an older setuptools than the project needs)
    env["NUMPY_WHEELS_BUILD_VENV"] = str(venv)
    return env["PYTHON_EXE"], env


def _note_hook_changes(job: WheelJob, python: str, env: dict[str, str]) -> None:
    """Record what config.sh's hooks installed into the build venv; such a venv is not kept
    for reuse (its key names only the pins it was made from)."""
    venv = Path(env["VIRTUAL_ENV"])
    marker = venv / VENV_MARKER
    made = json.loads(marker.read_text()).get("site_packages")
    if made is None or made == _site_listing(venv):  # None: kept before listings were
        return
    job.facts["build_requirements"] = _frozen(python, env)
    marker.unlink()
    log.write(
        "config.sh's hooks changed the build venv: what it holds now is recorded, "
        "and it is not kept for the next build"
    )


def park_venv(place: Path, cache: Path) -> None:
    """Keep the build venv at ``place`` in ``cache/build-venvs/KEY`` for the next build (a
    venv without a marker is unfinished: not kept)."""
    venv = place / "build-venv"
    key = (_marker(venv) or {}).get("key")
    if not isinstance(key, str) or not re.fullmatch(r"[0-9a-f]{64}", key):
        return  # unfinished, or a marker this code did not write: not kept
    stored = cache / "build-venvs" / key
    shutil.rmtree(stored, ignore_errors=True)
    stored.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(venv, stored)
    log.write(f"build venv kept for the next build: {stored}")


class HostBackend:
    name = "host"

    def __init__(self) -> None:
        self._envs: dict[Path, tuple[str, dict[str, str]]] = {}

    def _build_env(self, job: WheelJob) -> tuple[str, dict[str, str]]:
        """The build venv's python and environment, made once per identifier before
        pre_build: multibuild ran pre_build and build_wheel with the build Python first on
        PATH, so their ``pip install``/``$PIP_CMD install`` (BUILD_DEPENDS) land there, never in
        this tool's own environment (issue 12 tryout)."""
        if job.workdir not in self._envs:
            cwd = job.options.root
            hooked = any(job.hooks.defines(f, env=job.env, cwd=cwd) for f in _VENV_HOOKS)
            self._envs[job.workdir] = build_venv(job, dict(job.env), with_pip=hooked)
        return self._envs[job.workdir]

    def pre_build(self, job: WheelJob) -> None:
        if job.hooks.defines("pre_build", env=job.env, cwd=job.options.root):
            _, env = self._build_env(job)
            job.hooks.run("pre_build", env=env, cwd=job.options.root)
        else:
            log.write("config.sh defines no pre_build")

    def build(self, job: WheelJob) -> Path:
        out = job.workdir / "dist"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        python, env = self._build_env(job)
        env = {**env, "WHEEL_SDIR": str(out)}
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
        _note_hook_changes(job, python, env)
        return only_file(out, "*.whl", what="the build", error=BuildError)

    def repair(self, job: WheelJob, wheel: Path) -> RepairResult:
        match job.build_id.platform.os:
            case "linux":
                return auditwheel_repair(
                    wheel, dest=job.options.wheelhouse, env=job.env, plat=job.build_id.repair_plat
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
