from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.wheels_repo import make_wheels_repo

CI_MARKERS = (
    "CI",
    "TRAVIS",
    "APPVEYOR",
    "GITHUB_ACTIONS",
    "TF_BUILD",
    "TRAVIS_EVENT_TYPE",
    "GITHUB_EVENT_NAME",
    "BUILD_REASON",
    "APPVEYOR_SCHEDULED_BUILD",
)


@pytest.fixture(scope="session")
def build_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One OpenBLAS/sdist cache for the session: the pinned wheel is downloaded once."""
    return tmp_path_factory.mktemp("numpy-wheels-cache")


@pytest.fixture
def build_env(build_cache: Path) -> dict[str, str]:
    """The machine's environment without CI markers (tests choose the mode themselves)."""
    env = {k: v for k, v in os.environ.items() if k not in CI_MARKERS}
    env["NUMPY_WHEELS_CACHE"] = str(build_cache)
    return env


@pytest.fixture
def fooext_repo(tmp_path: Path) -> Callable[..., Path]:
    def make(**kwargs: str) -> Path:
        return make_wheels_repo(tmp_path / "wheels", **kwargs)

    return make
