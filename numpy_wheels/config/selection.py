"""What a wheels repository builds, hence what its release must contain: one function for
``matrix``, ``matrix --wheels``, ``upload``'s pages and the release gate (issue 12 tryout:
the gate expected numpy's whole catalogue of another project).

A repository with a selection (``[tool.numpy-wheels] build``, ``--build``, ``--only``) builds
that selection; a multibuild-style one without it builds what its CI jobs build (multibuild's
MB_PYTHON_VERSION + PLAT per job). Either way each wheel's platform tag follows the job's
MB_ML_VER / MB_PYTHON_OSX_VER (``model.matrix.with_multibuild``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from numpy_wheels.cifiles.jobs import run_environment
from numpy_wheels.cifiles.readers import discover, read_config
from numpy_wheels.config.build import ci_job_wheels, read_ci_files, read_project_config
from numpy_wheels.model.matrix import (
    BuildId,
    load_catalogue,
    select,
    with_multibuild,
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Selection:
    """The wheels built (``ids``, in CI-job or catalogue order) and the CI jobs' identifiers
    this tool cannot build (``unbuildable``: not in resources/matrix.toml), each once."""

    ids: tuple[BuildId, ...]
    unbuildable: tuple[str, ...] = ()


def wheels_selection(
    root: Path,
    env: Mapping[str, str],
    *,
    build: Sequence[str] = (),
    skip: Sequence[str] = (),
    only: str | None = None,
) -> Selection:
    """The wheels the repository at ``root`` builds (``build``/``skip``/``only`` override the
    configuration, as on ``matrix``'s command line). SelectionError for a selector that
    matches nothing; ConfigError for a malformed MB_ML_VER / MB_PYTHON_OSX_VER."""
    project = read_project_config(root)
    chosen_build = tuple(build) or project.build
    chosen_skip = tuple(skip) or project.skip
    if build or project.has_selection or only:
        ids = select(load_catalogue(), build=chosen_build, skip=chosen_skip, only=only)
        values = run_defaults(root, env)
        return Selection(ids=tuple(with_multibuild(b, values) for b in ids))
    if not discover(root):  # no CI files either: everything this tool can build
        ids = select(load_catalogue(), build=("*",), skip=chosen_skip)
        return Selection(ids=tuple(with_multibuild(b, env) for b in ids))
    return _ci_jobs_selection(root, chosen_skip)


def run_defaults(root: Path, env: Mapping[str, str]) -> dict[str, str]:
    """A plain run's variables: the CI files' globals under the process environment (as
    `build` takes them, cifiles.jobs.run_environment); the environment alone without CI
    files."""
    if not discover(root):
        return dict(env)
    return run_environment(env, config=read_ci_files(root))


def _ci_jobs_selection(root: Path, skip: Sequence[str]) -> Selection:
    """What the CI jobs build (``ci_job_wheels``, shared with ``build``)."""
    ids, other = ci_job_wheels(read_config(root), skip)
    return Selection(ids=ids, unbuildable=other)
