"""What an earlier run left at ``NAME.part`` never decides where the bytes go (issue 18)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from numpy_wheels.errors import ReleaseGateError
from numpy_wheels.files import verified_file

DATA = b"the staged bytes"
SHA256 = hashlib.sha256(DATA).hexdigest()


def write(part: Path) -> str:
    with part.open("wb") as fh:  # as the downloads open it: following a symbolic link
        fh.write(DATA)
    return SHA256


def test_a_symlinked_part_is_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "outside" / "victim"
    victim.parent.mkdir()
    victim.write_bytes(b"keep")
    wheels = tmp_path / "dl"
    wheels.mkdir()
    (wheels / "x.whl.part").symlink_to(victim)
    target = verified_file(wheels / "x.whl", write, sha256=SHA256, error=ReleaseGateError)
    assert victim.read_bytes() == b"keep"
    assert not target.is_symlink()
    assert target.read_bytes() == DATA
    assert sorted(p.name for p in wheels.iterdir()) == ["x.whl"]


def test_a_stale_part_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "x.whl.part").write_bytes(b"half of an earlier download")
    target = verified_file(tmp_path / "x.whl", write, sha256=SHA256, error=ReleaseGateError)
    assert target.read_bytes() == DATA
    assert not (tmp_path / "x.whl.part").exists()


def test_a_directory_in_place_of_the_part_is_named(tmp_path: Path) -> None:
    """It was IsADirectoryError, an internal error (exit 1)."""
    (tmp_path / "x.whl.part").mkdir()
    with pytest.raises(ReleaseGateError, match=r"x\.whl\.part is in the way \(a directory\)"):
        verified_file(tmp_path / "x.whl", write, sha256=SHA256, error=ReleaseGateError)
    assert (tmp_path / "x.whl.part").is_dir()
    assert not (tmp_path / "x.whl").exists()
