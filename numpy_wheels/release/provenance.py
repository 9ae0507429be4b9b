"""Every released file tied to its build: the build record staged beside it (``upload`` reads
the build/sdist summaries of the wheelhouse) must be of these bytes, built from the release's
tag (the SHA the tag resolves to in the project's repository, or the release sdist of this
version), with its tests passed. numpy's own release CI refuses to publish anything else.

Checked on the listing, before any download; ``--allow-unverified-provenance`` releases sets
staged before build records existed (each file's problem is still shown).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename
from packaging.version import Version

from numpy_wheels.cmd import call
from numpy_wheels.errors import ReleaseGateError, SourceError
from numpy_wheels.release.listing import Remote

HINT = (
    "Release what CI built from the tag (rebuild and re-stage the files named above); --tag "
    "names the tag if it is not vVERSION; --allow-unverified-provenance releases a set staged "
    "before build records existed. Nothing was uploaded."
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Expected:
    """What every build record must say."""

    project: str
    version: str
    tag: str
    tag_sha: str | None  # None: the tag could not be resolved (every git build then fails)


def resolve_tag(repo_url: str, tag: str, env: Mapping[str, str]) -> str:
    """The commit ``tag`` names in ``repo_url`` (``git ls-remote``; an annotated tag's
    peeled ``^{}`` entry is the commit)."""
    out = call(
        "git",
        "ls-remote",
        "--tags",
        repo_url,
        f"refs/tags/{tag}",
        f"refs/tags/{tag}^{{}}",
        env=env,
        capture=True,
        error=SourceError,
    )
    refs: dict[str, str] = {}
    for line in out.splitlines():
        commit, _, ref = line.partition("\t")
        refs[ref.strip()] = commit.strip()
    sha = refs.get(f"refs/tags/{tag}^{{}}") or refs.get(f"refs/tags/{tag}")
    if sha is None:
        msg = f"{repo_url} has no tag {tag!r} (git ls-remote); --tag names the release's tag"
        raise SourceError(msg)
    return sha


def _text(record: Mapping[str, object], *keys: str) -> str:
    value: object = record
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return str(value) if value is not None else ""


def _is_release_sdist(origin: str, expected: Expected) -> bool:
    """Whether ``origin`` (a URL or path) is the sdist of the release's project and version."""
    try:
        name, version = parse_sdist_filename(origin.rsplit("/", 1)[-1].partition("#")[0])
    except InvalidSdistFilename:
        return False
    return name == canonicalize_name(expected.project) and version == Version(expected.version)


def problem(remote: Remote, expected: Expected) -> str | None:
    """Why ``remote``'s build record does not tie it to the release (None: it does)."""
    build = remote.build
    if not build:
        return "no build record staged with it"
    if remote.sha256 is None or str(build.get("sha256", "")).lower() != remote.sha256.lower():
        return f"its build record is of other bytes (sha256 {str(build.get('sha256'))[:16]})"
    kind, resolved = _text(build, "source", "kind"), _text(build, "source", "resolved")
    if kind == "git":
        if expected.tag_sha is None or resolved != expected.tag_sha:
            tag_sha = (expected.tag_sha or "unresolved")[:12]
            return (
                f"built from {resolved[:12] or '?'} ({_text(build, 'commit')}), not from the tag "
                f"{expected.tag} ({tag_sha})"
            )
    elif kind == "sdist":
        if not _is_release_sdist(_text(build, "source", "origin"), expected):
            return (
                f"built from {_text(build, 'source', 'origin') or '?'}, not the sdist of "
                f"{expected.project} {expected.version}"
            )
    else:
        return f"its build record names no source (kind {kind or '?'})"
    test = _text(build, "test")
    if build.get("ok") is not True or (
        build.get("kind") == "wheel" and not test.startswith("passed")
    ):
        return f"its tests did not pass ({test or 'not recorded'})"
    return None


def needs_tag(remotes: Sequence[Remote]) -> bool:
    """Whether any record was built from git (only then is the tag resolved)."""
    return any(r.build and _text(r.build, "source", "kind") == "git" for r in remotes)


def check(remotes: Sequence[Remote], expected: Expected, *, allow_unverified: bool) -> list[str]:
    """Every file's provenance problem (``file: why``); a ReleaseGateError unless
    ``allow_unverified`` (then the problems are returned, for a warning)."""
    problems = [f"{r.filename}: {why}" for r in remotes if (why := problem(r, expected))]
    if problems and not allow_unverified:
        msg = (
            f"{len(problems)} file(s) are not tied to a tested build of {expected.tag}:\n  "
            + "\n  ".join(problems)
        )
        raise ReleaseGateError(msg, hint=HINT)
    return problems
