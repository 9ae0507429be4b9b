"""The sdist job on the fooext fixture: built from the git checkout at the tag, its version
checked against the tag, twine-checked, a wheel built from it, then staged with the job's
wheel; the release gate requires it."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.errors import ReleaseGateError, SourceError
from numpy_wheels.files import sha256_of
from tests.wheelfiles import make_wheel
from tests.wheels_repo import git

WHEEL_TAG = "cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], build_env: dict[str, str]) -> Run:
    def go(root: Path, *args: str) -> tuple[int, str, str]:
        code = main(["--root", str(root), *args], env=build_env)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return go


def test_sdist_job_then_staged_beside_the_wheel_and_required(
    fooext_repo: Callable[..., Path], run: Run, tmp_path: Path
) -> None:
    root = fooext_repo()
    (root / "pyproject.toml").write_text(
        '[tool.numpy-wheels]\nproject = "fooext"\nopenblas = true\n'
        'build = ["cp311-manylinux_x86_64"]\n'
    )
    code, out, err = run(root, "sdist", "--json")
    assert code == 0, out + err
    record = json.loads(out)
    sdist = root / "wheelhouse" / "fooext-0.1.0.tar.gz"
    assert record["filename"] == sdist.name
    assert record["sha256"] == sha256_of(sdist)
    assert record["checks"]["version"] == "ok: 0.1.0 = tag v0.1.0"
    assert record["checks"]["twine"] == "ok: twine check --strict"
    assert record["checks"]["wheel"].startswith("ok: fooext-0.1.0-cp311-cp311-linux_x86_64.whl")
    assert record["source"]["kind"] == "git"
    with tarfile.open(sdist) as tar:
        assert "fooext-0.1.0/src/_blas.c" in tar.getnames()  # the tree at the tag
    assert list((root / "wheelhouse").glob("*.whl")) == []  # the check wheel is not staged

    # a build job's wheel (of the manifest's name) beside it, then both staged; the gate
    # wants both
    make_wheel(root / "wheelhouse", tag=WHEEL_TAG)
    store = ["--provider-name", "local", "--local-root", str(tmp_path / "store")]
    (tmp_path / "store").mkdir(exist_ok=True)  # a named store root must exist
    assert run(root, "upload", *store, "wheels", "--local-folder", str(root / "wheelhouse"))[0] == 0
    code, out, _ = run(root, "staged", *store, "--container", "wheels", "--json")
    staged = sorted(f["filename"] for f in json.loads(out)["files"])
    assert staged == [f"fooext-0.1.0-{WHEEL_TAG}.whl", sdist.name]
    # the hand-made wheel has no build record (the sdist has: sdist-summary.json was staged)
    release = [*store, "--container", "wheels", "--no-twine", "-w", str(tmp_path / "dl"),
               "--allow-unverified-provenance"]  # fmt: skip
    code, out, err = run(root, "release", "0.1.0", *release)
    assert code == 0, out + err

    # without the sdist the same set is refused
    (tmp_path / "store" / "wheels" / sdist.name).unlink()
    (tmp_path / "store" / "wheels" / ".records" / f"{sdist.name}.json").unlink()
    code, _, err = run(root, "release", "0.1.0", *release, "-c")
    assert code == ReleaseGateError.return_code
    assert f"missing (expected, not staged): {sdist.name}" in err


def test_sdist_version_must_be_the_tags(fooext_repo: Callable[..., Path], run: Run) -> None:
    root = fooext_repo()
    project = root / "fooext"
    text = (project / "pyproject.toml").read_text().replace('"0.1.0"', '"0.1.1"')
    (project / "pyproject.toml").write_text(text)
    git("commit", "-q", "-am", "0.1.1 on the 0.1.0 tag", cwd=project)
    git("tag", "-f", "v0.1.0", cwd=project)
    code, _, err = run(root, "sdist", "--no-wheel-check")
    assert code == SourceError.return_code
    assert "says version 0.1.1, but BUILD_COMMIT v0.1.0 is the tag of 0.1.0" in err
    assert not (root / "wheelhouse" / "fooext-0.1.1.tar.gz").exists()


def test_sdist_says_build_depends_is_not_used(
    fooext_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str], build_env: dict[str, str]
) -> None:
    """BUILD_DEPENDS goes into the wheel builds' venv (config.sh's build_pip_wheel included),
    never into the sdist, which users' pip builds isolated: said, not silently dropped."""
    root = fooext_repo()
    env = {**build_env, "BUILD_DEPENDS": "cython numpy"}
    assert main(["--root", str(root), "sdist", "--no-wheel-check"], env=env) == 0
    out, err = capsys.readouterr()
    assert "sdist: BUILD_DEPENDS (cython numpy) is not used" in out + err
    assert (root / "wheelhouse" / "fooext-0.1.0.tar.gz").is_file()
