"""The zip normalisation of repaired wheels: container fixed, contents untouched."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import jsonschema
import pytest

from numpy_wheels.build.determinism import normalise_wheel, zip_date_time
from numpy_wheels.errors import RepairError
from numpy_wheels.files import sha256_of
from tests.provenance import check_summary, schema

EPOCH = 1718000000
FILES = {
    "pkg/_ext.so": b"\x7fELF compiled",
    "pkg/__init__.py": b"from ._ext import *\n",
    "pkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
    "pkg-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\n",
}


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(path: Path, *, bad_record: bool = False) -> Path:
    """Members in a scrambled order, a date of their own each, odd modes and extra fields."""
    rows = [f"{n},{_hash(b'x' if bad_record else d)},{len(d)}" for n, d in FILES.items()]
    record = ("\n".join([*rows, "pkg-1.0.dist-info/RECORD,,"]) + "\n").encode()
    members = [("pkg-1.0.dist-info/RECORD", record), *reversed(FILES.items())]
    with zipfile.ZipFile(path, "w") as zf:
        for i, (name, data) in enumerate(members):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1 + i, 0, 0, 0))
            info.compress_type = (
                zipfile.ZIP_STORED if name.endswith(".so") else zipfile.ZIP_DEFLATED
            )
            info.external_attr = (0o100700 if name.endswith(".so") else 0o100600) << 16
            info.extra = b"\x55\x54\x05\x00\x01\x00\x00\x00\x00"  # an "UT" timestamp field
            zf.writestr(info, data)
    return path


def test_normalised_container_same_contents(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl")
    result = normalise_wheel(wheel, epoch=EPOCH)
    assert result.reordered
    assert (result.timestamps, result.permissions, result.extras) == (5, 5, 5)
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
        assert {n: zf.read(n) for n in FILES} == FILES  # contents untouched
    assert [i.filename for i in infos] == [
        "pkg/__init__.py",
        "pkg/_ext.so",
        "pkg-1.0.dist-info/METADATA",
        "pkg-1.0.dist-info/WHEEL",
        "pkg-1.0.dist-info/RECORD",
    ]
    assert {i.date_time for i in infos} == {zip_date_time(EPOCH)}
    modes = {i.filename: i.external_attr >> 16 for i in infos}
    assert modes["pkg/_ext.so"] == 0o100755
    assert modes["pkg/__init__.py"] == 0o100644
    assert all(not i.extra for i in infos)
    compression = {i.filename: i.compress_type for i in infos}
    assert compression["pkg/_ext.so"] == zipfile.ZIP_STORED  # the same compression per member
    assert compression["pkg/__init__.py"] == zipfile.ZIP_DEFLATED


def test_normalising_twice_changes_nothing(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl")
    normalise_wheel(wheel, epoch=EPOCH)
    before = sha256_of(wheel)
    again = normalise_wheel(wheel, epoch=EPOCH)
    assert not again.changed
    assert sha256_of(wheel) == before


def test_a_record_that_lies_stops_the_build(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl", bad_record=True)
    before = sha256_of(wheel)
    with pytest.raises(RepairError, match="not in RECORD with its hash"):
        normalise_wheel(wheel, epoch=EPOCH)
    assert sha256_of(wheel) == before


def test_the_provenance_schema_is_a_schema_and_refuses() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    with pytest.raises(jsonschema.ValidationError, match="reproducibility"):
        check_summary(
            {
                "tool": "numpy-wheels 0.1.0",
                "project": "fooext",
                "commit": {"commit": "v0.1.0", "mode": "release"},
                "source": {
                    "kind": "git",
                    "commit": "v0.1.0",
                    "resolved": "0" * 40,
                    "origin": "x",
                    "source_date_epoch": 1,
                },
                "backend": "host",
                "host": {"python": "3.11.2", "machine": "x86_64"},
                "tools": {},
                "wheels": [{"identifier": "cp311-manylinux_x86_64", "ok": True, "wheel": "a.whl",
                            "sha256": "0" * 64}],
            }
        )  # fmt: skip
