"""The one logger: steps with timings, CI fold groups and annotations, secret redaction, tables.

The module-level ``log`` is the only global in the package: output has to interleave with the
output of the subprocesses we run, and threading a logger through every call would add noise
without making anything testable that is not already (tests pass their own stream).
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TextIO

from numpy_wheels.ci import CIProvider, detect_ci


def _travis_fold_id(name: str) -> str:
    # Travis fold ids: letters, digits and underscores, at most 20 characters (as cibuildwheel).
    return re.sub(r"[^a-z0-9_]", "_", name.lower())[:20]


class Logger:
    """Writes steps, warnings and tables; folds steps into CI log groups."""

    def __init__(self, stream: TextIO | None = None, ci: CIProvider = CIProvider.NONE) -> None:
        self._stream = stream
        self.ci = ci
        self._secrets: set[str] = set()

    @property
    def stream(self) -> TextIO | None:
        # Resolved on use, so pytest's capture (which swaps sys.stdout) sees our output.
        # None: the process was started with stdout closed (``>&-``).
        return self._stream if self._stream is not None else sys.stdout

    def configure(self, *, env: Mapping[str, str], stream: TextIO | None = None) -> None:
        self.ci = detect_ci(env)
        self._stream = stream

    # -- secrets -------------------------------------------------------------------------
    def add_secret(self, value: str | None) -> None:
        """Never print ``value``: every line written through this logger is redacted."""
        if value and len(value) >= 3:
            self._secrets.add(value)

    def forget_secrets(self) -> None:
        self._secrets.clear()

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "****")
        return text

    # -- output --------------------------------------------------------------------------
    def write(self, text: str = "") -> None:
        _put(self.stream, self.redact(text) + "\n")

    def output(self, text: str) -> None:
        """The command's result (JSON) on stdout, whatever stream the log lines go to."""
        _put(sys.stdout, self.redact(text) + "\n")

    def info(self, text: str) -> None:
        self.write(text)

    def warning(self, text: str) -> None:
        match self.ci:
            case CIProvider.GITHUB:
                self.write(f"::warning::{text}")
            case CIProvider.AZURE:
                self.write(f"##vso[task.logissue type=warning]{text}")
            case _:
                self.write(f"Warning: {text}")

    def error(self, text: str) -> None:
        # Errors go to stderr always (also when --json owns stdout).
        line = self.redact(text)
        match self.ci:
            case CIProvider.GITHUB:
                line = f"::error::{line}"
            case CIProvider.AZURE:
                line = f"##vso[task.logissue type=error]{line}"
            case _:
                pass
        _put(sys.stderr, line + "\n")

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """A timed step, folded in the CI log; prints ✓/✕ with the duration at the end."""
        fold = _travis_fold_id(name)
        match self.ci:
            case CIProvider.TRAVIS:
                self.write(f"travis_fold:start:{fold}")
            case CIProvider.GITHUB:
                self.write(f"::group::{name}")
            case CIProvider.AZURE:
                self.write(f"##[group]{name}")
            case _:
                pass
        self.write(f"==> {name}")
        start = time.monotonic()
        ok = False
        try:
            yield
            ok = True
        finally:
            elapsed = time.monotonic() - start
            match self.ci:
                case CIProvider.TRAVIS:
                    self.write(f"travis_fold:end:{fold}")
                case CIProvider.GITHUB:
                    self.write("::endgroup::")
                case CIProvider.AZURE:
                    self.write("##[endgroup]")
                case _:
                    pass
            self.write(f"{'✓' if ok else '✕'} {name} ({elapsed:.2f}s)")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.write(format_table(headers, rows))


def _put(stream: TextIO | None, text: str) -> None:
    """Write and flush. A stream the process was started without (None) drops the text, as
    print() does; a reader that went away raises BrokenPipeError, which main() turns into 141."""
    if stream is None:
        return
    stream.write(text)
    stream.flush()


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with a header rule.

    >>> print(format_table(["a", "bb"], [["1", "2"]]))
    a  bb
    -  --
    1  2
    """
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )
    return "\n".join(lines)


log = Logger()
