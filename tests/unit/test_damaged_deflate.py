"""A damaged deflate stream is zlib's error, not zipfile's BadZipFile: every reader of wheel
members names it as a damaged wheel (it escaped as an internal error when it hit METADATA in
the release check or staging, or a binary in the tag check)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from numpy_wheels.build.tagcheck import check_wheel
from numpy_wheels.build.validate import InvalidDistribution, check_file
from numpy_wheels.errors import WheelTagError
from numpy_wheels.files import BadDistribution, raw_metadata
from tests.unit.test_validate import TAG, deflated
from tests.wheelfiles import make_wheel

METADATA = "numpy-2.4.6.dist-info/METADATA"
BINARY = "numpy/_core/_multiarray_umath.so"


def damaged(tmp_path: Path, member: str) -> Path:
    """A deflated wheel whose ``member`` has one byte of its deflate stream flipped."""
    elf = b"\x7fELF" + bytes(range(256)) * 64
    path = deflated(
        make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, members={BINARY: elf})
    )
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    raw = bytearray(path.read_bytes())
    raw[info.header_offset + 30 + len(member.encode()) + 5] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path


def test_the_release_check_names_damaged_metadata(tmp_path: Path) -> None:
    with pytest.raises(InvalidDistribution, match="a damaged archive"):
        check_file(damaged(tmp_path, METADATA))


def test_metadata_reading_names_damaged_metadata(tmp_path: Path) -> None:
    with pytest.raises(BadDistribution, match="not a readable zip archive"):
        raw_metadata(damaged(tmp_path, METADATA))


def test_the_tag_check_names_a_damaged_binary(tmp_path: Path) -> None:
    with pytest.raises(WheelTagError, match="cannot read the wheel"):
        check_wheel(damaged(tmp_path, BINARY))
