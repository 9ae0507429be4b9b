"""Small valid wheels and sdists for the staging and release tests (built, not committed)."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
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
