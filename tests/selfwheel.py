"""This tree built into a wheel, from a copy: setuptools builds in the source tree's ``build/``
and ``*.egg-info``, so two tests building it at once (xdist) collided there ("File exists"),
and each build wrote into the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What a build of the tree neither needs nor may see, at its top (caches, venvs, earlier
#: builds; ``numpy_wheels/build`` is a package, so ``build`` is skipped only at the top).
_TOP_LEVEL = {".git", ".venv", ".cache", "build", "dist", ".mypy_cache", ".ruff_cache"}


def _not_source(directory: str, names: list[str]) -> set[str]:
    top = Path(directory) == ROOT
    return {
        n
        for n in names
        if n == "__pycache__" or n.endswith(".egg-info") or (top and n in _TOP_LEVEL)
    }


def build_this_wheel(tmp: Path) -> Path:
    """The wheel of this tree (PEP 517, isolated), built from a copy under ``tmp``."""
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=_not_source, symlinks=True)
    dist = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        check=True,
        timeout=600,
    )
    (wheel,) = dist.glob("numpy_wheels-*.whl")
    return wheel
