"""numpy's whole release through staging and the release gate: the 72 files numpy 2.4.6
published (hand-made wheels and sdist of those names) staged in a local container pass the gate
of this repository's configuration without --allow-incomplete; one file fewer is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.errors import ReleaseGateError
from tests.wheelfiles import make_sdist, make_wheel

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = (ROOT / "tests" / "unit" / "data" / "numpy-2.4.6-files.txt").read_text().split()


def _stage(tmp_path: Path, capsys: pytest.CaptureFixture[str], left_out: str | None) -> list[str]:
    """Stage the published set (minus ``left_out``) in a local container; the store options."""
    repo = tmp_path / "wheels"
    repo.mkdir()
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")  # this repository's selection
    house = tmp_path / "house"
    for name in PUBLISHED:
        if name == left_out:
            continue
        if name.endswith(".tar.gz"):
            make_sdist(house, name="numpy", version="2.4.6")
        else:
            tag = name.removeprefix("numpy-2.4.6-").removesuffix(".whl")
            make_wheel(house, name="numpy", version="2.4.6", tag=tag)
    store = ["--provider-name", "local", "--local-root", str(tmp_path / "store")]
    (tmp_path / "store").mkdir(exist_ok=True)  # a named store root must exist
    argv = ["--root", str(repo), "upload", *store, "wheels", "--local-folder", str(house)]
    assert main(argv, env={"PATH": "/usr/bin:/bin"}) == 0
    page = (tmp_path / "store" / "wheels" / "index.html").read_text()
    present = len(PUBLISHED) - (1 if left_out else 0)
    assert f"2.4.6: {present} of 72 expected files" in page
    capsys.readouterr()
    return ["--root", str(repo), "release", "2.4.6", *store, "--container", "wheels",
            "--allow-unverified-provenance"]  # fmt: skip


def test_numpys_whole_release_passes_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = _stage(tmp_path, capsys, left_out=None)
    code = main([*release, "--no-twine", "-w", str(tmp_path / "dl")], env={"PATH": "/usr/bin:/bin"})
    _, err = capsys.readouterr()
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "dl").iterdir() if p.name in PUBLISHED) == sorted(
        PUBLISHED
    )


@pytest.mark.parametrize(
    "left_out",
    [
        "numpy-2.4.6.tar.gz",
        "numpy-2.4.6-cp313-cp313t-macosx_14_0_x86_64.whl",
        "numpy-2.4.6-pp311-pypy311_pp73-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl",
    ],
)
def test_one_file_fewer_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], left_out: str
) -> None:
    release = _stage(tmp_path, capsys, left_out=left_out)
    code = main([*release, "--no-twine", "-w", str(tmp_path / "dl")], env={"PATH": "/usr/bin:/bin"})
    _, err = capsys.readouterr()
    assert code == ReleaseGateError.return_code
    assert f"missing (expected, not staged): {left_out}" in err
    # nothing downloaded: only the report of the refusal
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["release-numpy-2.4.6.json"]
