"""reproduce: one CI job's environment rebuilt from this repository's own CI files, resolved
by the option resolution ``build`` runs on that job's runner."""

from __future__ import annotations

import json

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.cifiles.jobs import describe
from numpy_wheels.config.build import read_ci_files
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
