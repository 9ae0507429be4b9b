"""reproduce: one CI job's environment rebuilt from this repository's own CI files, resolved
by the option resolution ``build`` runs on that job's runner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.cifiles.jobs import describe
from numpy_wheels.config.build import BuildRequest, read_ci_files, resolve_build_options
from numpy_wheels.errors import SelectionError, UsageError
from tests.conftest import REPO


def test_travis_job_0_environment() -> None:
    rep = describe(read_ci_files(REPO), "travis", "0", daily=False)
    assert rep.identifier == "cp311-macosx_x86_64"
    assert rep.os_name == "macos"
    assert (rep.commit.commit, rep.commit.mode) == ("v2.4.6", "release")
    assert rep.commit.location.path.name == ".travis.yml"
    assert rep.ci_job_env()["TRAVIS_OS_NAME"] == "osx"
    env = rep.job_env({"PATH": "/bin", "CI": "true", "TRAVIS": "true", "HOME": "/h"})
    assert env["MB_PYTHON_VERSION"] == "3.11"
    assert env["TEST_DEPENDS"] == "pytest pytest-xdist hypothesis"
    assert "CI" not in env  # a local run must not pick CI behaviour (backend, folding)
    assert "TRAVIS" not in env
    assert env["PATH"] == "/bin"


def test_daily_mode_sets_the_schedule_marker() -> None:
    rep = describe(read_ci_files(REPO), "github", "build cp313-macosx_arm64", daily=True)
    assert rep.identifier == "cp313-macosx_arm64"
    assert (rep.commit.variable, rep.commit.commit, rep.commit.mode) == (
        "DAILY_COMMIT",
        "main",
        "daily",
    )
    assert rep.job_env({})["GITHUB_EVENT_NAME"] == "schedule"
    assert rep.ci_job_env()["GITHUB_EVENT_NAME"] == "schedule"


def test_macos_job_prints_what_ci_runs(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--root", str(REPO), "reproduce", "--ci", "github", "--job"]
    # "cp313-macosx_arm64" names two jobs (OpenBLAS and Accelerate): refused, with the list
    assert main([*argv, "cp313-macosx_arm64"], env={}) == SelectionError.return_code
    assert "matches 2 jobs" in capsys.readouterr().err
    code = main([*argv, "build cp313-macosx_arm64-accelerate", "--json", "--dry-run"], env={})
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert (data["os"], data["key"], data["variant"]) == (
        "macos",
        "cp313-macosx_arm64+accelerate",
        "accelerate",
    )
    assert data["ci"]["backend"] == "cibuildwheel"
    assert data["ci"]["commands"] == ["python -m numpy_wheels build"]
    assert data["ci"]["runner"] == "macos-14"
    assert data["ci"]["env"]["BLAS_BACKEND"] == "accelerate"
    assert data["ci"]["env"]["RUNNER_OS"] == "macOS"
    assert data["plan"]["wheel_platform"] == "macosx_14_0_arm64"
    assert "not run here" in err
    assert "builds cp313-macosx_arm64+accelerate" in err


def test_bad_job_and_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--root", str(REPO), "reproduce", "--ci", "travis", "--job", "99"], env={})
        == SelectionError.return_code
    )
    assert "has 12 jobs" in capsys.readouterr().err
    assert (
        main(["--root", str(REPO), "reproduce", "--ci", "azure", "--job", "0"], env={})
        == UsageError.return_code
    )
    assert "no azure CI file" in capsys.readouterr().err


PANDAS = REPO / "tests" / "corpus" / "pandas-wheels-2023-05"


def test_the_process_environment_overrides_a_reproduced_job(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """reproduce takes the job's environment from the one computation `build` makes
    (cifiles.jobs.job_environment): the process environment overrides the CI file's values,
    BUILD_COMMIT excepted (issue 12 tryout: PLAT and TEST_DEPENDS were ignored)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PLAT": "i686",
        "TEST_DEPENDS": "pytest==8.3.5 hypothesis",
        "BUILD_COMMIT": "v9.9.9",
        "CI": "true",
    }
    argv = ["--root", str(PANDAS), "reproduce", "--ci", "travis", "--job", "3", "--dry-run"]
    assert main([*argv, "--json"], env=env) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["identifier"] == "cp311-manylinux_i686"  # the file says PLAT=aarch64
    assert data["variables"]["PLAT"] == "i686"
    assert data["variables"]["TEST_DEPENDS"] == "pytest==8.3.5 hypothesis"
    assert data["commit"] == data["variables"]["BUILD_COMMIT"] == "v1.5.3"
    assert "BUILD_COMMIT='v9.9.9' in the environment is not used" in err
    assert main(argv, env=env) == 0
    shown = "".join(capsys.readouterr())
    assert re.search(r"PLAT +i686 +the process environment \(over 'aarch64' at \S+:13\)", shown)
    # and said as a warning: a shell's own PLAT/PYTHON_VERSION changes what is reproduced
    assert "Warning: PLAT=i686 from the process environment overrides the job's value" in shown
    assert "unset PLAT to reproduce the job as written" in shown
    assert "TEST_DEPENDS" in shown
    assert "pytest==8.3.5 hypothesis" in shown
    # what a local run of the job gets, and what `build` resolves from it
    config = read_ci_files(PANDAS)
    rep = describe(config, "travis", "3", daily=False, env={**env, "PLAT": "x86_64"})
    local = rep.job_env({**env, "PLAT": "x86_64"})
    assert (local["PLAT"], local["BUILD_COMMIT"], "CI" in local) == ("x86_64", "v1.5.3", False)
    opts = resolve_build_options(
        BuildRequest(root=PANDAS, only=rep.identifier, backend="host"),
        env=local,
        host_id=rep.identifier,
        ci_config=config,
    )
    assert [b.key for b in opts.identifiers] == ["cp311-manylinux_x86_64"]
    assert opts.test_depends == ("pytest==8.3.5", "hypothesis")


WORKFLOW_ON_MACOS_13 = """\
env:
  BUILD_COMMIT: v2.4.6
  REPO_DIR: fooext
  REPO_URL: https://github.com/example/fooext.git
jobs:
  build:
    runs-on: macos-13
    env:
      MB_PYTHON_VERSION: "3.12"
      PLAT: x86_64
    steps:
      - run: python -m numpy_wheels build
"""


def test_the_runner_is_the_one_the_workflow_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """reproduce showed macos-15-intel (numpy's runner for the wheel) for a job that says
    runs-on: macos-13: the runner shown is the file's, and its retirement is said."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "wheels.yml").write_text(WORKFLOW_ON_MACOS_13)
    argv = ["--root", str(tmp_path), "reproduce", "--ci", "github", "--job", "0", "--dry-run"]
    assert main([*argv, "--json"], env={}) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["identifier"] == "cp312-macosx_x86_64"
    assert data["ci"]["backend"] == "cibuildwheel"
    assert data["ci"]["runner"] == "macos-13"
    (note,) = data["ci"]["runner_notes"]
    assert "runs-on: macos-13 (retired by GitHub on 2025-12-04)" in note
    assert "on CI (macos-13) the job runs" in err
    assert "macos-15-intel" in note  # where this tool's plan builds it, named as such
    # a runner GitHub still has, other than the plan's: shown as written, the plan's named
    (workflows / "wheels.yml").write_text(WORKFLOW_ON_MACOS_13.replace("macos-13", "macos-14"))
    assert main([*argv, "--json"], env={}) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ci"]["runner"] == "macos-14"
    (note,) = data["ci"]["runner_notes"]
    assert "the workflow says runs-on: macos-14; this tool's plan builds" in note
