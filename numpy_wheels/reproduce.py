"""Reproduce one CI job locally: its exact environment (global + job variables, mode,
BUILD_COMMIT), shown, then its steps — run on this machine for Linux jobs, printed as the
plan and commands for macOS and Windows jobs (they need their own runners).

No wheels repository had this: debugging one leg meant editing triggers and deleting matrix
lines in a branch.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
from collections.abc import Mapping
from typing import Literal

from numpy_wheels.cifiles.checks import ResolvedCommit, resolve_commit
from numpy_wheels.cifiles.readers import read_config
from numpy_wheels.cifiles.records import CIConfig, CIFile, Job
from numpy_wheels.errors import SelectionError, UsageError
from numpy_wheels.log import format_table, log
from numpy_wheels.model.matrix import OSName, identifier_from_multibuild, load_catalogue
from numpy_wheels.model.plan import Plan, make_plan

# What a scheduled run of each CI looks like (detect_mode reads these).
SCHEDULE_MARKER = {
    "travis": ("TRAVIS_EVENT_TYPE", "cron"),
    "appveyor": ("APPVEYOR_SCHEDULED_BUILD", "True"),
    "github": ("GITHUB_EVENT_NAME", "schedule"),
    "azure": ("BUILD_REASON", "Schedule"),
}
RUNNING_MARKER = {
    "travis": "TRAVIS",
    "appveyor": "APPVEYOR",
    "github": "GITHUB_ACTIONS",
    "azure": "TF_BUILD",
}
# Variables that would make the local run believe it is on CI (backend choice, log folding).
CI_MARKERS = ("CI", "TRAVIS", "APPVEYOR", "GITHUB_ACTIONS", "TF_BUILD", "BUILD_REASON")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Reproduction:
    ci_file: CIFile
    index: int
    job: Job
    os_name: OSName
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
            name, value = SCHEDULE_MARKER[self.ci_file.provider]
            env[name] = value
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


def job_os(ci_file: CIFile, job: Job) -> OSName:
    """The job's OS from ``os:``/``runs-on:`` (AppVeyor: Windows)."""
    if ci_file.provider == "appveyor":
        return "windows"
    label = (job.os or "linux").lower()
    if label.startswith(("osx", "macos")):
        return "macos"
    if label.startswith("windows"):
        return "windows"
    return "linux"


def describe(config: CIConfig, provider: str, wanted: str, *, daily: bool) -> Reproduction:
    ci_file = config.by_provider(provider)  # type: ignore[arg-type]
    if ci_file is None:
        found = ", ".join(f.provider for f in config.files) or "none"
        msg = f"this repository has no {provider} CI file (found: {found})"
        raise UsageError(msg)
    index, job = pick_job(ci_file, wanted)
    variables = [
        (v.name, v.value, str(v.location))
        for v in (*ci_file.global_env, *job.env)
        if v.name is not None and v.value is not None
    ]
    secure = tuple(str(v.location) for v in (*ci_file.global_env, *job.env) if v.value is None)
    values = {name: value for name, value, _ in variables}
    if "MB_PYTHON_VERSION" not in values or "PLAT" not in values:
        msg = f"{job.location}: the job sets no MB_PYTHON_VERSION/PLAT, so no wheel to build"
        raise SelectionError(msg)
    os_name = job_os(ci_file, job)
    identifier = identifier_from_multibuild(
        python_version=values["MB_PYTHON_VERSION"],
        plat=values["PLAT"],
        os_name=os_name,
        libc=values.get("MB_ML_LIBC") or "manylinux",
    )
    # As that CI would run it: its own file's definition is the one shown.
    mode_env = {RUNNING_MARKER[ci_file.provider]: "true"}
    if daily:
        mode_env.update([SCHEDULE_MARKER[ci_file.provider]])
    return Reproduction(
        ci_file=ci_file,
        index=index,
        job=job,
        os_name=os_name,
        identifier=identifier,
        commit=resolve_commit(config, mode_env),
        variables=tuple(variables),
        secure=secure,
        plan=make_plan(load_catalogue().find(identifier)),
    )


def show(rep: Reproduction) -> None:
    log.write(
        f"job {rep.index} of {rep.ci_file.path.name} ({rep.job.location}): {rep.job.name}\n"
        f"identifier {rep.identifier} on {rep.os_name}; {rep.commit.mode} mode builds "
        f"{rep.commit.variable}={rep.commit.commit} ({rep.commit.location})"
    )
    log.write(format_table(["variable", "value", "from"], [list(v) for v in rep.variables]))
    for where in rep.secure:
        log.write(f"encrypted value at {where}: not available locally (upload step only)")


def commands(rep: Reproduction, backend: str) -> list[list[str]]:
    build = ["python", "-m", "numpy_wheels", "build", "--backend", backend]
    return [
        [*build, "--only", rep.identifier],
        ["python", "-m", "numpy_wheels", "upload", "--local-folder", "wheelhouse"],
    ]


def reproduce_job(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """The ``reproduce`` command: show the job, then run or print its steps."""
    from numpy_wheels.__main__ import main
    from numpy_wheels.commands import _emit_json, _root

    root = _root(args)
    rep = describe(read_config(root), args.ci, args.job, daily=args.daily)
    if args.json:
        _emit_json(
            {
                "ci_file": str(rep.ci_file.path),
                "job": rep.index,
                "name": rep.job.name,
                "identifier": rep.identifier,
                "os": rep.os_name,
                "mode": rep.commit.mode,
                "commit": rep.commit.commit,
                "variables": {name: value for name, value, _ in rep.variables},
                "plan": rep.plan.as_json(),
            }
        )
    show(rep)
    native = rep.os_name == "linux"
    backend: Literal["host", "cibuildwheel"] = args.backend or (
        "host" if native else "cibuildwheel"
    )
    steps = commands(rep, backend)
    if not native or args.dry_run:
        if not native:
            log.write(f"{rep.os_name} job: not run here; on its runner ({rep.plan.runner}):")
            log.write(format_table(["field", "value"], [
                ["repair", shlex.join(rep.plan.repair or ["none"])],
                ["environment", " ".join(f"{k}={v}" for k, v in rep.plan.environment) or "-"],
                ["deployment target", rep.plan.deployment_target or "-"],
            ]))  # fmt: skip
        for step in steps:
            log.write(f"  {shlex.join(step)}")
        log.write("  (the upload step needs the CI's secrets and is never run locally)")
        return 0
    passthrough = [*(["--source", args.source] if args.source else [])]
    passthrough += ["--no-test"] if args.no_test else []
    log.write(f"running: {shlex.join([*steps[0], *passthrough])}")
    log.write("(the upload step needs the CI's secrets and is not run locally)")
    build_args = ["--root", str(root), *steps[0][3:], *passthrough]
    return main(build_args, env=rep.job_env(env))
