"""File facts and safe file operations shared by every layer: sha256 digests, configuration
text read with limits (one place turns OSError/UnicodeDecodeError into a ConfigError),
downloads with deadlines and retries (``.part`` → check → rename), archive extraction that
stays inside its destination on every Python ``requires-python`` admits."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from numpy_wheels.errors import ConfigError, FatalError

if TYPE_CHECKING:  # packaging, tarfile, zipfile, urllib are imported on use: config reads go
    # through here at CLI start-up, which must stay fast (benchmarks/cli_latency.py)
    import tarfile
    import zipfile

    from packaging.tags import Tag
    from packaging.version import Version

#: Seconds the server may stay silent: a stalled connection fails, never hangs.
READ_TIMEOUT = 60.0
#: Attempts after the first, on connection errors, timeouts and 429/5xx, with backoff.
RETRIES = 4
#: Seconds for a whole download, retries included (net.py's deadline).
DEADLINE = 600.0
#: Bodies larger than these are refused: a page or JSON document; a file (sdist, wheel).
MAX_PAGE_BYTES = 64 << 20
MAX_DOWNLOAD_BYTES = 2 << 30

#: Configuration files larger than this are refused unread (numpy's CI files are ~10 KiB).
MAX_CONFIG_BYTES = 1 << 20


def megabytes(size: int) -> str:
    """A file size as every table and log line shows it.

    >>> megabytes(12_345_678)
    '12.3 MB'
    """
    return f"{size / 1e6:.1f} MB"


def only_file(directory: Path, pattern: str, *, what: str, error: type[FatalError]) -> Path:
    """The one file matching ``pattern`` that ``what`` left in ``directory``; none or several
    is ``error``, naming what was found."""
    found = sorted(directory.glob(pattern))
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        msg = f"{what} left {len(found)} {pattern} files in {directory} ({names}); expected one"
        raise error(msg)
    return found[0]


def write_json_atomic(path: Path, payload: object, *, indent: int = 2) -> None:
    """Write ``payload`` as JSON to ``path`` whole or not at all: into ``<name>.part`` beside
    it, then renamed over it, so a reader (or a crash) never sees half a file. OSError if the
    file cannot be written; the ``.part`` is removed either way."""
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_text(json.dumps(payload, indent=indent, default=str) + "\n")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def count_dists(names: Iterable[str]) -> str:
    """How many wheels and sdists ``names`` holds, in words (a release's 72 files are 71
    wheels and 1 sdist, never "72 wheel(s)").

    >>> count_dists(["a-1-py3-none-any.whl", "b-1-py3-none-any.whl", "a-1.tar.gz"])
    '2 wheels and 1 sdist'
    >>> count_dists(["a-1-py3-none-any.whl"]), count_dists([])
    ('1 wheel', '0 files')
    """
    names = list(names)
    wheels = sum(n.endswith(".whl") for n in names)
    others = len(names) - wheels
    parts = [f"{wheels} wheel{'s' * (wheels != 1)}"] if wheels else []
    parts += [f"{others} sdist{'s' * (others != 1)}"] if others else []
    return " and ".join(parts) or "0 files"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def member_sha256(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The raw sha256 digest of one zip member, inflated a MiB at a time: a member that claims
    gigabytes (a zip bomb of a few MB) costs time, never memory."""
    digest = hashlib.sha256()
    with zf.open(info) as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.digest()


def not_a_file(path: Path) -> str | None:
    """What ``path`` is when it is not a regular file (symlinks followed), for a message; None
    for a regular file. Never opens it (a FIFO would block the reader).

    >>> import tempfile; not_a_file(Path(tempfile.gettempdir()))
    'a directory'
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            return f"a broken symbolic link (to {path.readlink()})"
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror or type(exc).__name__})"
    return _kind_of(mode)


def _kind_of(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    for test, what in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return what
    return "not a regular file"


def read_config_text(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> str:
    """The UTF-8 text of a configuration file, line endings kept as written.

    Missing, not a regular file (a directory, a FIFO — opened without blocking, never waited
    on —, a broken symlink), unreadable (no permission), larger than ``limit`` or not UTF-8 is
    a ConfigError naming the file and what it is (and the line of a bad byte).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        kind = not_a_file(path) if isinstance(exc, FileNotFoundError) else None
        why = kind if kind and kind != "missing" else exc.strerror or type(exc).__name__
        msg = f"cannot read {path}: {why}"
        raise ConfigError(msg) from None
    kind = _kind_of(os.fstat(fd).st_mode)
    if kind is not None:
        os.close(fd)
        msg = f"cannot read {path}: it is {kind}, not a file"
        raise ConfigError(msg)
    with os.fdopen(fd, "rb") as fh:
        try:
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


def load_json(
    data: str | bytes,
    *,
    where: object,
    error: type[FatalError],
    hint: str | None = None,
    what: str = "JSON",
) -> object:
    """``data`` parsed as JSON; not JSON, not UTF-8 or nested too deeply for the parser
    (``[`` x 200,000 is a RecursionError in ``json``) is ``error`` saying ``where`` (a
    file or URL) "is not ``what``", never showing the data itself.

    >>> load_json('{"a": [1]}', where="x.json", error=ConfigError)
    {'a': [1]}
    >>> load_json("[" * 100_000, where="x.json", error=ConfigError)
    Traceback (most recent call last):
    numpy_wheels.errors.ConfigError: x.json is not JSON: nested too deeply to read
    """
    try:
        return json.loads(data)
    except RecursionError:
        msg = f"{where} is not {what}: nested too deeply to read"
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError of bytes
        msg = f"{where} is not {what}: {exc}"
    raise error(msg, hint=hint) from None


def read_json(
    path: Path, *, error: type[FatalError], hint: str | None = None, limit: int = MAX_PAGE_BYTES
) -> object:
    """The JSON document in ``path`` (a summary, a record, a report read back), read as
    :func:`read_config_text` reads (a regular file, checked without blocking on a FIFO;
    ``limit`` bytes at most; UTF-8) and parsed by :func:`load_json`; any failure is
    ``error`` naming the file."""
    try:
        text = read_config_text(path, limit=limit)
    except ConfigError as exc:
        raise error(str(exc), hint=hint) from None
    return load_json(text, where=path, error=error, hint=hint)


#: METADATA/PKG-INFO larger than this is refused unread (numpy's is ~60 KiB with its readme).
MAX_METADATA_BYTES = 4 << 20


class BadDistribution(ValueError):
    """A file named like a wheel or sdist that is not one (callers raise their own class)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class DistName:
    """A wheel or sdist file name as ``packaging.utils`` reads it (build tags, compressed tag
    sets, normalised project name)."""

    filename: str
    project: str  # normalised (``packaging.utils.canonicalize_name``)
    version: Version
    tags: frozenset[Tag]  # empty for an sdist

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def spelt_version(self) -> str:
        """The version exactly as the file name writes it (``2.4.06`` stays ``2.4.06``)."""
        if self.is_wheel:
            return self.filename.split("-")[1]
        return self.filename.removesuffix(".tar.gz").removesuffix(".zip").rsplit("-", 1)[1]

    @property
    def spelt_project(self) -> str:
        """The project exactly as the file name writes it (``NumPy`` stays ``NumPy``)."""
        if self.is_wheel:
            return self.filename.split("-")[0]
        return self.filename.removesuffix(".tar.gz").removesuffix(".zip").rsplit("-", 1)[0]

    @property
    def unindexable_platforms(self) -> tuple[str, ...]:
        """Platform tags no package index accepts: ``linux_*``, a wheel built but never
        repaired (auditwheel gives it a manylinux/musllinux tag)."""
        return tuple(sorted({t.platform for t in self.tags if t.platform.startswith("linux_")}))

    def spelling_problem(self) -> str | None:
        """Why this is not the one spelling the release manifest (``matrix --wheels``) and the
        indexes use, or None: the project normalised with ``_`` (PEP 427/625), the version
        in PEP 440 normal form, only letters, digits and ``._-`` (no spaces).

        >>> parse_dist("NumPy-2.4.6-cp311-cp311-win_amd64.whl").spelling_problem()
        "the project is spelt 'NumPy', not 'numpy'"
        >>> parse_dist("numpy-2.4.06.tar.gz").spelling_problem()
        "the version is spelt '2.4.06', not '2.4.6'"
        >>> parse_dist("numpy-2.4.6-cp311-cp311-win_amd64.whl").spelling_problem() is None
        True
        """
        import re

        project = re.sub(r"[-_.]+", "_", self.project)
        if self.spelt_project != project:
            return f"the project is spelt {self.spelt_project!r}, not {project!r}"
        if self.spelt_version != str(self.version):
            return f"the version is spelt {self.spelt_version!r}, not {str(self.version)!r}"
        if not re.fullmatch(r"[A-Za-z0-9._-]+", self.filename):
            return "it has characters other than letters, digits and ._- (a space?)"
        return None


def as_version(text: str) -> Version | None:
    """``text`` as a PEP 440 version, or None. packaging raises ``InvalidVersion`` for text
    that is not one, and a plain ``ValueError`` for a number past int()'s 4,300-digit limit
    (issue 18): both are "not a version" here.

    >>> as_version("2.4.6"), as_version("not a version"), as_version("1" * 5000)
    (<Version('2.4.6')>, None, None)
    """
    from packaging.version import Version

    try:
        return Version(text)
    except ValueError:
        return None


#: Characters no distribution file name holds: C0 and C1 controls (line breaks among them),
#: DEL, and the bidirectional overrides and isolates.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def parse_dist(filename: str) -> DistName:
    """The one wheel/sdist file-name parser; anything else is a BadDistribution.

    >>> d = parse_dist("numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl")
    >>> d.project, str(d.version), sorted(str(t) for t in d.tags)
    ('numpy', '2.4.6', ['cp311-cp311-manylinux_2_28_x86_64'])
    >>> parse_dist("numpy-2.4.06.tar.gz").spelt_version
    '2.4.06'
    """
    from packaging.utils import (
        parse_sdist_filename,
        parse_wheel_filename,
    )

    if _UNPRINTABLE.search(filename):
        # packaging reads "x-1.0-py3-none-any\nrelease verified.whl" as a wheel; shown in a
        # message, its line break would forge a line of our output
        msg = f"{shown(filename)}: not a wheel or sdist file name (it holds control characters)"
        raise BadDistribution(msg)
    try:
        if filename.endswith(".whl"):
            name, version, _, tags = parse_wheel_filename(filename)
            return DistName(filename=filename, project=name, version=version, tags=tags)
        name, version = parse_sdist_filename(filename)
        return DistName(filename=filename, project=name, version=version, tags=frozenset())
    except ValueError as exc:  # Invalid*Filename, or int()'s limit on a 4,300-digit number
        msg = f"{shown(filename)}: not a wheel or sdist file name ({shown(str(exc))})"
        raise BadDistribution(msg) from None


def shown(value: str) -> str:
    """A value as a message shows it: repr (control characters visible), at most 60 chars
    (a 5000-character ref is not echoed whole).

    >>> shown("v2.4.6"), shown("v" * 100)[-8:]
    ("'v2.4.6'", "vvvv...'")
    """
    return repr(value) if len(value) <= 60 else repr(value[:57] + "...")


def is_dist(filename: str) -> bool:
    """Whether ``filename`` is a wheel or sdist file name.

    >>> is_dist("numpy-2.4.6.tar.gz"), is_dist("index.html")
    (True, False)
    """
    try:
        parse_dist(filename)
    except BadDistribution:
        return False
    return True


def dist_metadata(path: Path) -> tuple[str, str]:
    """``Name`` and ``Version`` from a wheel's ``*.dist-info/METADATA`` or an sdist's
    ``PKG-INFO``; a file that is not a readable zip/tar with one is a BadDistribution."""
    return metadata_fields(raw_metadata(path))


def metadata_fields(raw: bytes) -> tuple[str, str]:
    """``Name`` and ``Version`` of METADATA/PKG-INFO bytes (empty strings when absent)."""
    import email.parser

    headers = email.parser.BytesParser().parsebytes(raw, headersonly=True)
    return str(headers.get("Name", "")), str(headers.get("Version", ""))


def raw_metadata(path: Path) -> bytes:
    """The bytes of a wheel's ``*.dist-info/METADATA`` or an sdist's ``PKG-INFO`` (bounded);
    BadDistribution when the file is not a readable archive with exactly one."""
    import tarfile
    import zipfile
    import zlib

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
                if meta and zf.getinfo(meta[0]).file_size > MAX_METADATA_BYTES:
                    msg = f"{path.name}: METADATA is larger than {MAX_METADATA_BYTES} bytes"
                    raise BadDistribution(msg)
                raw = zf.read(meta[0]) if meta else None
        else:
            with tarfile.open(path) as tf:
                member = next(
                    (m for m in tf if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")),
                    None,
                )
                handle = tf.extractfile(member) if member else None
                raw = handle.read(MAX_METADATA_BYTES) if handle else None
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError, zlib.error) as exc:
        # zlib.error: a damaged deflate (or gzip) stream, which zipfile and tarfile let through
        if isinstance(exc, BadDistribution):
            raise
        kind = "zip" if path.name.endswith(".whl") else "tar"
        msg = f"{path.name}: not a readable {kind} archive ({type(exc).__name__})"
        raise BadDistribution(msg) from None
    if raw is None:
        msg = f"{path.name}: no METADATA/PKG-INFO inside"
        raise BadDistribution(msg)
    return raw


def fetch(
    url: str,
    *,
    error: type[FatalError],
    dest: Path | None = None,
    accept: str = "*/*",
    timeout: float = READ_TIMEOUT,
    retries: int = RETRIES,
    deadline: float = DEADLINE,
) -> bytes:
    """GET ``url`` through :func:`numpy_wheels.net.get`: an overall ``deadline`` covering
    connect, headers, body and retries (a server that trickles a byte at a time cannot hold
    a build), ``timeout`` for the longest silence, ``retries`` on connection errors and
    429/5xx, https through ``https_proxy``.

    With ``dest`` the body streams into ``dest`` (returns b""); otherwise it is returned.
    Any failure raises ``error`` naming the URL and the cause.
    """
    from numpy_wheels import net
    from numpy_wheels.errors import StoreError

    limits = net.Limits(
        deadline=deadline,
        read_timeout=min(timeout, deadline),
        attempts=retries + 1,
        max_bytes=MAX_DOWNLOAD_BYTES if dest is not None else MAX_PAGE_BYTES,
    )
    what = f"cannot download {url}"
    try:
        if dest is not None:
            net.download(url, dest, limits=limits, what=what)
            return b""
        body, _ = net.get_bytes(url, limits=limits, accept=accept, what=what)
    except StoreError as exc:  # net's class; the caller's step names its own
        raise error(str(exc)) from None
    except OSError as exc:  # dest: the local disk
        msg = f"{what}: cannot write {dest}: {exc.strerror or exc}"
        raise error(msg) from None
    return body


def verified_file(
    target: Path,
    write: Callable[[Path], str | None],
    *,
    sha256: str | None,
    error: type[FatalError],
    mismatch: str = "{name}: sha256 {got} does not match the expected {expected}",
) -> Path:
    """``target`` whole and verified, or not at all: ``write(part)`` fills ``target.part``
    (returning the sha256 it computed on the way, or None to have it read back), the digest is
    compared with ``sha256`` (case-insensitively; None: not checked), and only then is the
    file renamed into place. The ``.part`` never outlives a failure or an interrupt.

    ``mismatch`` is the error message, formatted with ``name``, ``got`` and ``expected``.
    """
    part = target.with_name(target.name + ".part")
    _clear_part(part, error)
    try:
        got = write(part) or sha256_of(part)
        if sha256 is not None and got.lower() != sha256.lower():
            raise error(mismatch.format(name=target.name, got=got, expected=sha256))
        part.replace(target)
    except OSError as exc:  # the local disk: full, read-only, a directory in the way
        msg = f"cannot write {target}: {exc.strerror or type(exc).__name__}"
        raise error(msg) from None
    finally:
        part.unlink(missing_ok=True)
    return target


def _clear_part(part: Path, error: type[FatalError]) -> None:
    """Remove what an earlier run left at ``part`` (a file, or a symbolic link: opened, it
    would be written through, wherever it points); ``error`` for anything else in the way."""
    if part.is_symlink() or part.is_file():
        try:
            part.unlink()
        except OSError as exc:
            msg = f"cannot remove {part} left by an earlier run: {exc.strerror}"
            raise error(msg) from None
    elif part.exists():
        msg = f"{part} is in the way ({not_a_file(part)}); move it away"
        raise error(msg)


def download(
    url: str,
    target: Path,
    *,
    sha256: str,
    error: type[FatalError],
    expected_from: str = "the expected",
    timeout: float = READ_TIMEOUT,
    retries: int = RETRIES,
) -> Path:
    """Download ``url`` to ``target`` through :func:`verified_file`.

    ``expected_from`` names where the sha256 came from in the mismatch message."""

    def write(part: Path) -> None:
        fetch(url, dest=part, error=error, timeout=timeout, retries=retries)

    return verified_file(
        target,
        write,
        sha256=sha256,
        error=error,
        mismatch=f"{{name}}: sha256 {{got}} does not match {expected_from} {{expected}}",
    )


def _checked_members(
    tar: tarfile.TarFile, dest: Path, error: type[FatalError]
) -> list[tarfile.TarInfo]:
    """The ``data`` filter's rules, for Pythons without it (3.11.0-3.11.3): no absolute or
    ``..`` paths (a leading ``/`` is dropped), links that stay inside, regular files/dirs/links
    only, no setuid/setgid bits."""
    import stat

    names = []
    for member in tar.getmembers():
        member.name = member.name.lstrip("/")  # as the data filter: absolute names land inside
        path = PurePosixPath(member.name)
        bad = ".." in path.parts
        if member.issym() or member.islnk():
            link = PurePosixPath(member.linkname)
            base = path.parent if member.issym() else PurePosixPath()
            bad = bad or link.is_absolute() or ".." in (base / link).parts
        elif not (member.isfile() or member.isdir()):
            bad = True
        if bad:
            msg = f"refusing to extract {member.name!r}: it would land outside {dest}"
            raise error(msg)
        member.mode &= ~(stat.S_ISUID | stat.S_ISGID) & 0o7777
        names.append(member)
    return names


def extract_tar(
    archive: Path, dest: Path, *, error: type[FatalError], use_filter: bool | None = None
) -> None:
    """Unpack ``archive`` into ``dest``; nothing may land outside ``dest``.

    Uses tarfile's ``data`` filter where the interpreter has it (3.11.4+), the same rules
    checked here otherwise (Debian 12's python3 is 3.11.2); ``use_filter`` forces either."""
    import tarfile

    if use_filter is None:
        use_filter = hasattr(tarfile, "data_filter")
    try:
        with tarfile.open(archive) as tar:
            if use_filter:
                tar.extractall(dest, filter="data")
            else:
                checked = _checked_members(tar, dest, error)
                tar.extractall(dest, members=checked)  # noqa: S202 (checked just above)
    except (tarfile.TarError, OSError) as exc:
        msg = f"cannot unpack {archive.name}: {exc}"
        raise error(msg) from None
