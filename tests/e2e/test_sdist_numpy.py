"""The sdist job on this machine's numpy path with --source sdist: numpy's own release sdist
from PyPI, its sha256 checked against the index, is the file staged beside the wheels (no
numpy build: a hand-made wheel of the manifest's name stands beside it)."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.files import sha256_of
from tests.conftest import REPO
from tests.wheelfiles import make_wheel

pytestmark = pytest.mark.slow  # downloads numpy's sdist (20 MB) from PyPI


def test_release_sdist_from_the_index_is_staged_beside_the_wheel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "wheels"
    root.mkdir()
    for name in (".travis.yml", "appveyor.yml", ".github", "pyproject.toml"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name)
        else:
            shutil.copy(src, root / name)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS", "TRAVIS")}
    env["NUMPY_WHEELS_CACHE"] = str(tmp_path / "cache")
    code = main(["--root", str(root), "sdist", "--source", "sdist", "--json"], env=env)
    out, err = capsys.readouterr()
    assert code == 0, (out + err)[-3000:]
    record = json.loads(out)
    # the index's own hash of its file (PEP 691 JSON)
    req = urllib.request.Request(
        "https://pypi.org/simple/numpy/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310
        files = {f["filename"]: f["hashes"]["sha256"] for f in json.load(resp)["files"]}
    sdist = root / "wheelhouse" / "numpy-2.4.6.tar.gz"
    assert record["filename"] == sdist.name
    assert record["sha256"] == sha256_of(sdist) == files[sdist.name]
    assert record["checks"]["version"] == "ok: 2.4.6 = tag v2.4.6"
    assert record["checks"]["twine"] == "ok: twine check --strict"
    assert record["checks"]["wheel"].startswith("skipped: the index's own sdist")
    wheel = make_wheel(
        root / "wheelhouse",
        name="numpy",
        version="2.4.6",
        tag="cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64",
    )
    store = ["--provider-name", "local", "--local-root", str(tmp_path / "store")]
    (tmp_path / "store").mkdir(exist_ok=True)  # a named store root must exist
    argv = ["--root", str(root), "upload", *store, "wheels", "--local-folder", str(wheel.parent)]
    assert main(argv, env=env) == 0
    page = (tmp_path / "store" / "wheels" / "index.html").read_text()
    assert "<th>sdist</th><td class='present'><a href='numpy-2.4.6.tar.gz#sha256=" in page
    assert "2.4.6: 2 of 72 expected files" in page
    capsys.readouterr()
    argv = ["--root", str(root), "staged", *store, "--container", "wheels", "--json"]
    assert main(argv, env=env) == 0
    staged = {f["filename"]: f["sha256"] for f in json.loads(capsys.readouterr().out)["files"]}
    assert staged == {wheel.name: sha256_of(wheel), sdist.name: files[sdist.name]}
