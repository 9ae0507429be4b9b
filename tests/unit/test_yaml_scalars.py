"""Values are read as written: YAML numbers/bools/nulls keep their text, lint asks for quotes
(file:line), and bump writes a quoted value where the file's style needs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from numpy_wheels.cifiles.bump import apply, plan_bump
from numpy_wheels.cifiles.checks import lint
from numpy_wheels.cifiles.commit import resolve_commit
from numpy_wheels.cifiles.readers import read_config
from numpy_wheels.errors import LintError

APPVEYOR = """\
environment:
  global:
    BUILD_COMMIT: {commit}   # the numpy commit
    PYTHON_ARCH: 64
  matrix:
    - MB_PYTHON_VERSION: {py}
      PLAT: x86_64
"""
GITHUB = """\
env:
  BUILD_COMMIT: {commit}
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python: [{py}]
    env:
      MB_PYTHON_VERSION: ${{{{ matrix.python }}}}
      PLAT: x86_64
"""
TRAVIS = """\
env:
  global:
    - BUILD_COMMIT={commit}
"""

# (written, what a YAML loader would have made of it before)
NUMERIC = [("680841e1", "6808410.0"), ("0123456", "123456"), ("1.10", "1.1"), ("1e3", "1000.0")]


def where(root: Path, finding: object) -> list[str]:
    return [
        f"{loc.path.relative_to(root)}:{loc.line}"
        for loc in finding.locations  # type: ignore[attr-defined]
    ]


def wheels_repo(root: Path, commit: str, py: str = '"3.11"') -> Path:
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / "appveyor.yml").write_text(APPVEYOR.format(commit=commit, py=py))
    (root / ".github" / "workflows" / "wheels.yml").write_text(GITHUB.format(commit=commit, py=py))
    (root / ".travis.yml").write_text(TRAVIS.format(commit=commit))
    return root


@pytest.mark.parametrize(("written", "mangled"), NUMERIC)
def test_values_are_the_text_as_written(tmp_path: Path, written: str, mangled: str) -> None:
    config = read_config(wheels_repo(tmp_path, written))
    values = {
        (v.location.path.name, v.name): v.value for f in config.files for v in f.definitions()
    }
    assert values[("appveyor.yml", "BUILD_COMMIT")] == written
    assert values[("wheels.yml", "BUILD_COMMIT")] == written
    assert values[("appveyor.yml", "PYTHON_ARCH")] == "64"
    assert mangled not in values.values()
    # The files agree (all three say the same text), so the commit resolves to that text.
    assert resolve_commit(config, {}).commit == written


@pytest.mark.parametrize(("written", "mangled"), NUMERIC)
def test_lint_flags_numbers_with_file_line_and_the_fix(
    tmp_path: Path, written: str, mangled: str
) -> None:
    del mangled
    findings = lint(read_config(wheels_repo(tmp_path, written)))
    typed = {(w, f.subject) for f in findings if f.kind == "yaml-type" for w in where(tmp_path, f)}
    assert typed == {
        ("appveyor.yml:3", "BUILD_COMMIT"),
        (".github/workflows/wheels.yml:2", "BUILD_COMMIT"),
    }
    message = next(f.message for f in findings if f.locations[0].path.name == "appveyor.yml")
    assert f'quote it: BUILD_COMMIT: "{written}"' in message
    assert all(f.severity == "error" for f in findings if f.kind == "yaml-type")


def test_python_versions_in_a_github_matrix_and_appveyor(tmp_path: Path) -> None:
    config = read_config(wheels_repo(tmp_path, "v1.0", py="3.10"))
    github = config.by_provider("github")
    assert github is not None
    assert [j.get("MB_PYTHON_VERSION").value for j in github.jobs] == ["3.10"]  # type: ignore[union-attr]
    findings = [f for f in lint(config) if f.kind == "yaml-type"]
    places = sorted(w for f in findings for w in where(tmp_path, f))
    # The matrix value is named where it is written (line 8), once for all jobs using it.
    assert places == [".github/workflows/wheels.yml:8", "appveyor.yml:6"]
    matrix = next(f for f in findings if "wheels.yml" in str(f.locations[0]))
    assert "YAML 1.1 and 1.2 read the float 3.1;" in matrix.message
    assert "quote the matrix value at " in matrix.message
    assert "wheels.yml:8: '3.10'" in matrix.message


def test_quoted_values_and_plain_strings_are_clean(tmp_path: Path) -> None:
    assert lint(read_config(wheels_repo(tmp_path, '"680841e1"'))) == []
    other = tmp_path / "other"
    other.mkdir()
    assert lint(read_config(wheels_repo(other, "v2.4.6"))) == []


def test_a_number_elsewhere_is_flagged_only_when_its_text_changes(tmp_path: Path) -> None:
    (tmp_path / "appveyor.yml").write_text(
        "environment:\n  global:\n    BUILD_COMMIT: v1\n    PYTHON_ARCH: 64\n"
        "    SOME_FLAG: yes\n    SOME_VERSION: 1.10\n"
    )
    findings = [f for f in lint(read_config(tmp_path)) if f.kind == "yaml-type"]
    assert sorted(f.subject or "" for f in findings) == ["SOME_FLAG", "SOME_VERSION"]


@pytest.mark.parametrize("new", ["680841e1", "0123456", "1.10", "v2.4.7"])
def test_bump_quotes_where_the_style_needs_it(tmp_path: Path, new: str) -> None:
    root = wheels_repo(tmp_path, "680841e1")
    apply(plan_bump(read_config(root), new))
    quoted = new != "v2.4.7"
    q = '"' if quoted else ""
    appveyor = (root / "appveyor.yml").read_text().splitlines()
    assert appveyor[2] == f"    BUILD_COMMIT: {q}{new}{q}   # the numpy commit"
    github = (root / ".github" / "workflows" / "wheels.yml").read_text().splitlines()
    assert github[1] == f"  BUILD_COMMIT: {q}{new}{q}"
    # Travis strings are shell assignments inside a YAML string: never quoted.
    assert (root / ".travis.yml").read_text().splitlines()[2] == f"    - BUILD_COMMIT={new}"
    config = read_config(root)
    assert resolve_commit(config, {}).commit == new
    assert [f for f in lint(config) if f.subject == "BUILD_COMMIT"] == []


def test_a_numeric_commit_that_disagrees_is_named_as_written(tmp_path: Path) -> None:
    root = wheels_repo(tmp_path, "680841e1")
    (root / ".travis.yml").write_text(TRAVIS.format(commit="680841e2"))
    with pytest.raises(LintError, match="BUILD_COMMIT='680841e1'"):
        resolve_commit(read_config(root), {})


@pytest.mark.parametrize(
    ("written", "flagged"),
    [
        ("!!str 680841e1", None),  # an explicit !!str tag makes it a string: nothing to quote
        ("!!str 0123456", None),
        ("!!float 680841e1", "its tag !!float makes every YAML version read a float"),
        ('!!int "123"', "its tag !!int makes every YAML version read an int"),
    ],
)
def test_explicit_tags_decide_the_type(tmp_path: Path, written: str, flagged: str | None) -> None:
    (tmp_path / "appveyor.yml").write_text(
        f"environment:\n  global:\n    BUILD_COMMIT: {written}\n"
    )
    findings = [f for f in lint(read_config(tmp_path)) if f.kind == "yaml-type"]
    if flagged is None:
        assert findings == []
    else:
        (finding,) = findings
        assert flagged in finding.message
        assert "write it without the tag (or as !!str)" in finding.message


@pytest.mark.parametrize(
    ("written", "said"),
    [
        # YAML 1.1 floats need a dot (and an exponent a sign): these are 1.1 strings.
        ("680841e1", "YAML 1.2 reads the float 6808410.0 (YAML 1.1 reads the string)"),
        ("1e5", "YAML 1.2 reads the float 100000.0 (YAML 1.1 reads the string)"),
        ("0123456", "YAML 1.1 reads the integer 42798 (octal), YAML 1.2 the integer 123456"),
        ("1.10", "YAML 1.1 and 1.2 read the float 1.1"),
        ("yes", "YAML 1.1 reads the boolean true (YAML 1.2 reads the string)"),
        ("0o17", "YAML 1.2 reads the integer 15 (octal) (YAML 1.1 reads the string)"),
        ("1:20", "YAML 1.1 reads the integer 80 (base 60) (YAML 1.2 reads the string)"),
        ("~", "YAML 1.1 and 1.2 read null (no value)"),
    ],
)
def test_the_message_says_which_yaml_version_reads_what(
    tmp_path: Path, written: str, said: str
) -> None:
    (tmp_path / "appveyor.yml").write_text(
        f"environment:\n  global:\n    BUILD_COMMIT: {written}\n"
    )
    (finding,) = [f for f in lint(read_config(tmp_path)) if f.kind == "yaml-type"]
    assert f"BUILD_COMMIT: {written} is not read as the text written: {said};" in finding.message
