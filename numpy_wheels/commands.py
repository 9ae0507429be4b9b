"""Sub-command handlers: each turns parsed arguments into options and calls one domain
function; output formatting lives here, domain modules return data."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from numpy_wheels.errors import ConfigError, FatalError, LintError, SelectionError, UsageError
from numpy_wheels.files import as_version, megabytes, shown
from numpy_wheels.log import format_table, log

if TYPE_CHECKING:  # the domain modules are imported on use (CLI start-up time)
    from numpy_wheels.cifiles.checks import Finding
    from numpy_wheels.cifiles.jobs import CIJob
    from numpy_wheels.cifiles.records import CIConfig
    from numpy_wheels.config.build import BuildOptions, BuildRequest
    from numpy_wheels.config.release import Target
    from numpy_wheels.model.choices import Backend
    from numpy_wheels.model.plan import Plan
    from numpy_wheels.release.listing import Remote
    from numpy_wheels.release.release import Released, ReleaseOptions
    from numpy_wheels.staging.stage import Staged
    from numpy_wheels.staging.store import Store


def _emit_json(payload: Any) -> None:
    log.output(json.dumps(payload, indent=2, default=str))


def _root(args: argparse.Namespace) -> Path:
    """--root, which must be a directory: a missing one is named (it was read as an empty
    repository: `matrix` listed the whole catalogue, `lint` said "no CI files")."""
    root = Path(args.root)
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a directory"
        msg = f"--root {args.root} {what} (the wheels repository: the directory of its CI files)"
        raise UsageError(msg)
    return root.resolve()


def cmd_commit(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from numpy_wheels.cifiles.commit import resolve_commit
    from numpy_wheels.config.build import read_ci_files

    resolved = resolve_commit(read_ci_files(_root(args)), env)
    if args.json:
        _emit_json(
            {
                "commit": resolved.commit,
                "mode": resolved.mode,
                "variable": resolved.variable,
                "file": str(resolved.location.path),
                "line": resolved.location.line,
                "reason": resolved.reason,
            }
        )
    else:
        log.write(resolved.commit)
        log.write(
            f"  from {resolved.variable} at {resolved.location}; "
            f"mode {resolved.mode} ({resolved.reason})"
        )
    return 0


def _hook_findings(root: Path, config: CIConfig, env: Mapping[str, str]) -> list[Finding]:
    """What lint says about the hook files CONFIG_PATH / ENV_VARS_PATH name (as the build
    resolves them: the process environment over the CI files' globals)."""
    from numpy_wheels.build.hooks import Hooks, hook_file_findings, sourced_helper_findings
    from numpy_wheels.cifiles.jobs import run_environment
    from numpy_wheels.config.build import hook_paths

    config_path, env_vars_path = hook_paths(root, run_environment(env, config=config))
    hooks = Hooks(config_path=config_path, env_vars_path=env_vars_path, root=root)
    return hook_file_findings(hooks) + sourced_helper_findings(hooks)


def cmd_lint(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from numpy_wheels.cifiles.checks import hints, lint
    from numpy_wheels.cifiles.jobs import coverage, share_findings, unbuildable_findings
    from numpy_wheels.config.build import read_ci_files, read_project_config, resolve_shares

    root = _root(args)
    project = read_project_config(root)
    config = read_ci_files(root, project)
    shares = resolve_shares(root, project)
    findings = lint(config, check_pythons=shares is None)
    if shares is not None:
        findings += share_findings(config, shares) + coverage(config, shares.wheels)
    findings += _hook_findings(root, config, env)
    findings += unbuildable_findings(config)
    untested = _untested_platforms(root, config, env) if args.require_portability_test else []
    if args.json:
        _emit_json(
            [
                {
                    "kind": f.kind,
                    "severity": f.severity,
                    "message": f.message,
                    "locations": [str(loc) for loc in f.locations],
                }
                for f in findings
            ]
            + [
                {"kind": "portability", "severity": "error", "message": m, "locations": []}
                for m in untested
            ]
        )
    errors = [f for f in findings if f.severity == "error"]
    for finding in findings:
        if finding.severity == "error":
            log.error(f"{finding} [{finding.kind}]")
        else:
            log.warning(f"{finding} [{finding.kind}]")
    for message in untested:
        log.error(f"{message} [portability]")
    if errors or untested:
        msg = f"{len(errors) + len(untested)} problem(s) in {len(config.files)} CI file(s)"
        # each kind of finding its own advice, once (a quoting problem is not fixed by bump)
        advice = [h for h in (hints(errors), PORTABILITY_HINT if untested else "") if h]
        raise LintError(msg, hint="\nhint: ".join(advice))
    if not args.json:
        count = len(config.files)
        log.write(
            f"{count} CI file{' agrees' if count == 1 else 's agree'}: "
            + ", ".join(str(f.path.relative_to(config.root)) for f in config.files)
        )
    return 0


PORTABILITY_HINT = (
    "Name a test image for each Linux platform (DOCKER_TEST_IMAGE, or "
    "[tool.numpy-wheels.test-images] in pyproject.toml)."
)


def _untested_platforms(root: Path, config: Any, env: Mapping[str, str]) -> list[str]:
    """Linux identifiers of the project's selection that name no test image: not in
    ``[tool.numpy-wheels.test-images]`` and no ``DOCKER_TEST_IMAGE`` in the environment or
    in any CI file (global or job variable)."""
    from numpy_wheels.config.build import portability_images, read_project_config
    from numpy_wheels.model.matrix import load_catalogue, select

    project = read_project_config(root)
    declared = dict(env)
    if not declared.get("DOCKER_TEST_IMAGE"):
        for ci_file in config.files:
            for var in (*ci_file.global_env, *(v for job in ci_file.jobs for v in job.env)):
                if var.name == "DOCKER_TEST_IMAGE" and var.value:
                    declared["DOCKER_TEST_IMAGE"] = var.value
    ids = select(load_catalogue(), build=project.build, skip=project.skip)
    return [
        f"{b.identifier}: no test image for the portability test (set DOCKER_TEST_IMAGE or "
        f"[tool.numpy-wheels.test-images] {b.platform.name!r} in pyproject.toml)"
        for b in ids
        if b.platform.os == "linux" and not portability_images(project, declared, b)
    ]


def cmd_bump(args: argparse.Namespace, env: Mapping[str, str]) -> int:  # noqa: ARG001
    from numpy_wheels.cifiles.bump import apply, plan_bump
    from numpy_wheels.config.build import read_ci_files

    edits = plan_bump(read_ci_files(_root(args)), args.ref, daily=args.daily, force=args.force)
    if not edits:
        variable = "the daily commit" if args.daily else "BUILD_COMMIT"
        log.write(f"nothing changed: every CI file already sets {variable} to {args.ref}")
        return 0
    if not args.dry_run:
        apply(edits)  # first: a failure (nothing changed) is not printed after a diff
    for edit in edits:
        log.write(edit.diff().rstrip("\n"))
    if args.dry_run:
        log.write(f"dry run: {len(edits)} file(s) would change")
    else:
        log.write(f"{len(edits)} file(s) changed: " + ", ".join(e.path.name for e in edits))
    return 0


def cmd_matrix(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from numpy_wheels.config.build import project_name, read_project_config
    from numpy_wheels.config.selection import wheels_selection
    from numpy_wheels.model.matrix import assign, manifest
    from numpy_wheels.model.plan import matrix_rows

    root = _root(args)
    project = read_project_config(root)
    chosen = wheels_selection(
        root, env, build=args.build or (), skip=args.skip or (), only=args.only
    )
    ids = chosen.ids
    if args.ci:
        ids = assign(ids, project.ci).get(args.ci, ()) if project.ci else ids
        if not ids:
            msg = f"[tool.numpy-wheels.ci] gives {args.ci} no wheel of this selection"
            raise SelectionError(msg)
    if args.wheels:
        name = project_name(root, env)
        names = manifest(ids, project=name, version=args.wheels, sdist=project.sdist)
        if args.json:
            _emit_json({"project": name, "version": args.wheels, "wheels": names})
        else:
            for line in names:
                log.write(line)
        return 0
    if args.json:
        # unbuildable: CI jobs' identifiers resources/matrix.toml does not have (not built)
        rows = matrix_rows(ids, openblas=project.openblas)
        _emit_json({"include": rows, "unbuildable": list(chosen.unbuildable)})
    else:
        for b in ids:
            log.write(b.key)
        for identifier in chosen.unbuildable:
            log.write(f"{identifier}  (a CI job's; not in resources/matrix.toml, not built)")
    return 0


def _store_args(args: argparse.Namespace, *, timeout: float) -> Any:
    from numpy_wheels.config.staging import StoreArgs

    return StoreArgs(
        container=args.container,
        provider=args.provider_name,
        username=args.username,
        secret=args.secret,
        region=args.region,
        auth_url=args.auth_url,
        auth_version=args.auth_version,
        storage_url=args.storage_url,
        project=args.project_name,
        endpoint_url=args.endpoint_url,
        local_root=Path(args.local_root).resolve() if args.local_root else None,
        public_url=args.public_url,
        public=not args.no_enable_cdn,
        timeout=timeout,
    )


def _project_selection(root: Path, env: Mapping[str, str]) -> tuple[str, Any]:
    """The project's name and the wheels its release holds: what ``matrix --wheels`` lists
    (one function, config.selection.wheels_selection)."""
    from numpy_wheels.config.build import project_name
    from numpy_wheels.config.selection import wheels_selection

    return project_name(root, env), wheels_selection(root, env).ids


def cmd_plan(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    import shlex

    from numpy_wheels.config.build import project_name, read_project_config
    from numpy_wheels.config.selection import run_defaults
    from numpy_wheels.model.matrix import load_catalogue, with_multibuild
    from numpy_wheels.model.plan import make_plan

    key = args.identifier
    base, plus, written = key.partition("+")
    if args.variant and plus and written != args.variant:
        msg = (
            f"{key} names the {written} variant, --variant {args.variant} another: give one "
            f"({base}+{args.variant}, or {key} without --variant)"
        )
        raise UsageError(msg)
    if args.variant:
        key = f"{base}+{args.variant}"
    root = _root(args)
    # The project's configuration decides numpy's BLAS and test (issue 12, point 3).
    project = project_name(root, env)
    config = read_project_config(root)
    # MB_ML_VER / MB_PYTHON_OSX_VER as a plain `build` takes them: the CI files' globals
    # under the process environment (one computation, cifiles.jobs.run_environment)
    build_id = with_multibuild(load_catalogue().find(key), run_defaults(root, env))
    plan = make_plan(build_id, openblas=config.openblas, project=project)
    if args.json:
        _emit_json(plan.as_json())
        return 0
    rows = [
        ["runner", plan.runner],
        ["wheel platform", plan.wheel_platform],
        ["BLAS", plan.blas_package or ("Accelerate" if plan.variant == "accelerate" else "none")],
        ["ILP64", "yes" if plan.ilp64 else "no"],
        ["deployment target", plan.deployment_target or "-"],
        ["archs", ", ".join(plan.archs)],
        ["meson setup args", " ".join(plan.setup_args) or "-"],
        ["environment", " ".join(f"{k}={v}" for k, v in plan.environment) or "-"],
        *(["build then", shlex.join(step)] for step in plan.build),
        ["repair", shlex.join(plan.repair) if plan.repair else "none (nothing to vendor)"],
        ["test", shlex.join(plan.test) + ("" if plan.testable else "  (skipped)")],
        *(["note", note] for note in plan.notes),
    ]
    log.write(f"{plan.identifier} ({plan.os} {plan.arch}, {plan.variant}) of {project}")
    log.write(format_table(["field", "value"], rows))
    return 0


def cmd_reproduce(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Show one CI job as its runner resolves it, then build it here (Linux jobs)."""
    from numpy_wheels.cifiles.jobs import describe
    from numpy_wheels.config.build import BuildRequest, read_ci_files

    root = _root(args)
    config = read_ci_files(root)
    # The process environment overrides the job's values as it does for `build` (one
    # computation, cifiles.jobs.job_environment): what is shown is what would run here.
    job = describe(config, args.ci, args.job, daily=args.daily, env=env)
    on_ci, stopped = _resolve_on_ci(job, root, config)
    # The plan as the project's configuration makes it (job.plan is numpy's, for the runner)
    plan = None if on_ci is None else _options_plan(on_ci)
    if args.json:
        _emit_json(_job_json(job, on_ci, plan, stopped))
    _show_job(job, on_ci, plan, stopped)
    if job.plan is None and not args.dry_run:
        # as `build --only` of it: a job of a wheel this tool cannot build is not reproduced
        msg = f"{job.identifier}: this tool cannot build it: {_unbuildable(job.identifier)}"
        raise SelectionError(msg, hint="`lint` names every such job; --dry-run shows the job.")
    native = job.os_name == "linux"
    backend: Backend = args.backend or "host"
    steps = _job_commands(job.identifier, backend)
    if not native or args.dry_run:
        if not native:
            log.write(f"{job.os_name} job: not run here (it needs its {job.runner()} runner)")
        log.write("(the upload step needs the CI's secrets and is never run locally)")
        return 0
    passthrough = [*(["--source", args.source] if args.source else [])]
    passthrough += ["--no-test"] if args.no_test else []
    log.write(f"running here: {shlex.join([*steps[0], *passthrough])}")
    log.write("(the upload step needs the CI's secrets and is not run locally)")
    job_env = job.job_env(env)
    # The build runs as in the job: its CI detection (none: markers are stripped).
    log.configure(env=job_env, stream=sys.stderr if args.json else None)
    request = BuildRequest(
        root=root,
        only=job.identifier,
        backend=backend,
        source=args.source,
        run_tests=not args.no_test,
    )
    return _build(request, job_env, emit_json=False)


_HOST_PLATFORM = {"linux": "linux", "macos": "darwin", "windows": "win32"}


def _options_plan(options: BuildOptions) -> Plan:
    from numpy_wheels.model.plan import make_plan

    (build_id,) = options.identifiers
    return make_plan(build_id, openblas=options.openblas, project=options.project_name)


def _resolve_on_ci(
    job: CIJob, root: Path, config: Any
) -> tuple[BuildOptions | None, FatalError | None]:
    """What `build` resolves on the job's runner: the same function with the runner's
    variables (the services' Linux runners have a container engine; Travis: services:
    [docker]). A job of a wheel this tool no longer builds (cp27, cp36): None, no plan. A
    job whose `build` would stop there (a configuration or selection error: an AppVeyor or
    Azure job that sets no REPO_DIR) is shown with that error, not refused: the job exists
    and that is what it would do."""
    from numpy_wheels.config.build import BuildRequest, resolve_build_options
    from numpy_wheels.errors import LintError, SelectionError

    if job.plan is None:
        return None, None
    try:
        return resolve_build_options(
            BuildRequest(root=root),
            env=job.ci_job_env(),
            engine_available=job.os_name == "linux",
            host_platform=_HOST_PLATFORM[job.os_name],
            ci_config=config,
        ), None
    except (ConfigError, LintError, SelectionError) as exc:
        return None, exc


def _job_json(
    job: CIJob,
    on_ci: BuildOptions | None,
    plan: Plan | None,
    stopped: FatalError | None = None,
) -> dict[str, Any]:
    if on_ci is None or plan is None:
        return {
            "ci_file": str(job.ci_file.path),
            "job": job.index,
            "name": job.job.name,
            "identifier": job.identifier,
            "os": job.os_name,
            "mode": job.commit.mode,
            "commit": job.commit.commit,
            "variables": {name: value for name, value, _ in job.variables},
            "ci": {
                "runner": job.runner(),
                "runner_notes": job.runner_notes(),
                "env": job.ci_job_env(),
                "commands": [shlex.join(c) for c in job.ci_commands()],
                "error": _error_json(stopped),
            },
            # None: not in resources/matrix.toml (this tool does not build it), or `build`
            # would stop on the job's runner ("ci"."error")
            "plan": None,
            "unbuildable": None if job.plan is not None else _unbuildable(job.identifier),
        }
    (build_id,) = on_ci.identifiers
    return {
        "ci_file": str(job.ci_file.path),
        "job": job.index,
        "name": job.job.name,
        "identifier": build_id.identifier,
        "key": build_id.key,
        "variant": build_id.variant,
        "os": job.os_name,
        "mode": job.commit.mode,
        "commit": job.commit.commit,
        "variables": {name: value for name, value, _ in job.variables},
        "ci": {
            "runner": job.runner(),
            "runner_notes": job.runner_notes(),
            "env": job.ci_job_env(),
            "commands": [shlex.join(c) for c in job.ci_commands()],
            "file_runs_tool": job.ci_file.runs_tool,  # False: the commands are this tool's
            "backend": on_ci.backend,
            "backend_reason": on_ci.backend_reason,
        },
        "plan": plan.as_json(),
    }


def _show_job(
    job: CIJob,
    on_ci: BuildOptions | None,
    plan: Plan | None,
    stopped: FatalError | None = None,
) -> None:
    from numpy_wheels.cifiles.jobs import FROM_PROCESS

    log.write(
        f"job {job.index} of {job.ci_file.path.name} ({job.job.location}): {job.job.name}\n"
        f"builds {job.identifier} on {job.os_name}; {job.commit.mode} mode builds "
        f"{job.commit.variable}={job.commit.commit} ({job.commit.location})"
    )
    rows = [list(v) for v in job.variables]
    rows += [[k, v, f"set by the {job.ci_file.provider} runner"] for k, v in job.ci_env]
    for name, value, where in job.variables:
        if where.startswith(f"{FROM_PROCESS} (over "):
            # a shell's own PYTHON_VERSION (the official Python images set one) or PLAT
            # changes what is reproduced: said out loud, not only in the table
            log.warning(
                f"{name}={value} from the process environment overrides the job's value "
                f"{where.removeprefix(f'{FROM_PROCESS} (over ').removesuffix(')')}; "
                f"unset {name} to reproduce the job as written"
            )
    log.write(format_table(["variable", "value", "from"], rows))
    for what in job.runtime:
        log.write(f"left out here: {what}")
    for where in job.secure:
        log.write(f"encrypted value at {where}: not available locally (upload step only)")
    if job.unused is not None:
        log.warning(job.unused)
    for note in job.runner_notes():
        log.warning(note)
    if job.ci_file.runs_tool:
        log.write(f"on CI ({job.runner()}) the job runs:")
    else:
        log.write(
            f"on CI ({job.runner()}) the job runs the file's own script ({job.ci_file.path.name} "
            "does not call numpy_wheels); with this tool it would run:"
        )
    for step in job.ci_commands():
        log.write(f"  {shlex.join(step)}")
    if stopped is not None:
        log.warning(
            f"on its runner, `build` would stop (exit {stopped.return_code}, "
            f"{type(stopped).__name__}): {stopped}"
        )
        return
    if on_ci is None or plan is None:
        log.warning(
            f"{job.identifier}: this tool cannot build it: {_unbuildable(job.identifier)}. "
            "It has no plan for it; `build` or `reproduce` of this job without --dry-run exit 5"
        )
        return
    keys = ", ".join(b.key for b in on_ci.identifiers)
    log.write(
        f"  → backend {on_ci.backend} ({on_ci.backend_reason}): builds {keys} "
        f"({plan.variant}, {plan.wheel_platform})"
    )
    log.write(format_table(["field", "value"], [
        ["repair", shlex.join(plan.repair or ["none"])],
        ["environment", " ".join(f"{k}={v}" for k, v in plan.environment) or "-"],
        ["deployment target", plan.deployment_target or "-"],
    ]))  # fmt: skip


def _unbuildable(identifier: str) -> str:
    from numpy_wheels.model.matrix import load_catalogue

    return load_catalogue().unbuildable_reason(identifier) or "not in resources/matrix.toml"


def _job_commands(identifier: str, backend: Backend) -> list[list[str]]:
    build = ["python", "-m", "numpy_wheels", "build", "--backend", backend]
    return [
        [*build, "--only", identifier],
        ["python", "-m", "numpy_wheels", "upload", "--local-folder", "wheelhouse"],
    ]


def cmd_upload(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from numpy_wheels.cifiles.commit import detect_mode
    from numpy_wheels.config.build import read_project_config
    from numpy_wheels.config.staging import resolve_store_config
    from numpy_wheels.staging import open_store
    from numpy_wheels.staging.stage import upload

    if _pull_request_skipped(env, upload_anyway=args.upload_pull_request):
        return 0
    root = _root(args)
    mode, reason = detect_mode(env)
    config = resolve_store_config(
        root,
        env,
        _store_args(args, timeout=args.timeout),
        mode=mode,
        require_credentials=not args.dry_run,
    )
    # A dry run without the store's credentials (a pull request, a maintainer's machine)
    # checks the local files and says what it would send; the container is not read.
    offline = args.dry_run and config.provider != "local" and config.secret is None
    folder, files = _upload_folder(args.local_folder)
    project, expected = _project_selection(root, env)
    if not folder.is_dir():  # not "no files": a wrong path must not look like an empty build
        msg = f"--local-folder {folder} is not a directory (nothing was uploaded)"
        raise UsageError(msg)
    log.write(
        f"staging {len(files)} file(s) from {folder} to {config.provider} container "
        f"{config.container!r} ({mode} mode: {reason})"
    )
    if offline:
        log.write("dry run without the store's credentials: the container is not read")
    store = None if offline else open_store(config)
    results = upload(
        files,
        builds=_upload_provenance(folder, files),
        store=store,
        project=project,
        expected=expected,
        sdist=read_project_config(root).sdist,
        update_index=not args.no_update_index,
        force=args.force,
        keep_dev=args.keep_dev,
        max_workers=args.max_workers,
        dry_run=args.dry_run,
        progress=_progress(len(files)),
    )
    public = None if args.dry_run or store is None else store.public_address()
    _show_staged(results, public=public, project=project)
    if args.json:
        files_json = [
            {"filename": r.filename, "size": r.size, "sha256": r.sha256, "action": r.action}
            for r in results
        ]
        where = {"container": config.container, "provider": config.provider, "mode": mode}
        _emit_json({**where, "public_url": public, "files": files_json})
    return 0


def _pull_request_skipped(env: Mapping[str, str], *, upload_anyway: bool) -> bool:
    """A pull request build stages nothing (unless ``--upload-pull-request``): said so."""
    from numpy_wheels.ci import pull_request

    pr = pull_request(env)
    if pr is None or upload_anyway:
        return False
    log.write(
        f"upload skipped: this is a pull request build ({pr}); --upload-pull-request uploads anyway"
    )
    return True


def _upload_folder(local_folder: str) -> tuple[Path, list[Path]]:
    """The folder (resolved) and the wheels and sdists in it, sorted by name."""
    folder = Path(local_folder).resolve()
    files = sorted(p for p in folder.glob("*") if p.suffix == ".whl" or p.name.endswith(".tar.gz"))
    return folder, files


def _upload_provenance(folder: Path, files: Sequence[Path]) -> dict[str, Any]:
    """The build records staged with the files (file name -> record), said how many."""
    from numpy_wheels.staging.stage import provenance

    builds = provenance(folder)
    summaries = sorted({str(b["summary"]) for b in builds.values()})
    log.write(
        f"build records (provenance) for {sum(f.name in builds for f in files)} of "
        f"{len(files)} file(s), from {', '.join(summaries) or 'no summary'}"
    )
    return builds


def _show_staged(results: Sequence[Staged], *, public: str | None, project: str) -> None:
    rows = [[r.filename, megabytes(r.size), r.sha256[:16], r.action] for r in results]
    log.write(format_table(["file", "size", "sha256", "action"], rows))
    if public:
        log.write(f"published at {public} (wheel-uploader -u {public} {project} VERSION)")


def _progress(total: int) -> Callable[[Staged], None]:
    """A progress line per staged file: ``[n/total] name size action (time, rate)``."""
    counter = iter(range(1, total + 1))

    def progress(item: Staged) -> None:
        timing = f" ({item.seconds:.2f}s"
        if item.action in ("uploaded", "replaced") and item.seconds > 0:  # skipped: no bytes
            timing += f", {item.size / 1e6 / item.seconds:.0f} MB/s"
        log.write(
            f"[{next(counter)}/{total}] {item.filename} {megabytes(item.size)} "
            f"{item.action}{timing})"
        )

    return progress


def cmd_staged(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from numpy_wheels.cifiles.commit import detect_mode
    from numpy_wheels.config.staging import resolve_store_config
    from numpy_wheels.log import format_table
    from numpy_wheels.staging import open_store
    from numpy_wheels.staging.stage import read_records

    mode, _ = detect_mode(env)
    config = resolve_store_config(
        _root(args), env, _store_args(args, timeout=args.timeout), mode=mode
    )
    store = open_store(config)
    records = sorted(read_records(store).values(), key=lambda r: r.filename)
    if args.version:
        records = [r for r in records if r.version == args.version]
    public = store.public_address()
    if args.json:
        _emit_json(
            {
                "container": config.container,
                "public_url": public,
                "files": [r.as_json() for r in records],
            }
        )
    else:
        if public:
            log.write(f"container {config.container!r}, published at {public}")
        log.write(
            format_table(
                ["file", "size", "sha256", "uploaded"],
                [[r.filename, str(r.size), r.sha256, r.uploaded] for r in records],
            )
        )
    return 0


def cmd_build(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from numpy_wheels.config.build import BuildRequest

    request = BuildRequest(
        root=_root(args),
        only=args.only,
        backend=args.backend,
        source=args.source,
        wheelhouse=args.wheelhouse.resolve() if args.wheelhouse else None,
        keep_going=args.keep_going,
        run_tests=not args.no_test,
        require_portability_test=args.require_portability_test,
        retest=args.retest,
    )
    return _build(request, env, emit_json=args.json)


def _build(request: BuildRequest, env: Mapping[str, str], *, emit_json: bool) -> int:
    """The one typed build entry point of ``build`` and ``reproduce``."""
    from numpy_wheels.build.backends.cibuildwheel import engine_works
    from numpy_wheels.build.runner import build_all
    from numpy_wheels.config.build import resolve_build_options

    opts = resolve_build_options(
        request,
        env=env,
        # The cibuildwheel backend and the portability test both need the engine.
        engine_available=engine_works(env),
        host_platform=sys.platform,
    )
    outcome = build_all(opts)
    if emit_json:
        _emit_json(outcome.summary)
    if outcome.error is not None:
        raise outcome.error
    return 0


def cmd_sdist(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Build (or fetch), check and place the release's sdist in the wheelhouse."""
    from numpy_wheels.build.sdist import build_sdist
    from numpy_wheels.config.build import BuildRequest, resolve_build_options

    # The sdist job builds no identifier; this machine's own one only names the OpenBLAS the
    # sdist build and its wheel check link against.
    opts = resolve_build_options(
        BuildRequest(
            root=_root(args),
            backend="host",
            source=args.source,
            wheelhouse=args.wheelhouse.resolve() if args.wheelhouse else None,
        ),
        env=env,
    )
    log.write(
        f"sdist of {opts.project_name} {opts.commit.commit} ({opts.commit.mode} mode, from "
        f"{opts.commit.location}); source: {opts.source}; wheelhouse: {opts.wheelhouse}"
    )
    record = build_sdist(opts, wheel_check=not args.no_wheel_check)
    if args.json:
        _emit_json(dataclasses.asdict(record))
    return 0


def normal_version(text: str) -> str:
    """A release version in PEP 440's normal form, the spelling of every file name of the
    release; a leading ``v`` (the tag, ``v2.4.6``) is dropped. A UsageError otherwise.

    >>> normal_version("v2.4.6"), normal_version("2.5.0rc1")
    ('2.4.6', '2.5.0rc1')
    """
    given = text[1:] if text[:1] in ("v", "V") else text
    version = as_version(given)
    if version is None:
        msg = f"{shown(text)} is not a version (PEP 440, e.g. 2.4.6)"
        raise UsageError(msg)
    normal = str(version)
    if given != normal:  # packaging forgives spaces, case, zero padding; file names do not
        msg = f"{text!r} is not a version as file names spell it: write {normal!r}"
        raise UsageError(msg)
    return given


def release_version(text: str) -> str:
    """``normal_version``, without a local version label: PyPI refuses ``2.4.6+local`` (PEP
    440 local versions are for builds that are never published), so no release can hold one.

    >>> release_version("2.4.6")
    '2.4.6'
    """
    given = normal_version(text)
    if "+" in given:
        public, _, label = given.partition("+")
        msg = (
            f"{text!r} has a local version label (+{label}): package indexes refuse local "
            f"versions (PEP 440), so no release can hold it; release {public!r}"
        )
        raise UsageError(msg)
    return given


@dataclasses.dataclass(kw_only=True)
class _ReleaseReport:
    """The JSON release report, filled in as the release goes and written on every exit
    path: success, refusal, upload failure, Ctrl-C, and the early ones (a bad version, a
    listing or configuration failure, a credential refused). Its place is ``--report`` or,
    once the project, version and wheel directory are known, the default one."""

    given: Path | None  # --report
    version: str  # as given until checked
    project: str | None = None
    source: str | None = None
    index: str | None = None
    path: Path | None = None  # checked writable: None, no report can be written yet
    files: Callable[[], Sequence[Released]] = lambda: ()

    def place(self, wheel_dir: Path | None = None) -> None:
        """Choose and check (UsageError) the report's path, before anything is released."""
        from numpy_wheels.release.release import check_report_path

        if self.given is not None:
            path = self.given
        elif wheel_dir is not None and self.project is not None:
            path = wheel_dir / f"release-{self.project}-{self.version}.json"
        else:
            return
        check_report_path(path)
        self.path = path

    def payload(self, error: BaseException | None) -> dict[str, Any]:
        """The report's content, redacted as every printed line is (log.redact: the secrets
        of this run and credentials written into URLs)."""
        content: dict[str, Any] = _redacted(
            {
                "project": self.project,
                "version": self.version,
                "source": self.source,
                "index": self.index,
                "complete": error is None,
                "error": _error_json(error),
                "files": [dataclasses.asdict(r) for r in self.files()],
            }
        )
        return content

    def write(self, error: BaseException | None, *, json_wanted: bool) -> None:
        if self.files():
            _show_released(self.files())
        if self.path is not None:
            _write_release_report(
                self.path, self.payload(error), json_wanted=json_wanted, failed=error is not None
            )


def _redacted(value: Any) -> Any:
    """``value`` (JSON: dicts, lists, strings, numbers) with every string redacted."""
    if isinstance(value, str):
        return log.redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


def cmd_release(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from numpy_wheels.release.release import Progress, release

    report = _ReleaseReport(given=Path(args.report) if args.report else None, version=args.version)
    progress = Progress()
    report.files = lambda: progress.files
    try:
        report.place()  # --report: checked before anything else, so every failure can use it
        report.version = release_version(args.version)
        opts, remotes, store = _release_inputs(args, env, report)
        progress.files = release(remotes, opts, env, store=store, progress=progress)
    except BaseException as exc:
        # Every exit path leaves its report: what was uploaded, confirmed, refused, and why.
        report.write(exc, json_wanted=True)
        raise
    report.write(None, json_wanted=args.json)
    if args.json:
        _emit_json(report.payload(None))
    return 0


def _release_inputs(
    args: argparse.Namespace, env: Mapping[str, str], report: _ReleaseReport
) -> tuple[ReleaseOptions, list[Remote], Store | None]:
    """The release's options and staged files: the target first (a configuration error or
    an unexpanded credential is found before anything is fetched), then the listing; the
    report learns each as it is known."""
    from numpy_wheels.config.build import read_project_config, repository_url
    from numpy_wheels.model.matrix import manifest
    from numpy_wheels.release.release import ReleaseOptions

    root = _root(args)
    configured, ids = _project_selection(root, env)
    report.project = args.package or configured
    wheel_dir = Path(args.wheel_dir).expanduser().resolve()
    report.place(wheel_dir)
    target = _release_target(args, env)
    report.index = target.repository_url if target else None
    remotes, store = _release_listing(args, root, report, env)
    log.write(f"listing {report.source}: {len(remotes)} file(s)")
    expected = manifest(
        ids, project=report.project, version=report.version, sdist=read_project_config(root).sdist
    )
    opts = ReleaseOptions(
        project=report.project,
        version=report.version,
        wheel_dir=wheel_dir,
        wheel_type=args.wheel_type,
        expected=expected,
        target=target,
        clobber=args.clobber,
        no_twine=args.no_twine,
        sign=args.sign,
        sign_with=args.sign_with,
        identity=args.identity,
        verbose=args.verbose,
        dry_run=args.dry_run,
        allow_incomplete=args.allow_incomplete,
        allow_unhashed=args.allow_unhashed,
        allow_unverified_provenance=args.allow_unverified_provenance,
        tag=args.tag,
        repo_url=repository_url(root, env),
        max_workers=args.max_workers,
        timeout=args.timeout,
    )
    return opts, remotes, store


def _release_target(args: argparse.Namespace, env: Mapping[str, str]) -> Target | None:
    """Where twine uploads (None with -n), printed before anything is sent; a dry run needs
    no credentials, a real one refuses unexpanded ones."""
    from numpy_wheels.config.release import resolve_target

    if args.no_twine:
        return None
    target = resolve_target(
        repository=args.repository,
        repository_url=args.repository_url,
        index_url=args.index_url,
        config_file=args.config_file,
        env=env,
        uploading=not args.dry_run,
    )
    log.write(f"target: {target.describe()}")
    return target


def _error_json(error: BaseException | None) -> dict[str, Any] | None:
    from numpy_wheels.errors import (
        INTERRUPTED_RETURN_CODE,
        TERMINATED_RETURN_CODE,
        FatalError,
        Terminated,
    )

    if error is None:
        return None
    if isinstance(error, FatalError):
        code = error.return_code
    elif isinstance(error, Terminated):
        code = TERMINATED_RETURN_CODE
    elif isinstance(error, KeyboardInterrupt):
        code = INTERRUPTED_RETURN_CODE
    else:
        code = FatalError.return_code
    return {
        "class": type(error).__name__,
        "exit_code": code,
        "message": log.redact(str(error)),
    }


def _release_listing(
    args: argparse.Namespace, root: Path, report: _ReleaseReport, env: Mapping[str, str]
) -> tuple[list[Remote], Store | None]:
    """The staged files and the store read directly (None: the listing is a URL); the
    report learns where they are listed before they are read, so a failure names it."""
    from numpy_wheels.config.staging import read_staging_config, resolve_store_config
    from numpy_wheels.net import Limits
    from numpy_wheels.release.listing import fetch, from_store, from_url
    from numpy_wheels.staging import open_store

    if args.provider_name or args.container:
        # a store request may wait as long as any other of the release (net.Limits below)
        store_args = _store_args(args, timeout=min(60.0, args.timeout))
        config = resolve_store_config(root, env, store_args, mode="release")
        report.source = f"{config.provider} container {config.container!r}"
        store = open_store(config)
        return from_store(store), store
    url = args.wheel_url_dir or next(iter(read_staging_config(root).artifact_indexes), None)
    if not url:
        msg = (
            "no listing: pass -u URL or store options, "
            "or set [wheelhouse_uploader] artifact_indexes"
        )
        raise UsageError(msg)
    limits = Limits(deadline=args.timeout, read_timeout=min(60.0, args.timeout))
    local = url.lower().startswith("file:")  # a local listing the user named
    get = functools.partial(fetch, limits=limits, allow_file=local)
    report.source = url
    assert report.project is not None
    return from_url(url, report.project, get=get, builds=True), None


def _show_released(results: Sequence[Released]) -> None:
    from numpy_wheels.staging.pages import build_line

    log.write(
        format_table(
            ["file", "size", "sha256", "action", "verified", "build"],
            [
                [
                    r.filename,
                    megabytes(r.size),
                    r.sha256[:16],
                    r.action,
                    "yes" if r.verified else "-",
                    build_line(r.build),
                ]
                for r in results
            ],
        )
    )


def _write_release_report(
    report: Path, payload: dict[str, Any], *, json_wanted: bool, failed: bool = False
) -> None:
    from numpy_wheels.release.release import write_report

    try:
        write_report(report, payload)
        log.write(f"release report: {report}")
    except OSError as exc:
        # The report never changes the outcome: say so, and show the report instead.
        state = "the release failed" if failed else "the release is complete"
        log.warning(f"{state}, but the report {report} could not be written: {exc}")
        if not json_wanted:
            _emit_json(payload)


def cmd_verify(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Rebuild a wheel from its provenance record in a clean work dir and cache; compare."""
    import tempfile
    import urllib.parse

    from numpy_wheels.build.verify import compare

    root = _root(args)
    is_url = urllib.parse.urlsplit(args.wheel).scheme in ("http", "https")
    if not is_url:
        _check_local_wheel(args.wheel)  # before any work dir exists
    work = Path(tempfile.mkdtemp(prefix="numpy-wheels-verify-"))
    try:
        wheel, provenance = _verify_inputs(args.wheel, args.provenance, work, args.timeout)
        result = _rebuild_and_compare(root, wheel, provenance, env, work=work, compare=compare)
    except BaseException:
        if any((work / "wheelhouse").glob("*")):  # a rebuild to look at
            log.write(f"verify: work dir kept for inspection: {work}")
        else:  # nothing built yet: nothing to inspect, nothing left behind
            shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
    if args.json:
        _emit_json(result)
    return 0


def _check_local_wheel(given: str) -> Path:
    """The wheel file ``given`` names; a UsageError saying what it is instead (missing, a
    directory, not named ``*.whl``)."""
    path = Path(given)
    if not path.exists():
        msg = f"{given} does not exist"
    elif not path.is_file():
        msg = f"{given} is a directory, not a wheel file" if path.is_dir() else ""
        msg = msg or f"{given} is not a regular file (a wheel file is needed)"
    elif not path.name.endswith(".whl"):
        msg = f"{given} is not a wheel file (its name does not end in .whl)"
    else:
        return path.resolve()
    raise UsageError(msg)


def _verify_inputs(
    wheel_arg: str, provenance_arg: Path | None, work: Path, timeout: float
) -> tuple[Path, Any]:
    """The wheel (downloaded when a URL, within ``timeout`` seconds) and its provenance
    record: ``--provenance``, else the ``build-summary.json`` beside the wheel."""
    import urllib.parse

    from numpy_wheels.build.verify import read_provenance
    from numpy_wheels.files import MAX_PAGE_BYTES, is_dist, read_config_text

    is_url = urllib.parse.urlsplit(wheel_arg).scheme in ("http", "https")
    if is_url:
        name = urllib.parse.urlsplit(wheel_arg).path.rsplit("/", 1)[-1]
        if not is_dist(name) or not name.endswith(".whl"):
            msg = f"{wheel_arg} does not name a wheel file"
            raise UsageError(msg)
        wheel = work / "published" / name
        wheel.parent.mkdir()
        _download_for_verify(wheel_arg, wheel, timeout)
    else:
        wheel = _check_local_wheel(wheel_arg)
    if provenance_arg is not None:
        where = str(provenance_arg)
        try:  # a regular file only: a FIFO would wait for a writer
            text = read_config_text(provenance_arg, limit=MAX_PAGE_BYTES)
        except ConfigError as exc:
            msg = f"the provenance record: {exc}"
            raise UsageError(msg) from None
    elif is_url:
        where = urllib.parse.urljoin(wheel_arg, "build-summary.json")
        text = _download_for_verify(where, None, timeout).decode("utf-8", "replace")
    else:
        beside = wheel.parent / "build-summary.json"
        if not beside.is_file():
            msg = f"no provenance record: {beside} is missing (pass --provenance FILE)"
            raise UsageError(msg)
        where, text = str(beside), read_config_text(beside, limit=MAX_PAGE_BYTES)
    return wheel, read_provenance(text, wheel_name=wheel.name, where=where)


def _download_for_verify(url: str, dest: Path | None, timeout: float) -> bytes:
    """GET ``url`` (into ``dest`` through a verified ``.part``) within one deadline; a failure
    is a StoreError whose hint is about the URL, not about the build's source."""
    from numpy_wheels.errors import StoreError
    from numpy_wheels.files import fetch, verified_file

    hint = (
        "Check the URL (verify reads the wheel and the build-summary.json beside it); "
        "--timeout sets the deadline of each download."
    )

    def write(part: Path) -> None:
        fetch(url, dest=part, error=StoreError, deadline=timeout)

    try:
        if dest is None:
            return fetch(url, error=StoreError, deadline=timeout)
        verified_file(dest, write, sha256=None, error=StoreError)
    except StoreError as exc:
        raise StoreError(str(exc), hint=hint) from None
    return b""


def _rebuild_and_compare(
    root: Path,
    wheel: Path,
    provenance: Any,
    env: Mapping[str, str],
    *,
    work: Path,
    compare: Callable[..., dict[str, object]],
) -> dict[str, object]:
    from numpy_wheels.build.backends.cibuildwheel import engine_works
    from numpy_wheels.build.runner import build_all, hook_hashes
    from numpy_wheels.build.verify import rebuild_env, recipe_differences
    from numpy_wheels.config.build import BuildRequest, resolve_build_options
    from numpy_wheels.errors import ConfigError, SourceError

    record, summary = provenance.record, provenance.summary
    log.write(f"verify {wheel.name} ({record.get('sha256')}) against {provenance.where}")
    renv = rebuild_env(provenance, env, work / "cache")
    request = BuildRequest(
        root=root,
        only=str(record["identifier"]),
        backend=summary.get("backend"),
        source=(summary.get("source") or {}).get("kind"),
        wheelhouse=work / "wheelhouse",
        run_tests=False,
        build_constraints=tuple(provenance.reproducibility.get("build_requirements") or ()),
    )
    opts = resolve_build_options(
        request, env=renv, engine_available=engine_works(renv), host_platform=sys.platform
    )
    differences = recipe_differences(
        provenance,
        hooks=hook_hashes(opts.config_path, opts.env_vars_path),
        commit=opts.commit.commit,
        config_settings=dict(opts.project.config_settings),
    )
    if differences:
        msg = (
            "the wheels repository's recipe is not the record's: "
            + "; ".join(differences)
            + " — check out the wheels repository at the commit that built the wheel"
        )
        raise ConfigError(msg)
    outcome = build_all(opts)
    if outcome.error is not None:
        raise outcome.error
    rebuilt_source = outcome.summary["source"]
    assert isinstance(rebuilt_source, dict)
    recorded = (summary.get("source") or {}).get("resolved")
    if recorded and rebuilt_source.get("resolved") != recorded:
        msg = (
            f"{opts.commit.commit} is now {rebuilt_source.get('resolved')}, the record built "
            f"{recorded}: the source moved (a re-tagged commit, or another sdist)"
        )
        raise SourceError(msg)
    (rebuilt,) = (work / "wheelhouse").glob("*.whl")
    result = compare(wheel, rebuilt, env=renv)
    result["provenance"] = provenance.where
    return result
