"""Build plans for every identifier of the matrix, checked against numpy's release CI
(shared/reference/modern-anchors.md §1.2-1.4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.errors import SelectionError
from numpy_wheels.model.matrix import BuildId, load_catalogue
from numpy_wheels.model.plan import make_plan
from tests.mb_repo import make_multibuild_repo

IDS = load_catalogue().all_ids()


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


@pytest.mark.parametrize("build_id", IDS, ids=str)
def test_every_identifier_has_a_plan_matching_numpy_ci(build_id: BuildId) -> None:
    plan = make_plan(build_id)
    assert plan.identifier == build_id.identifier
    # the plan's tag is the one the release manifest expects
    assert plan.wheel_platform == build_id.wheel_platform
    assert plan.test[:2] == ("python", "-c")
    assert 'numpy.test(label="full"' in plan.test[2]
    assert "-n=auto" in plan.test[2]
    os_ = build_id.platform.os
    if os_ == "linux":
        assert plan.repair == ("auditwheel", "repair", "-w", "{dest_dir}", "{wheel}")
        assert plan.blas_package == "scipy-openblas64"
        assert plan.ilp64
        assert plan.runner in ("ubuntu-22.04", "ubuntu-22.04-arm")
        assert plan.deployment_target is None
    elif os_ == "macos":
        assert plan.repair is not None
        assert plan.repair[0] == "delocate-wheel"
        assert plan.repair[1:3] == ("--require-archs", ",".join(plan.archs))
        assert plan.variant == build_id.variant
        expected_blas = "scipy-openblas64" if build_id.variant == "openblas" else None
        assert plan.blas_package == expected_blas
        assert plan.ilp64
        assert plan.deployment_target is not None
        # never older than the interpreter's target nor the bundled OpenBLAS (10.9 / 11.0)
        # nor Accelerate's ILP64 LAPACK (14.0)
        floor = "11.0" if build_id.platform.arch == "arm64" else "10.9"
        if build_id.variant == "accelerate":
            floor = "14.0"
        assert _version(plan.deployment_target) >= _version(build_id.python.macos_min)
        assert _version(plan.deployment_target) >= _version(floor)
        assert ("MACOSX_DEPLOYMENT_TARGET", plan.deployment_target) in plan.environment
        assert plan.runner == ("macos-15-intel" if plan.arch == "x86_64" else "macos-14")
    else:
        assert "--vsenv" in plan.setup_args
        if build_id.platform.name == "win32":  # numpy: no BLAS, no repair
            assert plan.blas_package is None
            assert plan.repair is None
            assert "-Dallow-noblas=true" in plan.setup_args
        else:
            assert plan.repair is not None
            assert plan.repair[:4] == (
                "delvewheel",
                "repair",
                "--add-path",
                "{openblas_lib}",
            )
            expected = "scipy-openblas32" if plan.arch == "ARM64" else "scipy-openblas64"
            assert plan.blas_package == expected
            assert plan.ilp64 == (expected == "scipy-openblas64")
            assert f"-Duse-ilp64={'true' if plan.ilp64 else 'false'}" in plan.setup_args
            assert plan.runner == ("windows-11-arm" if plan.arch == "ARM64" else "windows-2022")


@pytest.mark.parametrize("build_id", [b for b in IDS if b.variant == "accelerate"], ids=str)
def test_accelerate_variant_targets_macos_14(build_id: BuildId) -> None:
    plan = make_plan(build_id)
    assert plan.deployment_target == "14.0"
    assert plan.blas_package is None
    assert "-Dblas=accelerate" in plan.setup_args
    assert plan.wheel_platform.startswith("macosx_14_0_")
    assert ("INSTALL_OPENBLAS", "false") in plan.environment
    # both runners (macos-14, macos-15-intel) run macOS 14+: tested where built, as numpy does
    assert plan.testable
    assert plan.runner == ("macos-15-intel" if plan.arch == "x86_64" else "macos-14")


def test_accelerate_exists_only_on_macos_arch_builds() -> None:
    macos = {b.platform.name for b in IDS if b.variant == "accelerate"}
    assert macos == {"macosx_x86_64", "macosx_arm64"}


def test_universal2_is_built_per_arch_and_merged() -> None:
    plan = make_plan(load_catalogue().find("cp313-macosx_universal2"))
    assert plan.archs == ("x86_64", "arm64")
    assert plan.build == (
        ("delocate-merge", "-w", "{dest_dir}", "{wheel_x86_64}", "{wheel_arm64}"),
    )
    assert plan.repair is not None
    assert "x86_64,arm64" in plan.repair


def test_accelerate_is_macos_only() -> None:
    with pytest.raises(SelectionError, match="no 'accelerate' variant"):
        load_catalogue().find("cp313-win_amd64+accelerate")


def test_plan_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "cp313-win32", "--json"], env={}) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["repair"] is None
    assert data["blas_package"] is None
    assert main(["plan", "cp313-macosx_arm64"], env={}) == 0
    out = capsys.readouterr().out
    assert "delocate-wheel --require-archs arm64" in out
    assert "MACOSX_DEPLOYMENT_TARGET=11.0" in out
    assert main(["plan", "cp399-win_amd64"], env={}) == SelectionError.return_code


def test_plan_command_accepts_the_variant_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "cp313-macosx_arm64+accelerate", "--json"], env={}) == 0
    by_key = json.loads(capsys.readouterr().out)
    assert main(["plan", "cp313-macosx_arm64", "--variant", "accelerate", "--json"], env={}) == 0
    assert json.loads(capsys.readouterr().out) == by_key
    assert by_key["wheel_platform"] == "macosx_14_0_arm64"
    assert by_key["environment"]["MACOSX_DEPLOYMENT_TARGET"] == "14.0"


def test_pypy_plans() -> None:
    plan = make_plan(load_catalogue().find("pp311-macosx_x86_64"))
    assert plan.wheel_platform == "macosx_10_15_x86_64"  # PyPy's own deployment target
    assert make_plan(load_catalogue().find("pp311-win_amd64")).blas_package == "scipy-openblas64"


@pytest.mark.parametrize(
    "identifier",
    ["cp312-manylinux_x86_64", "cp312-win_amd64", "cp312-win32", "cp312-macosx_x86_64"],
)
def test_a_project_without_blas_gets_none_of_numpys(identifier: str) -> None:
    """numpy's BLAS, meson options and test are the project configuration's, not the
    pipeline's (issue 12, point 3)."""
    plan = make_plan(load_catalogue().find(identifier), openblas=False, project="fooext")
    assert (plan.blas_package, plan.ilp64, plan.variant) == (None, False, "none")
    assert plan.setup_args == ()
    assert not {"PKG_CONFIG_PATH", "DYLD_LIBRARY_PATH", "INSTALL_OPENBLAS"} & set(plan.env())
    assert "{openblas_lib}" not in (plan.repair or ())
    assert plan.test == ("run_tests",)
    assert not any("numpy" in note for note in plan.notes)
    if plan.os == "windows":  # win32 too: another project's DLLs are vendored
        assert plan.repair == ("delvewheel", "repair", "-w", "{dest_dir}", "-v", "{wheel}")


def test_plan_command_reads_the_project_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_multibuild_repo(tmp_path / "fooext-wheels")
    assert main(["--root", str(root), "plan", "cp312-win_amd64", "--json"], env={}) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["blas_package"] is None
    assert data["repair"] == ["delvewheel", "repair", "-w", "{dest_dir}", "-v", "{wheel}"]
    assert data["test"] == ["run_tests"]
    assert "PKG_CONFIG_PATH" not in data["environment"]
    argv = ["--root", str(root), "reproduce", "--ci", "travis", "--job", "1", "--dry-run"]
    assert main([*argv, "--json"], env={}) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["plan"]["blas_package"] is None
    assert job["plan"]["environment"] == {}  # was numpy's PKG_CONFIG_PATH={project}/.openblas


def test_accelerate_is_no_choice_without_blas() -> None:
    with pytest.raises(SelectionError, match="asks for no BLAS"):
        make_plan(load_catalogue().find("cp313-macosx_arm64+accelerate"), openblas=False)
