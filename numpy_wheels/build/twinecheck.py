"""``twine check --strict`` of a wheel or sdist, in this process.

What PyPI refuses at upload time (a long description that does not render, one whose content
type is not declared, metadata twine cannot parse) is refused before the upload: by ``upload``
at the job that built the file, which can build it again, and by the release, which runs the
same check on what it downloaded. twine's own ``check`` decides (what its command line runs);
this module only feeds it a small stand-in of each wheel and keeps its reasons for the message.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from numpy_wheels.build import validate
from numpy_wheels.files import megabytes, raw_metadata
from numpy_wheels.log import log


class TwineCheckFailed(ValueError):
    """twine's check fails the file; the message names it and gives twine's reasons."""


#: What to do about a file twine's check fails (upload's and the release's hint).
FIX_HINT = (
    "Fix the package's metadata (long_description and long_description_content_type, or "
    "[project] readme), build and stage again; `twine check --strict FILE` shows the same."
)


def import_check() -> Callable[..., bool]:
    """twine's ``check`` function (its imports take ~0.12 s of CPU, paid once per process)."""
    from twine.commands.check import check

    return check


class _Records(logging.Handler):
    """The log records of twine's check (its warnings and errors say why a file fails)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname}: {record.getMessage()}")


_TWINE_LOCK = threading.Lock()
#: Above this, rendering the description takes seconds (docutils: ~40 s a MB of
#: reStructuredText table): the check says so before it starts.
SLOW_METADATA_BYTES = 256 << 10


def twine_check(path: Path) -> None:
    """``twine check --strict`` of ``path`` in this process: twine's own ``check`` (what its
    command line runs), its console output discarded and its logger's warnings and errors
    kept for the message. TwineCheckFailed when it fails, or when twine raises on the file
    (its command line exits 1 then too).

    Not a subprocess: a new interpreter importing twine cost ~0.23 s of CPU per check (a
    release checks one wheel METADATA and the sdist's PKG-INFO), competing with the downloads
    on a 2-core machine; in process the imports are paid once (~0.12 s) and a check takes
    ~5 ms."""
    check = import_check()
    records = _Records()
    with tempfile.TemporaryDirectory(prefix="numpy-wheels-twine-") as scratch:
        stand_in = metadata_stand_in(path, Path(scratch))
        size = stand_in.stat().st_size
        if size > SLOW_METADATA_BYTES:  # else minutes of silence (tryout 30: 4 MiB, 214 s)
            log.write(
                f"twine check --strict {path.name}: rendering a {megabytes(size)} description "
                "(docutils takes about a minute a megabyte)..."
            )
        failed = _run_twine_check(check, stand_in, records)
    if not failed:
        log.write(f"twine check --strict {path.name}: PASSED")
        return
    why = "\n  ".join(records.lines) or "it printed no reason"
    msg = f"twine check --strict {path.name} FAILED:\n  {why}"
    raise TwineCheckFailed(msg)


def check_distinct(paths: Iterable[Path]) -> None:
    """``twine_check`` of one file per distinct METADATA / PKG-INFO among ``paths`` (what
    twine checks is a function of those bytes alone: the wheels of one build normally share
    them). The files must have passed ``validate.check_file`` (a readable METADATA).
    TwineCheckFailed for the first that fails."""
    seen: set[bytes] = set()
    for path in paths:
        metadata = raw_metadata(path)
        if metadata not in seen:
            seen.add(metadata)
            twine_check(path)


def _run_twine_check(check: Callable[..., bool], path: Path, records: _Records) -> bool:
    """Whether twine's ``check`` fails ``path`` (its reasons go to ``records``)."""
    import rich

    twine_log = logging.getLogger("twine")
    with _TWINE_LOCK:  # twine's logger and rich's console are process-wide
        level, propagate = twine_log.level, twine_log.propagate
        twine_log.addHandler(records)
        twine_log.setLevel(logging.WARNING)
        twine_log.propagate = False
        try:
            with rich.get_console().capture():
                failed = check([str(path)], strict=True)
        except Exception as exc:  # twine failing on the file: its command line exits 1 too
            failed, records.lines = True, [*records.lines, f"{type(exc).__name__}: {exc}"]
        finally:
            twine_log.removeHandler(records)
            twine_log.setLevel(level)
            twine_log.propagate = propagate
    return failed


def metadata_stand_in(path: Path, scratch: Path) -> Path:
    """A wheel named as ``path`` in ``scratch`` holding only the member twine reads as its
    METADATA (``validate.twine_metadata``: twine's own choice). Everything else twine does
    with the file is hash it for an upload (sha256 and blake2b, in 8 KiB reads), which its
    check never uses: on a 20 MiB wheel that was most of the check's CPU, taken from the
    downloads beside it. ``path`` itself for an sdist, or when twine would read no member
    (twine then says why on the file itself)."""
    if not path.name.endswith(".whl"):
        return path
    with zipfile.ZipFile(path) as zf:
        try:
            name = validate.twine_metadata(zf)
        except validate.InvalidDistribution:
            return path
        stand_in = scratch / path.name
        with zipfile.ZipFile(stand_in, "w") as out:
            out.writestr(name, zf.read(name))
    return stand_in
