"""What is never released: files that are not what their name says, wheels tagged as no build
tags them, pure wheels of an all-platform project (release/validate.py), on files made here."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from numpy_wheels.errors import ReleaseGateError
from numpy_wheels.release import gate
from numpy_wheels.release.validate import InvalidDistribution, check_file, set_problems
from tests.wheelfiles import make_sdist, make_wheel

TAG = "cp312-cp312-manylinux_2_28_x86_64"
WHEEL = f"numpy-2.4.6-{TAG}.whl"


def rewrite(path: Path, change: dict[str, bytes | None]) -> None:
    """The wheel with members replaced (bytes) or removed (None), RECORD left as it was."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    for name, data in change.items():
        if data is None:
            members.pop(name)
        else:
            members[name] = data
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_a_valid_wheel_and_sdist_pass(tmp_path: Path) -> None:
    check_file(make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG))
    check_file(make_sdist(tmp_path, name="numpy", version="2.4.6"))


def test_an_html_page_named_whl(tmp_path: Path) -> None:
    page = tmp_path / WHEEL
    page.write_bytes(b"<!DOCTYPE html>\n<html><body>Not Found</body></html>\n")
    with pytest.raises(InvalidDistribution, match=r"not a zip archive .*an HTML page\?"):
        check_file(page)
    sdist = tmp_path / "numpy-2.4.6.tar.gz"
    sdist.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(InvalidDistribution, match="not a tar archive"):
        check_file(sdist)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"numpy/__init__.py": b"EVIL = 1\n"}, "its sha256 differs from RECORD's"),
        ({"numpy/extra.py": b"x = 1\n"}, "numpy/extra.py is not in RECORD"),
        ({"numpy/blob.bin": None}, "RECORD lists numpy/blob.bin, which is not in the wheel"),
        ({"numpy-2.4.6.dist-info/WHEEL": None}, "no numpy-2.4.6.dist-info/WHEEL"),
        ({"other-1.0.dist-info/METADATA": b"Name: other\n"}, "2 .dist-info directories"),
    ],
)
def test_a_wheel_whose_members_disagree(
    tmp_path: Path, change: dict[str, bytes | None], why: str
) -> None:
    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG)
    rewrite(path, change)
    with pytest.raises(InvalidDistribution, match=why):
        check_file(path)


def test_metadata_and_wheel_tags_against_the_name(tmp_path: Path) -> None:
    liar = make_wheel(
        tmp_path / "a", name="numpy", version="2.4.6", tag=TAG, metadata_version="2.4.7"
    )
    with pytest.raises(InvalidDistribution, match=r"METADATA says numpy 2\.4\.7"):
        check_file(liar)
    # a pure wheel renamed to a platform name: WHEEL still says py3-none-any
    pure = make_wheel(tmp_path / "b", name="numpy", version="2.4.6")
    renamed = pure.with_name(WHEEL)
    pure.rename(renamed)
    with pytest.raises(InvalidDistribution, match=r"WHEEL's Tag lines \(py3-none-any\)"):
        check_file(renamed)


def test_an_sdist_with_two_top_directories(tmp_path: Path) -> None:
    path = tmp_path / "numpy-2.4.6.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member in ("numpy-2.4.6/PKG-INFO", "other/PKG-INFO"):
            data = b"Name: numpy\nVersion: 2.4.6\n"
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(InvalidDistribution, match="2 top-level directories"):
        check_file(path)


PLATFORM = [WHEEL, "numpy-2.4.6-cp314-cp314t-win_amd64.whl", "numpy-2.4.6.tar.gz"]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("numpy-2.4.6-py3-none-any.whl", "platform-independent wheel"),
        ("numpy-2.4.6-cp314t-cp314t-win_amd64.whl", "interpreter tag 'cp314t'"),
        ("numpy-2.4.6-cp313-cp312-win_amd64.whl", "ABI 'cp312' of another Python"),
    ],
)
def test_refused_even_with_allow_incomplete(name: str, why: str) -> None:
    found = [WHEEL, name]  # one expected wheel is late: the set is incomplete anyway
    assert any(why in p for p in set_problems(found, expected=PLATFORM))
    report = gate.check(found, expected=PLATFORM, version="2.4.6", wheel_type="all")
    with pytest.raises(ReleaseGateError, match=why) as info:
        gate.enforce(report, allow_incomplete=True)
    assert "--allow-incomplete only allows missing files" in info.value.hint


def test_a_pure_project_may_release_a_pure_wheel() -> None:
    pure = ["fooext-0.1.0-py3-none-any.whl"]
    assert set_problems(pure, expected=pure) == []


def test_missing_only_names_the_flag_that_applies() -> None:
    report = gate.check([WHEEL], expected=PLATFORM[:2], version="2.4.6", wheel_type="all")
    with pytest.raises(ReleaseGateError) as info:
        gate.enforce(report, allow_incomplete=False)
    assert "--allow-incomplete" in info.value.hint
    gate.enforce(report, allow_incomplete=True)


def test_a_damaged_member_fails_its_crc(tmp_path: Path) -> None:
    """One byte of a stored member changed in place (sizes and headers intact): the RECORD
    pass, which reads every member to its end (no separate testzip pass), reports the CRC."""
    member = "numpy/blob.bin"
    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, size=4096)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
        assert info.compress_type == zipfile.ZIP_STORED
        data = zf.read(member)
    raw = bytearray(path.read_bytes())
    at = raw.index(data, info.header_offset) + len(data) // 2
    raw[at] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(InvalidDistribution, match=f"{member}: CRC check failed"):
        check_file(path)
