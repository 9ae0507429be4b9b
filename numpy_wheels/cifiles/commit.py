"""The commit-ish this run builds: BUILD_COMMIT (release mode), or the daily commit on a run
the CI marks as scheduled; refused when the CI files disagree or the value is malformed
(the same checks ``lint`` reports)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Literal, TypeAlias

from numpy_wheels.ci import running_service, scheduled
from numpy_wheels.cifiles.checks import (
    HINTS,
    READ_NAMES,
    agreement,
    definitions,
    value_findings,
)
from numpy_wheels.cifiles.records import DAILY_NAMES, CIConfig, EnvVar, Location
from numpy_wheels.errors import LintError

Mode: TypeAlias = Literal["release", "daily"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResolvedCommit:
    commit: str
    mode: Mode
    variable: str
    location: Location
    reason: str  # why this mode: the variable that said "scheduled", or "default"


def detect_mode(env: Mapping[str, str]) -> tuple[Mode, str]:
    """Daily when the CI marks this run as scheduled, else release.

    >>> detect_mode({"TRAVIS_EVENT_TYPE": "cron"})
    ('daily', 'TRAVIS_EVENT_TYPE=cron')
    >>> detect_mode({"APPVEYOR_SCHEDULED_BUILD": "True"})
    ('daily', 'APPVEYOR_SCHEDULED_BUILD=True')
    >>> detect_mode({"GITHUB_EVENT_NAME": "push"})
    ('release', 'no scheduled-build marker set')
    """
    marker = scheduled(env)
    if marker is not None:
        return "daily", marker
    return "release", "no scheduled-build marker set"


def _primary(config: CIConfig, defs: Sequence[EnvVar], env: Mapping[str, str]) -> EnvVar:
    """The definition for the CI that runs us (its own file), else the first file's."""
    running = running_service(env)
    own = config.by_provider(running) if running else None
    if own is not None:
        for v in defs:
            if v.location.path == own.path:
                return v
    return defs[0]


def resolve_commit(config: CIConfig, env: Mapping[str, str]) -> ResolvedCommit:
    """The commit-ish this run builds; a LintError when the files disagree or it is invalid."""
    mode, reason = detect_mode(env)
    names: Sequence[str] = DAILY_NAMES if mode == "daily" else ("BUILD_COMMIT",)
    label = "the daily commit" if mode == "daily" else "BUILD_COMMIT"
    disagreement = agreement(config, names, label)
    if disagreement is not None:
        raise LintError(str(disagreement.message), hint=disagreement.hint)
    defs = [v for v in definitions(config, names) if v.value is not None]
    if not defs:
        msg = f"{reason}, so this is a {mode} build, but no CI file sets {' or '.join(names)}"
        raise LintError(msg, hint=HINTS["missing"])
    chosen = _primary(config, defs, env)
    assert chosen.value is not None
    assert chosen.name is not None
    for finding in value_findings(chosen, READ_NAMES):
        if finding.kind in ("double-equals", "unbalanced-quote", "unexpanded", "bad-ref"):
            raise LintError(str(finding), hint=finding.hint)
    if not chosen.value.strip():
        msg = f"{chosen.location}: {chosen.name} is empty"
        raise LintError(msg, hint=HINTS["bad-ref"])
    return ResolvedCommit(
        commit=chosen.value.strip(),
        mode=mode,
        variable=chosen.name,
        location=chosen.location,
        reason=reason,
    )


def unused_commit(env: Mapping[str, str], commit: ResolvedCommit) -> str | None:
    """The warning for a BUILD_COMMIT the process environment sets that is not the one built
    (None: unset, the same, or a daily build). The one exception to "the process overrides
    the CI files": every job and every maintainer builds the files' commit (issue 12 tryout:
    BUILD_COMMIT=v0.2.0 in the environment was ignored without a word)."""
    given = env.get("BUILD_COMMIT", "").strip()
    if commit.variable != "BUILD_COMMIT" or not given or given == commit.commit:
        return None
    return (
        f"BUILD_COMMIT={given!r} in the environment is not used: the CI files name the commit "
        f"to build, {commit.commit} ({commit.location}); change them with `bump {given}`"
    )
