"""Real CI files of multibuild-era wheels repositories (tests/corpus, sources in its README):
`commit`, `lint`, `matrix` and `reproduce --dry-run` give the right values on each, and the
numeric-looking values are read as written, flagged with file:line, and bumped cleanly."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.cifiles.jobs import job_identifiers
from numpy_wheels.cifiles.readers import read_config

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def go(root: Path, *args: str) -> tuple[int, str, str]:
        code = main(["--root", str(root), *args], env={"PATH": "/usr/bin:/bin"})
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return go


def first_json(text: str) -> object:
    return json.JSONDecoder().raw_decode(text[text.index("{") if "{" in text else 0 :])[0]


# name: (commit, its file:line, lint error locations, buildable matrix, first unbuildable)
EXPECTED: dict[str, tuple[str | None, str | None, set[str], list[str], str | None]] = {
    "numpy-wheels-2018-04": (
        "73299826729be58cec179b52c656adfcaefada93",
        ".travis.yml:5",
        {f"appveyor.yml:{n}" for n in (41, 45, 49, 53, 57, 61, 65, 69)},  # PYTHON_VERSION: 3.6
        [],
        "cp27-manylinux_x86_64",
    ),
    "numpy-wheels-2018-12": (
        "master",
        ".travis.yml:5",
        {f".appveyor.yml:{n}" for n in (30, 34, 38, 42, 46, 50)},
        [],
        "cp35-manylinux_x86_64",
    ),
    "numpy-wheels-2022-08": (
        "main",
        ".travis.yml:5",
        # Travis builds 3.11 (aarch64), Azure PyPy: lint names the disagreement.
        {".travis.yml:1"},
        ["cp311-manylinux_aarch64"],
        "cp38-manylinux_aarch64",
    ),
    "scipy-wheels-2021-09": (
        "master",
        ".travis.yml:10",
        {f"appveyor.yml:{n}" for n in (31, 38, 45, 52, 59, 66)},  # PYTHON_VERSION: 3.10, ...
        [],
        "cp38-manylinux_aarch64",
    ),
    "scikit-learn-wheels-2016-11": (
        None,  # .travis.yml says 0.18, appveyor.yml 0.18.1: refused, both named
        None,
        {".travis.yml:4", ".travis.yml:1"},
        [],
        "cp27-manylinux_x86_64",
    ),
    "pandas-wheels-2023-05": (
        "v1.5.3",
        ".travis.yml:11",
        {"azure-pipelines.yml:122", "azure-pipelines.yml:128"},  # MB_PYTHON_OSX_VER: 10.9
        [
            "cp311-manylinux_aarch64",
            "cp311-win_amd64",
            "cp311-manylinux_x86_64",  # azure/posix.yml's PLAT (a template variable)
            "cp311-macosx_x86_64",
            "cp311-macosx_universal2",
        ],
        "cp38-manylinux_aarch64",
    ),
    "matplotlib-wheels-2021-04": ("v3.2.1", ".travis.yml:5", set(), [], "cp37-manylinux_x86_64"),
}


def rel(root: Path, where: str) -> str:
    path, line = where.rsplit(":", 1)
    return f"{Path(path).resolve().relative_to(root.resolve())}:{line}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_commit_lint_matrix(run: Run, name: str) -> None:
    root = CORPUS / name
    commit, where, lint_errors, buildable, unbuildable = EXPECTED[name]
    code, out, err = run(root, "commit", "--json")
    if commit is None:
        assert code == 4
        assert "CI files disagree on BUILD_COMMIT" in err
    else:
        assert code == 0, err
        got = first_json(out)
        assert isinstance(got, dict)
        assert got["commit"] == commit
        assert rel(root, f"{got['file']}:{got['line']}") == where
    code, out, err = run(root, "lint", "--json")
    findings = json.JSONDecoder().raw_decode(out)[0]
    errors = {rel(root, f["locations"][0]) for f in findings if f["severity"] == "error"}
    assert errors == lint_errors
    assert code == (4 if lint_errors else 0)
    code, out, err = run(root, "matrix", "--json")
    assert code == 0, err
    matrix = first_json(out)
    assert isinstance(matrix, dict)
    assert [i["identifier"] for i in matrix["include"]] == buildable
    assert matrix["unbuildable"][0] == unbuildable


SHA_2018 = "73299826729be58cec179b52c656adfcaefada93"
# (name, ci, job, identifier, commit)
JOBS = [
    ("numpy-wheels-2018-04", "travis", "0", "cp27-manylinux_x86_64", SHA_2018),
    ("numpy-wheels-2018-04", "appveyor", "0", "cp36-win32", SHA_2018),
    ("numpy-wheels-2018-12", "appveyor", "1", "cp37-win_amd64", "master"),
    ("numpy-wheels-2022-08", "travis", "3", "cp311-manylinux_aarch64", "main"),
    ("numpy-wheels-2022-08", "azure", "4", "cp310-win_amd64", "main"),
    ("scipy-wheels-2021-09", "appveyor", "0", "cp310-win32", "master"),  # 3.10, not 3.1
    ("scipy-wheels-2021-09", "appveyor", "1", "cp310-win_amd64", "master"),
    ("pandas-wheels-2023-05", "travis", "0", "cp38-manylinux_aarch64", "v1.5.3"),
    ("pandas-wheels-2023-05", "azure", "6", "cp38-manylinux_x86_64", "v1.5.3"),
    ("pandas-wheels-2023-05", "azure", "16", "cp311-macosx_x86_64", "v1.5.3"),
    ("matplotlib-wheels-2021-04", "travis", "0", "cp37-manylinux_x86_64", "v3.2.1"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "ci", "job", "identifier", "commit"), JOBS)
def test_reproduce_dry_run(
    run: Run, name: str, ci: str, job: str, identifier: str, commit: str
) -> None:
    code, out, err = run(
        CORPUS / name, "reproduce", "--ci", ci, "--job", job, "--dry-run", "--json"
    )
    assert code == 0, err
    got = first_json(out)
    assert isinstance(got, dict)
    assert (got["identifier"], got["commit"]) == (identifier, commit)
    assert f"builds {identifier} on " in out + err
    # A job's plan exists only for identifiers this tool builds; the others say so.
    assert (got["plan"] is None) == ("not in resources/matrix.toml" in out + err)


def test_every_job_of_an_azure_template_pipeline(run: Run) -> None:
    """pandas-wheels' azure-pipelines.yml runs azure/posix.yml and azure/windows.yml as
    templates (parameters name/vmImage/matrix): the template's `variables:` are each job's
    environment under its matrix entry's, every job is in `matrix`, and `reproduce --dry-run`
    works for each (issue 12 tryout: Linux jobs missing from matrix, job 6 exit 5, job 16
    exit 3, the parameters shown as variables)."""
    root = CORPUS / "pandas-wheels-2023-05"
    config = read_config(root)
    azure = config.by_provider("azure")
    assert azure is not None
    listed = [(ident, job) for ident, f, job in job_identifiers(config) if f is azure]
    assert [job for _, job in listed] == list(azure.jobs)
    assert len(listed) == 18
    code, out, err = run(root, "matrix", "--json")
    matrix = first_json(out)
    assert isinstance(matrix, dict)
    in_matrix = {i["identifier"] for i in matrix["include"]} | set(matrix["unbuildable"])
    for n, (ident, _) in enumerate(listed):
        code, out, err = run(root, "reproduce", "--ci", "azure", "--job", str(n), "--dry-run")
        assert code == 0, (n, err)
        assert f"builds {ident} on " in out + err
        assert ident in in_matrix
        assert "vmImage" not in out + err
    code, out, err = run(root, "reproduce", "--ci", "azure", "--job", "6", "--dry-run", "--json")
    got = first_json(out)
    assert isinstance(got, dict)
    variables = got["variables"]
    assert (variables["REPO_DIR"], variables["PLAT"], variables["MB_ML_VER"]) == (
        "pandas",
        "x86_64",
        "2014",
    )
    assert variables["NIGHTLY_BUILD"] == "true"  # the matrix entry's, over the template's
    assert "name" not in variables
    assert re.search(r"BUILD_COMMIT=v1\.5\.3 \(\S*azure/posix\.yml:12\)", err)  # its own
    # an Azure Windows job of pandas sets no REPO_DIR: shown, with what `build` would say there
    code, out, err = run(root, "reproduce", "--ci", "azure", "--job", "5", "--dry-run")
    assert code == 0, err
    assert "`build` would stop (exit 3, ConfigError): no project to build" in out + err


def test_bump_edits_an_azure_template_once(run: Run, tmp_path: Path) -> None:
    """The template's BUILD_COMMIT is read through 12 jobs and the template itself: it is
    edited once, in the template, and the pipeline file is left alone."""
    root = tmp_path / "pandas"
    shutil.copytree(CORPUS / "pandas-wheels-2023-05", root)
    pipeline = (root / "azure-pipelines.yml").read_text()
    code, out, err = run(root, "bump", "v2.0.0")
    assert code == 0, err
    assert (root / "azure-pipelines.yml").read_text() == pipeline
    for name in ("azure/posix.yml", "azure/windows.yml"):
        text = (root / name).read_text()
        assert text.count('BUILD_COMMIT: "v2.0.0"') == 1
        assert "v1.5.3" not in text
    code, out, err = run(root, "commit", "--json")
    assert first_json(out)["commit"] == "v2.0.0"  # type: ignore[index]


def test_scipy_python_310_is_read_as_written() -> None:
    config = read_config(CORPUS / "scipy-wheels-2021-09")
    appveyor = config.by_provider("appveyor")
    assert appveyor is not None
    versions = [j.get("PYTHON_VERSION").value for j in appveyor.jobs]  # type: ignore[union-attr]
    assert versions[:2] == ["3.10", "3.10"]
    assert "3.1" not in versions


@pytest.mark.parametrize("name", ["numpy-wheels-2018-04", "scipy-wheels-2021-09"])
def test_an_unquoted_short_hash_in_a_real_file(run: Run, tmp_path: Path, name: str) -> None:
    """A maintainer writes BUILD_COMMIT: 680841e1 (unquoted) into the real AppVeyor file and
    the same in .travis.yml: the text as written is built, lint names file:line with the fix,
    and bump to another numeric-looking hash writes it quoted and succeeds."""
    root = tmp_path / name
    shutil.copytree(CORPUS / name, root)
    lines = {}
    for ci_name in (".travis.yml", "appveyor.yml"):
        path = root / ci_name
        text = path.read_text().splitlines(keepends=True)
        for i, line in enumerate(text):
            if "BUILD_COMMIT" in line and ("BUILD_COMMIT=" in line or "BUILD_COMMIT:" in line):
                sep = "=" if "BUILD_COMMIT=" in line else ": "
                head = line[: line.index("BUILD_COMMIT")]
                text[i] = f"{head}BUILD_COMMIT{sep}680841e1\n"
                lines[ci_name] = i + 1
                break
        path.write_text("".join(text))
    code, out, err = run(root, "commit", "--json")
    assert code == 0, err
    assert first_json(out)["commit"] == "680841e1"  # type: ignore[index]
    code, out, _ = run(root, "lint", "--json")
    findings = json.JSONDecoder().raw_decode(out)[0]
    typed = [f for f in findings if f["kind"] == "yaml-type" and "BUILD_COMMIT" in f["message"]]
    assert [rel(root, f["locations"][0]) for f in typed] == [
        f"appveyor.yml:{lines['appveyor.yml']}"
    ]
    assert 'quote it: BUILD_COMMIT: "680841e1"' in typed[0]["message"]
    code, out, err = run(root, "bump", "0123456")
    assert code == 0, err
    appveyor = (root / "appveyor.yml").read_text().splitlines()
    assert appveyor[lines["appveyor.yml"] - 1].endswith('BUILD_COMMIT: "0123456"')
    travis = (root / ".travis.yml").read_text().splitlines()
    assert travis[lines[".travis.yml"] - 1].endswith("BUILD_COMMIT=0123456")
    code, out, err = run(root, "commit", "--json")
    assert first_json(out)["commit"] == "0123456"  # type: ignore[index]
    code, out, _ = run(root, "lint", "--json")
    assert not [f for f in json.JSONDecoder().raw_decode(out)[0] if "BUILD_COMMIT" in f["message"]]


def test_travis_expands_a_reference_to_an_earlier_variable(run: Run, tmp_path: Path) -> None:
    """scipy-wheels' aarch64 jobs: DOCKER_IMAGE=quay.io/pypa/manylinux2014_${PLAT} after
    PLAT=aarch64. Travis exports them through bash in order, so the image is the expanded
    one (it was left out as 'computed by the service'); multibuild's own $plat placeholder
    stays for the image choice, and a reference to nothing defined is still left out."""
    code, out, err = run(
        CORPUS / "scipy-wheels-2021-09", "reproduce", "--ci", "travis", "--job", "2",
        "--dry-run", "--json",
    )  # fmt: skip
    assert code == 0, err
    got = first_json(out)
    assert isinstance(got, dict)
    assert got["variables"]["DOCKER_IMAGE"] == "quay.io/pypa/manylinux2014_aarch64"
    assert "left out here: DOCKER_IMAGE" not in out + err
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".travis.yml").write_text(
        "env:\n  global:\n    - REPO_DIR=fooext\n    - BUILD_COMMIT=v0.1.0\n"
        "    - DOCKER_IMAGE=quay.io/pypa/manylinux2014_$plat\n    - OTHER=${NOT_DEFINED}/x\n"
        "jobs:\n  include:\n    - os: linux\n      env: [MB_PYTHON_VERSION=3.12, PLAT=x86_64]\n"
    )
    code, out, err = run(root, "reproduce", "--ci", "travis", "--job", "0", "--dry-run", "--json")
    assert code == 0, err
    got = first_json(out)
    assert isinstance(got, dict)
    assert got["variables"]["DOCKER_IMAGE"] == "quay.io/pypa/manylinux2014_$plat"
    assert "OTHER" not in got["variables"]


def test_reproduce_does_not_pass_a_multibuild_script_off_as_this_tools(run: Run) -> None:
    """numpy-wheels' 2018 .travis.yml runs multibuild's steps, not numpy_wheels: reproduce
    says so rather than 'on CI the job runs: python -m numpy_wheels build' (issue 12 tryout)."""
    code, out, err = run(
        CORPUS / "numpy-wheels-2018-04", "reproduce", "--ci", "appveyor", "--job", "0",
        "--dry-run",
    )  # fmt: skip
    assert code == 0, err
    assert "runs the file's own script (appveyor.yml does not call numpy_wheels)" in out + err
    assert "the job runs:" not in out + err


def test_a_job_that_names_only_its_python_builds_x86_64(run: Run, tmp_path: Path) -> None:
    """multibuild defaults PLAT to x86_64: such a job was missing from matrix, and reproduce
    refused it with a hint that listed that very job as one that builds a wheel."""
    (tmp_path / ".travis.yml").write_text(
        "env:\n  global:\n    - REPO_DIR=fooext\n    - BUILD_COMMIT=v0.1.0\n"
        "    - REPO_URL=https://example.invalid/fooext.git\n"
        "jobs:\n  include:\n    - os: linux\n      env: MB_PYTHON_VERSION=3.12\n"
        "    - os: linux\n      env: NOTHING=here\n"
    )
    code, out, err = run(tmp_path, "matrix")
    assert code == 0, err
    assert out.split() == ["cp312-manylinux_x86_64"]
    code, out, err = run(tmp_path, "reproduce", "--ci", "travis", "--job", "1", "--dry-run")
    assert code == 5
    assert "Jobs of .travis.yml that build a wheel: 0: " in err
    assert "1: " not in err.split("build a wheel:")[1]


def test_a_github_build_steps_env_is_the_jobs(run: Run, tmp_path: Path) -> None:
    """MB_PYTHON_VERSION set on the step that builds (from the matrix) names the wheel, and
    lint reads it as written (issue 12 tryout: 'builds no wheel', and 3.10 unflagged)."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "wheels.yml").write_text(
        "env:\n  BUILD_COMMIT: v0.1.0\n  REPO_DIR: fooext\n"
        "  REPO_URL: https://example.invalid/fooext.git\n"
        "jobs:\n  build:\n    runs-on: ubuntu-22.04\n"
        "    strategy:\n      matrix:\n        python: [3.12, 3.10]\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
        "      - run: python -m numpy_wheels build\n"
        "        env:\n          MB_PYTHON_VERSION: ${{ matrix.python }}\n          PLAT: x86_64\n"
    )
    code, out, err = run(tmp_path, "matrix")
    assert code == 0, err
    assert "cp312-manylinux_x86_64" in out.split()
    code, out, err = run(tmp_path, "lint")
    assert code == 4
    assert "3.10" in out + err
