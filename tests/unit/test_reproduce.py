"""reproduce: one CI job's environment rebuilt from this repository's own CI files."""

from __future__ import annotations

import json

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.cifiles.jobs import describe
from numpy_wheels.cifiles.readers import read_config
from numpy_wheels.errors import SelectionError, UsageError
from tests.conftest import REPO


def test_travis_job_0_environment() -> None:
    rep = describe(read_config(REPO), "travis", "0", daily=False)
    assert rep.identifier == "cp311-manylinux_x86_64"
    assert rep.os_name == "linux"
    assert (rep.commit.commit, rep.commit.mode) == ("v2.4.6", "release")
    assert rep.commit.location.path.name == ".travis.yml"
    env = rep.job_env({"PATH": "/bin", "CI": "true", "TRAVIS": "true", "HOME": "/h"})
    assert env["MB_PYTHON_VERSION"] == "3.11"
    assert env["TEST_DEPENDS"] == "pytest pytest-xdist hypothesis"
    assert "CI" not in env  # a local run must not pick CI behaviour (backend, folding)
    assert "TRAVIS" not in env
    assert env["PATH"] == "/bin"


def test_daily_mode_sets_the_schedule_marker() -> None:
    rep = describe(
        read_config(REPO), "github", "build os=macos-14 python=3.13 plat=arm64", daily=True
    )
    assert rep.identifier == "cp313-macosx_arm64"
    assert (rep.commit.variable, rep.commit.commit, rep.commit.mode) == (
        "DAILY_COMMIT",
        "main",
        "daily",
    )
    assert rep.job_env({})["GITHUB_EVENT_NAME"] == "schedule"


def test_macos_job_prints_plan_and_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--root",
            str(REPO),
            "reproduce",
            "--ci",
            "travis",
            "--job",
            "MB_PYTHON_VERSION=3.12 PLAT=x86_64",
            "--json",
        ],
        env={},
    )
    # two jobs have that name (Linux and macOS): refused, with the list
    assert code == SelectionError.return_code
    capsys.readouterr()
    jobs = read_config(REPO).by_provider("travis")
    assert jobs is not None
    mac = next(i for i, j in enumerate(jobs.jobs) if j.os == "osx")
    code = main(
        ["--root", str(REPO), "reproduce", "--ci", "travis", "--job", str(mac), "--json"], env={}
    )
    out, err = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert data["os"] == "macos"
    assert data["plan"]["repair"][0] == "delocate-wheel"
    assert "not run here" in err
    assert f"build --backend cibuildwheel --only {data['identifier']}" in err


def test_bad_job_and_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--root", str(REPO), "reproduce", "--ci", "travis", "--job", "99"], env={})
        == SelectionError.return_code
    )
    assert "has 15 jobs" in capsys.readouterr().err
    assert (
        main(["--root", str(REPO), "reproduce", "--ci", "azure", "--job", "0"], env={})
        == UsageError.return_code
    )
    assert "no azure CI file" in capsys.readouterr().err


def test_linux_job_runs_the_typed_build_in_the_job_environment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Job 9 (cp314t aarch64) runs build in-process with the job's variables; the host backend
    refuses it before any work, with the job's identifier — exit code of SelectionError, the
    error printed once."""
    code = main(["--root", str(REPO), "reproduce", "--ci", "travis", "--job", "9"], env={})
    out, err = capsys.readouterr()
    assert code == SelectionError.return_code
    assert (
        "running: python -m numpy_wheels build --backend host --only cp314t-manylinux_aarch64"
        in out
    )
    assert "not cp314t-manylinux_aarch64" in err
    assert err.count("error:") == 1
