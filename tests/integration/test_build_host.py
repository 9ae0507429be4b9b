"""The build pipeline on the fooext fixture, host backend: real git, pip, build, auditwheel."""

from __future__ import annotations

import importlib.util
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from numpy_wheels.__main__ import main
from numpy_wheels.errors import (
    HookError,
    LicenceError,
    SelectionError,
    SourceError,
    WheelTestError,
)
from numpy_wheels.files import sha256_of
from tests.wheelfiles import make_wheel
from tests.wheels_repo import git

Build = Callable[..., tuple[int, str, str]]


@pytest.fixture
def build(capsys: pytest.CaptureFixture[str], build_env: dict[str, str]) -> Build:
    def run(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        code = main(
            ["--root", str(root), "build", "--backend", "host", *args],
            env={**build_env, **(env or {})},
        )
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


def built_wheel(root: Path) -> Path:
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    return wheel


def test_fixture_builds_repairs_and_tests(fooext_repo: Callable[..., Path], build: Build) -> None:
    root = fooext_repo()
    code, out, _ = build(root, env={"WHEELHOUSE_UPLOADER_SECRET": "canary-5ecret-value"})
    assert code == 0, out
    wheel = built_wheel(root)
    name, version, _, tags = parse_wheel_filename(wheel.name)
    assert (name, str(version)) == ("fooext", "0.1.0")
    assert all(t.platform.startswith("manylinux") for t in tags)
    assert "dot = 32.0" in out  # run_tests ran against the installed wheel
    summary = json.loads((root / "wheelhouse" / "build-summary.json").read_text())
    (record,) = summary["wheels"]
    assert record["ok"] is True
    assert record["sha256"] == sha256_of(wheel)
    assert record["openblas"]["version"] == "0.3.31.188.0"
    assert record["tags"]["ok"] is True  # the tag honesty check ran on the repaired wheel
    # the licence was appended for the build only: the checkout holds nothing of ours
    assert git("status", "--porcelain", cwd=root / "fooext") == ""
    assert record["portability"]["status"] == "not run"  # no test images configured
    assert "portability test not run: no test images configured" in out
    assert summary["source"]["kind"] == "git"
    assert len(summary["source"]["resolved"]) == 40
    assert (root / "wheelhouse" / f"{wheel.name}.auditwheel.txt").is_file()
    with zipfile.ZipFile(wheel) as zf:
        info = zf.read("fooext/_buildinfo.py").decode()
        licence = zf.read("fooext-0.1.0.dist-info/licenses/LICENSE.txt").decode()
        libs = [n for n in zf.namelist() if n.startswith("fooext.libs/")]
    assert "'FOOEXT_MARK': 'from-env-vars'" in info  # env_vars.sh reached the build
    assert "'NPY_RELAXED_STRIDES_DEBUG': None" in info  # release mode
    assert "also bundles the following software" in licence
    assert any("openblas" in lib for lib in libs)
    assert "canary-5ecret-value" not in out  # never printed, never in the build's environment
    assert "canary-5ecret-value" not in json.dumps(summary)


def test_daily_mode_variables_reach_build_and_tests(
    fooext_repo: Callable[..., Path], build: Build
) -> None:
    root = fooext_repo()
    project = root / "fooext"
    (project / "NEWS").write_text("daily\n")
    git("add", "NEWS", cwd=project)
    git("commit", "-qm", "after the tag", cwd=project)
    code, out, _ = build(root, env={"TRAVIS": "true", "TRAVIS_EVENT_TYPE": "cron"})
    assert code == 0, out
    assert "daily mode" in out
    summary = json.loads((root / "wheelhouse" / "build-summary.json").read_text())
    assert summary["source"]["resolved"] == git("rev-parse", "main", cwd=project)
    assert summary["wheels"][0]["env"]["NPY_RELAXED_STRIDES_DEBUG"] == "1"
    with zipfile.ZipFile(built_wheel(root)) as zf:
        info = zf.read("fooext/_buildinfo.py").decode()
    assert "'NPY_RELAXED_STRIDES_DEBUG': '1'" in info
    assert "'NUMPY_WHEELS_MODE': 'daily'" in info


def test_unknown_tag_names_it(fooext_repo: Callable[..., Path], build: Build) -> None:
    root = fooext_repo(commit="v9.9.9")
    code, _, err = build(root)
    assert code == SourceError.return_code
    assert "'v9.9.9' is not a tag, branch or commit of" in err


def test_missing_licence_txt(fooext_repo: Callable[..., Path], build: Build) -> None:
    root = fooext_repo()
    project = root / "fooext"
    git("rm", "-q", "LICENSE.txt", cwd=project)
    git("commit", "-qm", "no licence", cwd=project)
    git("tag", "-f", "v0.1.0", cwd=project)
    code, _, err = build(root)
    assert code == LicenceError.return_code
    assert "LICENSE.txt is missing" in err


def test_uncovered_grafted_library(fooext_repo: Callable[..., Path], build: Build) -> None:
    root = fooext_repo()
    licence = root / "LICENSE_linux.txt"
    licence.write_text(licence.read_text().replace("Files: fooext.libs/libquadmath*.so\n", ""))
    code, _, err = build(root)
    assert code == LicenceError.return_code
    assert "libquadmath" in err


def test_failing_hook(fooext_repo: Callable[..., Path], build: Build) -> None:
    root = fooext_repo()
    (root / "config.sh").write_text(
        (root / "config.sh")
        .read_text()
        .replace("function pre_build {\n", "function pre_build {\n    false\n")
    )
    code, _, err = build(root)
    assert code == HookError.return_code
    assert "exit code 1" in err


def test_failing_tests_fail_the_build(fooext_repo: Callable[..., Path], build: Build) -> None:
    root = fooext_repo()
    code, out, _ = build(root, env={"FOOEXT_FAIL_TESTS": "1"})
    assert code == WheelTestError.return_code
    summary = json.loads((root / "wheelhouse" / "build-summary.json").read_text())
    assert summary["wheels"][0]["error_class"] == "WheelTestError"
    assert "FAILED WheelTestError" in out


def test_host_backend_refuses_other_identifiers(
    fooext_repo: Callable[..., Path], build: Build
) -> None:
    code, _, err = build(fooext_repo(), "--only", "cp313-win_amd64")
    assert code == SelectionError.return_code
    assert "host backend builds only" in err


def test_multibuild_variables_are_honoured(fooext_repo: Callable[..., Path], build: Build) -> None:
    root = fooext_repo()
    alt = (
        (root / "config.sh")
        .read_text()
        .replace(
            "function run_tests {\n",
            "function run_tests {\n    python -c 'import packaging; print(\"TEST_DEPENDS ok\")'\n"
            '    echo "alternative config for PLAT=$PLAT MB_PYTHON_VERSION=$MB_PYTHON_VERSION"\n',
        )
    )
    (root / "config_alt.sh").write_text(alt)
    code, out, _ = build(
        root,
        env={
            "CONFIG_PATH": "config_alt.sh",
            "WHEEL_SDIR": "dist-out",
            # as numpy-wheels' 2018 files: a build tool, not the backend (which the project's
            # build-system names): both are in the build venv, no isolation
            "BUILD_DEPENDS": "six",
            "TEST_DEPENDS": "packaging",
        },
    )
    assert code == 0, out
    assert "--no-isolation" in out
    summary = json.loads((root / "dist-out" / "build-summary.json").read_text())
    installed = {r.split("==")[0].lower() for r in summary["wheels"][0]["reproducibility"]
                 ["build_requirements"]}  # fmt: skip
    assert {"six", "setuptools"} <= installed
    assert "TEST_DEPENDS ok" in out
    assert "alternative config for PLAT=x86_64 MB_PYTHON_VERSION=3.11" in out
    assert len(list((root / "dist-out").glob("*.whl"))) == 1
    assert not (root / "wheelhouse").exists()


def test_build_wheel_hook_overrides_the_default_build(
    fooext_repo: Callable[..., Path], build: Build
) -> None:
    root = fooext_repo()
    with (root / "config.sh").open("a") as fh:
        fh.write(
            'function build_wheel {\n    echo "custom build_wheel $1 $2"\n'
            '    python -m pip wheel --no-deps -w "$WHEEL_SDIR" "$1"\n}\n'
        )
    code, out, _ = build(root)
    assert code == 0, out
    # the hook builds the copy at the fixed build place (reproducible paths)
    place = "/tmp/numpy-wheels-build/fooext-cp311-manylinux_x86_64"
    assert f"custom build_wheel {place}/src/fooext x86_64" in out
    summary = json.loads((root / "wheelhouse" / "build-summary.json").read_text())
    assert summary["wheels"][0]["ok"] is True
    assert summary["tools"]["auditwheel"] == "6.8.2"


def test_hooks_install_into_the_build_venv(
    fooext_repo: Callable[..., Path], build: Build, tmp_path: Path
) -> None:
    """pre_build and a build_wheel override run with the build venv first on PATH, as
    multibuild ran them with the build Python: their ``pip install`` and BUILD_DEPENDS land
    there, never in this tool's environment (issue 12 tryout)."""
    marker = make_wheel(tmp_path / "wheels", name="hookmarker", version="1.0")
    root = fooext_repo()
    with (root / "config.sh").open("a") as fh:
        fh.write(
            "function pre_build {\n"
            f"    pip install --no-index {marker}\n"
            '    echo "pre_build python=$(command -v python)"\n'
            "}\n"
            "function build_wheel {\n"
            "    python -c 'import hookmarker, six; print(\"hook deps\", hookmarker.VALUE)'\n"
            '    build_pip_wheel "$1"\n'
            "}\n"
        )
    code, out, _ = build(root, env={"BUILD_DEPENDS": "six"})
    assert code == 0, out
    place = "/tmp/numpy-wheels-build/fooext-cp311-manylinux_x86_64"
    assert f"pre_build python={place}/build-venv/bin/python" in out
    assert "hook deps 1" in out
    assert importlib.util.find_spec("hookmarker") is None  # not in the tool's environment
    summary = json.loads((root / "wheelhouse" / "build-summary.json").read_text())
    held = summary["wheels"][0]["reproducibility"]["build_requirements"]
    assert any(r.startswith("hookmarker @ file:") for r in held), held  # recorded
    assert "hooks changed the build venv" in out  # and that venv is not reused
