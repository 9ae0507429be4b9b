"""Everything that would make two builds of the same recipe differ, fixed or normalised here.

- ``SOURCE_DATE_EPOCH`` from the source (the commit's date; an sdist's ``PKG-INFO`` mtime),
  honoured by compilers (``__DATE__``), meson-python, setuptools and the repair tools;
- the locale, time zone, hash seed and umask the build runs with;
- fixed build paths: the source copy, the build venv and OpenBLAS at one place per project and
  identifier (numpy records its build Python and OpenBLAS directories in ``__config__.py``),
  serialised by a machine-wide lock;
- the zip container of the repaired wheel: member order, timestamps, permission bits and extra
  fields. Member contents (compiled code included) are never rewritten.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import dataclasses
import fcntl
import io
import os
import re
import stat
import tarfile
import time
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from numpy_wheels.errors import RepairError, SourceError
from numpy_wheels.files import member_sha256
from numpy_wheels.log import log

#: Where the host backend builds (overridable with NUMPY_WHEELS_BUILD_BASE, recorded).
DEFAULT_BUILD_BASE = Path("/tmp/numpy-wheels-build")

#: The environment every build gets, whatever the caller's (recorded as crossing).
FIXED_ENV: Mapping[str, str] = {
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "PYTHONHASHSEED": "0",
}
UMASK = 0o022
#: Variables of the caller's environment that change what a compiler or build backend makes:
#: recorded when set, and set again by ``verify``.
_BUILD_VARIABLE = re.compile(
    r"(C|CXX|CPP|LD|F|FC)FLAGS|CC|CXX|FC|F77|F90|AR|LDSHARED|ARCHFLAGS|MACOSX_DEPLOYMENT_TARGET"
    r"|NPY_\w+|SETUPTOOLS_\w+|MESON\w*|CIBW_\w+"
)
#: zip cannot store dates before 1980.
_ZIP_EPOCH = 315532800


def git_epoch(text: str) -> int:
    """The committer date ``git log -1 --format=%ct`` printed.

    >>> git_epoch("1718000000\\n")
    1718000000
    """
    return int(text.strip())


def sdist_epoch(archive: Path) -> int:
    """The mtime of the sdist's top-level ``PKG-INFO`` (what its build tool stamped)."""
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                if member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                    return int(member.mtime)
    except (OSError, tarfile.TarError) as exc:
        msg = f"{archive}: cannot read PKG-INFO's date: {exc}"
        raise SourceError(msg) from None
    msg = f"{archive} has no top-level PKG-INFO to take SOURCE_DATE_EPOCH from"
    raise SourceError(msg)


def build_variables(env: Mapping[str, str]) -> dict[str, str]:
    """The build-affecting variables set in ``env``.

    >>> build_variables({"CFLAGS": "-O1", "HOME": "/root", "NPY_BLAS_ORDER": "openblas"})
    {'CFLAGS': '-O1', 'NPY_BLAS_ORDER': 'openblas'}
    """
    return {k: v for k, v in sorted(env.items()) if _BUILD_VARIABLE.fullmatch(k)}


def fixed_env(epoch: int) -> dict[str, str]:
    """The variables that make the build independent of the caller's shell.

    >>> sorted(fixed_env(1700000000))
    ['LC_ALL', 'PYTHONHASHSEED', 'SOURCE_DATE_EPOCH', 'TZ']
    """
    return {**FIXED_ENV, "SOURCE_DATE_EPOCH": str(epoch)}


@contextlib.contextmanager
def fixed_umask(mask: int = UMASK) -> Iterator[None]:
    """The build's processes create files with ``mask`` (the caller's umask would leak into
    the wheel's permission bits through copies)."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def build_base(env: Mapping[str, str]) -> Path:
    """The machine-wide directory of fixed build places.

    >>> build_base({}).as_posix()
    '/tmp/numpy-wheels-build'
    """
    return Path(env.get("NUMPY_WHEELS_BUILD_BASE") or DEFAULT_BUILD_BASE)


def place_name(project: str, identifier: str) -> str:
    """One build place per project and identifier, a plain directory name.

    >>> place_name("numpy", "cp313t-manylinux_x86_64+openblas")
    'numpy-cp313t-manylinux_x86_64-openblas'
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{project}-{identifier}")


@contextlib.contextmanager
def machine_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (one build per place at a time on this
    machine; the lock goes with the process, so a killed build never leaves it held)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.write(f"waiting for {path} (another build uses this build place)")
            start = time.monotonic()
            fcntl.flock(fh, fcntl.LOCK_EX)
            log.write(f"got {path} after {time.monotonic() - start:.0f}s")
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# -- the zip container ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class Normalised:
    """What ``normalise_wheel`` changed (recorded in the provenance)."""

    reordered: bool
    timestamps: int  # members whose date_time was set
    permissions: int  # members whose external attributes were set
    extras: int  # members whose extra field / comment was dropped
    date_time: tuple[int, int, int, int, int, int]

    @property
    def changed(self) -> bool:
        return self.reordered or bool(self.timestamps or self.permissions or self.extras)

    def as_json(self) -> dict[str, object]:
        return {
            "order": "sorted, .dist-info last, RECORD last"
            + (" (reordered)" if self.reordered else ""),
            "date_time": "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}".format(*self.date_time),
            "timestamps_set": self.timestamps,
            "permissions_set": self.permissions,
            "extra_fields_dropped": self.extras,
            "contents": "unchanged (RECORD checked)",
        }


def member_order(names: list[str]) -> list[str]:
    """Wheel order: the package files sorted, then ``.dist-info`` sorted, RECORD last.

    >>> member_order(["a-1.dist-info/RECORD", "b/x.py", "a-1.dist-info/METADATA", "a/y.so"])
    ['a/y.so', 'b/x.py', 'a-1.dist-info/METADATA', 'a-1.dist-info/RECORD']
    """

    def key(name: str) -> tuple[int, str]:
        top = name.split("/", 1)[0]
        if top.endswith(".dist-info"):
            return (2 if name == f"{top}/RECORD" else 1, name)
        return (0, name)

    return sorted(names, key=key)


def zip_date_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    """SOURCE_DATE_EPOCH as a zip date (UTC; not before 1980; zip stores even seconds).

    >>> zip_date_time(0)
    (1980, 1, 1, 0, 0, 0)
    >>> zip_date_time(1718000001)
    (2024, 6, 10, 6, 13, 20)
    """
    t = time.gmtime(max(epoch, _ZIP_EPOCH))
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec & ~1)


def _mode(info: zipfile.ZipInfo) -> int:
    """0o644 for files, 0o755 for executables and directories, as a regular zip records."""
    unix = info.external_attr >> 16
    if info.is_dir():
        return (stat.S_IFDIR | 0o755) << 16 | 0x10
    return (stat.S_IFREG | (0o755 if unix & 0o111 else 0o644)) << 16


def _record_hash(digest: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_record(zf: zipfile.ZipFile) -> None:
    """Every file of the wheel is in RECORD with its hash and size (PEP 376/427)."""
    records = [n for n in zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/RECORD", n)]
    if len(records) != 1:
        msg = f"{zf.filename}: {len(records)} .dist-info/RECORD files (one expected)"
        raise RepairError(msg)
    rows = {
        row[0]: row[1:]
        for row in csv.reader(io.StringIO(zf.read(records[0]).decode("utf-8")))
        if row
    }
    for info in zf.infolist():
        if info.is_dir() or info.filename == records[0]:
            continue
        entry = rows.get(info.filename)
        if entry is None or entry[0] != _record_hash(member_sha256(zf, info)):
            msg = f"{zf.filename}: {info.filename} is not in RECORD with its hash"
            raise RepairError(msg)


def normalise_wheel(wheel: Path, *, epoch: int) -> Normalised:
    """Rewrite the zip container of ``wheel`` in place: wheel member order, one date, fixed
    permission bits, no extra fields; the same compression per member, contents unchanged.
    The file is not touched when it is already normal."""
    date_time = zip_date_time(epoch)
    with zipfile.ZipFile(wheel) as zf:
        check_record(zf)
        infos = zf.infolist()
        order = member_order([i.filename for i in infos])
        by_name = {i.filename: i for i in infos}
        result = Normalised(
            reordered=order != [i.filename for i in infos],
            timestamps=sum(i.date_time != date_time for i in infos),
            permissions=sum(i.external_attr != _mode(i) for i in infos),
            extras=sum(bool(i.extra or i.comment) or i.create_system != 3 for i in infos),
            date_time=date_time,
        )
        if not result.changed:
            return result
        part = wheel.with_name(wheel.name + ".part")
        with zipfile.ZipFile(part, "w") as out:
            for name in order:
                old = by_name[name]
                new = zipfile.ZipInfo(name, date_time=date_time)
                new.compress_type = old.compress_type
                new.create_system = 3
                new.external_attr = _mode(old)
                out.writestr(new, zf.read(old))
    part.replace(wheel)
    log.write(
        f"{wheel.name}: zip normalised ({result.timestamps} dates, {result.permissions} "
        f"modes, {result.extras} extra fields{', reordered' if result.reordered else ''})"
    )
    return result
