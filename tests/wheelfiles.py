"""Small valid wheels and sdists for the staging and release tests (built, not committed)."""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import tarfile
import warnings
import zipfile
from pathlib import Path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _metadata(name: str, version: str) -> bytes:
    return (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test wheel\n"
        "Description-Content-Type: text/plain\n\nA wheel made by the test suite.\n"
    ).encode()


def make_wheel(
    directory: Path,
    *,
    name: str = "fooext",
    version: str = "0.1.0",
    tag: str = "py3-none-any",
    payload: bytes = b"",
    size: int = 0,
    metadata_version: str | None = None,
    members: dict[str, bytes] | None = None,
    metadata: bytes | None = None,
) -> Path:
    """A wheel pip and ``twine check --strict`` accept: METADATA (with a description), WHEEL,
    RECORD; ``payload``/``size`` vary its bytes; ``metadata_version`` makes METADATA lie;
    ``members`` adds files (listed in RECORD); ``metadata`` replaces METADATA."""
    directory.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 1\n" + payload,
        f"{name}/blob.bin": bytes(size),
        **(members or {}),
        f"{dist_info}/METADATA": metadata or _metadata(name, metadata_version or version),
        f"{dist_info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: "
        f"{'true' if tag.endswith('any') else 'false'}\nTag: {tag}\n".encode(),
    }
    record = "".join(f"{n},sha256={_digest(d)},{len(d)}\n" for n, d in files.items())
    record += f"{dist_info}/RECORD,,\n"
    path = directory / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for n, d in files.items():
            zf.writestr(n, d)
        zf.writestr(f"{dist_info}/RECORD", record)
    return path


def make_sdist(directory: Path, *, name: str = "fooext", version: str = "0.1.0") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{version}.tar.gz"
    members = {
        "PKG-INFO": _metadata(name, version),
        "pyproject.toml": f'[project]\nname = "{name}"\nversion = "{version}"\n'.encode(),
    }
    with tarfile.open(path, "w:gz") as tar:
        for member, data in members.items():
            info = tarfile.TarInfo(f"{name}-{version}/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


# -- archives zipfile fails on (tryout 30's fuzzer), shared by the unit and hostile tests --


def recompressed(path: Path, method: int) -> Path:
    """The wheel rewritten with every member compressed by ``method``."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def with_member_size(path: Path, member: str, size: int) -> None:
    """``member``'s uncompressed size changed to ``size`` in its local header and in the
    central directory (a zip bomb's lie, or a cut member's)."""
    raw = bytearray(path.read_bytes())
    name = member.encode()
    local = raw.index(b"PK\x03\x04")
    while raw[local + 30 : local + 30 + len(name)] != name:
        local = raw.index(b"PK\x03\x04", local + 4)
    struct.pack_into("<L", raw, local + 22, size)
    central = raw.index(b"PK\x01\x02")
    while raw[central + 46 : central + 46 + len(name)] != name:
        central = raw.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<L", raw, central + 24, size)
    path.write_bytes(bytes(raw))


def offsets_before_the_start(path: Path, member: str) -> None:
    """The end record places the central directory later than it is: zipfile takes the
    difference for prepended data, and ``member``'s offset comes out as -1 (a seek error)."""
    with zipfile.ZipFile(path) as zf:
        shift = zf.getinfo(member).header_offset + 1
    raw = bytearray(path.read_bytes())
    (offset,) = struct.unpack_from("<L", raw, len(raw) - 6)
    struct.pack_into("<L", raw, len(raw) - 6, offset + shift)
    path.write_bytes(bytes(raw))


def member_named_nothing(path: Path) -> None:
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(zipfile.ZipInfo(""), b"x")


def member_twice(path: Path, member: str) -> None:
    """``member`` stored a second time under its name (zipfile warns, and writes it)."""
    with zipfile.ZipFile(path, "a") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        zf.writestr(member, zf.read(member))


def garbage_in(path: Path, member: str, method: int) -> None:
    """The wheel compressed by ``method`` with 16 bytes of ``member``'s data overwritten."""
    recompressed(path, method)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + 20
    raw[start : start + 16] = b"\xa5" * 16
    path.write_bytes(bytes(raw))


def bomb_in(path: Path, member: str, method: int) -> None:
    """The wheel compressed by ``method``, ``member``'s sizes saying 1 byte."""
    recompressed(path, method)
    with_member_size(path, member, 1)
