"""The cibuildwheel backend for real: Docker engine started here, a locally made manylinux-layout
image, cibuildwheel building, repairing and testing the fooext fixture inside the container."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from numpy_wheels.__main__ import main
from tests.container import IMAGE, PLAT, build_image
from tests.provenance import check_summary

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]


@pytest.fixture(scope="session")
def engine(docker_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The session's engine with the manylinux-layout build image in it."""
    build_image(tmp_path_factory.mktemp("image"), docker_env)
    return docker_env


def test_cibuildwheel_builds_repairs_and_tests_in_the_container(
    engine: dict[str, str],
    test_images: dict[str, str],
    fooext_repo: Callable[..., Path],
    build_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # abi3 (cp39-abi3), so the wheel built for cp311 in the build image is also tested in
    # trixie's CPython 3.13: the portability test runs after cibuildwheel's own.
    trixie = test_images["trixie"]
    root = fooext_repo(
        abi3=True,
        pyproject_extra=f'\n[tool.numpy-wheels.test-images]\nmanylinux_x86_64 = "{trixie}"\n',
    )
    env = {
        **build_env,
        **engine,
        "TRAVIS": "true",
        "TRAVIS_EVENT_TYPE": "cron",  # daily mode: NPY_RELAXED_STRIDES_DEBUG
        "NUMPY_WHEELS_IMAGE": IMAGE,
        "CIBW_CONTAINER_ENGINE": "docker; create_args: --network=none; disable_host_mount: true",
        "CIBW_ENVIRONMENT": "PIP_NO_INDEX=1 PIP_FIND_LINKS=/opt/wheels",
        "CIBW_CACHE_PATH": str(tmp_path / "cibw-cache"),
        # cibuildwheel audits abi3 wheels with abi3audit in a virtualenv.pyz it downloads
        # from GitHub: not reachable here (the portability test below checks the wheel).
        "CIBW_AUDIT_COMMAND": "",
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
    }
    code = main(
        [
            "--root",
            str(root),
            "build",
            "--backend",
            "cibuildwheel",
            "--only",
            "cp311-manylinux_x86_64",
        ],
        env=env,
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    _, _, _, tags = parse_wheel_filename(wheel.name)
    platforms = {t.platform for t in tags}
    assert PLAT in platforms  # repaired by the image's auditwheel, with the image's policy
    assert all(p.startswith("manylinux") for p in platforms)
    assert "dot = 32.0" in out  # run_tests ran inside the container
    assert "run_tests saw FOOEXT_MARK=from-env-vars" in out
    with zipfile.ZipFile(wheel) as zf:
        info = zf.read("fooext/_buildinfo.py").decode()
        libs = [n for n in zf.namelist() if n.startswith("fooext.libs/")]
    assert "'NPY_RELAXED_STRIDES_DEBUG': '1'" in info  # crossed the container boundary
    assert "'FOOEXT_MARK': 'from-env-vars'" in info
    assert any("openblas" in lib for lib in libs)
    summary = json.loads((root / "wheelhouse" / "build-summary.json").read_text())
    assert summary["backend"] == "cibuildwheel"
    assert summary["wheels"][0]["test"].startswith("passed in the container")
    port = summary["wheels"][0]["portability"]
    assert port["status"] == "passed", port
    assert [(r["image"], r["ok"], r["libc"]) for r in port["images"]] == [
        (trixie, True, "glibc 2.41")
    ]
    assert out.count("dot = 32.0") == 2  # in the build container, then in trixie
    assert summary["wheels"][0]["tags"]["ok"] is True
    assert os.environ.get("DOCKER_HOST") != engine["DOCKER_HOST"]  # the engine is ours alone


def test_a_build_wheel_override_runs_in_the_container(
    engine: dict[str, str],
    fooext_repo: Callable[..., Path],
    build_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """config.sh's build_wheel (multibuild's override point) builds the wheel on this backend
    too: inside the container, with multibuild's build_pip_wheel; cibuildwheel repairs and
    tests what it made."""
    root = fooext_repo()
    with (root / "config.sh").open("a") as fh:
        fh.write(
            "\nfunction build_wheel {\n"
            '    echo "build_wheel override: repo=$1 plat=$2 in $(cat /etc/hostname)"\n'
            '    build_pip_wheel "$@"\n'
            "}\n"
        )
    env = {
        **build_env,
        **engine,
        "NUMPY_WHEELS_IMAGE": IMAGE,
        "CIBW_CONTAINER_ENGINE": "docker; create_args: --network=none; disable_host_mount: true",
        "CIBW_ENVIRONMENT": "PIP_NO_INDEX=1 PIP_FIND_LINKS=/opt/wheels",
        "CIBW_CACHE_PATH": str(tmp_path / "cibw-cache"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
    }
    code = main(
        ["--root", str(root), "build", "--backend", "cibuildwheel", "--only",
         "cp311-manylinux_x86_64"],
        env=env,
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "config.sh overrides build_wheel: cibuildwheel builds .numpy_wheels/override/" in out
    assert "build_wheel override: repo=/project plat=x86_64 in " in out
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    name, _, _, tags = parse_wheel_filename(wheel.name)
    assert name == "fooext"
    assert PLAT in {t.platform for t in tags}
    assert "dot = 32.0" in out  # cibuildwheel tested the override's wheel


def test_cold_and_warm_container_builds_give_one_sha256(
    engine: dict[str, str],
    fooext_repo: Callable[..., Path],
    build_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The tool's ccache inside the container, its directory mounted from the host cache and
    kept: the warm build hits it for every compilation and gives the same bytes."""
    root = fooext_repo()
    env = {
        **build_env,
        **engine,
        "NUMPY_WHEELS_CACHE": str(tmp_path / "cache"),
        "NUMPY_WHEELS_IMAGE": IMAGE,
        "CIBW_CONTAINER_ENGINE": "docker; create_args: --network=none; disable_host_mount: true",
        "CIBW_ENVIRONMENT": "PIP_NO_INDEX=1 PIP_FIND_LINKS=/opt/wheels",
        "CIBW_CACHE_PATH": str(tmp_path / "cibw-cache"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
    }
    records = []
    for run in ("cold", "warm"):
        wheelhouse = tmp_path / run
        code = main(
            ["--root", str(root), "build", "--backend", "cibuildwheel", "--only",
             "cp311-manylinux_x86_64", "--no-test", "--wheelhouse", str(wheelhouse)],
            env=env,
        )  # fmt: skip
        out, err = capsys.readouterr()
        assert code == 0, out + err
        summary = json.loads((wheelhouse / "build-summary.json").read_text())
        check_summary(summary)
        records.append(summary["wheels"][0])
    cold, warm = records
    assert cold["sha256"] == warm["sha256"]
    assert cold["compiler_cache"]["misses"] > 0
    assert warm["compiler_cache"]["hit_rate"] == 1.0
    assert cold["reproducibility"]["build_place"] is None  # /project in the container
