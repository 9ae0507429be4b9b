"""Test the installed wheel: a fresh venv, TEST_DEPENDS, the wheel the interpreter supports,
then the project's ``run_tests`` hook from an empty directory (so the source tree can't be
imported instead of the wheel)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from packaging.tags import Tag, sys_tags

from numpy_wheels.build.hooks import Hooks
from numpy_wheels.cmd import call
from numpy_wheels.errors import WheelTestError
from numpy_wheels.files import parse_dist
from numpy_wheels.log import log


def supported_wheel(wheels: Sequence[Path], tags: Iterable[Tag] | None = None) -> Path:
    """The first of ``wheels`` whose tags the interpreter supports (``packaging.tags``)."""
    supported = list(tags if tags is not None else sys_tags())
    rank = {tag: i for i, tag in enumerate(supported)}
    best: tuple[int, Path] | None = None
    for wheel in wheels:
        wheel_tags = parse_dist(wheel.name).tags
        score = min((rank[t] for t in wheel_tags if t in rank), default=None)
        if score is not None and (best is None or score < best[0]):
            best = (score, wheel)
    if best is None:
        names = ", ".join(w.name for w in wheels) or "no wheels"
        msg = (
            f"none of {names} can be installed by this interpreter "
            f"({sys.implementation.name} {sys.version.split()[0]}, most specific tag "
            f"{supported[0] if supported else '?'})"
        )
        raise WheelTestError(msg)
    return best[1]


def venv_env(venv: Path, env: Mapping[str, str]) -> dict[str, str]:
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    return {
        **env,
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{bindir}{os.pathsep}{env.get('PATH', '')}",
        "PYTHON_EXE": str(python),
        "PIP_CMD": f"{python} -m pip",
    }


def run_wheel_tests(
    wheels: Sequence[Path],
    *,
    hooks: Hooks,
    test_depends: Sequence[str],
    env: Mapping[str, str],
    root: Path,
    python: str = sys.executable,
) -> Path:
    """Install the supported wheel into a fresh venv and run ``run_tests``; return the wheel."""
    wheel = supported_wheel(wheels)
    with tempfile.TemporaryDirectory(prefix="numpy-wheels-test-") as tmp:
        venv = Path(tmp) / "venv"
        call(python, "-m", "venv", str(venv), env=env, error=WheelTestError)
        tenv = venv_env(venv, env)
        vpython = tenv["PYTHON_EXE"]
        if test_depends:
            call(vpython, "-m", "pip", "install", *test_depends, env=tenv, error=WheelTestError)
        call(vpython, "-m", "pip", "install", str(wheel), env=tenv, error=WheelTestError)
        # multibuild's install_run: an empty tmp_for_test in the wheels repository, so hooks'
        # ../check_license.py paths work and the project's source tree is not importable.
        empty = root / "tmp_for_test"
        shutil.rmtree(empty, ignore_errors=True)
        empty.mkdir()
        # pytest looks upwards for its configuration: without this file the project's tests
        # (numpy.test) would take the wheels repository's own [tool.pytest.ini_options]
        # (minversion, addopts) as theirs.
        (empty / "pytest.ini").write_text("[pytest]\n")
        log.write(f"running run_tests for {wheel.name} in {empty}")
        try:
            hooks.run(
                "run_tests",
                env={**tenv, "WHEELS_REPO": str(root)},
                cwd=empty,
                error=WheelTestError,
            )
        finally:
            shutil.rmtree(empty, ignore_errors=True)
    return wheel
