"""What is never released, whatever the flags: files that are not what their name says.

``--allow-incomplete`` only ever allows *missing* files; these are refused always:

- a file that is not a valid wheel or sdist: not a zip/tar archive (an HTML page saved as
  ``*.whl``), a wheel whose RECORD does not match its members, not exactly one ``.dist-info``,
  METADATA Name/Version or WHEEL ``Tag`` lines that disagree with the file name;
- a wheel tagged in a way no build makes (``cp314t-cp314t``: the interpreter tag never carries
  the ABI's ``t``);
- a platform-independent (``none-any``) wheel of a project whose manifest is all platform
  wheels: pip would install it on every platform that lacks a binary wheel.

Pure checks of a file's bytes (the archive is read, nothing is extracted).
"""

from __future__ import annotations

import base64
import bz2
import collections
import contextlib
import csv
import email.parser
import hashlib
import io
import lzma
import mmap
import posixpath
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple, Protocol, cast

from packaging.tags import Tag, parse_tag
from packaging.utils import canonicalize_name
from zlib_ng import zlib_ng

from numpy_wheels.files import (
    MAX_METADATA_BYTES,
    BadDistribution,
    DistName,
    as_version,
    parse_dist,
)
from numpy_wheels.net import Cancelled, Canceller

#: RECORD lines whose hash is empty by design (PEP 376/427): RECORD itself, its signatures.
_UNHASHED = (".dist-info/RECORD", ".dist-info/RECORD.jws", ".dist-info/RECORD.p7s")
#: How much of a file is shown when it is not an archive (what it starts with tells why).
_SNIFF = 64


class InvalidDistribution(ValueError):
    """The file is not the wheel or sdist its name says (the message says how)."""


def _first_bytes(path: Path) -> str:
    """What a non-archive starts with, for the message (an HTML page says so at once).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.whl"; _ = p.write_bytes(b"<!DOCTYPE html>\\n")
    >>> _first_bytes(p)
    "starts with '<!DOCTYPE html>\\\\n' (an HTML page?)"
    """
    with path.open("rb") as fh:
        head = fh.read(_SNIFF)
    text = head.decode("latin-1")
    html = re.match(r"\s*<(!doctype|html|head|body|\?xml)", text, re.IGNORECASE)
    return f"starts with {text[:20]!r}" + (" (an HTML page?)" if html else "")


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _record_problems(
    zf: zipfile.ZipFile,
    dist_info: str,
    archive: _Archive,
    ends: dict[int, int],
    canceller: Canceller | None,
    scanned: MemberScan | None,
) -> list[str]:
    """RECORD against the members: every member listed with its sha256, every entry present."""
    raw = _bounded_read(archive, zf.getinfo(f"{dist_info}/RECORD"), ends)
    listed: dict[str, str] = {}
    for row in csv.reader(raw.decode("utf-8", errors="replace").splitlines()):
        if not row:
            continue
        if len(row) != 3:
            return [f"RECORD line {','.join(row)[:80]!r} is not 'path,hash,size'"]
        listed[row[0]] = row[1]
    problems = []
    members = [i for i in zf.infolist() if not i.is_dir()]
    for info in members:
        name = info.filename
        try:
            # read to its end for every member (RECORD's own too): its CRC is checked there
            end = ends[info.header_offset]
            actual = _b64(_member_sha256(archive, info, end, canceller, scanned))
        except _DAMAGED as exc:
            problems.append(f"{name}: {exc} (a damaged archive)")
            continue
        if name.endswith(_UNHASHED):
            continue
        digest = listed.get(name)
        if digest is None:
            problems.append(f"{name} is not in RECORD")
        elif not digest.startswith("sha256="):
            problems.append(f"{name}: RECORD gives no sha256")
        elif digest.removeprefix("sha256=") != actual:
            problems.append(f"{name}: its sha256 differs from RECORD's")
    names = {i.filename for i in members}
    problems += [f"RECORD lists {n}, which is not in the wheel" for n in listed if n not in names]
    return problems[:5] + ([f"... and {len(problems) - 5} more"] if len(problems) > 5 else [])


#: The views a member is hashed in: large enough that hashlib and zlib release the GIL and
#: run beside the other download workers (each releases it for a buffer over 2 KiB/5 KiB).
_BLOCK = 1 << 20


class _Archive:
    """An archive's bytes, handed out in views of at most ``_BLOCK`` bytes.

    The file is mapped read-only when it can be: hashing the pages in place saves the copy a
    read makes, which for the release benchmark's 26 wheels of 20 MiB in tmpfs was more than
    half the RECORD pass's system time (0.20 -> 0.09 s; issue 18). Where it cannot be mapped
    (an empty file, a file system without mmap), it is read into one reused buffer. Git and
    ripgrep read files the same way; like them, a file cut short by another process while it
    is read kills the process (SIGBUS). The files read here are a release's downloads in
    ``-w`` and the wheelhouse an ``upload`` stages."""

    def __init__(self, fh: io.FileIO, *, mapped: bool = True) -> None:
        self.fh = fh
        self.mapping: mmap.mmap | None = None
        if mapped:
            with contextlib.suppress(OSError, ValueError):  # ValueError: an empty file
                self.mapping = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self.buffer = memoryview(bytearray(_BLOCK if self.mapping is None else 0))

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mapping is not None:
            # BufferError: a view still held by a traceback; unmapped when it is collected
            with contextlib.suppress(BufferError):
                self.mapping.close()

    def views(self, start: int, length: int) -> Iterator[memoryview]:
        """The ``length`` bytes from ``start``, in order; fewer if the file ends first."""
        if self.mapping is not None:
            whole = memoryview(self.mapping)
            end = min(start + length, len(whole))
            for offset in range(start, end, _BLOCK):
                yield whole[offset : min(offset + _BLOCK, end)]
            return
        self.fh.seek(start)
        while length:
            count = self.fh.readinto(self.buffer[: min(length, _BLOCK)])
            if not count:
                return
            length -= count
            yield self.buffer[:count]


#: Local file header: signature, 11 fixed fields, then the name and the extra field.
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
#: General-purpose flags zipfile handles itself: encrypted (0), patched (5), strong encryption (6).
_NOT_PLAIN = 0x0001 | 0x0020 | 0x0040


def _data_ends(infos: list[zipfile.ZipInfo], size: int) -> dict[int, int]:
    """Where the bytes of the member at each header offset must end: at the next local header
    (the last one at the end of the file). Data running past it is refused, as CPython 3.12's
    zipfile refuses "overlapped entries" (3.11.7's does not): N directory entries pointing at
    one big member would otherwise be hashed N times. Two entries at one offset get an end
    before their start, so both are refused."""
    counts = collections.Counter(i.header_offset for i in infos)
    ends: dict[int, int] = {}
    end = size
    for offset in sorted(counts, reverse=True):
        ends[offset] = end if counts[offset] == 1 else offset
        end = offset
    return ends


#: A damaged archive: zlib's and zlib-ng's errors (a damaged deflate stream, read by zipfile or
#: by ``_member_sha256``) are no BadZipFile. zlib-ng's stub calls ``error`` an instance; it is
#: the exception class.
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    cast("type[Exception]", zlib_ng.error),
    EOFError,
    lzma.LZMAError,
    OSError,  # bz2's "Invalid data stream"; a seek before the file's start (a negative offset)
)


def _member_sha256(
    archive: _Archive,
    info: zipfile.ZipInfo,
    end: int,
    canceller: Canceller | None = None,
    scanned: MemberScan | None = None,
    sink: Callable[[bytes | memoryview], object] | None = None,
) -> bytes:
    """The raw sha256 digest of one member, its CRC-32 checked (zipfile.BadZipFile if not, or
    if its local header, extent or size is damaged).

    Stored and deflated members (every member of the wheels the build tools write) are read
    here from the archive's own bytes (``archive``), deflated ones inflated with
    zlib-ng: a real numpy wheel (1,166 members, 59 MiB inflated) takes 0.15 s so against
    0.25-0.34 s through zipfile's reader, paid by each of a release's 72 wheels. The CRC is
    still checked, with zlib-ng's crc32 (the same CRC-32 as zlib's, 5-7 times as fast here):
    pip refuses a member whose CRC is wrong, whatever RECORD says. Inflating stops at the
    size the directory gives (a zip bomb costs time, never memory), and a member that does not
    inflate to exactly that size is refused (zipfile would cut it or accept it short). bzip2
    and LZMA members (which zipfile, so pip, also reads) are read the same way, bounded as
    well: zipfile decompresses them without a bound (a 4 KiB bzip2 member of 4 GiB of zeros
    took 8.4 GB of memory). Encrypted or patched members and other methods are refused (pip
    cannot install them). ``canceller`` (Ctrl-C/SIGTERM) stops it between reads
    with Cancelled: a member inflating to gigabytes takes seconds. ``scanned``: what a
    MemberScan read of the same bytes as they arrived, used where it read exactly this
    member's byte range the same way (else the member is read here). ``sink``: handed the
    member's bytes as they are read (then it is read here, whatever ``scanned`` holds)."""
    start = _data_start(archive.fh, info)
    if start + info.compress_size > end:
        msg = "its data overlaps the next member"
        raise zipfile.BadZipFile(msg)
    if info.flag_bits & _NOT_PLAIN:
        msg = f"it is encrypted or patched (flags {info.flag_bits:#06x}), which pip cannot read"
        raise zipfile.BadZipFile(msg)
    if info.compress_type not in _METHODS:
        msg = f"compression method {info.compress_type}, which pip cannot read"
        raise zipfile.BadZipFile(msg)
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        msg = "its stored size disagrees with the archive's layout"
        raise zipfile.BadZipFile(msg)
    key = _Extent(start, info.compress_size, info.compress_type, info.file_size)
    content = scanned.results.get(key) if scanned is not None and sink is None else None
    if content is None:
        content = _read_member(archive, key, canceller, sink)
    if content.size != info.file_size:
        msg = f"it holds {content.size} bytes, its directory entry says {info.file_size}"
        raise zipfile.BadZipFile(msg)
    if content.crc != info.CRC:
        msg = "CRC check failed"
        raise zipfile.BadZipFile(msg)
    return content.digest


class _Extent(NamedTuple):
    """A member's bytes as stored: where they start, how many, how they are compressed, and
    the size they must not inflate past. What is read of them depends on nothing else."""

    start: int
    compress_size: int
    compress_type: int
    limit: int


class _Content(NamedTuple):
    """What a member holds: its size, CRC-32 and raw sha256 digest."""

    size: int
    crc: int
    digest: bytes


class _MemberReader:
    """A member's stored bytes in, in pieces; its content out. The one spelling of how a
    stored, deflated, bzip2 or LZMA member is read, after a download (``_read_member``) or
    during it (``MemberScan``), its output bounded per call: decompressing stops at the end
    of the compressed stream, and a deflate stream cut short gives what zipfile reads of it."""

    def __init__(
        self,
        extent: _Extent,
        canceller: Canceller | None,
        sink: Callable[[bytes | memoryview], object] | None = None,
    ) -> None:
        self.hashed = _Hashed(extent.limit, canceller, sink)
        method = extent.compress_type
        self.inflate = zlib_ng.decompressobj(-15) if method == zipfile.ZIP_DEFLATED else None
        self.other: _Bounded | None = None
        if method == zipfile.ZIP_BZIP2:
            self.other = bz2.BZ2Decompressor()
        elif method == zipfile.ZIP_LZMA:
            self.other = _ZipLzma()

    @property
    def done(self) -> bool:
        """The compressed stream has ended: the rest of the extent is not read."""
        if self.other is not None:
            return self.other.eof
        return self.inflate is not None and self.inflate.eof

    def feed(self, data: bytes | memoryview) -> None:
        if self.done:
            return
        if self.other is not None:
            _decompress_into(self.hashed, self.other, data)
        elif self.inflate is not None:
            _inflate_into(self.hashed, self.inflate, data)
        else:
            self.hashed.update(data)

    def finish(self) -> _Content:
        if self.inflate is not None and not self.inflate.eof:
            self.hashed.update(self.inflate.flush())
        return _Content(self.hashed.size, self.hashed.crc, self.hashed.digest.digest())


class _Bounded(Protocol):
    """A decompressor whose output is bounded per call (bz2's, lzma's)."""

    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    def decompress(self, data: bytes | memoryview, max_length: int = -1) -> bytes: ...


class _ZipLzma:
    """A zip member's LZMA stream (APPNOTE 5.8.8): a 4-byte header (version, properties size),
    the LZMA1 properties, then the raw stream, read as zipfile reads it, bounded per call."""

    def __init__(self) -> None:
        self.header = bytearray()
        self.raw: lzma.LZMADecompressor | None = None

    @property
    def eof(self) -> bool:
        return self.raw is not None and self.raw.eof

    @property
    def needs_input(self) -> bool:
        return self.raw is None or self.raw.needs_input

    def decompress(self, data: bytes | memoryview, max_length: int = -1) -> bytes:
        if self.raw is None:
            self.header += data
            if len(self.header) < 4:
                return b""
            end = 4 + int.from_bytes(self.header[2:4], "little")
            if len(self.header) < end:
                return b""
            props = bytes(self.header[4:end])
            # zipfile's own reader (zipfile.LZMADecompressor) builds it this way
            decode = lzma._decode_filter_properties  # type: ignore[attr-defined]
            filters = [decode(lzma.FILTER_LZMA1, props)]
            self.raw = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
            data = bytes(self.header[end:])
        return self.raw.decompress(data, max_length)


def _read_member(
    archive: _Archive,
    extent: _Extent,
    canceller: Canceller | None,
    sink: Callable[[bytes | memoryview], object] | None = None,
) -> _Content:
    reader = _MemberReader(extent, canceller, sink)
    left = extent.compress_size
    for view in archive.views(extent.start, extent.compress_size):
        left -= len(view)
        reader.feed(view)
        if reader.done:
            break
    else:
        if left:
            msg = "the archive ends inside it"
            raise zipfile.BadZipFile(msg)
    return reader.finish()


class MemberScan:
    """A wheel's members read as its bytes arrive: the release's download feeds each block
    here as it writes it, and ``check_file`` then takes what was read instead of reading the
    file again (issue 18: the second pass over a release's files was 0.3 s of the 0.78 s
    the release benchmark's download took).

    It follows the local headers from the start of the file, as a streaming unzip does, and
    reads each member's extent with the same reader ``check_file`` uses.
    Nothing here is trusted: a result is used only for the member whose central-directory
    entry gives exactly the extent it read (start, sizes, method), so a file the scan cannot
    follow (data descriptors, ZIP64, a damaged member, local headers that disagree with the
    directory) costs a normal read of those members, never a different verdict. It stops at
    the first byte that is not a local header (the central directory), after ``MAX_MEMBERS``
    members (memory stays bounded whatever the file holds) and once its members hold more
    than ``MAX_CONTENT`` bytes: a zip bomb's inflating, run in the download, must not outlast
    the download's deadline (``check_file`` reads such members itself, as it did before)."""

    MAX_MEMBERS = 1 << 16  # a zip without ZIP64 holds at most 65,535 entries
    MAX_CONTENT = 4 << 30  # numpy's wheels hold 60-80 MiB: 2-3 s of hashing at most

    def __init__(self, canceller: Canceller | None = None) -> None:
        self.canceller = canceller
        self.results: dict[_Extent, _Content] = {}
        self.restart()

    def restart(self) -> Callable[[memoryview], None]:
        """Start again from the file's first byte (a retried download); returns the writer of
        its blocks, as ``net.download``'s ``tap`` wants."""
        self.results.clear()
        self.offset = 0  # where the bytes handed in next start in the file
        self.header = bytearray()
        self.header_at = 0
        self.extent: _Extent | None = None
        self.reader: _MemberReader | None = None
        self.left = 0
        self.content = 0  # the bytes the members read so far hold
        self.stopped = False
        return self.feed

    def feed(self, block: memoryview) -> None:
        """The file's next bytes. Cancelled if the canceller is; no other error."""
        while block and not self.stopped:
            used = self._data(block) if self.extent is not None else self._header(block)
            self.offset += used
            block = block[used:]

    def _header(self, block: memoryview) -> int:
        if not self.header:
            self.header_at = self.offset
        need = _LOCAL_HEADER.size
        if len(self.header) >= need:
            fields = _LOCAL_HEADER.unpack_from(self.header)
            need += int(fields[9]) + int(fields[10])
        used = min(need - len(self.header), len(block))
        self.header += block[:used]
        if len(self.header) == _LOCAL_HEADER.size:
            self._parse_fixed()
        elif len(self.header) == need:
            self._start_member()
        return used

    def _parse_fixed(self) -> None:
        fields = _LOCAL_HEADER.unpack_from(self.header)
        flags, compress_size, file_size = int(fields[2]), int(fields[7]), int(fields[8])
        # 0x0008: sizes in a data descriptor after the data, not here; 0xFFFFFFFF: ZIP64
        opaque = flags & 0x0008 or 0xFFFFFFFF in (compress_size, file_size)
        if fields[0] != b"PK\x03\x04" or opaque or len(self.results) >= self.MAX_MEMBERS:
            self.stopped = True
        elif int(fields[9]) + int(fields[10]) == 0:
            self._start_member()

    def _start_member(self) -> None:
        fields = _LOCAL_HEADER.unpack_from(self.header)
        flags, method = int(fields[2]), int(fields[3])
        start = self.header_at + len(self.header)  # the data follows its local header
        self.extent = _Extent(start, int(fields[7]), method, int(fields[8]))
        plain = method in _METHODS and not flags & _NOT_PLAIN
        self.reader = _MemberReader(self.extent, self.canceller) if plain else None
        self.left = self.extent.compress_size
        self.header.clear()
        if not self.left:
            self._finish_member()

    def _data(self, block: memoryview) -> int:
        piece = block[: self.left]
        self.left -= len(piece)
        if self.reader is not None:
            try:
                self.reader.feed(piece)
            except _DAMAGED:  # read again by check_file, which says what is wrong
                self.reader = None
            if (
                self.reader is not None
                and self.content + self.reader.hashed.size > self.MAX_CONTENT
            ):
                self.reader, self.stopped = None, True
                return len(piece)
        if not self.left:
            self._finish_member()
        return len(piece)

    def _finish_member(self) -> None:
        if self.reader is not None and self.extent is not None:
            with contextlib.suppress(*_DAMAGED):
                self.results[self.extent] = content = self.reader.finish()
                self.content += content.size
        self.extent, self.reader = None, None


#: The methods zipfile reads (pip, which reads wheels with zipfile, cannot install any other).
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


class _Hashed:
    """sha256, CRC-32 and size of a member's bytes so far; BadZipFile past ``limit`` bytes,
    Cancelled once ``canceller`` is."""

    def __init__(
        self,
        limit: int,
        canceller: Canceller | None,
        sink: Callable[[bytes | memoryview], object] | None = None,
    ) -> None:
        self.digest = hashlib.sha256()
        self.crc = 0
        self.size = 0
        self.limit = limit
        self.canceller = canceller
        self.sink = sink

    def update(self, data: bytes | memoryview) -> None:
        if self.canceller is not None and self.canceller.cancelled:
            raise Cancelled
        self.size += len(data)
        if self.size > self.limit:
            msg = f"it holds more than the {self.limit} bytes its directory entry says"
            raise zipfile.BadZipFile(msg)
        self.digest.update(data)
        self.crc = zlib_ng.crc32(data, self.crc)
        if self.sink is not None:
            self.sink(data)


def _inflate_into(hashed: _Hashed, inflate: zlib_ng._Decompress, data: bytes | memoryview) -> None:
    """Inflate ``data`` into ``hashed`` in pieces of at most ``_BLOCK`` bytes, never more
    than one byte past its limit: 1 MiB of deflate inflates to 1 GiB at most (a zip bomb's
    zeros), which one call would have held in memory at once."""
    while data and not inflate.eof:
        hashed.update(inflate.decompress(data, min(_BLOCK, hashed.limit - hashed.size + 1)))
        data = inflate.unconsumed_tail


def _decompress_into(hashed: _Hashed, other: _Bounded, data: bytes | memoryview) -> None:
    """``_inflate_into`` for bz2 and LZMA, whose decompressors keep the unread input."""
    hashed.update(other.decompress(data, _room(hashed)))
    while not other.eof and not other.needs_input:
        hashed.update(other.decompress(b"", _room(hashed)))


def _room(hashed: _Hashed) -> int:
    """At most one block, and one byte past the limit (which ``update`` refuses)."""
    return min(_BLOCK, hashed.limit - hashed.size + 1)


def _data_start(fh: io.FileIO, info: zipfile.ZipInfo) -> int:
    """Where a member's data starts: after its local header, which must be a local header of
    the same name (zipfile's own checks when it opens a member)."""
    fh.seek(info.header_offset)
    header = fh.read(_LOCAL_HEADER.size) or b""
    if len(header) != _LOCAL_HEADER.size:
        msg = "the archive ends inside its local header"
        raise zipfile.BadZipFile(msg)
    fields = _LOCAL_HEADER.unpack(header)
    if fields[0] != b"PK\x03\x04":
        msg = "bad magic number for its local header"
        raise zipfile.BadZipFile(msg)
    name_length, extra_length = int(fields[9]), int(fields[10])
    name = fh.read(name_length) or b""
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"  # as ZipFile(path) reads names
    if name.decode(encoding, errors="replace") != info.orig_filename:
        msg = "its local header names another file"
        raise zipfile.BadZipFile(msg)
    return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


def _headers(data: bytes) -> email.message.Message:
    return email.parser.BytesParser().parsebytes(data, headersonly=True)


def _wheel_problems(
    path: Path, filename: str, canceller: Canceller | None, scanned: MemberScan | None
) -> list[str]:
    dist = parse_dist(filename)
    try:
        with (
            zipfile.ZipFile(path) as zf,
            path.open("rb", buffering=0) as fh,
            _Archive(fh) as archive,
        ):
            # No testzip(): hashing every member for RECORD below inflates each to its end,
            # which checks its CRC as well; a second pass over a 20 MiB wheel cost as much.
            if any(not n for n in zf.namelist()):  # zipfile's is_dir() fails on it
                return ["a member with an empty name (a damaged archive)"]
            twice = sorted(n for n, c in collections.Counter(zf.namelist()).items() if c > 1)
            if twice:  # which copy is installed (or checked) depends on the reader
                return [f"{', '.join(twice[:3])}: in the archive more than once"]
            tops = {n.split("/", 1)[0] for n in zf.namelist() if "/" in n}
            dist_infos = sorted(t for t in tops if t.endswith(".dist-info"))
            if len(dist_infos) != 1:
                return [f"{len(dist_infos)} .dist-info directories ({', '.join(dist_infos)})"]
            (dist_info,) = dist_infos
            needed = [f"{dist_info}/{n}" for n in ("METADATA", "WHEEL", "RECORD")]
            absent = [n for n in needed if n not in zf.namelist()]
            if absent:
                return [f"no {', '.join(absent)}"]
            big = [n for n in needed if zf.getinfo(n).file_size > MAX_METADATA_BYTES]
            if big:  # read whole below: bounded first (a zip bomb claims gigabytes)
                return [f"{', '.join(big)} larger than {MAX_METADATA_BYTES >> 20} MiB"]
            ends = _data_ends(zf.infolist(), path.stat().st_size)
            read: dict[str, bytes] = {}
            for name in needed[:2]:
                try:
                    read[name] = _bounded_read(archive, zf.getinfo(name), ends)
                except _DAMAGED as exc:
                    return [f"{name}: {exc} (a damaged archive)"]
            raw_meta = read[needed[0]]
            meta, wheel = _headers(raw_meta), _headers(read[needed[1]])
            problems = _install_problems(zf, dist_info, wheel, archive, ends)
            problems += _record_problems(zf, dist_info, archive, ends, canceller, scanned)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, KeyError) as exc:
        return [f"not a zip archive ({type(exc).__name__}; {_first_bytes(path)})"]
    except _DAMAGED as exc:  # zipfile's read of METADATA/WHEEL/RECORD: a damaged deflate stream
        return [f"a damaged archive ({exc})"]
    except (RuntimeError, NotImplementedError) as exc:  # zipfile: encrypted, unknown method
        return [f"a member pip cannot read ({exc})"]
    problems += _identity_problems(raw_meta, meta, dist)
    problems += _dist_info_problems(dist_info, dist)
    tags = _wheel_tags(wheel.get_all("Tag") or [])
    if tags != dist.tags:
        shown = ", ".join(sorted(str(t) for t in tags)) or "none"
        problems.append(f"WHEEL's Tag lines ({shown}) are not the file name's tags")
    return problems


def _dist_info_problems(dist_info: str, dist: DistName) -> list[str]:
    """The ``.dist-info`` directory must be ``{name}-{version}.dist-info`` of the file's
    project and version (PEP 427); pip refuses to install a wheel whose directory names
    another project ("does not start with")."""
    stem_name, _, stem_version = dist_info.removesuffix(".dist-info").rpartition("-")
    if canonicalize_name(stem_name) != dist.project or as_version(stem_version) != dist.version:
        return [f"its {dist_info} directory is not {dist.project} {dist.version}'s"]
    return []


def _install_problems(
    zf: zipfile.ZipFile,
    dist_info: str,
    wheel: email.message.Message,
    archive: _Archive,
    ends: dict[int, int],
) -> list[str]:
    """What pip or twine would refuse, or read otherwise than these checks do:

    - a member name that leaves the directory it is installed into (pip refuses the wheel);
    - a ``Wheel-Version`` missing, not a version, or of a major above 1 (PEP 427: installers
      refuse it; pip does);
    - another member named like METADATA that twine would read, and upload as the project's
      metadata, instead of the ``.dist-info``'s (twine's ``Wheel.read`` takes the first, by
      depth then name, that holds ``Metadata-Version``): the checks here read the other.
    """
    problems = [
        f"member {name!r} would be installed outside its directory (pip refuses it)"
        for name in zf.namelist()
        if _leaves(name)
    ][:3]
    version = str(wheel.get("Wheel-Version", "")).strip()
    try:
        major = int(version.split(".")[0])
    except ValueError:
        problems.append(f"Wheel-Version {version!r} is not a version (pip refuses the wheel)")
    else:
        if major > 1:
            problems.append(f"Wheel-Version {version} (pip refuses a major version above 1)")
    try:
        read = _twine_metadata(zf, archive, ends)
    except InvalidDistribution as exc:
        read = str(exc)
    if read != f"{dist_info}/METADATA":
        problems.append(f"twine would upload {read} as its METADATA, not {dist_info}/METADATA")
    return problems


def _leaves(name: str) -> bool:
    """Whether a member name points outside the directory it is extracted into.

    >>> [_leaves(n) for n in ("a/b.py", "a/../b.py", "../b.py", "/tmp/b.py", "C:/b.py")]
    [False, False, True, True, True]
    """
    normal = posixpath.normpath(name.replace("\\", "/"))
    return normal.startswith(("/", "../")) or normal == ".." or bool(_DRIVE.match(normal))


_DRIVE = re.compile(r"[A-Za-z]:")


def twine_metadata(zf: zipfile.ZipFile) -> str:
    """The member twine reads and uploads as the wheel's METADATA: the first, in twine's own
    candidate order (``twine.wheel.Wheel.find_candidate_metadata_files``: by depth, then
    name), that holds ``Metadata-Version``. InvalidDistribution saying what twine would read
    instead (``nothing``, or a member too large or unreadable here).

    A candidate is searched as it is read, never held whole, by the bounded reader: a
    ``pkg/METADATA_TABLE.bin`` of 5 MiB is skipped (twine skips it too), a bomb named like
    METADATA is unreadable, not gigabytes of memory."""
    path = Path(zf.filename or "")
    with path.open("rb", buffering=0) as fh, _Archive(fh) as archive:
        return _twine_metadata(zf, archive, _data_ends(zf.infolist(), path.stat().st_size))


def _twine_metadata(zf: zipfile.ZipFile, archive: _Archive, ends: dict[int, int]) -> str:
    from twine.wheel import Wheel

    for parts in Wheel.find_candidate_metadata_files(zf.namelist()):
        name = "/".join(parts)
        try:
            if _holds(archive, zf.getinfo(name), ends, b"Metadata-Version"):
                if zf.getinfo(name).file_size > MAX_METADATA_BYTES:
                    msg = f"{name} (larger than {MAX_METADATA_BYTES >> 20} MiB)"
                    raise InvalidDistribution(msg)
                return name
        except (*_DAMAGED, RuntimeError, NotImplementedError):
            msg = f"{name} (unreadable)"
            raise InvalidDistribution(msg) from None
    msg = "nothing"
    raise InvalidDistribution(msg)


def _holds(archive: _Archive, info: zipfile.ZipInfo, ends: dict[int, int], needle: bytes) -> bool:
    """Whether member ``info`` holds ``needle``, searched as the bounded reader reads it."""
    found = False
    tail = b""

    def search(data: bytes | memoryview) -> None:
        nonlocal found, tail
        piece = tail + bytes(data)
        found = found or needle in piece
        tail = piece[-(len(needle) - 1) :]

    _member_sha256(archive, info, ends[info.header_offset], sink=search)
    return found


def _bounded_read(archive: _Archive, info: zipfile.ZipInfo, ends: dict[int, int]) -> bytes:
    """A small member's bytes (METADATA, WHEEL, RECORD; its size checked before) read by the
    bounded reader, CRC checked: zipfile inflates bzip2 and LZMA without a bound, and deflate
    up to 2 GB a call, whatever the size the directory gives (tryout 30: a 2 KB wheel whose
    METADATA inflated to 1.5 GiB took 3.2 GB of memory). A damaged-archive error if not."""
    kept: list[bytes] = []
    _member_sha256(archive, info, ends[info.header_offset], sink=lambda d: kept.append(bytes(d)))
    return b"".join(kept)


def _wheel_tags(lines: Iterable[object]) -> frozenset[Tag]:
    """The tag set of WHEEL's ``Tag`` lines (one per tag as tools write them; a compressed
    ``a.b`` set is expanded too). A line with a non-ASCII character comes from the email
    parser as a ``Header``, not a str: each is read as its text."""
    out: set[Tag] = set()
    for line in lines:
        text = str(line).strip()
        if text.count("-") == 2:
            out |= parse_tag(text)
    return frozenset(out)


def _read_to_end(tf: tarfile.TarFile, canceller: Canceller | None) -> None:
    """Read the compressed stream on from the tar's end-of-archive blocks to its own end:
    gzip checks its CRC-32 and length only there, so a flipped byte or a cut trailer would
    pass (``tar -tzf`` refuses both). Cancelled between reads once ``canceller`` is."""
    stream = tf.fileobj
    while stream.read(_BLOCK):
        if canceller is not None and canceller.cancelled:
            raise Cancelled


def _sdist_problems(path: Path, filename: str, canceller: Canceller | None) -> list[str]:
    dist = parse_dist(filename)
    try:
        with tarfile.open(path) as tf:
            members = tf.getmembers()  # reads the whole stream: a truncated archive fails here
            tops = {m.name.split("/", 1)[0] for m in members}
            pkg_info = [
                m for m in members if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
            ]
            if len(tops) != 1 or len(pkg_info) != 1:
                return [
                    f"{len(tops)} top-level directories and {len(pkg_info)} PKG-INFO "
                    "(an sdist has one of each)"
                ]
            handle = tf.extractfile(pkg_info[0])
            raw_meta = handle.read(4 << 20) if handle else b""
            meta = _headers(raw_meta)
            _read_to_end(tf, canceller)
    except (tarfile.TarError, OSError, ValueError, *_DAMAGED) as exc:
        # zlib.error: a damaged deflate stream; BadGzipFile (an OSError): a wrong CRC-32 or
        # length in the gzip trailer, or bytes after it that are not another gzip member
        return [f"not a readable tar.gz archive ({type(exc).__name__}; {_first_bytes(path)})"]
    return _identity_problems(raw_meta, meta, dist)


def _identity_problems(raw: bytes, meta: email.message.Message, dist: DistName) -> list[str]:
    """METADATA's (PKG-INFO's) Name and Version against the file name's."""
    name, version = str(meta.get("Name", "")), str(meta.get("Version", ""))
    if not name or not version:
        # headers must start the file: after a byte-order mark they are read as the body
        bom = " (it starts with a byte-order mark)" if raw.startswith(b"\xef\xbb\xbf") else ""
        return [f"METADATA gives no {'Name' if not name else 'Version'} header{bom}"]
    if canonicalize_name(name) != dist.project or version != str(dist.version):
        return [f"METADATA says {name} {version}, the file name {dist.project} {dist.version}"]
    return []


def check_file(
    path: Path,
    filename: str | None = None,
    *,
    canceller: Canceller | None = None,
    scanned: MemberScan | None = None,
) -> None:
    """Refuse (InvalidDistribution) a file that is not the wheel/sdist ``filename`` (default:
    the path's name; a download checks its ``.part`` under the final name) says it is.
    Cancelled when ``canceller`` is cancelled while a wheel's members are read. ``scanned``:
    a MemberScan fed exactly the bytes of ``path`` (its download), whose reads of the members
    are taken instead of reading them again; the verdict is the same with or without it."""
    filename = filename or path.name
    try:
        parse_dist(filename)
    except BadDistribution as exc:
        raise InvalidDistribution(str(exc)) from None
    if filename.endswith(".whl"):
        problems = _wheel_problems(path, filename, canceller, scanned)
    else:
        problems = _sdist_problems(path, filename, canceller)
    if problems:
        msg = f"{filename} is not a valid {'wheel' if filename.endswith('.whl') else 'sdist'}: "
        raise InvalidDistribution(msg + "; ".join(problems))


_CPYTHON = re.compile(r"cp(\d+)")


def tag_problem(tag: Tag) -> str | None:
    """Why a wheel tag is one no build makes (None: plausible).

    >>> tag_problem(Tag("cp314t", "cp314t", "manylinux_2_28_x86_64"))
    "interpreter tag 'cp314t' (free-threaded wheels are cp314-cp314t)"
    >>> tag_problem(Tag("cp313", "cp312", "win_amd64"))
    "ABI 'cp312' of another Python than 'cp313'"
    >>> tag_problem(Tag("cp314", "cp314t", "win_amd64")) is None
    True
    """
    if tag.interpreter.startswith("cp") and not _CPYTHON.fullmatch(tag.interpreter):
        base = tag.interpreter.rstrip("t")
        return f"interpreter tag {tag.interpreter!r} (free-threaded wheels are {base}-{base}t)"
    same_python = (tag.interpreter, tag.interpreter + "t", "abi3", "none")
    if _CPYTHON.fullmatch(tag.interpreter) and tag.abi not in same_python:
        return f"ABI {tag.abi!r} of another Python than {tag.interpreter!r}"
    return None


def set_problems(names: Iterable[str], *, expected: Iterable[str]) -> list[str]:
    """Name-level refusals of a staged set against its manifest (no download needed): wheels
    tagged as no build tags them, and pure wheels of an all-platform-wheel project."""
    all_platform = all(
        all(t.platform != "any" for t in parse_dist(n).tags) for n in expected if n.endswith(".whl")
    )
    problems = []
    for name in names:
        if not name.endswith(".whl"):
            continue
        tags = parse_dist(name).tags
        for tag in sorted(tags, key=str):
            why = tag_problem(tag)
            if why:
                problems.append(f"wrongly tagged: {name}: {why}")
                break
        if all_platform and any(t.platform == "any" for t in tags):
            problems.append(
                f"platform-independent wheel of a project whose every wheel is a platform "
                f"wheel: {name} (pip would install it wherever no binary wheel fits)"
            )
    return problems
