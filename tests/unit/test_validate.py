"""What is never released: files that are not what their name says, wheels tagged as no build
tags them, pure wheels of an all-platform project (build/validate.py), on files made here."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from numpy_wheels.build.validate import InvalidDistribution, check_file, set_problems
from numpy_wheels.errors import ReleaseGateError
from numpy_wheels.release import gate
from tests.wheelfiles import (
    bomb_in,
    garbage_in,
    make_sdist,
    make_wheel,
    member_named_nothing,
    member_twice,
    offsets_before_the_start,
    with_member_size,
)

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
    with pytest.raises(InvalidDistribution, match=r"not a readable tar\.gz archive"):
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


def deflated(path: Path) -> Path:
    """The wheel rewritten with every member deflated (as real wheels are)."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_damaged_deflated_member_is_a_damaged_archive(tmp_path: Path) -> None:
    """A deflated member whose compressed bytes are damaged: zlib's own error was not caught
    (it is no BadZipFile) and escaped as an internal error instead of the refusal."""
    member = "numpy/__init__.py"
    path = deflated(
        make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, payload=bytes(range(256)) * 64)
    )
    check_file(path)  # deflated and intact: valid
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    raw = bytearray(path.read_bytes())
    raw[info.header_offset + 30 + len(member.encode()) + 12] ^= 0xFF  # inside the deflate stream
    path.write_bytes(bytes(raw))
    with pytest.raises(InvalidDistribution, match=f"{member}: .*a damaged archive"):
        check_file(path)


_EOCD = struct.Struct("<4s4H2LH")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # zipfile.structCentralDir


def with_central_entry_repeated(path: Path, member: str, *, as_name: str | None = None) -> None:
    """The wheel's central directory with ``member``'s entry listed twice (both pointing at
    the one local header): what a zip that hashes one big member N times looks like. The
    copy is named ``as_name`` (as long as ``member``) when given."""
    raw = path.read_bytes()
    sig, disk, cd_disk, count, total, size, offset, _ = _EOCD.unpack(raw[-_EOCD.size :])
    central = raw[offset : offset + size]
    at = 0
    entry = b""
    while not entry:
        fields = _CENTRAL.unpack(central[at : at + _CENTRAL.size])
        length = _CENTRAL.size + fields[12] + fields[13] + fields[14]
        if central[at + _CENTRAL.size : at + _CENTRAL.size + fields[12]] == member.encode():
            entry = central[at : at + length]
        at += length
    if as_name is not None:
        entry = entry.replace(member.encode(), as_name.encode(), 1)
    eocd = _EOCD.pack(sig, disk, cd_disk, count + 1, total + 1, size + len(entry), offset, 0)
    path.write_bytes(raw[:offset] + central + entry + eocd)


def test_two_directory_entries_for_one_member_are_refused(tmp_path: Path) -> None:
    """Overlapping entries (CPython 3.12's zipfile refuses them, 3.11.7's does not): refused
    before the member is hashed twice, whichever Python runs the release; under one name
    twice, refused for that."""
    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, size=4096)
    with_central_entry_repeated(path, "numpy/blob.bin", as_name="numpy/blob.bim")
    with pytest.raises(InvalidDistribution, match=r"numpy/blob\.bin: .*overlaps.*a damaged"):
        check_file(path)
    path = make_wheel(tmp_path / "same", name="numpy", version="2.4.6", tag=TAG, size=4096)
    with_central_entry_repeated(path, "numpy/blob.bin")
    with pytest.raises(InvalidDistribution, match=r"numpy/blob\.bin: in the archive more than"):
        check_file(path)


def test_a_local_header_naming_another_member_is_refused(tmp_path: Path) -> None:
    """The central directory and the local header disagree about a stored member's name (what
    zipfile checks when it opens a member; the RECORD pass reads stored members itself)."""
    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, size=4096)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("numpy/blob.bin")
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30
    assert raw[start : start + 14] == b"numpy/blob.bin"
    raw[start : start + 14] = b"numpy/blob.txt"
    path.write_bytes(bytes(raw))
    with pytest.raises(InvalidDistribution, match="its local header names another file"):
        check_file(path)


@pytest.mark.parametrize("mapped", [True, False], ids=["mapped", "read"])
def test_deflated_members_hash_as_zipfile_reads_them(tmp_path: Path, mapped: bool) -> None:
    """The RECORD pass inflates deflated members itself (zlib-ng): the same digests as
    zipfile's reader for empty, compressible, incompressible and multi-block members, from
    the mapped file and from reads (a file that cannot be mapped)."""
    import hashlib
    import os

    from numpy_wheels.build.validate import _Archive, _member_sha256

    members = {
        "numpy/empty.txt": b"",
        "numpy/zeros.bin": bytes(3 << 20),  # inflates to 3 reads of the 1 MiB block
        "numpy/random.bin": os.urandom(1 << 20),  # deflate stores it in stored blocks
        "numpy/text.py": b"import numpy\n" * 5000,
    }
    path = deflated(make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, members=members))
    check_file(path)
    with (
        zipfile.ZipFile(path) as zf,
        path.open("rb", buffering=0) as fh,
        _Archive(fh, mapped=mapped) as archive,
    ):
        assert (archive.mapping is not None) == mapped
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_DEFLATED
            digest = _member_sha256(archive, info, path.stat().st_size)
            assert digest == hashlib.sha256(zf.read(info)).digest(), info.filename


@pytest.mark.parametrize(
    ("size", "why"),
    [
        (1000, r"holds more than the 1000 bytes its directory entry says"),  # a bomb
        (5 << 20, rf"holds {4 << 20} bytes, its directory entry says {5 << 20}"),
    ],
)
def test_a_deflated_member_of_another_size_is_refused(tmp_path: Path, size: int, why: str) -> None:
    """A deflated member that inflates to more (a zip bomb: inflating stops one byte past the
    size given) or less than its directory entry says is a damaged archive."""
    members = {"numpy/zeros.bin": bytes(4 << 20)}
    path = deflated(make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, members=members))
    with_member_size(path, "numpy/zeros.bin", size)
    with pytest.raises(InvalidDistribution, match=f"numpy/zeros.bin: it {why}"):
        check_file(path)


def patched(path: Path, member: str, *, flags: int = 0, method: int | None = None) -> Path:
    """``member``'s general-purpose flags or-ed with ``flags`` and its compression method set
    to ``method``, in its local header and its central directory entry."""
    raw = bytearray(path.read_bytes())
    name = member.encode()
    for signature, name_at, flags_at in ((b"PK\x03\x04", 30, 6), (b"PK\x01\x02", 46, 8)):
        at = raw.index(signature)
        while raw[at + name_at : at + name_at + len(name)] != name:
            at = raw.index(signature, at + 4)
        (old,) = struct.unpack_from("<H", raw, at + flags_at)
        struct.pack_into("<H", raw, at + flags_at, old | flags)
        if method is not None:
            struct.pack_into("<H", raw, at + flags_at + 2, method)
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize(
    ("member", "flags", "method", "why"),
    [
        ("numpy/blob.bin", 0x1, None, r"numpy/blob\.bin: it is encrypted or patched"),
        ("numpy/blob.bin", 0x0, 99, r"numpy/blob\.bin: compression method 99"),
        ("numpy-2.4.6.dist-info/METADATA", 0x1, None, r"METADATA: it is encrypted or patched"),
        ("numpy-2.4.6.dist-info/METADATA", 0x0, 99, r"METADATA: compression method 99"),
    ],
)
def test_members_pip_cannot_read_are_refused(
    tmp_path: Path, member: str, flags: int, method: int | None, why: str
) -> None:
    """An encrypted member or an unknown compression method (zipfile raises RuntimeError and
    NotImplementedError, which escaped as internal errors): refused like any damaged wheel."""
    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, size=4096)
    patched(path, member, flags=flags, method=method)
    with pytest.raises(InvalidDistribution, match=why):
        check_file(path)


OTHER = b"Metadata-Version: 2.1\nName: evil\nVersion: 6.6.6\n\nevil\n"


@pytest.mark.parametrize(
    ("members", "why"),
    [
        # twine reads the first *METADATA* member holding Metadata-Version, by depth then name
        ({"METADATA": OTHER}, r"twine would upload METADATA as its METADATA"),
        ({"numpy/METADATA": OTHER}, r"twine would upload numpy/METADATA as its METADATA"),
        ({"../../evil.py": b"x"}, r"member '\.\./\.\./evil\.py' would be installed outside"),
        ({"/tmp/evil.py": b"x"}, r"member '/tmp/evil\.py' would be installed outside"),
    ],
)
def test_what_pip_or_twine_reads_otherwise_is_refused(
    tmp_path: Path, members: dict[str, bytes], why: str
) -> None:
    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, members=members)
    with pytest.raises(InvalidDistribution, match=why):
        check_file(path)


def test_metadata_named_members_twine_skips_are_fine(tmp_path: Path) -> None:
    """Members named like METADATA but without a Metadata-Version line, or deeper than the
    .dist-info's: twine reads the .dist-info's, as the checks do."""
    members = {"aaa/METADATA.txt": b"notes", "numpy/sub/METADATA": OTHER}
    check_file(make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, members=members))


def test_a_large_member_named_like_metadata_is_searched_not_refused(tmp_path: Path) -> None:
    """Tryout 30: a valid wheel with a 5 MiB ``numpy/METADATA_TABLE.bin`` (twine tries it first,
    finds no Metadata-Version, takes the .dist-info's) was refused as "larger than 4 MiB".
    It is searched in pieces now; one that does hold the line, across a piece's edge, is
    still refused (twine would upload 5 MiB as the METADATA)."""
    table = {"numpy/METADATA_TABLE.bin": bytes(5 << 20)}
    check_file(make_wheel(tmp_path / "a", name="numpy", version="2.4.6", tag=TAG, members=table))
    edge = (1 << 20) - 5  # "Metadata-Version" starts 5 bytes before the first piece ends
    held = bytes(edge) + OTHER + bytes((5 << 20) - edge - len(OTHER))
    path = make_wheel(tmp_path / "b", name="numpy", version="2.4.6", tag=TAG,
                      members={"numpy/METADATA_TABLE.bin": held})  # fmt: skip
    with pytest.raises(InvalidDistribution, match=r"METADATA_TABLE\.bin \(larger than 4 MiB\)"):
        check_file(path)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"Wheel-Version: 9.0\n", r"Wheel-Version 9\.0 \(pip refuses a major version above 1\)"),
        (b"", r"Wheel-Version '' is not a version"),
        (b"Wheel-Version: one\n", r"Wheel-Version 'one' is not a version"),
        (b"Wheel-Version: 1.9\n", None),  # a newer minor: pip warns and installs
    ],
)
def test_wheel_version_as_pip_reads_it(tmp_path: Path, line: bytes, why: str | None) -> None:
    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG)
    with zipfile.ZipFile(path) as zf:
        wheel = zf.read("numpy-2.4.6.dist-info/WHEEL").replace(b"Wheel-Version: 1.0\n", line)
    rewrite_recorded(path, {"numpy-2.4.6.dist-info/WHEEL": wheel})
    if why is None:
        check_file(path)
        return
    with pytest.raises(InvalidDistribution, match=why):
        check_file(path)


def rewrite_recorded(path: Path, change: dict[str, bytes]) -> None:
    """The wheel with members replaced and RECORD rewritten to match (a consistent wheel)."""
    import base64
    import hashlib

    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members.update(change)
    record = next(n for n in members if n.endswith(".dist-info/RECORD"))
    members[record] = (
        "".join(
            f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},"
            f"{len(d)}\n"
            for n, d in members.items()
            if n != record
        ).encode()
        + f"{record},,\n".encode()
    )
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_a_cancelled_check_stops_with_cancelled(tmp_path: Path) -> None:
    """Ctrl-C/SIGTERM during the RECORD pass (a member inflating to gigabytes takes seconds):
    the download worker's check stops at its next read, with Cancelled."""
    from numpy_wheels.net import Cancelled, Canceller

    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, size=4096)
    canceller = Canceller()
    check_file(path, canceller=canceller)
    canceller.cancel()
    with pytest.raises(Cancelled):
        check_file(path, canceller=canceller)


META = "numpy-2.4.6.dist-info/METADATA"
BLOB = "numpy/blob.bin"


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda p: offsets_before_the_start(p, META), "a damaged archive"),
        (member_named_nothing, "a member with an empty name"),
        (lambda p: member_twice(p, META), r"dist-info/METADATA: in the archive more than once"),
        (lambda p: garbage_in(p, BLOB, zipfile.ZIP_BZIP2), r"blob\.bin: Invalid data stream"),
        (lambda p: garbage_in(p, BLOB, zipfile.ZIP_LZMA), r"blob\.bin: Corrupt input data"),
        (lambda p: bomb_in(p, BLOB, zipfile.ZIP_BZIP2), r"blob\.bin: it holds more than the 1"),
        (lambda p: bomb_in(p, BLOB, zipfile.ZIP_LZMA), r"blob\.bin: it holds more than the 1"),
    ],
    ids=[
        "negative-offsets",
        "empty-name",
        "twice",
        "bzip2-garbage",
        "lzma-garbage",
        "bzip2-bomb",
        "lzma-bomb",
    ],
)
def test_archives_zipfile_fails_on_are_refused(
    tmp_path: Path, damage: Callable[[Path], None], why: str
) -> None:
    """Found by a fuzzer (tryout 30): zipfile raised OSError, IndexError or LZMAError on these
    (an internal error, exit 1, or "cannot write" from the download), and read a bzip2 bomb
    without a bound (8.4 GB of memory for 4 KiB). Each is an InvalidDistribution now; bzip2
    and LZMA members are read in bounded pieces like deflated ones."""
    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, size=8 << 20)
    damage(path)
    with pytest.raises(InvalidDistribution, match=why):
        check_file(path)


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_metadata_bomb_is_read_bounded(tmp_path: Path, method: int) -> None:
    """Tryout 31: METADATA (read whole, before the RECORD pass) went through zipfile, which
    inflates past the size the directory gives: a 2 KB wheel took 3.2 GB. Its 8 MiB of
    zeros claimed as 1 byte is refused after the first piece now."""
    head = b"Metadata-Version: 2.1\nName: numpy\nVersion: 2.4.6\n\n"
    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG,
                      metadata=head + bytes(8 << 20))  # fmt: skip
    bomb_in(path, META, method)
    with pytest.raises(InvalidDistribution, match=r"METADATA: it holds more than the 1 bytes"):
        check_file(path)


def test_metadata_after_a_byte_order_mark_is_named_so(tmp_path: Path) -> None:
    """Tryout 30: a METADATA starting with a UTF-8 BOM (its headers read as the body) was
    refused as ``METADATA says  , the file name ...``."""
    metadata = b"\xef\xbb\xbfMetadata-Version: 2.1\nName: numpy\nVersion: 2.4.6\n\nx\n"
    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG, metadata=metadata)
    with pytest.raises(InvalidDistribution, match=r"no Name header \(it starts with a byte-order"):
        check_file(path)
