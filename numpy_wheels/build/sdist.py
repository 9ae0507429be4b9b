"""The release's source distribution: built from the git checkout at BUILD_COMMIT (PEP 517
``--sdist``; numpy's meson ``dist`` needs the git tree), or with ``--source sdist`` the release
sdist from the package index, whose sha256 was checked against the index — that verified file
is what gets staged. Checked before it is left in the wheelhouse for the upload step: its name
and version are the project's and the tag's, ``twine check --strict`` passes, and (built
sdists) a wheel builds from it. numpy-release's ``build_sdist`` job does the same by hand.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
import time
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename
from packaging.version import Version

from numpy_wheels import __version__
from numpy_wheels.build.backends.host import config_setting_args
from numpy_wheels.build.openblas import fetch
from numpy_wheels.build.runner import prepare_source
from numpy_wheels.build.source import SourceInfo
from numpy_wheels.cmd import call
from numpy_wheels.config.build import BuildOptions
from numpy_wheels.errors import BuildError, SourceError
from numpy_wheels.files import only_file, sha256_of, write_json_atomic
from numpy_wheels.log import log

# A release tag names its version (v2.4.6, 2.4.6rc1); anything else (main, a SHA) does not.
_TAG = re.compile(r"v?(\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SdistRecord:
    filename: str
    sha256: str
    size: int
    version: str
    source: dict[str, object]
    checks: dict[str, str]  # check -> result ("ok …" or "skipped: why")
    seconds: float


def tag_version(commit: str) -> str | None:
    """The version a release tag names, None for a branch or hash.

    >>> tag_version("v2.4.6"), tag_version("2.5.0rc1"), tag_version("main")
    ('2.4.6', '2.5.0rc1', None)
    """
    match = _TAG.fullmatch(commit)
    return match.group(1) if match else None


def check_name_and_version(sdist: Path, *, project: str, commit: str) -> str:
    """The file is this project's sdist and, when BUILD_COMMIT is a tag, the tag's version."""
    try:
        name, version = parse_sdist_filename(sdist.name)
    except ValueError as exc:
        msg = f"{sdist.name} is not an sdist file name: {exc}"
        raise SourceError(msg) from None
    if canonicalize_name(name) != canonicalize_name(project):
        msg = f"{sdist.name} is an sdist of {name}, not of {project}"
        raise SourceError(msg)
    tagged = tag_version(commit)
    if tagged is None:
        return f"skipped: {commit} is not a release tag (version {version})"
    if Version(tagged) != version:
        msg = (
            f"{sdist.name} says version {version}, but BUILD_COMMIT {commit} is the tag of "
            f"{tagged}: the project's version metadata and the tag disagree"
        )
        raise SourceError(msg)
    return f"ok: {version} = tag {commit}"


def _built_sdist(opts: BuildOptions, source: SourceInfo, out: Path, env: dict[str, str]) -> Path:
    settings = config_setting_args(dict(opts.project.sdist_config_settings))
    call(
        sys.executable,
        "-m",
        "build",
        "--sdist",
        *settings,
        "--outdir",
        str(out),
        str(source.path),
        env=env,
        error=BuildError,
    )
    return only_file(out, "*.tar.gz", what="the sdist build", error=BuildError)


def _wheel_from(opts: BuildOptions, sdist: Path, out: Path, env: dict[str, str]) -> Path:
    """Build a wheel from the sdist alone (nothing from the checkout), as a user's pip would."""
    call(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        *config_setting_args(dict(opts.project.config_settings)),
        "--wheel-dir",
        str(out),
        str(sdist),
        env=env,
        error=BuildError,
    )
    return only_file(out, "*.whl", what=f"building a wheel from {sdist.name}", error=BuildError)


def _sdist_from_git(
    opts: BuildOptions, source: SourceInfo, work: Path, env: dict[str, str]
) -> Path:
    """``python -m build --sdist`` in the checkout; ``env`` gains the pinned OpenBLAS of this
    machine's identifier, for projects whose build finds BLAS even to make an sdist (setup.py)
    and for the wheel built from it."""
    openblas = (
        fetch(opts.identifiers[0], cache=opts.cache_dir / "openblas", env=env)
        if opts.openblas
        else None
    )
    if openblas is not None:
        env["PKG_CONFIG_PATH"] = str(openblas.pkgconfig_dir)
    with log.step("sdist: python -m build --sdist"):
        return _built_sdist(opts, source, work / "dist", env)


def _wheel_check(
    opts: BuildOptions,
    source: SourceInfo,
    sdist: Path,
    work: Path,
    env: dict[str, str],
    *,
    wanted: bool,
) -> str:
    """A wheel built from the sdist proves it is complete; the index's own sdist is not
    rebuilt here (the wheel jobs build from it)."""
    if source.kind == "sdist":
        return "skipped: the index's own sdist (the wheel jobs build from it)"
    if not wanted:
        return "skipped: --no-wheel-check"
    with log.step(f"sdist: a wheel from {sdist.name}"):
        wheel = _wheel_from(opts, sdist, work / "wheel", env)
    return f"ok: {wheel.name} (not staged: unrepaired)"


def build_sdist(opts: BuildOptions, *, wheel_check: bool = True) -> SdistRecord:
    """Make (or fetch), check and place the sdist in the wheelhouse; write sdist-summary.json."""
    started = time.monotonic()
    work = opts.cache_dir / "work" / "sdist"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with log.step("source"):
        source = prepare_source(opts)
    checks: dict[str, str] = {}
    env = dict(opts.build_env)
    if opts.build_depends:
        # Not honoured on purpose: the sdist is for users, whose pip builds it isolated with
        # the declared requirements only; the wheel check must fail where theirs would.
        log.warning(
            f"sdist: BUILD_DEPENDS ({' '.join(opts.build_depends)}) is not used: the sdist "
            "and the wheel built from it get only the project's declared build requirements "
            "(pyproject.toml [build-system] requires), as a user's pip builds them; declare "
            "there what the build needs"
        )
    if source.kind == "git":
        sdist = _sdist_from_git(opts, source, work, env)
    else:
        assert source.archive is not None  # fetch_sdist sets it
        sdist = source.archive
        checks["sha256"] = f"ok: {source.resolved} as the index publishes it"
    checks["version"] = check_name_and_version(
        sdist, project=opts.project_name, commit=opts.commit.commit
    )
    log.write(f"version check: {checks['version']}")
    with log.step("sdist: twine check --strict"):
        call(sys.executable, "-m", "twine", "check", "--strict", str(sdist), error=BuildError)
    checks["twine"] = "ok: twine check --strict"
    checks["wheel"] = _wheel_check(opts, source, sdist, work, env, wanted=wheel_check)
    opts.wheelhouse.mkdir(parents=True, exist_ok=True)
    final = opts.wheelhouse / sdist.name
    shutil.copyfile(sdist, final)
    record = SdistRecord(
        filename=final.name,
        sha256=sha256_of(final),
        size=final.stat().st_size,
        version=str(parse_sdist_filename(final.name)[1]),
        source=source.as_json(),
        checks=checks,
        seconds=round(time.monotonic() - started, 1),
    )
    summary = {
        "tool": f"numpy-wheels {__version__}",
        "project": opts.project_name,
        "commit": dataclasses.asdict(opts.commit) | {"location": str(opts.commit.location)},
        "sdist": dataclasses.asdict(record),
    }
    write_json_atomic(opts.wheelhouse / "sdist-summary.json", summary)
    log.table(["check", "result"], [[k, v] for k, v in checks.items()])
    log.write(f"{final} sha256 {record.sha256} ({record.size / 1e6:.1f} MB)")
    return record
