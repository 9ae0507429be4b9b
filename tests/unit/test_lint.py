"""Each lint finding, the agreement checks, and commit/mode resolution."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from numpy_wheels.cifiles.checks import lint
from numpy_wheels.cifiles.commit import detect_mode, resolve_commit
from numpy_wheels.cifiles.jobs import coverage
from numpy_wheels.cifiles.readers import read_config
from numpy_wheels.config.build import ci_shares, read_ci_files, read_project_config
from numpy_wheels.errors import LintError
from tests.conftest import DATA

TRAVIS = """\
env:
  global:
    - BUILD_COMMIT={build}
    - DAILY_COMMIT=main
jobs:
  include:
    - env: MB_PYTHON_VERSION=3.12 PLAT=x86_64
"""
APPVEYOR = """\
environment:
  global:
    BUILD_COMMIT: {build}
    DAILY_COMMIT: {daily}
  matrix:
    - MB_PYTHON_VERSION: "{py}"
"""


def repo(
    tmp_path: Path,
    *,
    travis: str = "v1.0",
    appveyor: str = "v1.0",
    daily: str = "main",
    py: str = "3.12",
    extra: str = "",
) -> Path:
    (tmp_path / ".travis.yml").write_text(TRAVIS.format(build=travis) + extra)
    (tmp_path / "appveyor.yml").write_text(APPVEYOR.format(build=appveyor, daily=daily, py=py))
    return tmp_path


def kinds(root: Path) -> list[str]:
    return [f.kind for f in lint(read_config(root))]


def test_agreeing_files_are_clean(tmp_path: Path) -> None:
    assert lint(read_config(repo(tmp_path))) == []


def test_build_commit_disagreement_names_both_sides(tmp_path: Path) -> None:
    (finding,) = lint(read_config(repo(tmp_path, appveyor="v1.1")))
    assert finding.kind == "disagree"
    assert [(loc.path.name, loc.line) for loc in finding.locations] == [
        (".travis.yml", 3),
        ("appveyor.yml", 3),
    ]
    assert "'v1.0'" in finding.message
    assert "'v1.1'" in finding.message


def test_daily_commit_disagreement_across_names(tmp_path: Path) -> None:
    root = repo(tmp_path, daily="develop")
    (finding,) = lint(read_config(root))
    assert finding.subject == "DAILY_COMMIT"
    assert "the daily commit" in finding.message


def test_python_versions_disagree(tmp_path: Path) -> None:
    (finding,) = lint(read_config(repo(tmp_path, py="3.13")))
    assert finding.subject == "MB_PYTHON_VERSION"
    assert "3.12" in finding.message
    assert "3.13" in finding.message


def test_openblas_pin_disagrees(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "w.yml").write_text(
        "env:\n  OPENBLAS_VERSION: 0.3.31\n  BUILD_COMMIT: v1.0\n"
    )
    (root / "appveyor.yml").write_text(
        (root / "appveyor.yml")
        .read_text()
        .replace("  matrix:", "    OPENBLAS_VERSION: 0.3.30\n  matrix:")
    )
    findings = lint(read_config(root))
    assert [f.subject for f in findings] == ["OPENBLAS_VERSION"]


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("- BUILD_COMMIT==v1.0", "double-equals"),
        ('- TEST_DEPENDS="pytest', "unbalanced-quote"),
        ("- REPO_DIR=numpy oops", "not-assignment"),
        ("- WHEELHOUSE_UPLOADER_SECRET=hunter2-plain", "plain-credential"),
        ("- BUILD_COMIT=v1.0", "unknown-name"),
    ],
)
def test_value_findings(tmp_path: Path, line: str, kind: str) -> None:
    (tmp_path / ".travis.yml").write_text(f"env:\n  global:\n    - BUILD_COMMIT=v1.0\n    {line}\n")
    found = lint(read_config(tmp_path))
    assert kind in [f.kind for f in found]
    assert all(
        str(loc).endswith(".travis.yml:4") for f in found if f.kind == kind for loc in f.locations
    )


def test_unexpanded_expression_in_a_value_the_tool_reads(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "w.yml").write_text("env:\n  BUILD_COMMIT: ${{ inputs.ref }}\n  OTHER: $(Foo)\n")
    (tmp_path / "azure-pipelines.yml").write_text("variables:\n  DAILY_COMMIT: $(Build.Ref)\n")
    found = [f for f in lint(read_config(tmp_path)) if f.kind == "unexpanded"]
    assert sorted(str(f.locations[0]).rsplit("/", 1)[-1] for f in found) == [
        "azure-pipelines.yml:2",
        "w.yml:2",
    ]  # OTHER is not read: not flagged


def test_secret_references_are_not_plain_credentials(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "w.yml").write_text(
        "env:\n  BUILD_COMMIT: v1\n  TWINE_PASSWORD: ${{ secrets.PYPI }}\n  API_TOKEN: $TOKEN\n"
    )
    assert lint(read_config(tmp_path)) == []


def test_missing_build_commit(tmp_path: Path) -> None:
    (tmp_path / ".travis.yml").write_text("env:\n  global:\n    - REPO_DIR=numpy\n")
    assert kinds(tmp_path) == ["missing"]


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, "release"),
        ({"TRAVIS_EVENT_TYPE": "cron"}, "daily"),
        ({"TRAVIS_EVENT_TYPE": "push"}, "release"),
        ({"APPVEYOR_SCHEDULED_BUILD": "True"}, "daily"),
        ({"GITHUB_EVENT_NAME": "schedule"}, "daily"),
        ({"BUILD_REASON": "Schedule"}, "daily"),
        ({"BUILD_REASON": "IndividualCI"}, "release"),
    ],
)
def test_detect_mode(env: dict[str, str], mode: str) -> None:
    assert detect_mode(env)[0] == mode


def test_resolve_commit_release_and_daily(tmp_path: Path) -> None:
    config = read_config(repo(tmp_path))
    release = resolve_commit(config, {})
    assert (release.commit, release.mode, release.location.line) == ("v1.0", "release", 3)
    assert release.location.path.name == ".travis.yml"
    daily = resolve_commit(config, {"APPVEYOR": "True", "APPVEYOR_SCHEDULED_BUILD": "True"})
    assert (daily.commit, daily.mode, daily.variable) == ("main", "daily", "DAILY_COMMIT")
    assert daily.location.path.name == "appveyor.yml"  # the running CI's own file


def test_resolve_commit_refuses_disagreement(tmp_path: Path) -> None:
    with pytest.raises(LintError, match=r"\.travis\.yml:3.*appveyor\.yml:3"):
        resolve_commit(read_config(repo(tmp_path, appveyor="v2.0")), {})


def test_resolve_commit_refuses_double_equals(tmp_path: Path) -> None:
    (tmp_path / ".travis.yml").write_text("env:\n  global:\n    - BUILD_COMMIT==v1.12.0\n")
    with pytest.raises(LintError, match="doubled"):
        resolve_commit(read_config(tmp_path), {})


def test_daily_mode_without_daily_commit(tmp_path: Path) -> None:
    (tmp_path / ".travis.yml").write_text("env:\n  global:\n    - BUILD_COMMIT=v1\n")
    with pytest.raises(LintError, match="no CI file sets DAILY_COMMIT or CRON_COMMIT"):
        resolve_commit(read_config(tmp_path), {"TRAVIS_EVENT_TYPE": "cron"})


def test_historic_names_resolve(data_copy: Callable[[str], Path]) -> None:
    cron = resolve_commit(read_config(data_copy("travis2021")), {"TRAVIS_EVENT_TYPE": "cron"})
    assert (cron.commit, cron.variable) == ("main", "CRON_COMMIT")
    nightly = resolve_commit(read_config(DATA / "azure"), {"BUILD_REASON": "Schedule"})
    assert (nightly.commit, nightly.variable) == ("master", "NIGHTLY_BUILD_COMMIT")


def test_this_repository_is_clean() -> None:
    root = Path(__file__).parents[2]
    project = read_project_config(root)
    shares = ci_shares(project)
    assert shares is not None
    config = read_ci_files(root, project)
    assert lint(config, check_pythons=False) == []
    assert coverage(config, shares) == []


# -- each finding kind its own hint; stray characters; tabs; globals set in one file only ------


def lint_cli(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from numpy_wheels.__main__ import main

    capsys.readouterr()
    code = main(["--root", str(root), "lint"], env={})
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ('BUILD_COMMIT: "v1"\n    MB_PYTHON_VERSION: 3.10', "so every YAML version reads"),
        ('BUILD_COMMIT: "v1"\n    BUILD_COMIT: v1', "Correct the variable's name"),
        ("BUILD_COMMIT: v1 v2", "Write a tag, branch or commit hash"),
    ],
)
def test_each_finding_kind_has_its_own_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, hint: str
) -> None:
    """A quoting problem or a typo is not fixed by making the files agree with bump."""
    (tmp_path / "appveyor.yml").write_text(f"environment:\n  global:\n    {line}\n")
    code, output = lint_cli(tmp_path, capsys)
    assert code == 4
    hints = [h for h in output.splitlines() if h.startswith("hint: ")]
    assert len(hints) == 1
    assert hint in hints[0]
    assert "Make the CI files agree" not in output


def test_a_commit_disagreement_keeps_the_bump_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = lint_cli(repo(tmp_path, appveyor="v1.1"), capsys)
    assert code == 4
    assert "hint: Make the CI files agree (`python -m numpy_wheels bump REF`" in output


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("BUILD_COMMIT: v2.4.6\u00a0", "has U+00A0 (NO-BREAK SPACE) at position 7 of 7"),
        ('BUILD_COMMIT: "v2.4.6\u200b"', "has U+200B (ZERO WIDTH SPACE) at position 7 of 7"),
        ("BUILD_COMMIT: |\n      v2.4.6", "ends with a line break (a `|` block scalar keeps"),
        (
            "BUILD_COMMIT: v2.4.6\n    REPO_DIR: numpy|",
            "REPO_DIR: its value 'numpy|' ends with '|'",
        ),
        ('BUILD_COMMIT: v1\n    API_TOKEN: "$X\u00a0"', "API_TOKEN: its value has U+00A0"),
    ],
)
def test_stray_characters_are_flagged(tmp_path: Path, written: str, said: str) -> None:
    (tmp_path / "appveyor.yml").write_text(f"environment:\n  global:\n    {written}\n")
    found = [f for f in lint(read_config(tmp_path)) if f.kind == "stray-character"]
    assert len(found) == 1
    assert said in found[0].message
    line = 4 if "REPO_DIR" in said or "API_TOKEN" in said else 3
    assert str(found[0].locations[0]).endswith(f"appveyor.yml:{line}")
    assert "$X" not in found[0].message  # a credential's value is never shown


def test_stray_character_in_a_travis_string(tmp_path: Path) -> None:
    (tmp_path / ".travis.yml").write_text("env:\n  global:\n    - BUILD_COMMIT=v2.4.6\u00a0\n")
    (finding,) = [f for f in lint(read_config(tmp_path)) if f.kind == "stray-character"]
    assert str(finding.locations[0]).endswith(".travis.yml:3")


def test_a_tab_after_the_colon_is_read(tmp_path: Path) -> None:
    """``key:<TAB>value`` is valid YAML (separation is spaces or tabs); ruamel refuses it."""
    (tmp_path / "appveyor.yml").write_text("environment:\n  global:\n    BUILD_COMMIT:\tv1\n")
    config = read_config(tmp_path)
    assert resolve_commit(config, {}).commit == "v1"
    assert lint(config) == []


def test_a_tab_in_indentation_names_file_line(tmp_path: Path) -> None:
    from numpy_wheels.errors import ConfigError

    (tmp_path / "appveyor.yml").write_text("environment:\n  global:\n\tBUILD_COMMIT: v1\n")
    with pytest.raises(ConfigError, match=r"appveyor\.yml:3: .*a tab where YAML needs spaces"):
        read_config(tmp_path)


def test_a_global_set_in_one_file_only_is_a_warning(tmp_path: Path) -> None:
    root = repo(tmp_path, extra="")
    travis = root / ".travis.yml"
    travis.write_text(
        travis.read_text().replace("global:\n", "global:\n    - REPO_URL=https://x/y\n")
    )
    (finding,) = lint(read_config(root))
    assert (finding.kind, finding.subject, finding.severity) == ("disagree", "REPO_URL", "warning")
    assert re.search(r"\.travis\.yml:3 but not in \S*/appveyor\.yml, whose jobs", finding.message)


def test_one_ci_file_agrees(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "appveyor.yml").write_text("environment:\n  global:\n    BUILD_COMMIT: v1\n")
    assert lint_cli(tmp_path, capsys) == (0, "1 CI file agrees: appveyor.yml\n")
