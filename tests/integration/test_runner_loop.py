"""The step loop: --keep-going and the exit code of the first failure class, with a fake backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from numpy_wheels.build.backends import WheelJob
from numpy_wheels.build.repair import RepairResult
from numpy_wheels.build.runner import build_all
from numpy_wheels.config.build import BuildRequest, resolve_build_options
from numpy_wheels.errors import BuildError, RepairError
from tests.wheels_repo import make_wheels_repo


class FailingBackend:
    """Fails cp311 at build and cp312 at repair; records what was attempted."""

    name = "fake"

    def __init__(self) -> None:
        self.attempted: list[str] = []

    def pre_build(self, job: WheelJob) -> None:
        self.attempted.append(job.build_id.identifier)

    def build(self, job: WheelJob) -> Path:
        if job.build_id.python.tag == "cp311":
            msg = "compiler exploded"
            raise BuildError(msg)
        return job.workdir / "x.whl"

    def repair(self, job: WheelJob, wheel: Path) -> RepairResult:
        del job, wheel
        msg = "two wheels"
        raise RepairError(msg)

    def test(self, job: WheelJob, wheel: Path) -> str:
        del job, wheel
        msg = "never reached: every identifier failed before its tests"
        raise AssertionError(msg)


@pytest.mark.parametrize(
    ("keep_going", "attempted"),
    [
        (False, ["cp311-manylinux_x86_64"]),
        (True, ["cp311-manylinux_x86_64", "cp312-manylinux_x86_64"]),
    ],
)
def test_keep_going(tmp_path: Path, keep_going: bool, attempted: list[str]) -> None:
    root = make_wheels_repo(tmp_path / "wheels")
    (root / "pyproject.toml").write_text(
        '[tool.numpy-wheels]\nproject = "fooext"\nbuild = ["cp31{1,2}-manylinux_x86_64"]\n'
    )
    backend = FailingBackend()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "NUMPY_WHEELS_CACHE": str(tmp_path / "cache"),
        "PIP_CACHE_DIR": str(tmp_path / "pip"),
    }
    request = BuildRequest(root=root, backend="cibuildwheel", source="git", keep_going=keep_going)
    outcome = build_all(resolve_build_options(request, env=env), backend=backend)
    assert isinstance(outcome.error, BuildError)
    assert "compiler exploded" in str(outcome.error)
    assert backend.attempted == attempted
    summary = json.loads(outcome.summary_path.read_text())
    assert outcome.summary_path == root / "wheelhouse" / "build-summary.json"
    assert [w["error_class"] for w in summary["wheels"]] == (
        ["BuildError", "RepairError"] if keep_going else ["BuildError"]
    )
