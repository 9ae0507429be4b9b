"""bump: only the values change; comments, order, quoting and indentation stay."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.cifiles.bump import apply, plan_bump, validate_ref
from numpy_wheels.cifiles.commit import resolve_commit
from numpy_wheels.cifiles.readers import read_config
from numpy_wheels.errors import ConfigError, LintError, UsageError

FIXTURES = ["travis2018", "travis2021", "travisrows", "appveyor", "azure", "github", "this-repo"]


@pytest.mark.parametrize("name", FIXTURES)
def test_bump_changes_only_the_build_commit(data_copy: Callable[[str], Path], name: str) -> None:
    root = data_copy(name)
    config = read_config(root)
    before = {f.path: f.path.read_text() for f in config.files}
    old_values = {
        (v.location.path, v.location.line): v.value
        for f in config.files
        for v in f.definitions()
        if v.name == "BUILD_COMMIT"
    }
    edits = plan_bump(config, "v9.9.9")
    apply(edits)
    assert edits
    for edit in edits:
        old_lines = before[edit.path].splitlines()
        new_lines = edit.path.read_text().splitlines()
        assert len(old_lines) == len(new_lines)
        for number, (old, new) in enumerate(zip(old_lines, new_lines, strict=True), start=1):
            value = old_values.get((edit.path, number))
            if value is None:
                assert new == old  # every other line is byte-identical
            else:
                assert new == old.replace(value, "v9.9.9", 1)  # quotes, indent, comment kept
    assert resolve_commit(read_config(root), {}).commit == "v9.9.9"
    for path in before.keys() - {e.path for e in edits}:
        assert path.read_text() == before[path]


def test_bump_daily(data_copy: Callable[[str], Path]) -> None:
    root = data_copy("travis2021")
    apply(plan_bump(read_config(root), "maintenance/2.4.x", daily=True))
    text = (root / ".travis.yml").read_text()
    assert "- CRON_COMMIT=maintenance/2.4.x\n" in text
    assert "- BUILD_COMMIT='v1.21.0'\n" in text  # quoting of the other value kept


def test_bump_keeps_quotes(data_copy: Callable[[str], Path]) -> None:
    root = data_copy("travis2021")
    apply(plan_bump(read_config(root), "v1.21.1"))
    assert "- BUILD_COMMIT='v1.21.1'\n" in (root / ".travis.yml").read_text()


def test_bump_quotes_values_yaml_would_misread(data_copy: Callable[[str], Path]) -> None:
    root = data_copy("appveyor")
    apply(plan_bump(read_config(root), "1.20"))  # a bare 1.20 would load as the float 1.2
    assert '      BUILD_COMMIT: "1.20"\n' in (root / "appveyor.yml").read_text()
    assert resolve_commit(read_config(root), {}).commit == "1.20"


def git_repo(root: Path) -> dict[str, str]:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e.invalid",
        "PATH": "/usr/bin:/bin",
        "HOME": str(root),
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "ci"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    return env


def test_git_diff_numstat_one_line_per_file(data_copy: Callable[[str], Path]) -> None:
    root = data_copy("this-repo")
    env = git_repo(root)
    apply(plan_bump(read_config(root), "v9.9.9"))
    out = subprocess.run(
        ["git", "diff", "--numstat"], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout
    rows = sorted(line.split("\t") for line in out.splitlines())
    assert rows == [
        ["1", "1", ".github/workflows/wheels.yml"],
        ["1", "1", ".travis.yml"],
        ["1", "1", "appveyor.yml"],
    ]


def test_the_printed_diff_applies_with_git_apply(
    data_copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`bump --dry-run > p.diff; git apply p.diff` does the bump: the headers name the path
    from the repository root (a/.github/workflows/wheels.yml, not a/wheels.yml)."""
    root = data_copy("this-repo")
    env = git_repo(root)
    capsys.readouterr()
    assert main(["--root", str(root), "bump", "v9.9.9", "--dry-run"], env={}) == 0
    patch = root.parent / "bump.diff"
    lines = capsys.readouterr().out.splitlines()
    patch.write_text("\n".join(line for line in lines if not line.startswith("dry run")) + "\n")
    assert "--- a/.github/workflows/wheels.yml" in patch.read_text()
    subprocess.run(["git", "apply", "--check", str(patch)], cwd=root, env=env, check=True)
    subprocess.run(["git", "apply", str(patch)], cwd=root, env=env, check=True)
    assert resolve_commit(read_config(root), {}).commit == "v9.9.9"
    assert {e.target for e in plan_bump(read_config(root), "v9.9.9")} == set()


def test_bump_to_the_current_commit_changes_nothing(
    data_copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = data_copy("this-repo")
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["--root", str(root), "bump", "v2.4.6"], env={}) == 0
    out = capsys.readouterr().out
    assert out == "nothing changed: every CI file already sets BUILD_COMMIT to v2.4.6\n"
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == before


def test_refuses_files_that_disagree_unless_forced(data_copy: Callable[[str], Path]) -> None:
    root = data_copy("this-repo")
    path = root / "appveyor.yml"
    path.write_text(path.read_text().replace("BUILD_COMMIT: v2.4.6", "BUILD_COMMIT: v2.4.5"))
    before = path.read_text()
    with pytest.raises(LintError, match="already disagree"):
        plan_bump(read_config(root), "v9.9.9")
    assert path.read_text() == before
    apply(plan_bump(read_config(root), "v9.9.9", force=True))
    assert resolve_commit(read_config(root), {}).commit == "v9.9.9"


def test_dry_run_plan_writes_nothing(data_copy: Callable[[str], Path]) -> None:
    root = data_copy("this-repo")
    before = (root / ".travis.yml").read_text()
    edits = plan_bump(read_config(root), "v9.9.9")
    assert "+    - BUILD_COMMIT=v9.9.9" in edits[0].diff()
    assert (root / ".travis.yml").read_text() == before


@pytest.mark.parametrize("ref", ["=v1", "v1 .2", "a..b", "x.lock", "", "-v1", "v1:2"])
def test_invalid_refs(ref: str) -> None:
    with pytest.raises(UsageError):
        validate_ref(ref)


# -- every YAML form a value can be written in (issue 12 tryout) -------------------------------

APPVEYOR_AT = "environment:\n  global:\n    {}\n    PYTHON_ARCH: 64  # kept\n"
TRAVIS_AT = "env:\n  global:\n    {}\n    - Z=1  # kept\n"
# (form, file, what is written, what bump v2.4.7 writes instead)
FORMS = [
    ("anchored", APPVEYOR_AT, 'BUILD_COMMIT: &commit "abc"', 'BUILD_COMMIT: &commit "v2.4.7"'),
    ("tagged", APPVEYOR_AT, "BUILD_COMMIT: !!str 680841e1", "BUILD_COMMIT: !!str v2.4.7"),
    (
        "folded",
        APPVEYOR_AT,
        "BUILD_COMMIT: >-  # c\n      abc",
        "BUILD_COMMIT: >-  # c\n      v2.4.7",
    ),
    ("literal", APPVEYOR_AT, "BUILD_COMMIT: |\n      abc", "BUILD_COMMIT: |\n      v2.4.7"),
    ("quoted-lines", APPVEYOR_AT, 'BUILD_COMMIT: "ab\n      c"', 'BUILD_COMMIT: "v2.4.7"'),
    ("plain-lines", APPVEYOR_AT, "BUILD_COMMIT: ab\n      c", "BUILD_COMMIT: v2.4.7"),
    ("single-quoted", APPVEYOR_AT, "BUILD_COMMIT: 'abc'", "BUILD_COMMIT: 'v2.4.7'"),
    ("empty", APPVEYOR_AT, "BUILD_COMMIT:", "BUILD_COMMIT: v2.4.7"),
    (
        "alias-of-bumped-values",
        "environment:\n  global:\n    {}\n  matrix:\n    - BUILD_COMMIT: *c\n",
        "BUILD_COMMIT: &c abc",
        "BUILD_COMMIT: &c v2.4.7",
    ),
    (
        "merged-key",
        "defaults: &d\n  {}\nenvironment:\n  global:\n    <<: *d\n    X: 1\n",
        "BUILD_COMMIT: abc",
        "BUILD_COMMIT: v2.4.7",
    ),
    (
        "travis-anchored",
        TRAVIS_AT,
        "- &c BUILD_COMMIT=abc\n    - *c",
        "- &c BUILD_COMMIT=v2.4.7\n    - *c",
    ),
    ("travis-tagged", TRAVIS_AT, "- !!str BUILD_COMMIT=abc", "- !!str BUILD_COMMIT=v2.4.7"),
    (
        "travis-folded",
        TRAVIS_AT,
        "- >-\n      X=1\n      BUILD_COMMIT=abc\n      Y=2",
        "- >-\n      X=1\n      BUILD_COMMIT=v2.4.7\n      Y=2",
    ),
    (
        "travis-literal",
        TRAVIS_AT,
        "- |\n      BUILD_COMMIT=abc X=1",
        "- |\n      BUILD_COMMIT=v2.4.7 X=1",
    ),
    (
        "travis-quoted-lines",
        TRAVIS_AT,
        "- \"X=2\n      BUILD_COMMIT='abc' Y=3\"",
        "- \"X=2\n      BUILD_COMMIT='v2.4.7' Y=3\"",
    ),
]


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize(("form", "layout", "written", "bumped"), FORMS, ids=[f[0] for f in FORMS])
def test_bump_edits_the_value_in_every_yaml_form(
    tmp_path: Path, form: str, layout: str, written: str, bumped: str, eol: str
) -> None:
    """Only the value changes — the anchor, the tag, the block style and its header comment,
    the quotes, CRLF and every other byte stay."""
    name = ".travis.yml" if form.startswith("travis") else "appveyor.yml"
    path = tmp_path / name
    path.write_bytes(layout.format(written).replace("\n", eol).encode())
    apply(plan_bump(read_config(tmp_path), "v2.4.7", force=True))
    assert path.read_bytes() == layout.format(bumped).replace("\n", eol).encode()
    assert resolve_commit(read_config(tmp_path), {}).commit == "v2.4.7"


REFUSED = [
    (
        "alias-of-another-value",
        "    OTHER: &c abc\n    BUILD_COMMIT: *c\n",
        r"appveyor.yml:4: BUILD_COMMIT is the alias \*c of the anchor &c at \S*appveyor.yml:3, "
        r"which OTHER \(\S*appveyor.yml:3\) also uses",
    ),
    (
        "anchor-used-elsewhere",
        "    BUILD_COMMIT: &c abc\n    OTHER: *c\n",
        r"appveyor.yml:3: BUILD_COMMIT's value is the anchor &c, which OTHER "
        r"\(\S*appveyor.yml:4\) also uses",
    ),
    (
        "float-tag",
        "    BUILD_COMMIT: !!float 1.5\n",
        r"appveyor.yml:3: BUILD_COMMIT has the tag !!float, .* write it without the tag "
        r'\(BUILD_COMMIT: "1.5"\)',
    ),
]


@pytest.mark.parametrize(("form", "body", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_form_bump_cannot_edit_alone_is_refused_naming_file_line(
    tmp_path: Path, form: str, body: str, message: str
) -> None:
    del form
    path = tmp_path / "appveyor.yml"
    path.write_text("environment:\n  global:\n" + body)
    with pytest.raises(ConfigError, match=message) as info:
        plan_bump(read_config(tmp_path), "v2.4.7", force=True)
    assert "\n" not in str(info.value)


def test_an_edit_that_would_change_another_value_is_refused(tmp_path: Path) -> None:
    """A Travis string shared through an alias with another variable: editing it would change
    that one too. The round-trip check names it (and never shows its value)."""
    path = tmp_path / ".travis.yml"
    text = 'env:\n  global:\n    - &s "BUILD_COMMIT=v1"\n    - MY_TOKEN: *s\n'
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"would change MY_TOKEN's value; nothing was changed"):
        plan_bump(read_config(tmp_path), "v2.4.7")
    assert path.read_text() == text
