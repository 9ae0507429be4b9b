"""Drive cibuildwheel: manylinux containers (and macOS/Windows runners) with the same hooks,
pins and environment as the host backend; nothing is lost at the container boundary."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from ..errors import ContainerEngineError
from ..repair import RepairResult
from . import WheelJob


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


class CibuildwheelBackend:
    name = "cibuildwheel"

    def build(self, job: WheelJob) -> Path:
        msg = f"{job.build_id}: the cibuildwheel backend is not wired up yet"
        raise ContainerEngineError(msg)

    def repair(self, job: WheelJob, wheel: Path) -> RepairResult:
        raise NotImplementedError

    def test(self, job: WheelJob, wheel: Path) -> str:
        raise NotImplementedError
