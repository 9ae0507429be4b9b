"""The CLI: commands, JSON, exit codes, and bad input without tracebacks."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.errors import ConfigError, LintError, SelectionError, UsageError

Copy = Callable[[str], Path]


def run(
    capsys: pytest.CaptureFixture[str], *argv: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    code = main(list(argv), env=env or {})
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_commit_prints_travis_tag(capsys: pytest.CaptureFixture[str], data_copy: Copy) -> None:
    root = data_copy("this-repo")
    code, out, _ = run(capsys, "--root", str(root), "commit")
    assert code == 0
    assert out.splitlines()[0] == "v2.4.6"
    assert ".travis.yml:" in out
    assert "release" in out


def test_commit_json_daily(capsys: pytest.CaptureFixture[str], data_copy: Copy) -> None:
    root = data_copy("this-repo")
    code, out, _ = run(
        capsys,
        "--root",
        str(root),
        "commit",
        "--json",
        env={"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "schedule"},
    )
    assert code == 0
    data = json.loads(out)
    assert data["commit"] == "main"
    assert data["mode"] == "daily"
    assert data["file"].endswith(".github/workflows/wheels.yml")
    assert data["reason"] == "GITHUB_EVENT_NAME=schedule"


def test_lint_clean(capsys: pytest.CaptureFixture[str], data_copy: Copy) -> None:
    code, out, _ = run(capsys, "--root", str(data_copy("this-repo")), "lint")
    assert code == 0
    assert "3 CI files agree" in out


def lint_json(capsys: pytest.CaptureFixture[str], root: Path) -> tuple[int, list[dict[str, Any]]]:
    code, out, _ = run(capsys, "--root", str(root), "lint", "--json")
    return code, json.loads(out)


def test_lint_a_share_nobody_builds(capsys: pytest.CaptureFixture[str], data_copy: Copy) -> None:
    """Deleting .travis.yml leaves [tool.numpy-wheels.ci]'s travis share (the Intel macOS
    wheels) built by nobody: an error naming pyproject.toml, not '2 CI files agree'."""
    root = data_copy("this-repo")
    (root / ".travis.yml").unlink()
    code, findings = lint_json(capsys, root)
    assert code == LintError.return_code
    [finding] = [f for f in findings if "no travis CI file" in f["message"]]
    assert finding["severity"] == "error"
    table = (root / "pyproject.toml").read_text().splitlines().index("[tool.numpy-wheels.ci]")
    assert finding["locations"] == [f"{root / 'pyproject.toml'}:{table + 1}"]
    assert "cp311-macosx_x86_64" in finding["message"]


def test_lint_wheels_no_share_matches(capsys: pytest.CaptureFixture[str], data_copy: Copy) -> None:
    root = data_copy("this-repo")
    path = root / "pyproject.toml"
    path.write_text(path.read_text().replace('github = ["*"]', 'github = ["*-manylinux_*"]'))
    code, findings = lint_json(capsys, root)
    assert code == LintError.return_code
    [finding] = [f for f in findings if "no CI service builds" in f["message"]]
    assert finding["severity"] == "error"
    assert "cp311-musllinux_x86_64" in finding["message"]


def test_lint_warns_of_a_share_selector_matching_nothing(
    capsys: pytest.CaptureFixture[str], data_copy: Copy
) -> None:
    root = data_copy("this-repo")
    path = root / "pyproject.toml"
    path.write_text(path.read_text().replace('["*-win32"]', '["*-win32", "*-win_ia64"]'))
    code, findings = lint_json(capsys, root)
    assert code == 0  # a warning: every wheel still has its builder
    assert [(f["severity"], f["message"]) for f in findings] == [
        ("warning", "ci.appveyor selector '*-win_ia64' matches no wheel of the selection")
    ]


def test_lint_and_build_refuse_disagreement(
    capsys: pytest.CaptureFixture[str], data_copy: Copy
) -> None:
    root = data_copy("this-repo")
    path = root / "appveyor.yml"
    path.write_text(path.read_text().replace("BUILD_COMMIT: v2.4.6", "BUILD_COMMIT: v2.4.5"))
    code, _, err = run(capsys, "--root", str(root), "lint")
    assert code == LintError.return_code
    assert ".travis.yml:" in err
    assert "appveyor.yml:" in err
    code, _, err = run(capsys, "--root", str(root), "build", "--backend", "host")
    assert code == LintError.return_code
    assert "disagree" in err
    assert not (root / "wheelhouse").exists()  # refused before any work


def test_lint_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / ".travis.yml").write_text("env:\n  global:\n    - BUILD_COMMIT==v1\n")
    code, out, _ = run(capsys, "--root", str(tmp_path), "lint", "--json")
    assert code == LintError.return_code
    assert [f["kind"] for f in json.loads(out)] == ["double-equals"]


def test_bump_dry_run_and_apply(capsys: pytest.CaptureFixture[str], data_copy: Copy) -> None:
    root = data_copy("this-repo")
    before = (root / ".travis.yml").read_text()
    code, out, _ = run(capsys, "--root", str(root), "bump", "v9.9.9", "--dry-run")
    assert code == 0
    assert "+    - BUILD_COMMIT=v9.9.9" in out
    assert (root / ".travis.yml").read_text() == before
    code, out, _ = run(capsys, "--root", str(root), "bump", "v9.9.9")
    assert code == 0
    assert "3 file(s) changed" in out
    assert run(capsys, "--root", str(root), "commit")[1].startswith("v9.9.9")


def test_bump_bad_ref(capsys: pytest.CaptureFixture[str], data_copy: Copy) -> None:
    code, _, err = run(capsys, "--root", str(data_copy("this-repo")), "bump", "=v1")
    assert code == UsageError.return_code
    assert "not a valid git ref" in err


def test_matrix_json_is_a_github_matrix(
    capsys: pytest.CaptureFixture[str], data_copy: Copy
) -> None:
    code, out, _ = run(capsys, "--root", str(data_copy("this-repo")), "matrix", "--json")
    assert code == 0
    rows = json.loads(out)["include"]
    ids = {row["identifier"] for row in rows}
    assert {"cp312-manylinux_x86_64", "cp314t-win_amd64", "cp311-macosx_arm64"} <= ids
    # one row per wheel: 59 identifiers, 12 of them twice (OpenBLAS and Accelerate)
    assert (len(ids), len(rows)) == (59, 71)
    assert len({row["name"] for row in rows}) == 71  # unique artifact names
    accelerate = [r for r in rows if r["variant"] == "accelerate"]
    assert {r["runner"] for r in accelerate} == {"macos-14", "macos-15-intel"}
    pypy = next(r for r in rows if r["key"] == "pp311-manylinux_aarch64")
    assert (pypy["python"], pypy["plat"], pypy["runner"]) == (
        "pypy3.11",
        "aarch64",
        "ubuntu-22.04-arm",
    )


def test_matrix_wheels(capsys: pytest.CaptureFixture[str], data_copy: Copy) -> None:
    code, out, _ = run(capsys, "--root", str(data_copy("this-repo")), "matrix", "--wheels", "2.4.6")
    assert code == 0
    assert "numpy-2.4.6-cp314-cp314t-win_amd64.whl" in out.splitlines()


@pytest.mark.parametrize(
    ("blas", "key"),
    [("", "cp311-macosx_x86_64"), (" BLAS_BACKEND=accelerate", "cp311-macosx_x86_64+accelerate")],
)
def test_matrix_of_a_macos_job_is_its_blas_variant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, blas: str, key: str
) -> None:
    """A multibuild-style macOS job without BLAS_BACKEND builds the default (OpenBLAS) wheel,
    as reproduce says; only BLAS_BACKEND=accelerate makes it the +accelerate one."""
    (tmp_path / ".travis.yml").write_text(
        "env:\n  global:\n    - BUILD_COMMIT=v2.4.6\njobs:\n  include:\n    - os: osx\n"
        f"      env: MB_PYTHON_VERSION=3.11 PLAT=x86_64{blas}\n"
    )
    code, out, err = run(capsys, "--root", str(tmp_path), "matrix", "--json")
    assert code == 0, err
    assert [row["key"] for row in json.loads(out)["include"]] == [key]


def test_matrix_bad_selector(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--root", str(tmp_path), "matrix", "--build", "cp3l2-*")
    assert code == SelectionError.return_code
    assert "matches no known identifier" in err


@pytest.mark.parametrize(
    ("files", "code", "text"),
    [
        ({}, ConfigError.return_code, "no CI files"),
        ({".travis.yml": "env: [\n"}, ConfigError.return_code, "not valid YAML"),
        (
            {
                ".travis.yml": "env:\n  global:\n    - BUILD_COMMIT=v1\n",
                "pyproject.toml": "[tool.numpy-wheels]\nbiuld = ['*']\n",
            },
            ConfigError.return_code,
            "unknown key 'biuld'; did you mean 'build'?",
        ),
        (
            {
                ".travis.yml": "env:\n  global:\n    - BUILD_COMMIT=v1\n",
                "pyproject.toml": "[tool.numpy-wheels\n",
            },
            ConfigError.return_code,
            "not valid TOML",
        ),
    ],
)
def test_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, str], code: int, text: str
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    command = "matrix" if "pyproject.toml" in files else "commit"  # matrix reads pyproject
    got, _, err = run(capsys, "--root", str(tmp_path), command)
    assert got == code
    assert text in err
    assert "hint:" in err


def test_usage_error_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "frobnicate")[0] == 2
    code, out, _ = run(capsys, "build", "--help")
    assert code == 0
    assert "exit codes:" in out
    assert "LintError" in out


def test_debug_traceback_shows_stack(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["--root", str(tmp_path), "--debug-traceback", "commit"], env={})
    err = capsys.readouterr().err
    assert code == ConfigError.return_code
    assert "Traceback" in err


def test_readme_exit_code_table_matches_the_error_classes() -> None:
    """Every error class has one documented code, and the README table says the same."""
    import re

    from numpy_wheels import errors

    classes = {
        c.__name__: c.return_code
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.FatalError)
    }
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = {
        name: int(code) for code, name in re.findall(r"^\| (\d+) \| `(\w+Error)` \|", readme, re.M)
    }
    assert table == classes
    assert len(set(classes.values())) == len(classes)


def test_matrix_wheels_takes_the_tag_spelling(
    capsys: pytest.CaptureFixture[str], data_copy: Copy
) -> None:
    """`matrix --wheels v2.4.6` (the tag) lists numpy-2.4.6-… names, not numpy-v2.4.6-…;
    a spelling the file names would not use is a usage error naming the normal form."""
    from packaging.utils import parse_wheel_filename
    from packaging.version import Version

    root = str(data_copy("this-repo"))
    code, out, _ = run(capsys, "--root", root, "matrix", "--wheels", "v2.4.6")
    assert code == 0
    wheels = [line for line in out.splitlines() if line.endswith(".whl")]
    assert wheels
    assert all(line.startswith("numpy-2.4.6-") for line in wheels)
    assert {parse_wheel_filename(line)[1] for line in wheels} == {Version("2.4.6")}
    code, _, err = run(capsys, "--root", root, "matrix", "--wheels", "2.4.06")
    assert code == UsageError.return_code
    assert "write '2.4.6'" in err


@pytest.mark.parametrize("command", [["commit"], ["upload", "--dry-run"], ["build"]])
def test_an_unknown_mode_is_a_config_error(
    capsys: pytest.CaptureFixture[str], data_copy: Copy, command: list[str]
) -> None:
    """NUMPY_WHEELS_MODE=nightly silently meant release (the release container, BUILD_COMMIT)."""
    root = str(data_copy("this-repo"))
    code, out, err = run(capsys, "--root", root, *command, env={"NUMPY_WHEELS_MODE": "nightly"})
    assert code == ConfigError.return_code
    assert "NUMPY_WHEELS_MODE='nightly' is not a mode: use release or daily" in err
    code, out, _ = run(capsys, "--root", root, "commit", env={"NUMPY_WHEELS_MODE": "Daily"})
    assert (code, out.splitlines()[0]) == (0, "main")


def subcommands() -> list[str]:
    from numpy_wheels.__main__ import _parser

    parser = _parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(sub.choices)


@pytest.mark.parametrize("command", ["", "wheel-uploader", *subcommands()])
def test_every_help_ends_with_the_whole_exit_code_table(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """Each error's line is its docstring's whole first paragraph (two were cut mid-sentence
    at the docstring's line break: 'or served back' / 'a newer glibc/libstdc++')."""
    from numpy_wheels import errors
    from numpy_wheels.__main__ import wheel_uploader_main

    if command == "wheel-uploader":
        code = wheel_uploader_main(["--help"], env={})
    else:
        code = main([command, "--help"] if command else ["--help"], env={})
    out = capsys.readouterr().out
    assert code == 0
    table = out[out.index("exit codes:\n") :].splitlines()[1:]
    assert len(table) == len(errors.ALL_ERRORS) + 3
    assert table[-1] == "  143  terminated (SIGTERM)"
    for cls, line in zip(errors.ALL_ERRORS, table, strict=False):
        assert line.startswith(f"  {cls.return_code:>3}  {cls.__name__}: ")
        assert line.endswith((".", ")")), line


@pytest.mark.parametrize("value", ["0", "-1", "86400", "nan", "inf"])
def test_timeout_out_of_range_says_the_range(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code = main(["release", "1.0", "--timeout", value], env={})
    err = capsys.readouterr().err
    assert code == UsageError.return_code
    assert f"must be more than 0 and less than 86400 seconds (a day), not {value}" in err


def test_every_command_has_help_examples_that_parse() -> None:
    """--help shows examples (README promise); each one is a valid command line."""
    import shlex

    from numpy_wheels.__main__ import (
        _COMMANDS,
        EXAMPLES,
        UPLOADER_EXAMPLES,
        _parser,
        _uploader_parser,
    )

    assert {name for name, *_ in _COMMANDS} == set(EXAMPLES)
    for examples in EXAMPLES.values():
        for line, _ in examples:
            argv = shlex.split(line)
            assert argv[:3] == ["python", "-m", "numpy_wheels"], line
            assert _parser().parse_args(argv[3:]).handler, line
    for line, _ in UPLOADER_EXAMPLES:
        argv = shlex.split(line)
        assert argv[0] == "wheel-uploader"
        _uploader_parser().parse_args(argv[1:])
