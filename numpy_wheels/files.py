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
