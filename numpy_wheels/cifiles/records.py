"""Read the CI files (.travis.yml, appveyor.yml, Azure, GitHub Actions) into typed records.

Every YAML shape seen in the history of the multibuild-era wheels repositories is accepted:
Travis ``env.global`` strings (``NAME=value``, quoted values, several assignments per item,
backslash-continued lines), ``- secure: …`` items and mapping items mixed in, jobs under
``matrix.include``/``jobs.include`` and ``matrix.exclude``; AppVeyor ``environment.global``
mappings with ``{secure: …}`` values and ``environment.matrix`` rows; Azure ``variables:`` at
the top, in templates and in matrix entries; GitHub Actions workflow/job ``env:`` with
``${{ matrix.* }}`` filled from each matrix row. Each value keeps the file and line it came from.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, TypeAlias

from numpy_wheels.ci import Service

Provider: TypeAlias = Service
Form: TypeAlias = Literal["string", "mapping", "secure"]

#: Names of the scheduled-build commit across the history (first is the current spelling).
DAILY_NAMES = ("DAILY_COMMIT", "CRON_COMMIT", "NIGHTLY_BUILD_COMMIT")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What git accepts in a ref name, minus what would need quoting in YAML or a shell string.
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]*")


def is_valid_ref(ref: str) -> bool:
    """A tag, branch or commit hash safe to pass to git and to write unquoted.

    >>> is_valid_ref("v2.4.6"), is_valid_ref("v2.4.6;touch x"), is_valid_ref("-x")
    (True, False, False)
    """
    return bool(
        _REF.fullmatch(ref)
        and ".." not in ref
        and "//" not in ref
        and not ref.endswith((".lock", "/", "."))
        and len(ref) <= 255
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Location:
    path: Path
    line: int  # 1-based

    def __str__(self) -> str:
        return f"{shown_path(self.path)}:{self.line}"


def shown_path(path: Path) -> Path:
    """``path`` as messages name it: relative to the working directory when under it."""
    if path.is_absolute() and path.is_relative_to(Path.cwd()):
        return path.relative_to(Path.cwd())
    return path


@dataclasses.dataclass(frozen=True, kw_only=True)
class EnvVar:
    """One variable definition. ``value`` is None for encrypted (secure) values."""

    name: str | None  # None: a Travis ``secure:`` item (the name is inside the ciphertext)
    value: str | None
    form: Form
    location: Location
    problem: str | None = None  # e.g. an unbalanced quote found while parsing the item
    # What a YAML 1.1/1.2 loader reads this value as when it is not a string, e.g. "YAML 1.1
    # and 1.2 read the float 1.1" (scalars.describe); ``typed_at`` is where that scalar is
    # written (the matrix entry when the value came through ``${{ matrix.X }}``); ``yaml_tag``
    # the explicit tag written before it (``!!float``), which quoting does not undo. The value
    # itself is always the text as written.
    yaml_type: str | None = None
    typed_at: Location | None = None
    yaml_tag: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Job:
    name: str
    env: tuple[EnvVar, ...]
    location: Location
    os: str | None = None

    def get(self, name: str) -> EnvVar | None:
        found = [v for v in self.env if v.name == name]
        return found[-1] if found else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CIFile:
    path: Path
    provider: Provider
    global_env: tuple[EnvVar, ...]
    jobs: tuple[Job, ...]
    excluded: tuple[Job, ...] = ()
    # Azure: the template files this pipeline's jobs are expanded from (read into its jobs)
    templates: tuple[Path, ...] = ()
    # the file (or a template of it) runs this tool; a multibuild-era file runs its own
    # script, which reproduce must not pass off as this tool's commands
    runs_tool: bool = True

    def definitions(self) -> Iterator[EnvVar]:
        """Every variable definition in the file, global first, then per job."""
        yield from self.global_env
        for job in self.jobs:
            yield from job.env

    def get_global(self, name: str) -> EnvVar | None:
        found = [v for v in self.global_env if v.name == name]
        return found[-1] if found else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CIConfig:
    root: Path
    files: tuple[CIFile, ...]

    def by_provider(self, provider: Provider) -> CIFile | None:
        """The service's file that builds: of several (wheels.yml beside publish.yml), the
        one defining BUILD_COMMIT, else the first."""
        files = [f for f in self.files if f.provider == provider]
        builds = (f for f in files if any(v.name == "BUILD_COMMIT" for v in f.global_env))
        return next(builds, files[0] if files else None)


# -- shell-style assignment strings ------------------------------------------------------------


def split_assignments(text: str) -> tuple[list[tuple[str, str]], str | None]:
    """Split a Travis env string into ``(name, value)`` pairs, quotes removed.

    Returns the pairs and a problem description (unbalanced quote, non-assignment) or None.
    A backslash before a line break, or before the spaces YAML folding left of one, continues
    the line, as the shell would.

    >>> split_assignments('A=1 TEST_DEPENDS="pytest hypothesis"')
    ([('A', '1'), ('TEST_DEPENDS', 'pytest hypothesis')], None)
    >>> split_assignments('BUILD_DEPENDS="cython \\\\\\n   pytest"')
    ([('BUILD_DEPENDS', 'cython pytest')], None)
    >>> split_assignments('X="open')[1]
    'unbalanced " quote'
    """
    tokens, quote = _shell_words(text)
    if quote:
        return [], f"unbalanced {quote} quote"
    pairs: list[tuple[str, str]] = []
    for token in tokens:
        name, eq, value = token.partition("=")
        if not eq or not _NAME.fullmatch(name):
            return pairs, f"{token!r} is not a NAME=value assignment"
        pairs.append((name, value))
    return pairs, None


def _shell_words(text: str) -> tuple[list[str], str | None]:
    """The shell's words of ``text`` (quotes removed, continuations joined), and the quote
    left open at the end (None: balanced)."""
    tokens: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    in_token = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote != "'":
            rest = text[i + 1 :]
            gap = re.match(r"\s+", rest)
            # Continuation: backslash-newline, or the spaces YAML folding left of one. Outside
            # quotes a backslash before one plain space is the shell's escaped space.
            if gap and (quote or "\n" in gap.group() or len(gap.group()) > 1):
                i += 1 + gap.end()
                if quote:
                    if buf and buf[-1] != " ":
                        buf.append(" ")
                elif in_token:
                    tokens.append("".join(buf))
                    buf, in_token = [], False
                continue
            if rest:
                buf.append(rest[0])
                in_token = True
                i += 2
                continue
        if quote:
            if ch == quote:
                quote = None
            else:
                buf.append(ch)
        elif ch in "\"'":
            quote = ch
            in_token = True
        elif ch in " \t\n":  # the shell's blanks: a no-break space is part of a word
            if in_token:
                tokens.append("".join(buf))
                buf, in_token = [], False
        else:
            buf.append(ch)
            in_token = True
        i += 1
    if in_token and not quote:
        tokens.append("".join(buf))
    return tokens, quote
