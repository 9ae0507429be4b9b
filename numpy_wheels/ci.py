"""Every fact about the CI services we run on: which one runs us, and what its variables mean.

A leaf module: it imports nothing of ours, so the logger and every layer above may use it.
Sources: Travis "Default Environment Variables", AppVeyor "Environment variables", GitHub
Actions "Variables reference", Azure Pipelines "Predefined variables".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Literal, TypeAlias, get_args

#: The CI services whose files we read (and the spelling used for them everywhere).
Service: TypeAlias = Literal["travis", "appveyor", "github", "azure"]
SERVICES: tuple[Service, ...] = get_args(Service)
HostOS: TypeAlias = Literal["linux", "macos", "windows"]


class CIProvider(enum.StrEnum):
    TRAVIS = "travis"
    APPVEYOR = "appveyor"
    GITHUB = "github"
    AZURE = "azure"
    OTHER = "other"
    NONE = "none"


#: The variable each service sets to say "this is me".
RUNNING_MARKER: Mapping[Service, str] = {
    "travis": "TRAVIS",
    "appveyor": "APPVEYOR",
    "github": "GITHUB_ACTIONS",
    "azure": "TF_BUILD",
}
#: How each service marks a scheduled run (values compared case-insensitively).
SCHEDULE_MARKER: Mapping[Service, tuple[str, str]] = {
    "travis": ("TRAVIS_EVENT_TYPE", "cron"),
    "appveyor": ("APPVEYOR_SCHEDULED_BUILD", "True"),
    "github": ("GITHUB_EVENT_NAME", "schedule"),
    "azure": ("BUILD_REASON", "Schedule"),
}
#: GitHub-hosted runner labels GitHub has retired, with the date (actions/runner-images
#: announcements: #10721 macOS 12, #11101 Ubuntu 20.04, #12045 Windows 2019, #13046 macOS 13).
#: A job naming one no longer runs; ``reproduce`` says so instead of showing another runner.
RETIRED_RUNNERS: Mapping[str, str] = {
    "macos-12": "2024-12-03",
    "ubuntu-20.04": "2025-04-15",
    "windows-2019": "2025-06-30",
    "macos-13": "2025-12-04",
}
#: Variables that make a process believe it runs on CI (backend choice, log folding).
CI_MARKERS: tuple[str, ...] = ("CI", *RUNNING_MARKER.values(), "BUILD_REASON")


def detect_ci(env: Mapping[str, str]) -> CIProvider:
    """Which CI service runs us, from its documented environment variables.

    >>> detect_ci({"TRAVIS": "true", "CI": "true"})
    <CIProvider.TRAVIS: 'travis'>
    >>> detect_ci({})
    <CIProvider.NONE: 'none'>
    """
    for service, name in RUNNING_MARKER.items():
        if env.get(name, "").lower() == "true":
            return CIProvider(service)
    if env.get("CI"):
        return CIProvider.OTHER
    return CIProvider.NONE


def on_ci(env: Mapping[str, str]) -> bool:
    """Whether a CI service runs us (every one sets ``CI``).

    >>> on_ci({"CI": "true"}), on_ci({})
    (True, False)
    """
    return bool(env.get("CI"))


def running_service(env: Mapping[str, str]) -> Service | None:
    """The service whose CI file describes this run, if one of ours runs us.

    >>> running_service({"GITHUB_ACTIONS": "true"})
    'github'
    >>> running_service({"CI": "true"}) is None
    True
    """
    found = detect_ci(env).value
    return next((s for s in SERVICES if s == found), None)


def scheduled(env: Mapping[str, str]) -> str | None:
    """``NAME=value`` of the marker that says this run is scheduled, or None.

    >>> scheduled({"APPVEYOR_SCHEDULED_BUILD": "True"})
    'APPVEYOR_SCHEDULED_BUILD=True'
    >>> scheduled({"GITHUB_EVENT_NAME": "push"}) is None
    True
    """
    for name, value in SCHEDULE_MARKER.values():
        if env.get(name, "").lower() == value.lower():
            return f"{name}={env[name]}"
    # any service: a manual run that asks for daily mode (the GitHub workflow's dispatch input)
    if requested_mode(env) == "daily":
        return f"NUMPY_WHEELS_MODE={env['NUMPY_WHEELS_MODE']}"
    return None


#: The values NUMPY_WHEELS_MODE may take (any case; empty is unset).
MODES = ("release", "daily")


def requested_mode(env: Mapping[str, str]) -> str | None:
    """NUMPY_WHEELS_MODE, lower-cased; another value is a ConfigError naming the valid ones
    (``nightly`` silently meant release, into the release container).

    >>> requested_mode({"NUMPY_WHEELS_MODE": "Daily"}), requested_mode({})
    ('daily', None)
    """
    from numpy_wheels.errors import ConfigError

    value = env.get("NUMPY_WHEELS_MODE", "").strip().lower()
    if not value:
        return None
    if value not in MODES:
        msg = (
            f"NUMPY_WHEELS_MODE={env['NUMPY_WHEELS_MODE']!r} is not a mode: use "
            f"{' or '.join(MODES)}"
        )
        raise ConfigError(msg, hint="Unset it for the CI's own choice (scheduled runs are daily).")
    return value


def marker_env(service: Service, *, daily: bool) -> dict[str, str]:
    """What ``service`` sets for a run of its own (scheduled when ``daily``).

    >>> marker_env("travis", daily=True)
    {'TRAVIS': 'true', 'TRAVIS_EVENT_TYPE': 'cron'}
    """
    env = {RUNNING_MARKER[service]: "true"}
    if daily:
        name, value = SCHEDULE_MARKER[service]
        env[name] = value
    return env


def pull_request(env: Mapping[str, str]) -> str | None:
    """Why this CI run is a pull request build, or None.

    >>> pull_request({"TRAVIS_PULL_REQUEST": "false"}) is None
    True
    >>> pull_request({"GITHUB_EVENT_NAME": "pull_request"})
    'GITHUB_EVENT_NAME=pull_request'
    """
    checks = (
        ("TRAVIS_PULL_REQUEST", lambda v: v not in ("", "false")),
        ("APPVEYOR_PULL_REQUEST_NUMBER", bool),
        ("GITHUB_EVENT_NAME", lambda v: v in ("pull_request", "pull_request_target")),
        ("BUILD_REASON", lambda v: v == "PullRequest"),
        ("SYSTEM_PULLREQUEST_PULLREQUESTID", bool),
    )
    for name, test in checks:
        value = env.get(name, "")
        if value and test(value):
            return f"{name}={value}"
    return None


def runner_os(env: Mapping[str, str]) -> HostOS | None:
    """The OS a CI runner announces (RUNNER_OS, AGENT_OS, TRAVIS_OS_NAME; AppVeyor: Windows).

    >>> runner_os({"AGENT_OS": "Windows_NT"})
    'windows'
    >>> runner_os({"TRAVIS_OS_NAME": "osx"})
    'macos'
    >>> runner_os({}) is None
    True
    """
    label = (env.get("RUNNER_OS") or env.get("AGENT_OS") or env.get("TRAVIS_OS_NAME") or "").lower()
    if label in ("windows", "windows_nt") or env.get("APPVEYOR", "").lower() == "true":
        return "windows"
    if label in ("macos", "osx", "darwin"):
        return "macos"
    if label == "linux":
        return "linux"
    return None


def job_os(service: Service, label: str | None) -> HostOS:
    """A CI file job's OS from its ``os:``/``runs-on:``/``vmImage`` label (AppVeyor: Windows).

    >>> job_os("github", "macos-14")
    'macos'
    >>> job_os("travis", None), job_os("azure", "vs2017-win2016")
    ('linux', 'windows')
    """
    if service == "appveyor":
        return "windows"
    label = (label or "linux").lower()
    if label.startswith(("osx", "macos")):
        return "macos"
    # Azure's older images: vs2017-win2016, vs2015-win2012r2, win1803
    if label.startswith(("windows", "win")) or "-win" in label:
        return "windows"
    return "linux"


#: How each service's runner announces its OS (GitHub RUNNER_OS, Travis TRAVIS_OS_NAME, Azure
#: AGENT_OS; AppVeyor runs Windows images).
_RUNNER_OS: Mapping[Service, tuple[str, Mapping[HostOS, str]]] = {
    "github": ("RUNNER_OS", {"linux": "Linux", "macos": "macOS", "windows": "Windows"}),
    "travis": ("TRAVIS_OS_NAME", {"linux": "linux", "macos": "osx", "windows": "windows"}),
    "azure": ("AGENT_OS", {"linux": "Linux", "macos": "Darwin", "windows": "Windows_NT"}),
}


def runner_env(service: Service, os_name: HostOS) -> dict[str, str]:
    """The variables a ``service`` runner of ``os_name`` sets that this tool reads: what
    ``reproduce`` adds so that option resolution sees the job as that CI does.

    >>> runner_env("travis", "macos")
    {'CI': 'true', 'TRAVIS': 'true', 'TRAVIS_OS_NAME': 'osx'}
    >>> runner_env("appveyor", "windows")
    {'CI': 'True', 'APPVEYOR': 'True'}
    """
    env = {"CI": "True" if service == "appveyor" else "true"}
    env[RUNNING_MARKER[service]] = env["CI"]
    if service == "azure":
        del env["CI"]  # Azure Pipelines sets TF_BUILD, not CI
    if service in _RUNNER_OS:
        name, spellings = _RUNNER_OS[service]
        env[name] = spellings[os_name]
    return env
