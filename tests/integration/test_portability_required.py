"""``--require-portability-test``: a Linux wheel that cannot be tested in other images is an
error before anything is built (build) or a finding (lint)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.errors import ConfigError, ContainerEngineError, LintError, UsageError


def run(
    capsys: pytest.CaptureFixture[str], root: Path, env: dict[str, str], *args: str
) -> tuple[int, str, str]:
    code = main(["--root", str(root), *args], env=env)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_build_requires_images_and_an_engine(
    fooext_repo: Callable[..., Path],
    build_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = fooext_repo()
    args = ("build", "--backend", "host", "--require-portability-test")
    code, out, err = run(capsys, root, build_env, *args)
    assert code == ConfigError.return_code, out + err
    assert "cp311-manylinux_x86_64: no test images configured" in err
    assert not (root / "wheelhouse" / "build-summary.json").exists()  # nothing was built
    # images named, but no engine answers (a socket nobody listens on)
    env = {
        **build_env,
        "DOCKER_TEST_IMAGE": "local/bullseye:1",
        "DOCKER_HOST": f"unix://{tmp_path}/nobody.sock",
    }
    code, out, err = run(capsys, root, env, *args)
    assert code == ContainerEngineError.return_code, out + err
    assert "no container engine answers" in err
    code, out, err = run(capsys, root, env, *args, "--no-test")
    assert code == UsageError.return_code, out + err


def test_lint_requires_a_test_image_per_linux_platform(
    fooext_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = fooext_repo(pyproject_extra='build = ["cp311-*"]\n')
    env = {"PATH": "/usr/bin:/bin"}
    code, out, _ = run(capsys, root, env, "lint")
    assert code == 0, out
    code, out, err = run(capsys, root, env, "lint", "--require-portability-test", "--json")
    assert code == LintError.return_code
    findings = json.loads(out)
    untested = sorted(f["message"].split(":")[0] for f in findings if f["kind"] == "portability")
    assert "cp311-manylinux_x86_64" in untested
    assert "cp311-manylinux_aarch64" in untested
    assert not [u for u in untested if "macosx" in u or "win" in u]  # Linux only
    # a DOCKER_TEST_IMAGE in a CI file covers every Linux platform
    travis = root / ".travis.yml"
    travis.write_text(
        travis.read_text().replace(
            "    - DAILY_COMMIT=main\n",
            "    - DAILY_COMMIT=main\n    - DOCKER_TEST_IMAGE=multibuild/focal_{PLAT}\n",
        )
    )
    code, out, err = run(capsys, root, env, "lint", "--require-portability-test")
    assert code == 0, out + err
