from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "unit" / "data"
REPO = Path(__file__).parent.parent
THIS_REPO_FILES = (".travis.yml", "appveyor.yml", ".github/workflows/wheels.yml", "pyproject.toml")


@pytest.fixture
def data_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture directory of tests/unit/data ("this-repo": our own CI files) to tmp."""

    def copy(name: str) -> Path:
        dest = tmp_path / name
        if name == "this-repo":
            for rel in THIS_REPO_FILES:
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(REPO / rel, dest / rel)
        else:
            shutil.copytree(DATA / name, dest)
        return dest

    return copy


@pytest.fixture(autouse=True)
def _default_log_stream() -> Iterator[None]:
    """main() may point the logger at a stream of its run (stderr with --json); a later test
    in the same worker must not write to that (by then closed) captured stream."""
    from numpy_wheels.log import log

    yield
    log.configure(env={}, stream=None)
