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
from numpy_wheels.errors import OutputError


def _travis_fold_id(name: str) -> str:
    # Travis fold ids: letters, digits and underscores, at most 20 characters (as cibuildwheel).
    return re.sub(r"[^a-z0-9_]", "_", name.lower())[:20]


#: What a terminal acts on instead of showing: the C0 controls but tab and line feed (ESC
#: starts the sequences that set the title or clear the screen), a carriage return that does
#: not end a line (the text after it overwrites the line), DEL, the C1 controls (U+0080-U+009F;
#: U+009B is an 8-bit CSI) and the bidirectional overrides and isolates, which reorder what is
#: shown ("Trojan Source", CVE-2021-42574).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]|\r(?!\n)")


#: In a tool's output only colour and style (SGR: ``ESC [ ... m``) and carriage returns (a
#: progress line) pass: a server's words reach it too (twine prints an index's reason phrase).
_RELAYED_CONTROLS = re.compile(
    r"\x1b(?!\[[0-9;]*m)|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def visible(text: str) -> str:
    r"""``text`` with each character a terminal would act on written as its Python escape.

    Names, values and reason phrases in messages come from input (a listing, a server, a
    wheelhouse, a CI file); a name holding an escape sequence must not rewrite the screen of
    the release manager who reads them.

    >>> print(visible("fooext" + chr(27) + "[2J.whl " + chr(0x202E) + "abc"))
    fooext\x1b[2J.whl \u202eabc
    """
    return _CONTROLS.sub(_escaped, text)


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
        return redact_credentials(text)

    # -- output --------------------------------------------------------------------------
    def write(self, text: str = "") -> None:
        """One line of ours: redacted, control characters made visible (:func:`visible`)."""
        self._put(visible(text))

    def relay(self, text: str) -> None:
        """One line of a tool we run, redacted: the colours of a compiler or of cibuildwheel
        are kept for the CI log that shows them, every other control character is written as
        its escape (twine prints what an index answered)."""
        self._put(_RELAYED_CONTROLS.sub(_escaped, text))

    def _put(self, text: str) -> None:
        if self._stream is not None:
            _put(self._stream, self.redact(text) + "\n")
        else:
            _put_stdout(self.redact(text) + "\n")

    def output(self, text: str) -> None:
        """The command's result (JSON) on stdout, whatever stream the log lines go to."""
        _put_stdout(self.redact(text) + "\n")

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
        line = visible(self.redact(text))
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


#: Credentials written into text rather than passed in the environment: the password of a
#: URL's userinfo, query parameters and headers whose name says they carry one (``?token=``,
#: ``X-Auth-Token``, S3/Azure/Swift signatures). The one list; every printed line passes it.
_CREDENTIAL_NAME = (
    r"[\w.-]*(?:token|secret|passw(?:or)?d|pwd|key|sig|signature|credential|auth)[\w.-]*"
)
_CREDENTIAL_PATTERNS = (
    # scheme://user:password@host (the user kept: it says which account)
    re.compile(r"(?P<keep>\b[a-zA-Z][\w+.-]*://[^/\s:@'\"<>]*:)[^/\s@'\"<>]+(?=@)"),
    # scheme://token@host: a userinfo that long is a token, not a user name
    re.compile(r"(?P<keep>\b[a-zA-Z][\w+.-]*://)[^/\s:@'\"<>]{20,}(?=@)"),
    # ?token=… &X-Auth-Token=… ;sig=… #access_token=… (a fragment, as OAuth's implicit flow)
    re.compile(rf"(?P<keep>[?&;#]{_CREDENTIAL_NAME}=)[^&;#\s'\"<>]+", re.IGNORECASE),
    # KEY=…, X-Amz-Signature=… (a word on its own, as in an echoed command or environment)
    re.compile(
        rf"(?P<keep>(?:^|(?<=[\s\"'(]))-*{_CREDENTIAL_NAME}=)(?![$*])[^\s'\";&<>]+", re.IGNORECASE
    ),
    # the headers: X-Auth-Token: …, Authorization: Bearer …
    re.compile(
        r"(?P<keep>\b(?:x-[\w-]*(?:token|key|signature|credential)|authorization)[\"']?\s*"
        r"[:=]\s*[\"']?(?:(?:bearer|basic|token)\s+)?)(?![$*])[^\s'\",;&<>]+",
        re.IGNORECASE,
    ),
)


def redact_credentials(text: str) -> str:
    """``text`` with the credentials written in URLs and headers replaced by ``****``.

    >>> redact_credentials("GET http://user:s3cr3t@host/x?token=abc&page=2: refused")
    'GET http://user:****@host/x?token=****&page=2: refused'
    >>> redact_credentials("https://h/p?X-Auth-Token=abc;temp_url_sig=def X-Amz-Signature=12")
    'https://h/p?X-Auth-Token=****;temp_url_sig=**** X-Amz-Signature=****'
    >>> redact_credentials("https://h/simple/numpy/#token=abc")
    'https://h/simple/numpy/#token=****'
    >>> redact_credentials("X-Auth-Token: AUTH_tk123 Authorization: Bearer xyz")
    'X-Auth-Token: **** Authorization: Bearer ****'
    >>> redact_credentials("+ git clone https://ghp_0123456789abcdefghij@github.com/o/r ssh://git@h")
    '+ git clone https://****@github.com/o/r ssh://git@h'
    >>> redact_credentials("BUILD_COMMIT=v2.4.6 in .travis.yml:3; --auth-url http://h/auth/v1.0")
    'BUILD_COMMIT=v2.4.6 in .travis.yml:3; --auth-url http://h/auth/v1.0'
    """
    if not any(c in text for c in "@=:"):
        return text
    for pattern in _CREDENTIAL_PATTERNS:
        text = pattern.sub(r"\g<keep>****", text)
    return text


def _put_stdout(text: str) -> None:
    """Write to standard output, which must be there: closed (``>&-``, Python's sys.stdout is
    None) or failing (ENOSPC, EIO) is an OutputError, never output silently lost or an
    "internal error". A reader that went away stays BrokenPipeError (main() exits 141)."""
    if sys.stdout is None:
        msg = "standard output is closed: the command's output would be lost"
        raise OutputError(msg)
    try:
        _put(sys.stdout, text)
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: written after the stream was closed
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        msg = f"cannot write to standard output: {why}"
        raise OutputError(msg) from None


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
