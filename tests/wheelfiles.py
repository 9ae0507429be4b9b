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


def make_wheel(
    directory: Path,
    *,
    name: str = "fooext",
    version: str = "0.1.0",
    tag: str = "py3-none-any",
    payload: bytes = b"",
    size: int = 0,
) -> Path:
    """A wheel pip accepts: METADATA, WHEEL, RECORD; ``payload``/``size`` vary its bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 1\n" + payload,
        f"{name}/blob.bin": bytes(size),
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        "Summary: test wheel\n".encode(),
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
    data = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path
