"""One CI job as that CI would run it: its variables (global + job), OS, build identifier,
mode and BUILD_COMMIT, and the environment a local run of it gets.

``reproduce`` shows a job and builds it here; ``build`` on CI derives its identifier from the
same variables with :func:`job_identifier`, so a job means the same wheel in both places.
No wheels repository had this: debugging one leg meant editing triggers and deleting matrix
lines in a branch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence

from numpy_wheels.ci import (
    CI_MARKERS,
    RETIRED_RUNNERS,
    SCHEDULE_MARKER,
    HostOS,
    Service,
    job_os,
    marker_env,
    runner_env,
    running_service,
)
from numpy_wheels.cifiles.checks import OTHER_KNOWN, READ_NAMES, Finding, python_minor
from numpy_wheels.cifiles.commit import ResolvedCommit, resolve_commit, unused_commit
from numpy_wheels.cifiles.records import CIConfig, CIFile, EnvVar, Job, Location
from numpy_wheels.errors import SelectionError, UsageError
from numpy_wheels.model.choices import env_choice
from numpy_wheels.model.matrix import identifier_from_multibuild, load_catalogue
from numpy_wheels.model.plan import Plan, make_plan

#: AppVeyor/Azure Windows jobs of the multibuild era name the interpreter's bitness instead.
_PYTHON_ARCH = {"32": "i686", "x86": "i686", "64": "x86_64", "x64": "x86_64", "arm64": "arm64"}


def job_identifier(values: Mapping[str, str], os_name: HostOS) -> str | None:
    """The wheel a job's multibuild variables name: its identifier, ``+variant`` when the job
    sets BLAS_BACKEND (numpy-release's name for the macOS BLAS); None without a Python version
    and a platform: MB_PYTHON_VERSION + PLAT, or the AppVeyor/Azure convention of
    PYTHON_VERSION (``3.8.x``, ``2.7.11``) + PYTHON_ARCH (``32``/``x86``, ``64``/``x64``).

    >>> job_identifier({"MB_PYTHON_VERSION": "3.12", "PLAT": "arm64"}, "macos")
    'cp312-macosx_arm64'
    >>> job_identifier({"MB_PYTHON_VERSION": "pypy3.11", "PLAT": "arm64",
    ...                 "BLAS_BACKEND": "accelerate"}, "macos")
    'pp311-macosx_arm64+accelerate'
    >>> job_identifier({"PYTHON_VERSION": "3.8.x", "PYTHON_ARCH": "x86"}, "windows")
    'cp38-win32'
    >>> job_identifier({"MB_PYTHON_VERSION": "3.12"}, "linux")  # multibuild's default PLAT
    'cp312-manylinux_x86_64'
    """
    version = values.get("MB_PYTHON_VERSION") or values.get("PYTHON_VERSION")
    arch = env_choice(values, "PYTHON_ARCH", tuple(_PYTHON_ARCH), fold_case=True)
    plat = values.get("PLAT") or (_PYTHON_ARCH[arch] if arch else None)
    if plat is None and values.get("MB_PYTHON_VERSION") and os_name != "windows":
        # multibuild's default (common_utils.sh build_multilinux: ${PLAT:-x86_64}; the
        # macOS steps build x86_64 too): a job that names only its Python builds x86_64
        plat = "x86_64"
    if not version or not plat:
        return None
    identifier = identifier_from_multibuild(
        python_version=python_minor(version),
        plat=plat,
        os_name=os_name,
        libc=env_choice(values, "MB_ML_LIBC", ("manylinux", "musllinux")) or "manylinux",
    )
    variant = values.get("BLAS_BACKEND")
    if not variant:
        return identifier
    try:  # the platform's default variant is the plain identifier (cp313-macosx_arm64)
        return load_catalogue().find(f"{identifier}+{variant}").key
    except SelectionError:
        return f"{identifier}+{variant}"  # an unknown one is refused where it is built


# A value a CI service expands at run time ($VAR, ${VAR}, $(VAR), ${{ expr }}, %VAR%): it
# means nothing outside that CI, so it is never a local default.
_EXPANDED_BY_CI = re.compile(r"\$\{\{|\$\(|\$\{?[A-Za-z_]|%[A-Za-z_][A-Za-z0-9_]*%")
_CREDENTIAL = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|PRIVATE_KEY|USERNAME")


# multibuild's own placeholder for the architecture in DOCKER_IMAGE (``$plat``), replaced when
# the image is chosen (config.build.container_image): not a variable of the CI service.
_MB_PLACEHOLDER = re.compile(r"\$\{plat\}|\$plat(?![A-Za-z0-9_])")
_SHELL_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def _left_out(var: EnvVar) -> str | None:
    """Why a CI file's definition is not part of a local run's environment (None: it is)."""
    if var.name is None or var.value is None:
        return "encrypted: not available locally (the upload step only)"
    if var.problem is not None:
        return var.problem
    if _CREDENTIAL.search(var.name):
        return "a credential: the upload step only"
    if _EXPANDED_BY_CI.search(_MB_PLACEHOLDER.sub("", var.value)):
        return "computed by the service at run time (empty on push/schedule)"
    return None


def _expanded(var: EnvVar, known: Mapping[str, str], provider: str) -> EnvVar:
    """``var`` as Travis exports it: through bash, in order, so ``$NAME``/``${NAME}`` of a
    variable defined before it is that value (scipy-wheels:
    ``DOCKER_IMAGE=quay.io/pypa/manylinux2014_${PLAT}``); multibuild's ``$plat`` stays for
    the image choice, and an unknown reference stays (the definition is then left out)."""
    if provider != "travis" or var.value is None or "$" not in var.value:
        return var

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return match.group(0) if name == "plat" else known.get(name, match.group(0))

    return dataclasses.replace(var, value=_SHELL_REFERENCE.sub(value_of, var.value))


def _in_order(variables: Iterable[EnvVar], provider: str) -> dict[str, EnvVar]:
    """Name -> definition as the service exports them in order: a later definition of a name
    wins, one left out still hides an earlier one (``_left_out``), Travis expands references
    to the ones before (``_expanded``)."""
    out: dict[str, EnvVar] = {}
    for written in variables:
        if written.name is None:
            continue
        out.pop(written.name, None)
        known = {name: v.value for name, v in out.items() if v.value is not None}
        var = _expanded(written, known, provider)
        if _usable(var):
            out[written.name] = var
    return out


def _usable(var: EnvVar) -> bool:
    return _left_out(var) is None


def ci_globals(config: CIConfig, *, service: Service | None = None) -> dict[str, EnvVar]:
    """The global variables of the CI files, as a run's defaults: ``service``'s own file when
    given, else every file in discovery order with the first definition winning (lint warns
    where files disagree). Secrets, credentials and values only the CI can expand are left out.
    """
    files: Iterable[CIFile] = config.files
    if service is not None:
        own = config.by_provider(service)
        files = (own,) if own is not None else ()
    out: dict[str, EnvVar] = {}
    for ci_file in files:
        for name, var in _in_order(ci_file.global_env, ci_file.provider).items():
            out.setdefault(name, var)
    return out


def job_definitions(ci_file: CIFile, job: Job) -> dict[str, EnvVar]:
    """The CI file's part of a job's environment, as that service exports it: the file's
    globals, then the job's own variables (an Azure template's ``variables:``, then its matrix
    entry), a later definition of a name winning, as on CI (Azure: matrix over job over
    pipeline variables; GitHub: job ``env`` over workflow ``env``; Travis/AppVeyor: the job
    row over ``global``). Definitions a local run cannot use are left out (``_left_out``)."""
    return _in_order((*ci_file.global_env, *job.env), ci_file.provider)


def job_values(ci_file: CIFile, job: Job) -> dict[str, str]:
    """``job_definitions``' non-empty values: name -> value as written."""
    return {k: v.value for k, v in job_definitions(ci_file, job).items() if v.value}


#: Where a value that came from the process environment is said to come from.
FROM_PROCESS = "the process environment"


#: Names this tool reads (lint's list, and the Python/arch names of AppVeyor/Azure jobs):
#: set in the process, they are shown as part of a job's environment.
_READ = READ_NAMES | OTHER_KNOWN


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunEnvironment:
    """A run's environment (``values``), and where each value the CI files define or the
    process overrides comes from (``sources``: name -> ``file:line`` or FROM_PROCESS)."""

    values: dict[str, str]
    sources: dict[str, str]


def job_environment(
    env: Mapping[str, str],
    *,
    config: CIConfig | None = None,
    ci_file: CIFile | None = None,
    job: Job | None = None,
) -> RunEnvironment:
    """The one computation of a run's environment, for ``build``, ``reproduce`` and CI alike.

    Defaults from the CI files: a plain run (no ``job``) takes their globals (on CI the running
    service's own file, which it has already exported); a job being reproduced takes that
    job's definitions (``job_definitions``). The process environment ``env`` overrides them,
    exactly as on CI (for a reproduced job without the CI markers, so that the local run does
    not take itself for CI) — except BUILD_COMMIT: what is built is the CI files' commit,
    so that every job and every maintainer builds one commit (``commit.unused_commit`` says
    so; the README, Configuration).
    """
    if job is None:
        assert config is not None
        defaults = ci_globals(config, service=running_service(env))
        process = dict(env)
    else:
        assert ci_file is not None
        defaults = job_definitions(ci_file, job)
        process = {k: v for k, v in env.items() if k not in CI_MARKERS}
    values = {name: var.value for name, var in defaults.items() if var.value is not None}
    sources = {name: str(var.location) for name, var in defaults.items()}
    for name, value in process.items():
        if name == "BUILD_COMMIT" and name in values:
            continue
        if values.get(name) != value and (name in values or name in _READ):
            sources[name] = FROM_PROCESS
        values[name] = value
    return RunEnvironment(values=values, sources=sources)


def run_environment(
    env: Mapping[str, str],
    *,
    config: CIConfig | None = None,
    ci_file: CIFile | None = None,
    job: Job | None = None,
) -> dict[str, str]:
    """``job_environment``'s values: the environment a run gets."""
    return job_environment(env, config=config, ci_file=ci_file, job=job).values


def job_identifiers(config: CIConfig) -> list[tuple[str, CIFile, Job]]:
    """The identifier each CI job builds (its file's globals + its own variables), in file and
    job order; jobs without MB_PYTHON_VERSION/PLAT, or with a Python that is not CPython, are
    left out."""
    out = []
    for ci_file in config.files:
        for job in ci_file.jobs:
            values = job_values(ci_file, job)
            try:
                identifier = job_identifier(values, job_os(ci_file.provider, job.os))
            except SelectionError:
                continue
            if identifier is not None:
                out.append((identifier, ci_file, job))
    return out


def unbuildable_findings(config: CIConfig) -> list[Finding]:
    """A warning at each CI job whose wheel this tool cannot build (its Python or platform is
    not in resources/matrix.toml, numpy's catalogue), naming why: ``matrix`` lists it as not
    built and ``build``/``reproduce`` of that job exit 5 (issue 12 tryout: lint was silent)."""
    catalogue = load_catalogue()
    findings = []
    for identifier, ci_file, job in job_identifiers(config):
        why = catalogue.unbuildable_reason(identifier)
        if why is not None:
            findings.append(
                Finding(
                    kind="unbuildable",
                    message=f"{ci_file.provider} job {job.name!r} builds {identifier}, which "
                    f"this tool cannot build: {why}",
                    locations=(job.location,),
                    severity="warning",
                )
            )
    return findings


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
    # (name, value, where): the job's environment as reproduced (job_environment): the CI
    # file's definitions, and what the process environment overrides of them or sets of the
    # variables this tool reads
    variables: tuple[tuple[str, str, str], ...]
    secure: tuple[str, ...]  # locations of encrypted values, not available locally
    plan: Plan | None  # None: an identifier resources/matrix.toml does not have (e.g. cp36)
    runtime: tuple[str, ...] = ()  # "NAME (file:line): why" of definitions left out locally
    ci_env: tuple[tuple[str, str], ...] = ()  # what the job's runner sets (CI markers, OS)
    unused: str | None = None  # the warning for a BUILD_COMMIT the process sets in vain

    def ci_job_env(self) -> dict[str, str]:
        """What the job's build step sees on its runner: the runner's variables, the job's
        (as reproduced), and the schedule marker on a daily run (the input of ``build``'s
        option resolution, which takes it for the process environment on CI)."""
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
        """The runner the CI file names (GitHub ``runs-on``, Azure ``vmImage``, Travis
        ``os``) as written; the plan's (numpy's runner for the platform) only where the file
        leaves it to an expression evaluated at run time; else the service and the OS."""
        written = self.job.os
        if written and "${{" not in written:
            return (
                written
                if self.ci_file.provider == "github"
                else f"{self.ci_file.provider} {written}"
            )
        if self.ci_file.provider == "github" and self.plan is not None:
            return self.plan.runner
        return f"{self.ci_file.provider} {self.os_name}"

    def runner_notes(self) -> list[str]:
        """What to know about the runner the file names: retired by its service (the job no
        longer runs), or another than the one this tool's plan builds the wheel on."""
        written = self.job.os
        if not written or "${{" in written or self.ci_file.provider != "github":
            return []
        notes = []
        retired = RETIRED_RUNNERS.get(written.lower())
        what = f"the workflow says runs-on: {written}"
        if retired is not None:
            notes.append(
                f"{what} (retired by GitHub on {retired}): this job no longer runs on CI as "
                "written; change runs-on"
                + (
                    f" (the plan builds {self.identifier} on {self.plan.runner})"
                    if self.plan
                    else ""
                )
            )
        elif self.plan is not None and self.plan.runner != written:
            notes.append(
                f"{what}; this tool's plan builds {self.identifier} on {self.plan.runner} "
                "(`matrix --json` gives that runner); shown as the workflow says"
            )
        return notes

    def job_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """The local run's environment (``job_environment`` of the job, ``base`` the process
        environment), and the mode marker."""
        env = job_environment(base, ci_file=self.ci_file, job=self.job).values
        if self.commit.mode == "daily":
            env.update([SCHEDULE_MARKER[self.ci_file.provider]])
        return env


def pick_job(ci_file: CIFile, wanted: str) -> tuple[int, Job]:
    """A job by index (``0``) or by name (exact, else a unique substring)."""
    jobs = ci_file.jobs
    if wanted.isdigit():
        index = int(wanted)
        if index >= len(jobs):
            count = f"{len(jobs)} job" + ("s" if len(jobs) != 1 else "")
            msg = f"{ci_file.path.name} has {count} (0-{len(jobs) - 1}), not {index}"
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


def _names_a_wheel(ci_file: CIFile, job: Job) -> bool:
    """The job's variables name a wheel (the test ``describe`` applies to --job)."""
    values = job_values(ci_file, job)
    try:
        return job_identifier(values, job_os(ci_file.provider, job.os)) is not None
    except SelectionError:
        return True  # it names one, which is refused where it is built


def _wheel_jobs_hint(ci_file: CIFile) -> str:
    """The jobs of ``ci_file`` that build a wheel, for a --job that named one that does not
    (a helper job such as GitHub's "Build matrix", the sdist or the stage job)."""
    building = [f"{i}: {j.name}" for i, j in enumerate(ci_file.jobs) if _names_a_wheel(ci_file, j)]
    if not building:
        return f"No job of {ci_file.path.name} names a wheel (MB_PYTHON_VERSION and PLAT)."
    shown = ", ".join(building[:4]) + (f", … ({len(building)} in all)" if len(building) > 4 else "")
    return f"Jobs of {ci_file.path.name} that build a wheel: {shown}; pass one as --job."


def describe(
    config: CIConfig,
    service: Service,
    wanted: str,
    *,
    daily: bool,
    env: Mapping[str, str] | None = None,
) -> CIJob:
    """Job ``wanted`` of ``service``'s CI file, as a (scheduled when ``daily``) run sees it,
    with what the process environment ``env`` overrides (``job_environment``: the same
    computation ``build`` makes; the wheel it names follows from it)."""
    env = env or {}
    ci_file = config.by_provider(service)
    if ci_file is None:
        found = ", ".join(f.provider for f in config.files) or "none"
        msg = f"this repository has no {service} CI file (found: {found})"
        raise UsageError(msg)
    try:
        index, job = pick_job(ci_file, wanted)
    except SelectionError:
        # another workflow of the service (publish.yml beside wheels.yml) may have it
        others = [f for f in config.files if f.provider == service and f is not ci_file]
        for other in others:
            with contextlib.suppress(SelectionError):
                index, job = pick_job(other, wanted)
                ci_file = other
                break
        else:
            raise
    defined = [v for v in (*ci_file.global_env, *job.env) if v.name is not None]
    file_values = job_definitions(ci_file, job)
    kept = {v.location for v in file_values.values()}
    runtime = tuple(
        f"{v.name} ({v.location}): {why}"
        for v in defined
        if v.value is not None and v.location not in kept and (why := _left_out(v)) is not None
    )
    reproduced = job_environment(env, ci_file=ci_file, job=job)
    variables = [
        (name, reproduced.values[name], _source(name, reproduced.sources[name], file_values))
        for name in reproduced.sources
    ]
    secure = tuple(str(v.location) for v in (*ci_file.global_env, *job.env) if v.value is None)
    os_name = job_os(ci_file.provider, job.os)
    identifier = job_identifier({name: value for name, value, _ in variables}, os_name)
    if identifier is None:
        msg = (
            f"{job.location}: job {index} ({job.name}) builds no wheel: it sets no "
            "MB_PYTHON_VERSION/PLAT (or PYTHON_VERSION/PYTHON_ARCH)"
        )
        raise SelectionError(msg, hint=_wheel_jobs_hint(ci_file))
    # As that CI would run it: its own definition is the one shown (an Azure job's is in its
    # template; the files agree, or resolve_commit refuses).
    commit = resolve_commit(config, marker_env(ci_file.provider, daily=daily))
    own = file_values.get(commit.variable)
    if own is not None and own.value is not None and own.value.strip() == commit.commit:
        commit = dataclasses.replace(commit, location=own.location)
    return CIJob(
        ci_file=ci_file,
        index=index,
        job=job,
        os_name=os_name,
        identifier=identifier,
        commit=commit,
        variables=tuple(variables),
        secure=secure,
        plan=_plan_or_none(identifier),
        runtime=runtime,
        ci_env=tuple(runner_env(ci_file.provider, os_name).items()),
        unused=unused_commit(env, commit),
    )


def _source(name: str, where: str, file_values: Mapping[str, EnvVar]) -> str:
    """Where a reproduced job's value comes from; a process override names what it hides."""
    hidden = file_values.get(name)
    if where != FROM_PROCESS or hidden is None:
        return where
    return f"{FROM_PROCESS} (over {hidden.value!r} at {hidden.location})"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Shares:
    """``[tool.numpy-wheels.ci]`` resolved over the selection: who builds which wheel."""

    table: Location  # where the table is written (pyproject.toml)
    wheels: Mapping[str, Sequence[str]]  # service -> the keys of the wheels it builds
    unassigned: tuple[str, ...]  # wheels of the selection no service's selectors match
    idle: tuple[tuple[str, str], ...]  # (service, selector) pairs that match no wheel


def share_findings(config: CIConfig, shares: Shares) -> list[Finding]:
    """Wheels of the manifest nobody builds (errors): matched by no share, or given to a
    service that has no CI file (deleted or renamed); selectors matching nothing (warnings)."""
    where = (shares.table,)
    findings = []
    if shares.unassigned:
        findings.append(
            Finding(
                kind="coverage",
                message=f"no CI service builds {len(shares.unassigned)} wheel(s) of the "
                f"selection: {_some(shares.unassigned)} (no [tool.numpy-wheels.ci] selector "
                "matches them); give them to a service or skip them",
                locations=where,
            )
        )
    present = {f.provider for f in config.files}
    for service, keys in shares.wheels.items():
        if keys and service not in present:
            findings.append(
                Finding(
                    kind="coverage",
                    message=f"[tool.numpy-wheels.ci] gives {service} {len(keys)} wheel(s) "
                    f"({_some(keys)}), but there is no {service} CI file: nobody builds them",
                    locations=where,
                )
            )
    findings.extend(
        Finding(
            kind="coverage",
            message=f"ci.{service} selector {selector!r} matches no wheel of the selection",
            locations=where,
            severity="warning",
        )
        for service, selector in shares.idle
    )
    return findings


def _some(keys: Sequence[str], shown: int = 4) -> str:
    """The first few keys, and how many more.

    >>> _some(["a", "b", "c"], 2)
    'a, b and 1 more'
    """
    more = f" and {len(keys) - shown} more" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


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
                values = job_values(ci_file, job)
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


def _plan_or_none(identifier: str) -> Plan | None:
    """The plan of a wheel this tool builds; None for a CI job's older one (cp27, cp36)."""
    try:
        build_id = load_catalogue().find(identifier)
    except SelectionError:
        return None
    return make_plan(build_id)
