"""A multibuild-style wheels repository for a C extension that is not numpy: no pyproject.toml,
no environment variables, only the CI files, config.sh with multibuild helpers and the REPO_DIR
checkout. `python -m numpy_wheels build --backend host` from that directory builds, repairs and
tests it (real git, pip, auditwheel)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from numpy_wheels.__main__ import main
from numpy_wheels.errors import ConfigError, SelectionError, SourceError
from tests.mb_repo import make_multibuild_repo
from tests.wheels_repo import git


def run_cli(root: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    # Only what any shell has: no REPO_DIR, BUILD_COMMIT, NUMPY_WHEELS_* or CI variables.
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "numpy_wheels", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_a_multibuild_repo_builds_repairs_and_tests(tmp_path: Path) -> None:
    root = make_multibuild_repo(tmp_path / "fooext-wheels")
    sha = subprocess.run(
        ["git", "-C", str(root / "fooext"), "rev-parse", "v0.1.0"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert not (root / "pyproject.toml").exists()
    proc = run_cli(root, "build", "--backend", "host", home=tmp_path / "home")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    # The project is what REPO_DIR holds, from its own metadata; git because it is a checkout.
    assert "building fooext v0.1.0" in out
    assert "source: git (REPO_DIR fooext is a git checkout)" in out
    assert "OpenBLAS: not requested by the project configuration" in out
    # config.sh's hooks ran with multibuild's helpers, in order.
    assert "pre_build: REPO_DIR=fooext at v0.1.0" in out
    assert "pre_build: lex_ver 3.11.2 = 003011002" in out
    assert "pre_build: BLAS_BACKEND=unset" in out  # numpy's BLAS choice is not fooext's
    assert "build_wheel override for " in out
    assert "run_tests: python 3.11 in tmp_for_test" in out
    assert "triple(14) = 42" in out
    # config.sh sourced ci/test_utils.sh from the repository root; run_tests (in
    # tmp_for_test) calls its function. activate_ccache is the tool's own compiler cache.
    assert "check_triple (ci/test_utils.sh): 15" in out
    assert "numpy-wheels: activate_ccache: the tool's compiler cache is on" in out
    # MB_ML_VER=2014 (a CI global) became auditwheel's policy; UNICODE_WIDTH is named as
    # not honoured by lint, never silently.
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    name, version, _, tags = parse_wheel_filename(wheel.name)
    assert (name, str(version)) == ("fooext", "0.1.0")
    assert {t.platform for t in tags} >= {"manylinux2014_x86_64"}
    summary = json.loads((root / "wheelhouse" / "build-summary.json").read_text())
    assert summary["project"] == "fooext"
    assert summary["source"]["kind"] == "git"
    assert summary["source"]["resolved"] == sha
    (record,) = summary["wheels"]
    assert record["ok"] is True
    assert record["openblas"] is None
    assert record["test"].startswith("passed")
    lint = run_cli(root, "lint", home=tmp_path / "home")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "UNICODE_WIDTH is a multibuild variable this tool does not honour" in lint.stdout
    commit = run_cli(root, "commit", "--json", home=tmp_path / "home")
    assert json.loads(commit.stdout)["commit"] == "v0.1.0"
    matrix = run_cli(root, "matrix", home=tmp_path / "home")
    assert matrix.stdout.split() == [
        "cp311-manylinux_x86_64",
        "cp312-manylinux_x86_64",
        "cp311-win_amd64",
        "cp312-win_amd64",
    ]
    _release_dry_run_takes_the_built_wheel(root, wheel, tmp_path)


def _release_dry_run_takes_the_built_wheel(root: Path, wheel: Path, tmp_path: Path) -> None:
    """The staged wheel, as auditwheel named it for MB_ML_VER=2014 (with the older policy it
    is eligible for), is the manifest's: the gate expects `matrix --wheels`' set, not numpy's
    catalogue, and the target names where it comes from (issue 12 tryout: "1 wheel found,
    79 wheels and 1 sdist expected", the wheel "unexpected", "pypirc section 'pypi' of
    ~/.pypirc" with no ~/.pypirc)."""
    manifest = run_cli(root, "matrix", "--wheels", "0.1.0", "--json", home=tmp_path / "home")
    names = json.loads(manifest.stdout)["wheels"]
    assert len(names) == 4  # the 4 jobs' wheels (multibuild-era CI built no sdist)
    (expected,) = (n for n in names if n.startswith("fooext-0.1.0-cp311-cp311-manylinux"))
    assert {t.platform for t in parse_wheel_filename(expected)[3]} == {
        "manylinux2014_x86_64",
        "manylinux_2_17_x86_64",
    }
    store = tmp_path / "store"
    store.mkdir()
    upload = ["upload", "wheels", "--local-root", str(store), "--local-folder", "wheelhouse"]
    staged = run_cli(root, *upload, home=tmp_path / "home")
    assert staged.returncode == 0, staged.stderr
    release = run_cli(
        root,
        *("release", "0.1.0", "--provider-name", "local", "--local-root", str(store)),
        *("--container", "wheels", "--dry-run", "--allow-incomplete", "-w", str(tmp_path / "dl")),
        home=tmp_path / "home",
    )
    out = release.stdout + release.stderr
    assert release.returncode == 0, out
    assert "fooext 0.1.0 (all): 1 wheel found, 4 wheels expected" in out
    assert "unexpected" not in out
    assert f"missing (expected, not staged): {expected}" not in out
    assert (tmp_path / "dl" / wheel.name).is_file()
    assert "target: https://upload.pypi.org/legacy/ (twine's default for 'pypi': there is " in out
    assert "pypirc section" not in out


def test_a_submodule_not_checked_out_says_how(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """REPO_DIR a submodule of the wheels repository, cloned without --recurse-submodules:
    the source is git (as on CI), and the build says how to check it out (issue 12 tryout:
    the index's sdist was tried, then a hint to fix a CI file)."""
    root = make_multibuild_repo(tmp_path / "fooext-wheels")
    shutil.rmtree(root / "fooext")
    (root / "fooext").mkdir()
    (root / ".gitmodules").write_text(
        '[submodule "fooext"]\n\tpath = fooext\n\turl = https://github.com/example/fooext.git\n'
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")}
    argv = ["--root", str(root), "build", "--backend", "host", "--no-test"]
    assert main(argv, env=env) == SourceError.return_code
    out, err = capsys.readouterr()
    assert "source: git (REPO_DIR fooext is a git submodule of the wheels repository)" in out
    assert "REPO_DIR fooext is a git submodule of" in err
    assert f"git -C {root} submodule update --init fooext" in err
    assert "Fix the file named above" not in err
    assert main(["--root", str(root), "matrix"], env=env) == 0  # reading it still works


def _cli(root: Path, capsys: pytest.CaptureFixture[str], *argv: str, **env: str) -> tuple[int, str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(root.parent / "home"), **env}
    code = main(["--root", str(root), *argv], env=base)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def test_mb_ml_ver_is_what_plan_reproduce_and_matrix_say(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MB_ML_VER=2014 (the Travis global) is the wheel's policy everywhere, not only in
    `build`: plan, reproduce --dry-run, matrix --json and --wheels (issue 12 tryout: they
    said manylinux_2_27.manylinux_2_28 in quay.io/pypa/manylinux_2_28_x86_64). A project
    without OpenBLAS has the plan's variant, none, in every matrix row."""
    root = make_multibuild_repo(tmp_path / "fooext-wheels")
    tags = "manylinux2014_x86_64.manylinux_2_17_x86_64"
    code, out = _cli(root, capsys, "plan", "cp311-manylinux_x86_64", "--json")
    assert code == 0, out
    plan = json.loads(out)
    assert plan["wheel_platform"] == tags
    assert plan["repair"][:4] == ["auditwheel", "repair", "--plat", "manylinux_2_17_x86_64"]
    assert plan["notes"][0] == "in quay.io/pypa/manylinux2014_x86_64 (MB_ML_VER)"
    code, out = _cli(root, capsys, "reproduce", "--ci", "travis", "--job", "1", "--dry-run")
    assert code == 0, out
    assert f"builds cp312-manylinux_x86_64 (none, {tags})" in out
    code, out = _cli(root, capsys, "matrix", "--json")
    rows = json.loads(out[: out.rindex("}") + 1])["include"]
    assert {r["variant"] for r in rows} == {"none"}
    assert {r["blas_backend"] for r in rows} == {"openblas"}  # the key's: BLAS_BACKEND unset
    linux = [r["wheel_platform"] for r in rows if r["os"] == "linux"]
    assert linux == [tags, tags]
    # the process environment overrides the CI files' global, as for `build`
    code, out = _cli(root, capsys, "plan", "cp311-manylinux_x86_64", "--json", MB_ML_VER="_2_28")
    assert json.loads(out)["wheel_platform"] == "manylinux_2_28_x86_64"
    code, out = _cli(root, capsys, "plan", "cp311-manylinux_x86_64", MB_ML_VER="2015")
    assert code == 3
    assert "MB_ML_VER='2015' is not a manylinux policy" in out


UNBUILDABLE_JOBS = """\
    - os: linux
      env: MB_PYTHON_VERSION=3.10
    - os: linux
      env: MB_PYTHON_VERSION=3.12 PLAT=i686
before_install:
"""


def test_jobs_this_tool_cannot_build_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CI job of a Python or platform numpy's catalogue lacks (3.10, i686): lint warns at
    the job's line naming why, reproduce --dry-run warns, a real reproduce exits 5 as
    `build --only` does (issue 12 tryout: lint silent, reproduce exit 0, "does not build
    it"). The manifest leaves them out."""
    root = make_multibuild_repo(tmp_path / "fooext-wheels")
    travis = root / ".travis.yml"
    travis.write_text(travis.read_text().replace("before_install:\n", UNBUILDABLE_JOBS, 1))
    (root / "appveyor.yml").unlink()  # its Pythons would disagree (a lint error of its own)
    code, out = _cli(root, capsys, "lint")
    assert code == 0, out
    lines = travis.read_text().splitlines()
    cp310 = next(n for n, text in enumerate(lines, 1) if "MB_PYTHON_VERSION=3.10" in text)
    assert re.search(
        rf"\.travis\.yml:{cp310 - 1}: travis job .* builds cp310-manylinux_x86_64, which this "
        r"tool cannot build: Python cp310 is not in resources/matrix.toml",
        out,
    ), out
    assert "builds cp312-manylinux_i686, which this tool cannot build: platform " in out
    code, out = _cli(root, capsys, "reproduce", "--ci", "travis", "--job", "2", "--dry-run")
    assert code == 0, out
    assert "cp310-manylinux_x86_64: this tool cannot build it: Python cp310" in out
    code, out = _cli(root, capsys, "reproduce", "--ci", "travis", "--job", "3", "--no-test")
    assert code == SelectionError.return_code, out
    assert "cp312-manylinux_i686: this tool cannot build it: platform manylinux_i686" in out
    code, out = _cli(root, capsys, "matrix", "--wheels", "0.1.0")
    assert "cp310" not in out
    assert "i686" not in out


@pytest.mark.parametrize(
    ("plat", "code", "text"),
    [
        ("i686", SelectionError.return_code, "PLAT=i686 asks for manylinux_i686, but the host"),
        ("bogus", ConfigError.return_code, "PLAT='bogus' is not an architecture"),
    ],
)
def test_host_build_refuses_a_plat_it_cannot_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], plat: str, code: int, text: str
) -> None:
    """PLAT in the process environment (over the CI files' x86_64): the host backend builds
    only this machine's architecture, so another PLAT is exit 5 naming PLAT, and a PLAT that
    is no architecture a ConfigError (issue 12 tryout: both built cp311-manylinux_x86_64 and
    exited 0). Refused before anything is built."""
    root = make_multibuild_repo(tmp_path / "fooext-wheels")
    got, out = _cli(root, capsys, "build", "--backend", "host", "--no-test", PLAT=plat)
    assert got == code, out
    assert text in out
    assert not (root / "wheelhouse").exists()
    if plat == "i686":  # no backend builds it: the hint does not send one to cibuildwheel
        assert "This tool builds no manylinux_i686 wheel" in out
        assert "--backend cibuildwheel" not in out


def test_build_depends_reach_a_build_pip_wheel_override(tmp_path: Path) -> None:
    """config.sh's build_wheel calls multibuild's build_pip_wheel; the project's setup.py
    imports a BUILD_DEPENDS package. pip_wheel_cmd builds in the build venv without isolation
    (one build venv, no isolation: README), as multibuild's pip did (issue 12 tryout: pip's
    isolated build raised ModuleNotFoundError)."""
    root = make_multibuild_repo(tmp_path / "fooext-wheels")
    travis = root / ".travis.yml"
    travis.write_text(travis.read_text().replace("    - PLAT=x86_64\n", "    - PLAT=x86_64\n"
                                                 "    - BUILD_DEPENDS=six\n"))  # fmt: skip
    project = root / "fooext"
    setup = project / "setup.py"
    setup.write_text("import six  # a BUILD_DEPENDS package, not a declared requirement\n"
                     + setup.read_text())  # fmt: skip
    for args in (["commit", "-q", "-am", "needs six"], ["tag", "-f", "v0.1.0"]):
        git(*args, cwd=project)  # an identity of its own: a fresh HOME has no git user
    proc = run_cli(root, "build", "--backend", "host", "--no-test", home=tmp_path / "home")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "build_wheel override for " in out
    assert "ModuleNotFoundError" not in out
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    assert parse_wheel_filename(wheel.name)[0] == "fooext"


def test_cibuildwheel_builds_what_the_ci_jobs_build_and_needs_an_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --only, a multibuild-style repository (no selection) builds what its CI jobs
    build, as `matrix` lists (issue 12 tryout: numpy's 79 identifiers, and a musllinux error
    for MB_ML_VER=2014 nobody asked for); a container engine that does not answer is exit 13
    before any build (it was cibuildwheel's failure, exit 9)."""
    from numpy_wheels.config.build import BuildRequest, resolve_build_options
    from numpy_wheels.errors import ContainerEngineError

    root = make_multibuild_repo(tmp_path / "fooext-wheels")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")}
    assert main(["--root", str(root), "matrix"], env=env) == 0
    listed = capsys.readouterr().out.split()
    opts = resolve_build_options(
        BuildRequest(root=root, backend="cibuildwheel"), env=env, engine_available=True
    )
    assert [b.identifier for b in opts.identifiers] == listed
    assert all("manylinux2014" in b.wheel_platform for b in opts.identifiers if "linux" in b.key)
    no_engine = {**env, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    argv = ["--root", str(root), "build", "--backend", "cibuildwheel", "--only", listed[0]]
    assert main(argv, env=no_engine) == ContainerEngineError.return_code
    assert "no container engine answers `docker info` here" in capsys.readouterr().err


def test_a_multibuild_release_is_its_jobs_wheels_without_an_sdist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No [tool.numpy-wheels] table: the release set is what the CI jobs build, wheels only
    (multibuild's CI never built the sdist; issue 12 tryout: release reported it missing)."""
    root = make_multibuild_repo(tmp_path / "fooext-wheels")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")}
    assert main(["--root", str(root), "matrix", "--wheels", "0.1.0"], env=env) == 0
    names = capsys.readouterr().out.split()
    assert names
    assert all(n.endswith(".whl") for n in names), names
