"""Reading every CI-file shape of the multibuild-era history into typed records."""

from __future__ import annotations

from pathlib import Path

import pytest

from numpy_wheels.cifiles.jobs import job_identifiers
from numpy_wheels.cifiles.readers import read_config, read_file
from numpy_wheels.cifiles.records import CIFile, split_assignments
from numpy_wheels.errors import ConfigError
from tests.conftest import DATA


def values(ci_file: CIFile) -> dict[str | None, str | None]:
    return {v.name: v.value for v in ci_file.global_env}


def line_of(ci_file: CIFile, name: str) -> int:
    (var,) = [v for v in ci_file.global_env if v.name == name]
    return var.location.line


def test_travis_2018_global_strings_secure_and_continuations() -> None:
    f = read_file(DATA / "travis2018" / ".travis.yml")
    env = values(f)
    assert env["BUILD_COMMIT"] == "v1.15.0"
    assert env["BUILD_DEPENDS"] == "cython==0.28.5"
    assert env["TEST_DEPENDS"] == "pytest pytest-timeout hypothesis"  # backslash-continued
    assert env["DAILY_COMMIT"] == "master"
    secure = [v for v in f.global_env if v.form == "secure"]
    assert len(secure) == 1
    assert secure[0].name is None
    assert secure[0].value is None
    assert line_of(f, "BUILD_COMMIT") == 6


def test_travis_2018_matrix_include_and_exclude() -> None:
    f = read_file(DATA / "travis2018" / ".travis.yml")
    assert [j.get("MB_PYTHON_VERSION").value for j in f.jobs] == ["2.7", "2.7", "3.6", "3.6"]  # type: ignore[union-attr]
    assert f.jobs[1].get("UNICODE_WIDTH").value == "16"  # type: ignore[union-attr]
    assert f.jobs[3].os == "osx"
    assert f.jobs[3].get("NP_EXTRA_DEP").value == "pytest"  # type: ignore[union-attr]  # string env
    assert len(f.excluded) == 1


def test_travis_2021_jobs_include_mapping_items_and_quotes() -> None:
    f = read_file(DATA / "travis2021" / ".travis.yml")
    env = values(f)
    assert env["BUILD_COMMIT"] == "v1.21.0"  # single quotes removed
    assert env["CRON_COMMIT"] == "main"
    config_path = next(v for v in f.global_env if v.name == "CONFIG_PATH")
    assert config_path.form == "mapping"
    assert config_path.value == "config_ilp64.sh"
    assert [j.name for j in f.jobs] == ["aarch64 3.8", "aarch64 3.9"]
    assert f.jobs[0].get("NPY_AVAILABLE_MEM").value == "4 GB"  # type: ignore[union-attr]


def test_travis_bare_env_list_is_one_job_per_row() -> None:
    f = read_file(DATA / "travisrows" / ".travis.yml")
    assert f.global_env == ()
    assert [j.get("MB_PYTHON_VERSION").value for j in f.jobs] == ["2.7", "3.5"]  # type: ignore[union-attr]
    assert {j.get("BUILD_COMMIT").location.line for j in f.jobs} == {3, 4}  # type: ignore[union-attr]


def test_appveyor_global_secure_and_matrix() -> None:
    f = read_file(DATA / "appveyor" / "appveyor.yml")
    env = values(f)
    assert env["BUILD_COMMIT"] == "v1.15.0"
    secret = next(v for v in f.global_env if v.name == "WHEELHOUSE_UPLOADER_SECRET")
    assert secret.form == "secure"
    assert secret.value is None
    assert [j.get("PYTHON_ARCH").value for j in f.jobs] == ["32", "64"]  # type: ignore[union-attr]
    assert line_of(f, "BUILD_COMMIT") == 9


def test_azure_top_level_template_and_matrix_variables() -> None:
    config = read_config(DATA / "azure")
    top, template = config.files
    assert top.provider == template.provider == "azure"
    assert values(top) == {"BUILD_COMMIT": "v1.19.0", "NIGHTLY_BUILD_COMMIT": "master"}
    # the template on its own: Azure never runs it, its jobs are the pipeline's that use it
    # (each wheel counted once), its own reading has them with the parameters unfilled
    assert top.templates == (template.path,)
    assert template.jobs == ()
    assert [j.name for j in read_file(template.path).jobs] == [
        "${{ parameters.name }} py_3.8_64",
        "${{ parameters.name }} py_3.7_32",
    ]
    assert [i for i, _, _ in job_identifiers(config)] == [
        "cp38-manylinux_x86_64",
        "cp37-manylinux_i686",
    ]
    # the pipeline's template job is the template's jobs, as Azure expands them: the
    # template's own matrix (the caller's `matrix` parameter is not inserted by this
    # template), its variables, ${{ parameters.X }} filled; parameters are not variables
    assert [(j.name, j.os) for j in top.jobs] == [
        ("linux py_3.8_64", "ubuntu-18.04"),
        ("linux py_3.7_32", "ubuntu-18.04"),
    ]
    i686 = top.jobs[1]
    assert i686.get("PLAT").value == "i686"  # type: ignore[union-attr]  # entry overrides template
    assert i686.get("REPO_DIR").value == "numpy"  # type: ignore[union-attr]
    assert i686.get("REPO_DIR").location.path.name == "posix.yml"  # type: ignore[union-attr]
    assert i686.get("name") is None
    assert i686.get("vmImage") is None


PIPELINE = """\
variables:
  BUILD_COMMIT: v1.0
  WHO: pipeline
  LEVEL: pipeline
jobs:
  - template: ci/job.yml
    parameters:
      name: linux
      image: ubuntu-22.04
      plat: x86_64
      matrix:
        py312:
          MB_PYTHON_VERSION: "3.12"
          LEVEL: matrix
  - template: other/repo.yml@templates
    parameters:
      name: elsewhere
      matrix:
        py313:
          MB_PYTHON_VERSION: "3.13"
"""
TEMPLATE = """\
parameters:
  - name: name
    default: ""
  - name: image
    default: ubuntu-latest
  - name: plat
    default: i686
  - name: matrix
    type: object
    default: {}
jobs:
  - job: ${{ parameters.name }}
    pool:
      vmImage: ${{ parameters.image }}
    variables:
      WHO: template
      LEVEL: template
      PLAT: ${{ parameters.plat }}
      DOCKER_TEST_IMAGE: multibuild/focal_${{ parameters.plat }}
      OTHER: ${{ parameters.missing }}
    strategy:
      matrix:
        ${{ insert }}: ${{ parameters.matrix }}
"""


def test_azure_template_variables_are_each_jobs_environment(tmp_path: Path) -> None:
    """An Azure pipeline's `- template:` job (issue 12 tryout, pandas-wheels): the template's
    `variables:` are each job's, a matrix entry's override them, which override the pipeline's;
    literal parameters fill `${{ parameters.X }}`, and no parameter is a variable. A template
    in another repository gives the caller's matrix rows alone."""
    (tmp_path / "azure-pipelines.yml").write_text(PIPELINE)
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "job.yml").write_text(TEMPLATE)
    top = read_file(tmp_path / "azure-pipelines.yml")
    job, remote = top.jobs
    assert (job.name, job.os) == ("linux py312", "ubuntu-22.04")
    assert job.location.line == 12  # the matrix entry, where the caller writes it
    env = {v.name: v.value for v in (*top.global_env, *job.env)}  # later wins, as Azure
    assert env["WHO"] == "template"
    assert env["LEVEL"] == "matrix"
    assert env["PLAT"] == "x86_64"
    assert env["DOCKER_TEST_IMAGE"] == "multibuild/focal_x86_64"
    assert env["OTHER"] == "${{ parameters.missing }}"  # unknown: left to the service
    assert {"name", "image", "plat", "matrix"}.isdisjoint(env)
    assert job.get("PLAT").location.path == tmp_path / "ci" / "job.yml"  # type: ignore[union-attr]
    assert job.get("LEVEL").location.path == tmp_path / "azure-pipelines.yml"  # type: ignore[union-attr]
    assert remote.name == "elsewhere py313"
    assert [(v.name, v.value) for v in remote.env] == [("MB_PYTHON_VERSION", "3.13")]


def test_azure_templates_that_include_themselves_are_refused(tmp_path: Path) -> None:
    (tmp_path / "azure-pipelines.yml").write_text("jobs:\n  - template: loop.yml\n")
    (tmp_path / "loop.yml").write_text("jobs:\n  - template: loop.yml\n")
    with pytest.raises(ConfigError, match="templates nested deeper than 20 levels"):
        read_file(tmp_path / "azure-pipelines.yml")


def test_github_env_and_matrix_expansion() -> None:
    f = read_file(DATA / "github" / ".github" / "workflows" / "wheels.yml")
    assert values(f) == {"BUILD_COMMIT": "v2.4.6", "DAILY_COMMIT": "main"}
    rows = sorted((j.os, j.get("MB_PYTHON_VERSION").value) for j in f.jobs)  # type: ignore[union-attr]
    assert rows == [
        ("macos-14", "3.13"),
        ("ubuntu-24.04", "3.12"),
        ("ubuntu-24.04", "3.13"),
        ("windows-2022", "3.13"),
    ]


def test_this_repository_ci_files_read() -> None:
    config = read_config(Path(__file__).parents[2])
    assert [f.path.name for f in config.files] == [
        ".travis.yml",
        "appveyor.yml",
        "publish.yml",
        "wheels.yml",
    ]
    builders = [f for f in config.files if f.path.name != "publish.yml"]
    for f in builders:
        assert f.get_global("BUILD_COMMIT") is not None
    # the service's file that builds is wheels.yml, not publish.yml (sorted first)
    github = config.by_provider("github")
    assert github is not None
    assert github.path.name == "wheels.yml"


@pytest.mark.parametrize(
    ("text", "pairs", "problem"),
    [
        ("A=1", [("A", "1")], None),
        ('A="x y" B=2', [("A", "x y"), ("B", "2")], None),
        ("A='x y'", [("A", "x y")], None),
        ("A=x\\ y", [("A", "x y")], None),
        ('A="unclosed', [], 'unbalanced " quote'),
        ("A=1 oops", [("A", "1")], "'oops' is not a NAME=value assignment"),
        ("BUILD_COMMIT==v1.12.0", [("BUILD_COMMIT", "=v1.12.0")], None),
    ],
)
def test_split_assignments(text: str, pairs: list[tuple[str, str]], problem: str | None) -> None:
    assert split_assignments(text) == (pairs, problem)


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / ".travis.yml"
    bad.write_text("env:\n  global:\n    - A=1\n   - B: [\n")
    with pytest.raises(ConfigError, match=r"\.travis\.yml:\d+: not valid YAML"):
        read_file(bad)


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "appveyor.yml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        read_file(bad)


def test_no_ci_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no CI files"):
        read_config(tmp_path)


def test_missing_named_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_config(tmp_path, [tmp_path / ".travis.yml"])


def test_variable_with_list_value_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "appveyor.yml"
    bad.write_text("environment:\n  global:\n    BUILD_COMMIT: [v1, v2]\n")
    with pytest.raises(ConfigError, match=r"appveyor\.yml:3: variable BUILD_COMMIT has a"):
        read_file(bad)
