"""Command line: parse argv, resolve options, call one domain function, map errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from numpy_wheels import __version__
from numpy_wheels.ci import SERVICES
from numpy_wheels.commands import (
    cmd_build,
    cmd_bump,
    cmd_commit,
    cmd_lint,
    cmd_matrix,
    cmd_plan,
    cmd_release,
    cmd_reproduce,
    cmd_sdist,
    cmd_staged,
    cmd_upload,
    cmd_verify,
    normal_version,
    release_version,
)
from numpy_wheels.config.secrets import SECRET_NAMES
from numpy_wheels.errors import (
    ALL_ERRORS,
    BROKEN_PIPE_RETURN_CODE,
    INTERRUPTED_RETURN_CODE,
    TERMINATED_RETURN_CODE,
    FatalError,
    OutputError,
    Terminated,
    UsageError,
    summary,
)
from numpy_wheels.log import log, visible
from numpy_wheels.model.choices import BACKENDS, SOURCES

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

Handler: TypeAlias = Callable[[argparse.Namespace, Mapping[str, str]], int]

EPILOG = (
    "exit codes:\n"
    + "\n".join(f"  {cls.return_code:>3}  {cls.__name__}: {summary(cls)}" for cls in ALL_ERRORS)
    + f"\n  {INTERRUPTED_RETURN_CODE:>3}  interrupted (Ctrl-C)"
    + f"\n  {BROKEN_PIPE_RETURN_CODE:>3}  the reader of the output went away (EPIPE)"
    + f"\n  {TERMINATED_RETURN_CODE:>3}  terminated (SIGTERM)"
)


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors redacted like every other line (``unrecognized
    arguments: http://user:password@host`` quotes the command line)."""

    def error(self, message: str) -> NoReturn:
        super().error(visible(log.redact(message)))

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        """Drop a message that cannot be written, as argparse does in later 3.11 releases
        (3.11.7) and 3.12+: the 3.11.2 of Debian 12 raised AttributeError on a closed stderr
        (``2>&-``) or OSError on a gone reader, so a usage error exited 1 instead of 2."""
        if not message:
            return
        with contextlib.suppress(AttributeError, OSError):
            (file or sys.stderr).write(message)


def _count(text: str) -> int:
    """A whole number >= 1 (worker counts, --keep-dev)."""
    try:
        value = int(text)
    except ValueError:
        msg = f"{text!r} is not a whole number"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"must be at least 1, not {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        msg = f"{text!r} is not a number of seconds"
        raise argparse.ArgumentTypeError(msg) from None
    if not 0 < value < 86400:  # also refuses nan and inf
        msg = f"must be more than 0 and less than 86400 seconds (a day), not {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _version(text: str) -> str:
    """A release version in PEP 440's normal form (``commands.normal_version``)."""
    try:
        return normal_version(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _release_version(text: str) -> str:
    """``_version``, without a local version label (``commands.release_version``)."""
    try:
        return release_version(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _project(text: str) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", text):
        msg = f"{text!r} is not a project name (PEP 508: letters, digits, ._-)"
        raise argparse.ArgumentTypeError(msg)
    return text


def store_options(p: argparse.ArgumentParser, *, positional: bool, timeout: bool = True) -> None:
    """The store's options; ``timeout=False`` for release, whose --timeout is its own."""
    container_help = (
        "container/bucket (default: setup.cfg [staging] release_container, "
        "or daily_container on scheduled runs)"
    )
    if positional:
        p.add_argument("container", nargs="?", metavar="CONTAINER", help=container_help)
    else:
        p.add_argument("--container", help=container_help)
    p.add_argument(
        "--provider-name",
        help="local, swift, cloudfiles or s3 (default: "
        "setup.cfg [staging] provider-name, else local)",
    )
    p.add_argument(
        "--username",
        help="default: WHEELHOUSE_UPLOADER_USERNAME, ST_USER, OS_USERNAME or AWS_ACCESS_KEY_ID",
    )
    p.add_argument(
        "--secret",
        help="default: WHEELHOUSE_UPLOADER_SECRET, then swift: ST_KEY or OS_PASSWORD; "
        "cloudfiles: ST_KEY (the account's API key, never its password); s3: "
        "AWS_SECRET_ACCESS_KEY (prefer the environment)",
    )
    p.add_argument("--region", help="Cloud Files region (default ORD), Swift or S3 region")
    p.add_argument(
        "--auth-url",
        help="Swift/Keystone auth URL (ST_AUTH, OS_AUTH_URL); cloudfiles: Rackspace identity "
        "(default https://identity.api.rackspacecloud.com/v2.0/)",
    )
    p.add_argument("--auth-version", help="Swift auth version: 1 (tempauth), 2 or 3")
    p.add_argument("--storage-url", help="Swift storage URL (skip the service catalogue)")
    p.add_argument("--project-name", help="Keystone project (OS_PROJECT_NAME / OS_TENANT_NAME)")
    p.add_argument("--endpoint-url", help="S3 endpoint URL (AWS_ENDPOINT_URL)")
    p.add_argument("--local-root", help="local store: the directory holding containers")
    p.add_argument("--public-url", help="where anonymous readers find the container")
    p.add_argument(
        "--no-enable-cdn",
        action="store_true",
        help="do not publish the container (default: cloudfiles CDN-enables it and records "
        "its CDN address; swift/s3 allow anonymous reads)",
    )
    if timeout:
        p.add_argument(
            "--timeout",
            type=_seconds,
            default=60.0,
            metavar="SECONDS",
            help="how long one store or identity request may wait for the server, before the "
            "store client's retries (default 60)",
        )
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _release_download_options(p: argparse.ArgumentParser) -> None:
    """Where the staged files are listed and where they go."""
    from numpy_wheels.release.gate import WHEEL_TYPES

    p.add_argument(
        "-u",
        "--wheel-url-dir",
        metavar="URL",
        help="listing URL: the container's index.html/metadata.json, a simple index "
        "or a page of links (default: setup.cfg [wheelhouse_uploader] "
        "artifact_indexes; store options read the container directly)",
    )
    p.add_argument(
        "-w",
        "--wheel-dir",
        default="~/wheelhouse",
        help="where files are downloaded (default ~/wheelhouse)",
    )
    p.add_argument(
        "-t",
        "--wheel-type",
        choices=WHEEL_TYPES,
        default="all",
        help="platform family, matched on parsed tags (default all)",
    )
    p.add_argument(
        "-c",
        "--clobber",
        action="store_true",
        help="replace local files whose hash differs from the listing",
    )


def _release_upload_options(p: argparse.ArgumentParser) -> None:
    """twine's side: target, signing, dry run."""
    p.add_argument(
        "-n", "--no-twine", action="store_true", help="download and check only; upload nothing"
    )
    p.add_argument("-s", "--sign", action="store_true", help="GPG-sign each file (.asc)")
    p.add_argument("--sign-with", default="gpg", help="signing program (default gpg)")
    p.add_argument("-i", "--identity", help="GPG identity to sign with")
    p.add_argument("-r", "--repository", help="~/.pypirc section (default pypi)")
    p.add_argument("--repository-url", help="upload URL (overrides -r)")
    p.add_argument(
        "--index-url", help="simple index of the target (default: derived from the upload URL)"
    )
    p.add_argument("--config-file", help="pypirc file (default ~/.pypirc)")
    p.add_argument("-v", "--verbose", action="store_true", help="verbose twine output")
    p.add_argument(
        "--dry-run", action="store_true", help="list, gate, download and check; upload nothing"
    )


def _release_gate_options(p: argparse.ArgumentParser) -> None:
    """The waivers of the release gate."""
    p.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="release even if expected wheels are missing or extra ones staged",
    )
    p.add_argument(
        "--allow-unhashed",
        action="store_true",
        help="accept files the listing publishes no sha256 for",
    )
    p.add_argument(
        "--allow-unverified-provenance",
        action="store_true",
        help="release files without a build record tying them to a tested build of the tag "
        "(sets staged before build records existed); each is still named",
    )
    p.add_argument(
        "--tag",
        help="the release's tag in the project's repository (default vVERSION): every file "
        "must be built from the commit it names, or from the sdist of VERSION",
    )


def release_options(p: argparse.ArgumentParser) -> None:
    """wheel-uploader's flags (shared by ``numpy-wheels release``)."""
    _release_download_options(p)
    _release_upload_options(p)
    _release_gate_options(p)
    p.add_argument("--max-workers", type=_count, default=4, help="parallel downloads (default 4)")
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="deadline of each network request, retries included, and of each twine run "
        "(default 300)",
    )
    p.add_argument(
        "--report",
        metavar="PATH",
        help="JSON release report (default WHEEL_DIR/release-PROJECT-VERSION.json)",
    )
    store_options(p, positional=False, timeout=False)


def _commit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _lint_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="findings as JSON on stdout")
    p.add_argument(
        "--require-portability-test",
        action="store_true",
        help="also fail when a Linux platform the project builds has no test image "
        "(DOCKER_TEST_IMAGE or [tool.numpy-wheels.test-images])",
    )


def _bump_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("ref", help="tag, branch or commit hash")
    p.add_argument("--daily", action="store_true", help="bump the daily (scheduled) commit")
    p.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    p.add_argument("--force", action="store_true", help="bump even if the files disagree")


def _matrix_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON (an {include: [...]} object usable as a GitHub Actions matrix)",
    )
    p.add_argument(
        "--wheels",
        metavar="VERSION",
        type=_release_version,
        help="list the expected wheel file names",
    )
    p.add_argument(
        "--build",
        action="append",
        metavar="SELECTOR",
        help="override the build selector (fnmatch + {a,b}); repeatable",
    )
    p.add_argument("--skip", action="append", metavar="SELECTOR", help="override skip")
    p.add_argument("--only", metavar="ID", help="exactly one identifier (ID+VARIANT)")
    p.add_argument(
        "--ci",
        choices=SERVICES,
        help="only the wheels this CI service builds ([tool.numpy-wheels.ci])",
    )


def _build_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--only",
        metavar="ID",
        help="build one identifier (cp311-manylinux_x86_64; a BLAS variant: "
        "cp313-macosx_arm64+accelerate)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        help="host: on this machine; cibuildwheel: in the platform's container/VM "
        "(default: cibuildwheel on CI with a container engine, else host)",
    )
    p.add_argument(
        "--source",
        choices=SOURCES,
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
    p.add_argument(
        "--retest",
        action="store_true",
        help="run the tests even when a passing verdict for these exact bytes and test "
        "inputs is stored",
    )
    p.add_argument(
        "--require-portability-test",
        action="store_true",
        help="fail (before building) when a Linux wheel cannot be tested in its test images "
        "(none configured, or no container engine answers)",
    )
    p.add_argument("--json", action="store_true", help="print the build summary as JSON")


def _verify_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("wheel", metavar="WHEEL|URL", help="a wheel file, or its http(s) URL")
    p.add_argument(
        "--provenance",
        type=Path,
        metavar="FILE",
        help="the build summary that records the wheel (default: build-summary.json beside it)",
    )
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="deadline of each download (the wheel, its build summary), retries included "
        "(default 300)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _sdist_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        choices=SOURCES,
        help="git: build from REPO_DIR/REPO_URL at BUILD_COMMIT (numpy's meson dist needs the "
        "git tree); sdist: the release sdist from the package index (default: as build)",
    )
    p.add_argument(
        "--wheelhouse", type=Path, help="output directory (default: WHEEL_SDIR or wheelhouse)"
    )
    p.add_argument(
        "--no-wheel-check", action="store_true", help="do not build a wheel from the sdist"
    )
    p.add_argument("--json", action="store_true", help="print the sdist record as JSON")


def _upload_options(p: argparse.ArgumentParser) -> None:
    store_options(p, positional=True)
    p.add_argument("--local-folder", default="wheelhouse", help="files to upload")
    p.add_argument(
        "--no-update-index",
        action="store_true",
        help="do not rebuild metadata.json / index.html / simple/",
    )
    p.add_argument(
        "--upload-pull-request",
        action="store_true",
        help="upload from pull request builds too (skipped by default)",
    )
    p.add_argument("--max-workers", type=_count, default=8, help="parallel uploads (default 8)")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a staged release file that has different bytes",
    )
    p.add_argument(
        "--keep-dev",
        type=_count,
        default=5,
        metavar="N",
        help="keep the newest N dev versions per project and tags (default 5)",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would be uploaded")


def _plan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("identifier", metavar="ID", help="a build identifier, e.g. cp313-macosx_arm64")
    p.add_argument(
        "--variant",
        choices=["openblas", "accelerate"],
        help="macOS BLAS: OpenBLAS (default) or Accelerate (macOS 14+)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _reproduce_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ci", required=True, choices=SERVICES)
    p.add_argument("--job", required=True, metavar="N|NAME", help="job index or name")
    p.add_argument("--daily", action="store_true", help="as a scheduled (daily) run")
    p.add_argument("--dry-run", action="store_true", help="show the job; run nothing")
    p.add_argument("--backend", choices=BACKENDS, help="default: host (Linux)")
    p.add_argument("--source", choices=SOURCES, help="passed to build")
    p.add_argument("--no-test", action="store_true", help="passed to build")
    p.add_argument("--json", action="store_true", help="print the job as JSON first")


def _staged_options(p: argparse.ArgumentParser) -> None:
    store_options(p, positional=False)
    p.add_argument("version", nargs="?", metavar="VERSION", type=_version, help="only this version")


def _release_options(p: argparse.ArgumentParser) -> None:
    # checked by cmd_release (commands.release_version): a bad one still leaves its --report
    p.add_argument("version", metavar="VERSION", help="release version, e.g. 2.4.6")
    release_options(p)
    p.set_defaults(package=None)


_COMMANDS: tuple[tuple[str, Handler, str, Callable[[argparse.ArgumentParser], None]], ...] = (
    (
        "commit",
        cmd_commit,
        "Print the commit-ish this CI run builds, where it came "
        "from, and the mode (release, or daily on scheduled runs).",
        _commit_options,
    ),
    (
        "lint",
        cmd_lint,
        "Check that the CI files agree on BUILD_COMMIT, the daily "
        "commit, the OpenBLAS pin and the Python versions, and that values are well formed.",
        _lint_options,
    ),
    (
        "bump",
        cmd_bump,
        "Set BUILD_COMMIT (or the daily commit) in every CI file, "
        "changing nothing else; shows the diff.",
        _bump_options,
    ),
    (
        "matrix",
        cmd_matrix,
        "List the build identifiers the configuration selects, or "
        "with --wheels VERSION the wheel file names a release must contain.",
        _matrix_options,
    ),
    (
        "build",
        cmd_build,
        "Get the source at BUILD_COMMIT, the pinned OpenBLAS, build, "
        "repair and test the wheel(s) into the wheelhouse.",
        _build_options,
    ),
    (
        "verify",
        cmd_verify,
        "Rebuild a wheel from its provenance record (its build-summary.json entry) in a "
        "clean work dir and cache, and compare the sha256; on a difference, name the members "
        "that differ (diffoscope's report when installed) and exit 23.",
        _verify_options,
    ),
    (
        "sdist",
        cmd_sdist,
        "Build the release's sdist from the git checkout at BUILD_COMMIT (or take the "
        "verified release sdist from the index with --source sdist), check it (name, version "
        "= tag, twine check --strict, a wheel builds from it) and put it in the wheelhouse.",
        _sdist_options,
    ),
    (
        "upload",
        cmd_upload,
        "Stage the wheelhouse in the container: sha256-checked, "
        "idempotent, with metadata.json, index.html and a PEP 503 simple/ index.",
        _upload_options,
    ),
    (
        "plan",
        cmd_plan,
        "Show how one identifier is built, repaired and tested (runner, BLAS, deployment "
        "target, environment, commands) — the plan the cibuildwheel backend runs.",
        _plan_options,
    ),
    (
        "reproduce",
        cmd_reproduce,
        "Rebuild one CI job's exact environment (global + job variables, mode, "
        "BUILD_COMMIT), show it, and run its build here (Linux jobs) or print the plan and "
        "commands (macOS/Windows jobs).",
        _reproduce_options,
    ),
    (
        "staged",
        cmd_staged,
        "List what the container holds, with sha256s.",
        _staged_options,
    ),
    (
        "release",
        cmd_release,
        "Upload a staged version to the package index with twine: the set checked against "
        "the manifest, every file against its staged sha256, then verified on the index.",
        _release_options,
    ),
)
"""Each command: name, handler, help (also its description), the function adding its options."""


#: ``--help`` examples of each command: (command line, what it does).
EXAMPLES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "commit": (("python -m numpy_wheels commit", "the commit this run builds, and why"),),
    "lint": (
        ("python -m numpy_wheels lint", "check every CI file (and the hook files)"),
        ("python -m numpy_wheels --root ../scipy-wheels lint --json", "another repo, as JSON"),
    ),
    "bump": (
        ("python -m numpy_wheels bump --dry-run v2.4.6", "show the diff only"),
        ("python -m numpy_wheels bump v2.4.6", "set BUILD_COMMIT in every CI file"),
        ("python -m numpy_wheels bump --daily main", "set the scheduled builds' commit"),
    ),
    "matrix": (
        ("python -m numpy_wheels matrix", "the identifiers the configuration selects"),
        ("python -m numpy_wheels matrix --wheels 2.4.6", "the files release 2.4.6 must hold"),
        ("python -m numpy_wheels matrix --ci travis --json", "one CI service's jobs, as JSON"),
    ),
    "build": (
        ("python -m numpy_wheels build", "this machine's wheel: build, repair, test"),
        ("python -m numpy_wheels build --backend host --no-test", "no container, no tests"),
        ("python -m numpy_wheels build --only cp312-manylinux_x86_64", "one identifier"),
    ),
    "verify": (
        ("python -m numpy_wheels verify wheelhouse/numpy-2.4.6-cp312-cp312-manylinux_2_27_"
         "x86_64.manylinux_2_28_x86_64.whl", "rebuild it from its record, compare sha256"),
    ),
    "sdist": (("python -m numpy_wheels sdist", "the release sdist from the git checkout"),),
    "upload": (
        ("python -m numpy_wheels upload --dry-run", "what would be staged, nothing sent"),
        ("python -m numpy_wheels upload --provider-name local --local-root /srv/wheels "
         "wheels", "stage into /srv/wheels/wheels/"),
    ),
    "plan": (
        ("python -m numpy_wheels plan cp312-macosx_arm64", "runner, BLAS, repair, test"),
        ("python -m numpy_wheels plan cp312-macosx_arm64+accelerate --json", "one variant"),
    ),
    "reproduce": (
        ("python -m numpy_wheels reproduce --ci github --job 3 --dry-run", "show the job"),
        ("python -m numpy_wheels reproduce --ci travis --job 1", "and build it here (Linux)"),
    ),
    "staged": (
        ("python -m numpy_wheels staged --provider-name local --local-root /srv/wheels "
         "--container wheels 2.4.6", "the staged files of 2.4.6, with sha256s"),
    ),
    "release": (
        ("python -m numpy_wheels release --dry-run 2.4.6", "check and download, no upload"),
        ("python -m numpy_wheels release -r testpypi 2.4.6", "upload to TestPyPI"),
    ),
}  # fmt: skip
UPLOADER_EXAMPLES = (
    ("wheel-uploader --dry-run numpy 2.4.6", "list, check the set, download, check only"),
    ("wheel-uploader -u https://<hash>.ssl.cf1.rackcdn.com/ -w ~/wheelhouse numpy 2.4.6",
     "from a published container"),
    ("wheel-uploader -s -i release@numpy.org -r testpypi numpy 2.4.6", "signed, to TestPyPI"),
)  # fmt: skip


def _epilog(examples: Sequence[tuple[str, str]]) -> str:
    lines = [f"  {line}\n      {what}" for line, what in examples]
    return "examples:\n" + "\n".join(lines) + "\n\n" + EPILOG


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    for name, handler, help_text, add_options in _COMMANDS:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_epilog(EXAMPLES.get(name, ())),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(handler=handler)
        add_options(p)
    return parser


def _run(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, env: Mapping[str, str] | None
) -> int:
    env = dict(os.environ) if env is None else env
    log.configure(env=env)
    log.forget_secrets()  # a fresh run (tests call main() many times in one process)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        _flush_or_drop(sys.stdout)
        _flush_or_drop(sys.stderr)
        return int(exc.code or 0)
    if getattr(args, "json", False):
        log.configure(env=env, stream=sys.stderr)  # stdout carries only the JSON
    try:
        with _terminate_as_interrupt():
            return _call(parser.prog, args, env)
    finally:
        # The stream chosen for this run is not kept: a caller in the same process (tests,
        # an embedding program) may close it; later log lines go to the current stdout.
        log.configure(env=env)


def _call(prog: str, args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run the handler; every way it can end becomes one exit code and at most a few lines.

    The lines are written after the outcome is decided, so a reader that went away while
    they are written (``… 2>&1 | head -1``) is one more broken pipe (141), never a second
    failure inside the handler of the first."""
    for name in sorted(SECRET_NAMES):  # redacted from everything printed, before anything runs
        log.add_secret(env.get(name))
    log.add_secret(getattr(args, "secret", None))
    code, lines = _outcome(prog, args, env)
    if code == OutputError.return_code:  # what is still buffered would fail again at exit
        _to_devnull(sys.stdout)
    try:
        for line in lines:
            log.error(line)
    except OSError as exc:
        if _is_broken_pipe(exc):
            return _broken_pipe()
        # stderr cannot be written otherwise (EIO, ENOSPC): the exit code still says it
    return code


def _outcome(prog: str, args: argparse.Namespace, env: Mapping[str, str]) -> tuple[int, list[str]]:
    """The exit code of the handler and the lines that explain it (for stderr)."""
    debug = bool(getattr(args, "debug_traceback", False))
    try:
        return int(args.handler(args, env)), []
    except FatalError as exc:
        stack = [log.redact("".join(traceback.format_exc()))] if debug else []
        hint = [f"hint: {exc.hint}"] if exc.hint else []
        return exc.return_code, [*stack, f"{prog}: error: {exc}", *hint]
    except Terminated:
        return TERMINATED_RETURN_CODE, [f"{prog}: terminated (SIGTERM)"]
    except KeyboardInterrupt:
        return INTERRUPTED_RETURN_CODE, [f"{prog}: interrupted"]
    except Exception as exc:  # the last resort: one line, never a stack
        if _is_broken_pipe(exc):
            return _broken_pipe(), []
        stack = [log.redact("".join(traceback.format_exc()))] if debug else []
        text = str(exc).splitlines()[0][:300] if str(exc) else ""
        return FatalError.return_code, [
            *stack,
            f"{prog}: internal error: {type(exc).__name__}{': ' + text if text else ''} "
            "(a bug: rerun with --debug-traceback to see where, and report it)",
        ]


def _is_broken_pipe(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.EPIPE


def _broken_pipe() -> int:
    """The reader of our output went away (``… | head -1``): stop quietly, as other CLIs do.

    stdout and stderr are pointed at /dev/null so the interpreter's final flush of what is
    still buffered does not fail again (which would make the exit status 120)."""
    _to_devnull(sys.stdout)
    _to_devnull(sys.stderr)
    return BROKEN_PIPE_RETURN_CODE


def _flush_or_drop(stream: object) -> None:
    """Flush ``stream``; what cannot be written (its reader went away while argparse wrote
    the usage, which argparse ignores) is dropped, so the interpreter's final flush does not
    fail and turn the usage error's 2 into 120 (seen on Debian's 3.11.2)."""
    try:
        stream.flush()  # type: ignore[attr-defined]
    except (OSError, ValueError):
        _to_devnull(stream)
    except AttributeError:  # None: started without that stream
        pass


def _to_devnull(stream: object) -> None:
    """Point ``stream``'s file descriptor at /dev/null, so the interpreter's final flush of
    what is still buffered succeeds."""
    # None (started without it) or not a file (a test's capture): nothing to redirect
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fd = stream.fileno()  # type: ignore[attr-defined]
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C (workers stop, partial files are removed), exit 143."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        del signum, frame
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    return _run(_parser(), argv, env)


def _uploader_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="wheel-uploader",
        description="Fetch a version's wheels from the staging container and upload them to\n"
        "the package index with twine: the set is checked against the expected manifest,\n"
        "every file against the sha256 the container published; optionally GPG-signed;\n"
        "then every file is downloaded back from the index and compared.",
        epilog=_epilog(UPLOADER_EXAMPLES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--root", default=".", help="the wheels repository (default: .)")
    parser.add_argument("--debug-traceback", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "package", metavar="PACKAGE", type=_project, help="project name, e.g. numpy"
    )
    # checked by cmd_release (commands.release_version): a bad one still leaves its --report
    parser.add_argument("version", metavar="VERSION", help="release version, e.g. 2.4.6")
    release_options(parser)
    parser.set_defaults(handler=cmd_release)
    return parser


def wheel_uploader_main(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> int:
    """Console script ``wheel-uploader PACKAGE VERSION`` (the multibuild-era release step)."""
    return _run(_uploader_parser(), argv, env)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
