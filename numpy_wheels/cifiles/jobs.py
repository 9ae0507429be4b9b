"""One CI job as that CI would run it: its variables (global + job), OS, build identifier,
mode and BUILD_COMMIT, and the environment a local run of it gets.

``reproduce`` shows a job and builds it here; ``build`` on CI derives its identifier from the
same variables with :func:`job_identifier`, so a job means the same wheel in both places.
No wheels repository had this: debugging one leg meant editing triggers and deleting matrix
lines in a branch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from numpy_wheels.ci import CI_MARKERS, SCHEDULE_MARKER, HostOS, Service, job_os, marker_env
from numpy_wheels.cifiles.commit import ResolvedCommit, resolve_commit
from numpy_wheels.cifiles.records import CIConfig, CIFile, Job
from numpy_wheels.errors import SelectionError, UsageError
from numpy_wheels.model.matrix import identifier_from_multibuild, load_catalogue
from numpy_wheels.model.plan import Plan, make_plan


def job_identifier(values: Mapping[str, str], os_name: HostOS) -> str | None:
    """The build identifier a job's multibuild variables name (None without MB_PYTHON_VERSION
    and PLAT).

    >>> job_identifier({"MB_PYTHON_VERSION": "3.12", "PLAT": "arm64"}, "macos")
    'cp312-macosx_arm64'
    """
    if not values.get("MB_PYTHON_VERSION") or not values.get("PLAT"):
        return None
    return identifier_from_multibuild(
        python_version=values["MB_PYTHON_VERSION"],
        plat=values["PLAT"],
        os_name=os_name,
        libc=values.get("MB_ML_LIBC") or "manylinux",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class CIJob:
    ci_file: CIFile
    index: int
    job: Job
    os_name: HostOS
    identifier: str
    commit: ResolvedCommit
    variables: tuple[tuple[str, str, str], ...]  # (name, value, where), later ones win
    secure: tuple[str, ...]  # locations of encrypted values, not available locally
    plan: Plan

    def job_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` without CI markers, plus the job's variables and the mode marker."""
        env = {k: v for k, v in base.items() if k not in CI_MARKERS}
        env.update({name: value for name, value, _ in self.variables})
        if self.commit.mode == "daily":
            env.update([SCHEDULE_MARKER[self.ci_file.provider]])
        return env


def pick_job(ci_file: CIFile, wanted: str) -> tuple[int, Job]:
    """A job by index (``0``) or by name (exact, else a unique substring)."""
    jobs = ci_file.jobs
    if wanted.isdigit():
        index = int(wanted)
        if index >= len(jobs):
            msg = f"{ci_file.path.name} has {len(jobs)} jobs (0-{len(jobs) - 1}), not {index}"
            raise SelectionError(msg)
        return index, jobs[index]
    exact = [i for i, j in enumerate(jobs) if j.name == wanted]
    partial = [i for i, j in enumerate(jobs) if wanted in j.name]
    found = exact or partial
    if len(found) != 1:
        names = "\n  ".join(f"{i}: {j.name}" for i, j in enumerate(jobs))
        what = "matches no job" if not found else f"matches {len(found)} jobs"
        msg = f"{wanted!r} {what} of {ci_file.path.name}; its jobs:\n  {names}"
        raise SelectionError(msg)
    return found[0], jobs[found[0]]


def describe(config: CIConfig, service: Service, wanted: str, *, daily: bool) -> CIJob:
    """Job ``wanted`` of ``service``'s CI file, as a (scheduled when ``daily``) run sees it."""
    ci_file = config.by_provider(service)
    if ci_file is None:
        found = ", ".join(f.provider for f in config.files) or "none"
        msg = f"this repository has no {service} CI file (found: {found})"
        raise UsageError(msg)
    index, job = pick_job(ci_file, wanted)
    variables = [
        (v.name, v.value, str(v.location))
        for v in (*ci_file.global_env, *job.env)
        if v.name is not None and v.value is not None
    ]
    secure = tuple(str(v.location) for v in (*ci_file.global_env, *job.env) if v.value is None)
    os_name = job_os(ci_file.provider, job.os)
    identifier = job_identifier({name: value for name, value, _ in variables}, os_name)
    if identifier is None:
        msg = f"{job.location}: the job sets no MB_PYTHON_VERSION/PLAT, so no wheel to build"
        raise SelectionError(msg)
    return CIJob(
        ci_file=ci_file,
        index=index,
        job=job,
        os_name=os_name,
        identifier=identifier,
        # As that CI would run it: its own file's definition is the one shown.
        commit=resolve_commit(config, marker_env(ci_file.provider, daily=daily)),
        variables=tuple(variables),
        secure=secure,
        plan=make_plan(load_catalogue().find(identifier)),
    )
