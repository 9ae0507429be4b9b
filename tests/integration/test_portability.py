"""The portability test for real: the fooext fixture built on this host (bookworm, glibc 2.36)
and tested through the tool in clean debootstrap images — bullseye (glibc 2.31, CPython 3.9)
and trixie (glibc 2.41, CPython 3.13) — with no network and nothing from the build."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import parse_wheel_filename

from numpy_wheels.__main__ import main
from numpy_wheels.errors import WheelTestError

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]


def _build(
    root: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, dict[str, Any]]:
    code = main(["--root", str(root), "build", "--backend", "host", *args], env=env)
    out, err = capsys.readouterr()
    # A test's traceback in a container is part of the test output (stdout); the tool's own
    # messages (stderr) never carry one.
    assert "Traceback" not in err
    summary = json.loads((root / "wheelhouse" / "build-summary.json").read_text())
    return code, out + err, summary


def test_abi3_wheel_passes_in_bullseye_and_trixie(
    test_images: dict[str, str],
    docker_env: dict[str, str],
    fooext_repo: Callable[..., Path],
    build_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    images = f'["{test_images["bullseye"]}", "{test_images["trixie"]}"]'
    root = fooext_repo(
        abi3=True,
        pyproject_extra=f"\n[tool.numpy-wheels.test-images]\nmanylinux_x86_64 = {images}\n",
    )
    env = {**build_env, **docker_env, "TEST_DEPENDS": "iniconfig"}
    code, out, summary = _build(root, env, capsys, "--require-portability-test")
    assert code == 0, out
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    _, _, _, tags = parse_wheel_filename(wheel.name)
    assert {(t.interpreter, t.abi) for t in tags} == {("cp39", "abi3")}
    (record,) = summary["wheels"]
    port = record["portability"]
    assert port["status"] == "passed", port
    by_image = {r["image"]: r for r in port["images"]}
    assert set(by_image) == set(test_images.values())
    bullseye, trixie = by_image[test_images["bullseye"]], by_image[test_images["trixie"]]
    assert bullseye["ok"]
    assert trixie["ok"]
    assert bullseye["python"].startswith("cpython 3.9.")
    assert bullseye["libc"] == "glibc 2.31"
    assert trixie["python"].startswith("cpython 3.13.")
    assert trixie["libc"] == "glibc 2.41"
    # run_tests ran three times: on the host, then in each image, from the installed wheel
    assert out.count("dot = 32.0") == 3
    assert out.count("test depends installed: iniconfig") == 3  # TEST_DEPENDS, offline
    assert "run_tests saw FOOEXT_MARK=from-env-vars" in out  # env_vars.sh crossed over
    assert record["tags"]["ok"] is True
    assert "ok 2/2" in out  # the summary table's portability cell


def test_library_the_image_lacks_fails_the_wheel(
    test_images: dict[str, str],
    docker_env: dict[str, str],
    fooext_repo: Callable[..., Path],
    build_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The wheel links libglib-2.0.so.0: on the manylinux whitelist, so auditwheel does not
    # graft it and the tag check accepts it; the build machine has it, a clean bullseye not.
    plat_named = test_images["bullseye"].replace("nw-test-bullseye", "nw-test-bullseye-x86_64")
    subprocess.run(
        ["docker", "tag", test_images["bullseye"], plat_named],
        env={**os.environ, **docker_env},
        check=True,
        capture_output=True,
    )
    root = fooext_repo(abi3=True, glib=True)
    template = plat_named.replace("x86_64", "{PLAT}")  # multibuild's spelling
    env = {**build_env, **docker_env, "DOCKER_TEST_IMAGE": template}
    code, out, summary = _build(root, env, capsys)
    assert code == WheelTestError.return_code, out
    (record,) = summary["wheels"]
    assert record["ok"] is False
    assert record["test"] == "passed (host venv)"  # the build machine's own test passed
    assert record["tags"]["ok"] is True
    assert "libglib-2.0.so.0" in record["tags"]["external"]
    port = record["portability"]
    assert port["status"] == "failed"
    (result,) = port["images"]
    assert result["image"] == plat_named  # {PLAT} expanded
    assert result["ok"] is False
    assert "libglib-2.0.so.0" in result["detail"]
    assert "cannot open shared object file" in result["detail"]
    assert "libglib-2.0.so.0" in record["error"]
    assert "FAILED 0/1" in out
