"""Option resolution: backend choice and its reason, identifiers from multibuild variables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from numpy_wheels.config.build import BuildRequest, resolve_build_options, split_words
from numpy_wheels.errors import ContainerEngineError, SelectionError

HOST = "cp311-manylinux_x86_64"


@pytest.mark.parametrize(
    ("env", "engine", "backend", "reason"),
    [
        ({}, False, "host", "a local run"),
        ({"CI": "true"}, True, "cibuildwheel", "a container engine answers"),
        ({"TF_BUILD": "True"}, True, "cibuildwheel", "on CI: each job builds its identifier"),
        ({"NUMPY_WHEELS_BACKEND": "cibuildwheel"}, False, "cibuildwheel", "NUMPY_WHEELS_BACKEND"),
        ({"CI": "true", "NUMPY_WHEELS_BACKEND": "host"}, False, "host", "NUMPY_WHEELS_BACKEND"),
    ],
)
def test_backend_choice_is_explained(
    data_copy: Callable[[str], Path], env: dict[str, str], engine: bool, backend: str, reason: str
) -> None:
    opts = resolve_build_options(
        BuildRequest(root=data_copy("this-repo")), env=env, engine_available=engine, host_id=HOST
    )
    assert opts.backend == backend
    assert reason in opts.backend_reason


def test_ci_linux_job_without_a_container_engine_is_exit_13(
    data_copy: Callable[[str], Path],
) -> None:
    """No silent fall-back to a different build: the job's identifier or a clear error."""
    env = {"CI": "true", "TRAVIS": "true", "TRAVIS_OS_NAME": "linux"}
    env |= {"MB_PYTHON_VERSION": "3.13", "PLAT": "x86_64"}
    with pytest.raises(ContainerEngineError, match="builds cp313-manylinux_x86_64 in a") as exc:
        resolve_build_options(
            BuildRequest(root=data_copy("this-repo")),
            env=env,
            engine_available=False,
            host_id=HOST,
        )
    assert exc.value.return_code == 13


@pytest.mark.parametrize("python", ["3.13", "3.11", "3.14t", "pypy3.11"])
def test_ci_macos_job_builds_its_identifier_whatever_the_runner_python(
    data_copy: Callable[[str], Path], python: str
) -> None:
    """The issue's reproduction: a macOS job whose Python differs from the runner's."""
    env = {"CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_OS": "macOS"}
    env |= {"MB_PYTHON_VERSION": python, "PLAT": "arm64", "BLAS_BACKEND": "accelerate"}
    opts = resolve_build_options(
        BuildRequest(root=data_copy("this-repo")),
        env=env,
        engine_available=False,
        host_id=HOST,
    )
    assert opts.backend == "cibuildwheel"
    (build_id,) = opts.identifiers
    assert build_id.platform.name == "macosx_arm64"
    assert build_id.variant == "accelerate"
    assert build_id.python.mb_version == python


def test_ci_job_identifier_from_multibuild_variables(data_copy: Callable[[str], Path]) -> None:
    opts = resolve_build_options(
        BuildRequest(root=data_copy("this-repo"), backend="cibuildwheel"),
        host_id=HOST,
        env={"MB_PYTHON_VERSION": "3.14t", "PLAT": "aarch64", "TRAVIS_OS_NAME": "linux"},
    )
    assert [b.identifier for b in opts.identifiers] == ["cp314t-manylinux_aarch64"]


def test_host_backend_builds_the_host_identifier(data_copy: Callable[[str], Path]) -> None:
    root = data_copy("this-repo")
    opts = resolve_build_options(BuildRequest(root=root, backend="host"), env={}, host_id=HOST)
    assert [b.identifier for b in opts.identifiers] == [HOST]
    with pytest.raises(SelectionError, match="builds only cp311-manylinux_x86_64"):
        resolve_build_options(
            BuildRequest(root=root, backend="host"),
            env={"MB_PYTHON_VERSION": "3.12", "PLAT": "x86_64"},
            host_id=HOST,
        )


def test_source_and_paths(data_copy: Callable[[str], Path]) -> None:
    root = data_copy("this-repo")
    opts = resolve_build_options(
        BuildRequest(root=root),
        env={"TEST_DEPENDS": "pytest 'hypothesis>=6'", "WHEEL_SDIR": "out"},
        host_id=HOST,
    )
    assert opts.source == "sdist"  # no numpy checkout in REPO_DIR
    assert opts.test_depends == ("pytest", "hypothesis>=6")
    assert opts.wheelhouse == root / "out"
    assert opts.image is None  # cibuildwheel's own pinned image unless the user names one
    assert dict(opts.project.config_settings)["setup-args"] == (
        "-Duse-ilp64=true",
        "-Dallow-noblas=false",
    )
    (root / "numpy" / ".git").mkdir(parents=True)
    assert resolve_build_options(BuildRequest(root=root), env={}, host_id=HOST).source == "git"


def test_split_words() -> None:
    assert split_words(None) == ()
    assert split_words("a  b") == ("a", "b")


def test_build_commit_in_the_environment_is_said_to_be_unused(
    data_copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The CI files name the commit; a BUILD_COMMIT exported in the shell is not built and a
    warning says so (it was ignored without a word), naming the bump that would change it."""
    root = data_copy("this-repo")
    opts = resolve_build_options(
        BuildRequest(root=root, backend="host"), env={"BUILD_COMMIT": "v9.9.9"}, host_id=HOST
    )
    assert opts.commit.commit == "v2.4.6"
    out, err = capsys.readouterr()
    assert "BUILD_COMMIT='v9.9.9' in the environment is not used" in out + err
    assert "bump v9.9.9" in out + err
    resolve_build_options(
        BuildRequest(root=root, backend="host"), env={"BUILD_COMMIT": "v2.4.6"}, host_id=HOST
    )
    assert "not used" not in "".join(capsys.readouterr())
