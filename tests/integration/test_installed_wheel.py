"""numpy_wheels as users get it: the wheel built from this tree (not the editable install)
carries every runtime file, and a build's hook stages run from it (the multibuild fixture:
pre_build, the build_wheel override, repair, run_tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.mb_repo import make_multibuild_repo
from tests.selfwheel import build_this_wheel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """This tree built into a wheel (PEP 517, isolated) and installed, without its
    dependencies, into a directory of its own (they come from the test environment)."""
    wheel = build_this_wheel(tmp_path_factory.mktemp("build"))
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True,
        timeout=300,
    )  # fmt: skip
    return wheel, target


def test_every_runtime_file_is_in_the_wheel(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    tracked = subprocess.run(
        ["git", "ls-files", "numpy_wheels"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    if not tracked:  # not a git checkout (an sdist): every file on disk instead
        tracked = [
            str(p.relative_to(ROOT))
            for p in (ROOT / "numpy_wheels").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    missing = [path for path in tracked if path not in names]
    assert missing == []
    assert "numpy_wheels/resources/mb_compat.sh" in names


def test_a_build_runs_its_hook_stages_from_the_installed_wheel(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, site = installed
    root = make_multibuild_repo(tmp_path / "fooext-wheels")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        # The installed copy first: the editable install of this tree must not be used.
        "PYTHONPATH": str(site),
    }
    where = subprocess.run(
        [sys.executable, "-c", "import numpy_wheels; print(numpy_wheels.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(site)
    proc = subprocess.run(
        [sys.executable, "-m", "numpy_wheels", "build", "--backend", "host"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert f"{site}/numpy_wheels/resources/mb_compat.sh" in out  # the hooks' helpers
    assert "pre_build: lex_ver 3.11.2 = 003011002" in out  # multibuild helpers from the wheel
    assert "build_wheel override for " in out
    assert "triple(14) = 42" in out
    assert list((root / "wheelhouse").glob("fooext-0.1.0-*manylinux2014_x86_64*.whl"))
