"""The real thing: numpy at this repository's BUILD_COMMIT, built from the PyPI sdist against the
pinned scipy-openblas64, repaired by auditwheel and tested from a fresh venv (minutes) — driven
as `reproduce --ci github --job "build cp311-manylinux_x86_64"`: that CI job's environment,
built here with the host backend."""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from numpy_wheels.__main__ import main
from numpy_wheels.files import sha256_of
from tests.conftest import REPO

pytestmark = pytest.mark.slow
CONFIG_FILES = (
    ".travis.yml",
    "appveyor.yml",
    ".github",
    "pyproject.toml",
    "setup.cfg",
    "config.sh",
    "env_vars.sh",
    "LICENSE_linux.txt",
    "LICENSE_osx.txt",
    "LICENSE_win32.txt",
    "ci",
)


def test_numpy_wheel_builds_repairs_and_passes_its_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "wheels"
    root.mkdir()
    for name in CONFIG_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name)
        else:
            shutil.copy(src, root / name)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "TRAVIS", "GITHUB_ACTIONS", "APPVEYOR", "TF_BUILD")
    }
    # numpy's "fast" label keeps CI within its budget; the README's run uses "full".
    env.setdefault("NUMPY_TEST_LABEL", "fast")
    env["NUMPY_WHEELS_CACHE"] = str(tmp_path / "cache")
    job = "build cp311-manylinux_x86_64"
    argv = ["--root", str(root), "reproduce", "--ci", "github", "--job", job, "--source", "sdist"]
    code = main(argv, env=env)
    out, err = capsys.readouterr()
    assert code == 0, (out + err)[-5000:]
    assert "of wheels.yml" in out
    # the job's environment, shown as a padded table row
    assert re.search(r"^MB_PYTHON_VERSION +3\.11 ", out, re.M), out[:3000]
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    name, version, _, tags = parse_wheel_filename(wheel.name)
    assert (name, str(version)) == ("numpy", "2.4.6")
    assert all(t.platform.startswith("manylinux_") for t in tags)
    summary = json.loads((root / "wheelhouse" / "build-summary.json").read_text())
    (record,) = summary["wheels"]
    assert record["sha256"] == sha256_of(wheel)
    assert record["openblas"]["version"] == "0.3.31.188.0"
    assert summary["source"]["kind"] == "sdist"
    assert "scipy-openblas 0.3.31.188.0" in out  # ci/check_openblas.py via show_config
    assert "licence check:" in out
    with zipfile.ZipFile(wheel) as zf:
        libs = [n for n in zf.namelist() if n.startswith("numpy.libs/")]
    assert any("libscipy_openblas64_" in lib for lib in libs)

    # the sdist job on the same path: the index's verified sdist, staged beside the wheel
    code = main(["--root", str(root), "sdist", "--source", "sdist", "--json"], env=env)
    out, err = capsys.readouterr()
    assert code == 0, (out + err)[-3000:]
    sdist = json.loads(out)
    assert sdist["filename"] == "numpy-2.4.6.tar.gz"
    assert sdist["sha256"] == summary["source"]["resolved"]  # the file the wheel was built from
    store = ["--provider-name", "local", "--local-root", str(tmp_path / "store")]
    (tmp_path / "store").mkdir(exist_ok=True)  # a named store root must exist
    house = str(root / "wheelhouse")
    argv = ["--root", str(root), "upload", *store, "wheels", "--local-folder", house]
    assert main(argv, env=env) == 0
    capsys.readouterr()
    argv = ["--root", str(root), "staged", *store, "--container", "wheels", "--json"]
    assert main(argv, env=env) == 0
    staged = {f["filename"]: f["sha256"] for f in json.loads(capsys.readouterr().out)["files"]}
    assert staged == {wheel.name: sha256_of(wheel), "numpy-2.4.6.tar.gz": sdist["sha256"]}
