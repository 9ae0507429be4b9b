"""Command line: parse argv, resolve options, call one domain function, map errors to exit codes."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from . import __version__
from .errors import ALL_ERRORS, INTERRUPTED_RETURN_CODE, FatalError, LintError, UsageError
from .log import log

Handler: TypeAlias = Callable[[argparse.Namespace, Mapping[str, str]], int]

EPILOG = (
    "exit codes:\n"
    + "\n".join(
        f"  {cls.return_code:>3}  {cls.__name__}: {(cls.__doc__ or '').strip().splitlines()[0]}"
        for cls in ALL_ERRORS
    )
    + f"\n  {INTERRUPTED_RETURN_CODE:>3}  interrupted"
)


def _emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root).resolve()


def cmd_commit(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from .ciconfig import read_config
    from .cilint import resolve_commit

    resolved = resolve_commit(read_config(_root(args)), env)
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


def cmd_lint(args: argparse.Namespace, env: Mapping[str, str]) -> int:  # noqa: ARG001
    from .ciconfig import read_config
    from .cilint import lint

    config = read_config(_root(args))
    findings = lint(config)
    if args.json:
        _emit_json(
            [
                {
                    "kind": f.kind,
                    "message": f.message,
                    "locations": [str(loc) for loc in f.locations],
                }
                for f in findings
            ]
        )
    for finding in findings:
        log.error(f"{finding} [{finding.kind}]")
    if findings:
        msg = f"{len(findings)} problem(s) in {len(config.files)} CI file(s)"
        raise LintError(msg)
    if not args.json:
        log.write(
            f"{len(config.files)} CI files agree: "
            + ", ".join(str(f.path.relative_to(config.root)) for f in config.files)
        )
    return 0


def cmd_bump(args: argparse.Namespace, env: Mapping[str, str]) -> int:  # noqa: ARG001
    from .bump import apply, plan_bump
    from .ciconfig import read_config

    edits = plan_bump(read_config(_root(args)), args.ref, daily=args.daily, force=args.force)
    for edit in edits:
        log.write(edit.diff().rstrip("\n"))
    if args.dry_run:
        log.write(f"dry run: {len(edits)} file(s) would change")
    else:
        apply(edits)
        log.write(f"{len(edits)} file(s) changed: " + ", ".join(e.path.name for e in edits))
    return 0


def cmd_matrix(args: argparse.Namespace, env: Mapping[str, str]) -> int:  # noqa: ARG001
    from .matrix import load_catalogue, manifest, select
    from .options import read_project_config

    project = read_project_config(_root(args))
    build = tuple(args.build) if args.build else project.build
    skip = tuple(args.skip) if args.skip else project.skip
    ids = select(load_catalogue(), build=build, skip=skip, only=args.only)
    if args.wheels:
        names = manifest(ids, project=project.project, version=args.wheels)
        if args.json:
            _emit_json({"project": project.project, "version": args.wheels, "wheels": names})
        else:
            for name in names:
                log.write(name)
        return 0
    if args.json:
        _emit_json(
            {
                "include": [
                    {
                        "identifier": b.identifier,
                        "python": b.python.version,
                        "python_tag": b.python.tag,
                        "platform": b.platform.name,
                        "os": b.platform.os,
                        "arch": b.platform.arch,
                    }
                    for b in ids
                ]
            }
        )
    else:
        for b in ids:
            log.write(b.identifier)
    return 0


def cmd_build(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from .runner import build_all

    return build_all(args, env)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numpy-wheels",
        description="Build, repair and test the wheels of the project a wheels repository "
        "points at, with BUILD_COMMIT read from its CI files.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--root", default=".", help="the wheels repository (default: .)")
    parser.add_argument(
        "--debug-traceback", action="store_true", help="show the Python traceback of a failure"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(handler=handler)
        return p

    p = add(
        "commit",
        cmd_commit,
        "Print the commit-ish this CI run builds, where it came "
        "from, and the mode (release, or daily on scheduled runs).",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add(
        "lint",
        cmd_lint,
        "Check that the CI files agree on BUILD_COMMIT, the daily "
        "commit, the OpenBLAS pin and the Python versions, and that values are well formed.",
    )
    p.add_argument("--json", action="store_true", help="findings as JSON on stdout")

    p = add(
        "bump",
        cmd_bump,
        "Set BUILD_COMMIT (or the daily commit) in every CI file, "
        "changing nothing else; shows the diff.",
    )
    p.add_argument("ref", help="tag, branch or commit hash")
    p.add_argument("--daily", action="store_true", help="bump the daily (scheduled) commit")
    p.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    p.add_argument("--force", action="store_true", help="bump even if the files disagree")

    p = add(
        "matrix",
        cmd_matrix,
        "List the build identifiers the configuration selects, or "
        "with --wheels VERSION the wheel file names a release must contain.",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON (an {include: [...]} object usable as a GitHub Actions matrix)",
    )
    p.add_argument("--wheels", metavar="VERSION", help="list the expected wheel file names")
    p.add_argument(
        "--build",
        action="append",
        metavar="SELECTOR",
        help="override the build selector (fnmatch + {a,b}); repeatable",
    )
    p.add_argument("--skip", action="append", metavar="SELECTOR", help="override skip")
    p.add_argument("--only", metavar="ID", help="exactly one identifier")

    p = add(
        "build",
        cmd_build,
        "Get the source at BUILD_COMMIT, the pinned OpenBLAS, build, "
        "repair and test the wheel(s) into the wheelhouse.",
    )
    p.add_argument(
        "--only", metavar="ID", help="build one identifier (e.g. cp311-manylinux_x86_64)"
    )
    p.add_argument(
        "--backend",
        choices=("host", "cibuildwheel"),
        help="host: on this machine; cibuildwheel: in the platform's container/VM "
        "(default: cibuildwheel on CI with a container engine, else host)",
    )
    p.add_argument(
        "--source",
        choices=("git", "sdist"),
        help="git: REPO_DIR/REPO_URL at BUILD_COMMIT; sdist: the release sdist from "
        "the package index (default: git when REPO_DIR is a repository)",
    )
    p.add_argument(
        "--wheelhouse", type=Path, help="output directory (default: WHEEL_SDIR or wheelhouse)"
    )
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="with several identifiers, continue after a failure",
    )
    p.add_argument("--no-test", action="store_true", help="skip the test step (not on CI)")
    p.add_argument("--json", action="store_true", help="print the build summary as JSON")
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else env
    log.configure(env=env)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    if getattr(args, "json", False):
        log.configure(env=env, stream=sys.stderr)  # stdout carries only the JSON
    try:
        return int(args.handler(args, env))
    except FatalError as exc:
        if args.debug_traceback:
            log.error(log.redact("".join(traceback.format_exc())))
        log.error(f"numpy-wheels: error: {exc}")
        if exc.hint:
            log.error(f"hint: {exc.hint}")
        return exc.return_code
    except KeyboardInterrupt:
        log.error("numpy-wheels: interrupted")
        return INTERRUPTED_RETURN_CODE


def wheel_uploader_main(argv: Sequence[str] | None = None) -> int:
    """Console script ``wheel-uploader`` (the release step; see the release issue)."""
    del argv
    log.error("wheel-uploader: the release step is not implemented yet")
    return UsageError.return_code


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
