"""Every job of the shipped CI files, as its runner would run it.

Each job's environment is rebuilt here from the YAML itself (not through our readers) plus the
variables each service's runner sets (GitHub ubuntu x86_64/arm, macOS arm64/x86_64, Windows;
AppVeyor; Travis osx), and resolved by the option resolution `build` runs. Every job must
resolve to a cibuildwheel plan of its own wheel whatever the runner's own Python (never the
host backend, never exit 5), `reproduce` must show the same plan, and together the files must
build this repository's selection — numpy's 71 wheels — each exactly once. The sdist job,
the staging job and the workflow's hygiene (SHA-pinned actions, least privilege, no credential
in a build job, schedule and dispatch input) are checked from the YAML as well.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from numpy_wheels.__main__ import main
from numpy_wheels.cifiles.jobs import CI_BUILD_COMMAND, describe
from numpy_wheels.config.build import (
    BuildRequest,
    read_ci_files,
    read_project_config,
    resolve_build_options,
    selection,
)
from numpy_wheels.errors import ContainerEngineError
from numpy_wheels.model.plan import make_plan
from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "wheels.yml"
BUILD = shlex.join(CI_BUILD_COMMAND)

# What the services' runners set (their documented variables), by runner.
GITHUB_RUNNERS = {
    "ubuntu-22.04": {"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64"},
    "ubuntu-22.04-arm": {"RUNNER_OS": "Linux", "RUNNER_ARCH": "ARM64"},
    "macos-14": {"RUNNER_OS": "macOS", "RUNNER_ARCH": "ARM64"},
    "macos-15-intel": {"RUNNER_OS": "macOS", "RUNNER_ARCH": "X64"},
    "windows-2022": {"RUNNER_OS": "Windows", "RUNNER_ARCH": "X64"},
    "windows-11-arm": {"RUNNER_OS": "Windows", "RUNNER_ARCH": "ARM64"},
}
GITHUB = {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"}
TRAVIS_OSX = {"CI": "true", "TRAVIS": "true", "TRAVIS_OS_NAME": "osx", "TRAVIS_CPU_ARCH": "amd64"}
APPVEYOR = {"CI": "True", "APPVEYOR": "True", "PLATFORM": "x64"}
# The Python that runs numpy_wheels on each runner (setup-python 3.12, the image's python3):
# it must not matter, so each job is resolved as if the host were something else entirely.
RUNNER_PYTHON = {"Linux": "cp312-manylinux_x86_64", "macOS": "cp312-macosx_arm64"}


def _yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text())


@dataclass(frozen=True)
class CIJob:
    provider: str
    index: int
    name: str
    env: dict[str, str]  # as the build step sees it on the runner
    host_platform: str
    engine: bool  # does a container engine answer on that runner
    expected_key: str | None = None  # the row's key (GitHub's computed matrix)


def _assignments(text: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in shlex.split(text))


def _travis_jobs() -> Iterator[CIJob]:
    data = _yaml(REPO / ".travis.yml")
    base = {k: v for item in data["env"]["global"] for k, v in _assignments(item).items()}
    for i, job in enumerate(data["jobs"]["include"]):
        assert job["os"] == "osx"  # Travis builds the Intel macOS share
        env = {**TRAVIS_OSX, **base, **_assignments(job["env"])}
        yield CIJob("travis", i, job["env"], env, "darwin", engine=False)


def _appveyor_jobs() -> Iterator[CIJob]:
    data = _yaml(REPO / "appveyor.yml")
    base = {k: str(v) for k, v in data["environment"]["global"].items()}
    for i, row in enumerate(data["environment"]["matrix"]):
        env = {**APPVEYOR, **base, **{k: str(v) for k, v in row.items()}}
        yield CIJob("appveyor", i, str(row), env, "win32", engine=False)


def _github_jobs(rows: list[dict[str, str]]) -> Iterator[CIJob]:
    data = _yaml(WORKFLOW)
    build = data["jobs"]["build"]
    assert build["strategy"]["matrix"] == "${{ fromJSON(needs.matrix.outputs.include) }}"
    assert build["runs-on"] == "${{ matrix.runner }}"
    for i, row in enumerate(rows):

        def fill(value: str, row: dict[str, str] = row) -> str:
            # ${{ matrix.X }} from the row; any other expression (inputs.mode) is empty on push
            value = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: row[m.group(1)], value)
            return re.sub(r"\$\{\{.*?\}\}", "", value)

        env = {**GITHUB, **GITHUB_RUNNERS[row["runner"]]}
        env |= {k: fill(str(v)) for k, v in {**data["env"], **build["env"]}.items()}
        host = {"Linux": "linux", "macOS": "darwin", "Windows": "win32"}[env["RUNNER_OS"]]
        yield CIJob("github", i, row["name"], env, host, env["RUNNER_OS"] == "Linux", row["key"])


@pytest.fixture(scope="module")
def github_rows() -> list[dict[str, str]]:
    # the matrix command run once per module (capsys is function-scoped: call main directly)
    import contextlib
    import io

    data = _yaml(WORKFLOW)
    script = next(s["run"] for s in data["jobs"]["matrix"]["steps"] if s.get("id") == "matrix")
    line = next(x.strip() for x in script.splitlines() if "numpy_wheels matrix" in x)
    argv = shlex.split(line)
    assert argv[:3] == ["python", "-m", "numpy_wheels"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--root", str(REPO), *argv[3:]], env={}) == 0
    rows: list[dict[str, str]] = json.loads(out.getvalue())["include"]
    return rows


def _all_jobs(rows: list[dict[str, str]]) -> list[CIJob]:
    return [*_travis_jobs(), *_appveyor_jobs(), *_github_jobs(rows)]


def test_every_job_resolves_to_a_cibuildwheel_plan_of_its_own_wheel(
    github_rows: list[dict[str, str]],
) -> None:
    config = read_ci_files(REPO)
    built: list[str] = []
    runners: set[str] = set()
    for job in _all_jobs(github_rows):
        host = RUNNER_PYTHON.get(job.env.get("RUNNER_OS", ""), "cp39-win_amd64")
        opts = resolve_build_options(
            BuildRequest(root=REPO),
            env=job.env,
            engine_available=job.engine,
            host_platform=job.host_platform,
            host_id=host,
            ci_config=config,
        )
        assert opts.backend == "cibuildwheel", job
        assert "on CI" in opts.backend_reason
        (build_id,) = opts.identifiers
        if job.expected_key is not None:
            assert build_id.key == job.expected_key
        built.append(build_id.key)
        runners.add(job.env.get("RUNNER_OS", job.provider) + job.env.get("RUNNER_ARCH", ""))
        # reproduce shows the same plan, from the same files: its job, resolved with the
        # variables it says the runner sets, is this job
        wanted = f"build {job.name}" if job.provider == "github" else str(job.index)
        rep = describe(config, job.provider, wanted, daily=False)  # type: ignore[arg-type]
        assert rep.identifier == build_id.key
        assert rep.plan == make_plan(build_id)
        assert rep.commit.commit == opts.commit.commit == "v2.4.6"
        shown = rep.ci_job_env()
        for name in ("MB_PYTHON_VERSION", "PLAT", "BLAS_BACKEND", "MB_ML_LIBC", "CI"):
            assert shown.get(name, "") == job.env.get(name, ""), (job, name)
        again = resolve_build_options(
            BuildRequest(root=REPO),
            env=shown,
            engine_available=rep.os_name == "linux",
            host_platform=job.host_platform,
            ci_config=config,
        )
        assert (again.backend, again.identifiers) == (opts.backend, opts.identifiers)
    assert runners == {
        "LinuxX64", "LinuxARM64", "macOSARM64", "WindowsX64", "WindowsARM64", "travis", "appveyor",
    }  # fmt: skip
    # together: this repository's selection (numpy's 71 wheels), each built exactly once
    expected = [b.key for b in selection(read_project_config(REPO))]
    assert len(built) == len(set(built)) == 71
    assert sorted(built) == sorted(expected)


@pytest.mark.parametrize(
    ("provider", "runner"), [("travis", "macos-15-intel"), ("appveyor", "windows-2022")]
)
def test_the_same_jobs_on_githubs_runners(provider: str, runner: str) -> None:
    """Travis' and AppVeyor's jobs resolve alike on GitHub's Intel macOS / Windows runners
    (the runner environment never changes what a job builds)."""
    jobs = list(_travis_jobs() if provider == "travis" else _appveyor_jobs())
    for job in jobs:
        ours = {k: v for k, v in job.env.items() if k not in (*TRAVIS_OSX, *APPVEYOR)}
        env = {**GITHUB, **GITHUB_RUNNERS[runner], **ours}
        there = resolve_build_options(
            BuildRequest(root=REPO),
            env=job.env,
            engine_available=False,
            host_platform=job.host_platform,
        )
        here = resolve_build_options(
            BuildRequest(root=REPO),
            env=env,
            engine_available=False,
            host_platform=job.host_platform,
        )
        assert here.backend == there.backend == "cibuildwheel"
        assert [b.key for b in here.identifiers] == [b.key for b in there.identifiers]


def test_daily_runs_resolve_the_same_wheels(github_rows: list[dict[str, str]]) -> None:
    for job in _all_jobs(github_rows)[::7]:
        env = dict(job.env)
        marker = {
            "travis": ("TRAVIS_EVENT_TYPE", "cron"),
            "appveyor": ("APPVEYOR_SCHEDULED_BUILD", "True"),
            "github": ("GITHUB_EVENT_NAME", "schedule"),
        }
        env.update([marker[job.provider]])
        opts = resolve_build_options(
            BuildRequest(root=REPO),
            env=env,
            engine_available=job.engine,
            host_platform=job.host_platform,
        )
        assert (opts.commit.commit, opts.commit.mode) == ("main", "daily")
        assert opts.backend == "cibuildwheel"


def test_a_linux_runner_without_an_engine_is_exit_13(github_rows: list[dict[str, str]]) -> None:
    job = next(j for j in _github_jobs(github_rows) if j.env["RUNNER_OS"] == "Linux")
    with pytest.raises(ContainerEngineError, match="no container engine answers"):
        resolve_build_options(
            BuildRequest(root=REPO),
            env=job.env,
            engine_available=False,
            host_platform=job.host_platform,
        )


def test_build_steps_run_the_build_command() -> None:
    travis = _yaml(REPO / ".travis.yml")
    assert any(line.endswith(BUILD) for line in travis["script"])
    appveyor = _yaml(REPO / "appveyor.yml")
    assert any(BUILD in line["cmd"] for line in appveyor["build_script"])
    steps = _yaml(WORKFLOW)["jobs"]["build"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    # the build, then only the summary's renaming (the wheels' provenance, staged with them)
    assert runs[-2] == BUILD
    assert runs[-1].startswith("mv wheelhouse/build-summary.json ")


def _uses(data: Any) -> Iterator[tuple[str, str]]:
    for job_id, job in data["jobs"].items():
        for step in job["steps"]:
            if "uses" in step:
                yield job_id, step["uses"]


def test_workflow_hygiene() -> None:
    text = WORKFLOW.read_text()
    data = _yaml(WORKFLOW)
    # actions pinned by commit SHA, each with its version in a comment
    for job_id, uses in _uses(data):
        assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", uses), (job_id, uses)
    for line in text.splitlines():
        if "uses:" in line:
            assert re.search(r"@[0-9a-f]{40}\s+# v\d+\.\d+\.\d+$", line), line
    # least privilege: nothing at the top, read-only contents per job
    assert data["permissions"] == {}
    for job_id, job in data["jobs"].items():
        assert job["permissions"] == {"contents": "read"}, job_id
    # only the staging job holds the upload credential; it downloads the build artifacts
    for job_id, job in data["jobs"].items():
        holds = "secrets." in json.dumps(job)
        assert holds == (job_id == "stage"), job_id
    stage = data["jobs"]["stage"]
    assert set(stage["needs"]) == {"build", "sdist"}
    assert any("actions/download-artifact@" in s.get("uses", "") for s in stage["steps"])
    assert stage["steps"][-1]["run"] == "python -m numpy_wheels upload --local-folder wheelhouse"
    assert stage["environment"] == "staging"
    # the sdist job builds from the git checkout and uploads only the sdist
    sdist_steps = data["jobs"]["sdist"]["steps"]
    assert "python -m numpy_wheels sdist --source git" in [s.get("run") for s in sdist_steps]
    assert sdist_steps[-1]["with"]["path"].split() == [
        "wheelhouse/*.tar.gz",
        "wheelhouse/sdist-summary.json",  # its provenance
    ]
    # triggers: daily schedule, manual dispatch with an input; checkouts keep no token
    assert data["on"]["schedule"][0]["cron"]
    assert data["on"]["workflow_dispatch"]["inputs"]["mode"]["options"] == ["release", "daily"]
    for _, job in data["jobs"].items():
        for step in job["steps"]:
            if "actions/checkout@" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False


def test_publish_workflow() -> None:
    """publish.yml: dispatched by hand with a version and a target; the release gate (no
    credential, no upload) first; then trusted publishing with PEP 740 attestations, the
    OIDC permission only there, in the target's protected environment."""
    path = REPO / ".github" / "workflows" / "publish.yml"
    text = path.read_text()
    data = _yaml(path)
    inputs = data["on"]["workflow_dispatch"]["inputs"]
    assert set(data["on"]) == {"workflow_dispatch"}
    assert inputs["version"]["required"] is True
    assert inputs["target"]["options"] == ["testpypi", "pypi"]
    assert data["permissions"] == {}
    for line in text.splitlines():
        if "uses:" in line:
            assert re.search(r"@[0-9a-f]{40}\s+# v\d+\.\d+\.\d+$", line), line
    gate, publish = data["jobs"]["gate"], data["jobs"]["publish"]
    assert gate["permissions"] == {"contents": "read"}
    assert "secrets." not in json.dumps(data)
    run = "\n".join(s.get("run", "") for s in gate["steps"])
    assert 'numpy_wheels release "$VERSION" --dry-run' in run
    assert publish["needs"] == "gate"
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "${{ inputs.target }}"
    (action,) = [s for s in publish["steps"] if "gh-action-pypi-publish" in s.get("uses", "")]
    assert action["with"]["attestations"] is True
    assert "password" not in action["with"]  # trusted publishing: no token
    # the publish job runs no code of this repository (no checkout, no run step)
    assert all("run" not in s and "checkout" not in s.get("uses", "") for s in publish["steps"])
