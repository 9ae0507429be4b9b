"""File facts and safe file reads/writes shared by every layer: sha256 digests, configuration
text read with limits (one place turns OSError/UnicodeDecodeError into a ConfigError)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from numpy_wheels.errors import ConfigError

#: Configuration files larger than this are refused unread (numpy's CI files are ~10 KiB).
MAX_CONFIG_BYTES = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_config_text(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> str:
    """The UTF-8 text of a configuration file, line endings kept as written.

    Missing, unreadable (a directory, no permission), larger than ``limit`` or not UTF-8 is a
    ConfigError naming the file (and the line of a bad byte).
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or type(exc).__name__}"
        raise ConfigError(msg) from None
    if len(data) > limit:
        msg = f"{path}: larger than {limit // 1024} KiB; not read (is it really a config file?)"
        raise ConfigError(msg)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        msg = f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})"
        raise ConfigError(msg) from None


class BadDistribution(ValueError):
    """A file named like a wheel or sdist that is not one (callers raise their own class)."""


def dist_metadata(path: Path) -> tuple[str, str]:
    """``Name`` and ``Version`` from a wheel's ``*.dist-info/METADATA`` or an sdist's
    ``PKG-INFO``; a file that is not a readable zip/tar with one is a BadDistribution."""
    import email.parser
    import tarfile
    import zipfile

    raw: bytes | None = None
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as zf:
                meta = [
                    n
                    for n in zf.namelist()
                    if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
                ]
                if len(meta) > 1:
                    msg = f"{path.name}: {len(meta)} METADATA files inside"
                    raise BadDistribution(msg)
                raw = zf.read(meta[0]) if meta else None
        else:
            with tarfile.open(path) as tf:
                member = next(
                    (m for m in tf if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")),
                    None,
                )
                handle = tf.extractfile(member) if member else None
                raw = handle.read(1 << 20) if handle else None
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError) as exc:
        if isinstance(exc, BadDistribution):
            raise
        kind = "zip" if path.name.endswith(".whl") else "tar"
        msg = f"{path.name}: not a readable {kind} archive ({type(exc).__name__})"
        raise BadDistribution(msg) from None
    if raw is None:
        msg = f"{path.name}: no METADATA/PKG-INFO inside"
        raise BadDistribution(msg)
    headers = email.parser.BytesParser().parsebytes(raw, headersonly=True)
    return str(headers.get("Name", "")), str(headers.get("Version", ""))
