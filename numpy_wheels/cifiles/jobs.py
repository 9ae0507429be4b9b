"""One CI job as that CI would run it: its variables (global + job), OS, build identifier,
mode and BUILD_COMMIT, and the environment a local run of it gets.

``reproduce`` shows a job and builds it here; ``build`` on CI derives its identifier from the
same variables with :func:`job_identifier`, so a job means the same wheel in both places.
No wheels repository had this: debugging one leg meant editing triggers and deleting matrix
lines in a branch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from numpy_wheels.ci import (
    CI_MARKERS,
    SCHEDULE_MARKER,
    HostOS,
    Service,
    job_os,
    marker_env,
    runner_env,
)
from numpy_wheels.cifiles.checks import Finding
from numpy_wheels.cifiles.commit import ResolvedCommit, resolve_commit
from numpy_wheels.cifiles.records import CIConfig, CIFile, Job, Location
from numpy_wheels.errors import SelectionError, UsageError
from numpy_wheels.model.matrix import identifier_from_multibuild, load_catalogue
from numpy_wheels.model.plan import Plan, make_plan


def job_identifier(values: Mapping[str, str], os_name: HostOS) -> str | None:
    """The wheel a job's multibuild variables name: its identifier, ``+variant`` when the job
    sets BLAS_BACKEND (numpy-release's name for the macOS BLAS); None without
    MB_PYTHON_VERSION and PLAT.

    >>> job_identifier({"MB_PYTHON_VERSION": "3.12", "PLAT": "arm64"}, "macos")
    'cp312-macosx_arm64'
    >>> job_identifier({"MB_PYTHON_VERSION": "pypy3.11", "PLAT": "arm64",
    ...                 "BLAS_BACKEND": "accelerate"}, "macos")
    'pp311-macosx_arm64+accelerate'
    """
    if not values.get("MB_PYTHON_VERSION") or not values.get("PLAT"):
        return None
    identifier = identifier_from_multibuild(
        python_version=values["MB_PYTHON_VERSION"],
        plat=values["PLAT"],
        os_name=os_name,
        libc=values.get("MB_ML_LIBC") or "manylinux",
    )
    variant = values.get("BLAS_BACKEND")
    if not variant:
        return identifier
    try:  # the platform's default variant is the plain identifier (cp313-macosx_arm64)
        return load_catalogue().find(f"{identifier}+{variant}").key
    except SelectionError:
        return f"{identifier}+{variant}"  # an unknown one is refused where it is built


#: What every build job of the shipped CI files runs (tests/unit/test_ci_jobs.py checks it).
CI_BUILD_COMMAND = ("python", "-m", "numpy_wheels", "build")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CIJob:
    ci_file: CIFile
    index: int
    job: Job
    os_name: HostOS
    identifier: str  # the wheel's key: identifier, +variant when the job sets BLAS_BACKEND
    commit: ResolvedCommit
    variables: tuple[tuple[str, str, str], ...]  # (name, value, where), later ones win
    secure: tuple[str, ...]  # locations of encrypted values, not available locally
    plan: Plan
    runtime: tuple[str, ...] = ()  # variables the service computes when it runs (${{ … }})
    ci_env: tuple[tuple[str, str], ...] = ()  # what the job's runner sets (CI markers, OS)

    def ci_job_env(self) -> dict[str, str]:
        """What the job's build step sees on its runner: the runner's variables, the file's,
        and the schedule marker on a daily run (the input of ``build``'s option resolution)."""
        env = dict(self.ci_env)
        env.update({name: value for name, value, _ in self.variables})
        if self.commit.mode == "daily":
            env.update([SCHEDULE_MARKER[self.ci_file.provider]])
        return env

    def ci_commands(self) -> list[list[str]]:
        """The job's commands as its CI file writes them (GitHub stages in a job of its own)."""
        upload = ["python", "-m", "numpy_wheels", "upload", "--local-folder", "wheelhouse"]
        return [list(CI_BUILD_COMMAND)] + ([] if self.ci_file.provider == "github" else [upload])

    def runner(self) -> str:
        """GitHub's runner label (from the plan: numpy's runner for the platform), else the
        service and the job's image label."""
        if self.ci_file.provider == "github":
            return self.plan.runner
        return f"{self.ci_file.provider} {self.job.os or self.os_name}"

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
    defined = [v for v in (*ci_file.global_env, *job.env) if v.name is not None]
    # ${{ inputs.… }} and the like: empty on a push or scheduled run, which is what is shown.
    runtime = tuple(f"{v.name} ({v.location})" for v in defined if "${{" in (v.value or ""))
    variables = [
        (v.name, v.value, str(v.location))
        for v in defined
        if v.name is not None and v.value is not None and "${{" not in v.value
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
        runtime=runtime,
        ci_env=tuple(runner_env(ci_file.provider, os_name).items()),
    )


def coverage(config: CIConfig, shares: Mapping[str, Sequence[str]]) -> list[Finding]:
    """Each CI service's jobs build exactly its share of the wheels (``shares``: service ->
    wheel keys, from [tool.numpy-wheels.ci]), each wheel in one job. A service's files are
    taken together (a GitHub publish workflow builds nothing and is not missing anything)."""
    catalogue = load_catalogue()

    def canonical(key: str) -> str:  # cp313-macosx_arm64+openblas is cp313-macosx_arm64
        try:
            return catalogue.find(key).key
        except SelectionError:
            return key

    findings = []
    for service, expected in shares.items():
        files = [f for f in config.files if f.provider == service]
        if not files:
            continue
        built: dict[str, list[Job]] = {}
        for ci_file in files:
            for job in ci_file.jobs:
                values = {
                    v.name: v.value for v in (*ci_file.global_env, *job.env) if v.name and v.value
                }
                try:
                    key = job_identifier(values, job_os(ci_file.provider, job.os))
                except SelectionError as exc:
                    findings.append(
                        Finding(kind="coverage", message=str(exc), locations=(job.location,))
                    )
                    continue
                if key is not None:
                    built.setdefault(canonical(key), []).append(job)
        names = ", ".join(f.path.name for f in files)
        for key in sorted(set(expected) - set(built)):
            findings.append(
                Finding(
                    kind="coverage",
                    message=f"{names}: no job builds {key}, which [tool.numpy-wheels.ci] "
                    f"gives {service}",
                    locations=tuple(Location(path=f.path, line=1) for f in files),
                )
            )
        for key, jobs in sorted(built.items()):
            if key not in expected:
                owner = next((s for s, keys in shares.items() if key in keys), None)
                why = f"{owner} builds it" if owner else "the selection does not include it"
                message = f"{names} builds {key}, but {why} ([tool.numpy-wheels])"
            elif len(jobs) > 1:
                message = f"{names} builds {key} in {len(jobs)} jobs"
            else:
                continue
            findings.append(
                Finding(kind="coverage", message=message, locations=tuple(j.location for j in jobs))
            )
    return findings
