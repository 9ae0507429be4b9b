"""What a build backend provides: build, repair and test one wheel. The order lives in runner.py.

``host`` builds on this machine; ``cibuildwheel`` drives cibuildwheel (manylinux containers,
macOS/Windows runners), which builds, repairs and tests inside the container in one go.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from numpy_wheels.build.ccache import Ccache
from numpy_wheels.build.hooks import Hooks
from numpy_wheels.build.openblas import OpenBLAS
from numpy_wheels.build.repair import RepairResult
from numpy_wheels.build.source import SourceInfo
from numpy_wheels.config.build import BuildOptions
from numpy_wheels.model.matrix import BuildId


@dataclasses.dataclass(frozen=True, kw_only=True)
class WheelJob:
    """Everything one identifier's build needs, resolved before the first step runs."""

    build_id: BuildId
    options: BuildOptions
    source: SourceInfo
    openblas: OpenBLAS | None
    hooks: Hooks
    env: Mapping[str, str]  # the environment of the build and test processes
    crossing: Mapping[str, str]  # the part of env set by this tool / env_vars.sh (shown, recorded)
    workdir: Path  # scratch space for this identifier
    # The fixed build place (host backend): source copy, build venv, OpenBLAS; None: the
    # backend builds elsewhere (cibuildwheel: /project in the container).
    place: Path | None = None
    compiler_cache: Ccache | None = None  # the tool's ccache (masquerade links, binary)
    # What the backend learnt while building, for the provenance (build requirements, ...).
    facts: dict[str, object] = dataclasses.field(default_factory=dict)


class Backend(Protocol):
    name: str

    def pre_build(self, job: WheelJob) -> None:
        """Run the project's ``pre_build`` hook where the build will happen."""
        ...

    def build(self, job: WheelJob) -> Path:
        """Build the wheel; return it (unrepaired, unless the backend repairs as it builds)."""
        ...

    def repair(self, job: WheelJob, wheel: Path) -> RepairResult:
        """Vendor external libraries into ``job.options.wheelhouse``; one platform wheel out."""
        ...

    def test(self, job: WheelJob, wheel: Path) -> str:
        """Run the project's tests against the installed wheel; return how it was tested."""
        ...
