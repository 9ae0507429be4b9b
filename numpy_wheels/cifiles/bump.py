"""Change BUILD_COMMIT (or the daily commit) in every CI file at once.

A careful line-level edit, not a YAML dump: the result differs from the original only in the
values, so comments, key order, quoting and indentation stay as the maintainer wrote them.
Each edited file is read back and must give the new value and every other value unchanged;
nothing is written unless every file passes, and files are replaced atomically.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from numpy_wheels.cifiles.checks import lint
from numpy_wheels.cifiles.readers import read_file
from numpy_wheels.cifiles.records import DAILY_NAMES, CIConfig, EnvVar, is_valid_ref
from numpy_wheels.errors import ConfigError, LintError, UsageError


def validate_ref(ref: str) -> str:
    """Refuse refs git would refuse or that would need quoting.

    >>> validate_ref("v2.4.6")
    'v2.4.6'
    >>> validate_ref("=v1")
    Traceback (most recent call last):
    ...
    numpy_wheels.errors.UsageError: '=v1' is not a valid git ref (tag, branch or commit hash)
    """
    if not is_valid_ref(ref):
        msg = f"{ref!r} is not a valid git ref (tag, branch or commit hash)"
        raise UsageError(msg)
    return ref


@dataclasses.dataclass(frozen=True, kw_only=True)
class FileEdit:
    path: Path
    old_text: str
    new_text: str
    lines: tuple[int, ...]

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.old_text.splitlines(keepends=True),
                self.new_text.splitlines(keepends=True),
                fromfile=f"a/{self.path.name}",
                tofile=f"b/{self.path.name}",
            )
        )


def _needs_yaml_quotes(value: str) -> bool:
    """True when a plain YAML scalar with this text would not load as the same string."""
    from ruamel.yaml import YAML

    loaded = YAML(typ="safe", pure=True).load(f"k: {value}\n")
    return not isinstance(loaded, dict) or loaded.get("k") != value


def _edit_line(line: str, var: EnvVar, new: str) -> str:
    assert var.name is not None
    assert var.value is not None
    old = re.escape(var.value)
    pattern = re.compile(
        rf"(?P<pre>(?<![A-Za-z0-9_]){re.escape(var.name)}\s*(?P<sep>[=:])\s*)"
        rf"(?P<q>[\"']?){old}(?P=q)(?![A-Za-z0-9_.\-/])"
    )
    match = pattern.search(line)
    if match is None:
        msg = f"{var.location}: cannot find {var.name}={var.value} on this line to edit"
        raise ConfigError(msg)
    quote = match.group("q")
    if not quote and match.group("sep") == ":" and _needs_yaml_quotes(new):
        quote = '"'
    return line[: match.start()] + match.group("pre") + quote + new + quote + line[match.end() :]


def plan_bump(
    config: CIConfig, new: str, *, daily: bool = False, force: bool = False
) -> list[FileEdit]:
    """The edits that set the (daily) commit to ``new`` in every file that defines it."""
    validate_ref(new)
    names = DAILY_NAMES if daily else ("BUILD_COMMIT",)
    if not force:
        disagree = [f for f in lint(config) if f.kind == "disagree" and f.subject == names[0]]
        if disagree:
            msg = f"{disagree[0]}\nrefusing to bump files that already disagree (--force does)"
            raise LintError(msg)
    edits = []
    for ci_file in config.files:
        targets = [v for v in ci_file.definitions() if v.name in names and v.value is not None]
        if not targets:
            continue
        text = ci_file.path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        for var in targets:
            index = var.location.line - 1
            lines[index] = _edit_line(lines[index], var, new)
        new_text = "".join(lines)
        before = [(v.name, v.value) for v in ci_file.definitions()]
        _check_round_trip(ci_file.path, new_text, before=before, names=names, new=new)
        edits.append(
            FileEdit(
                path=ci_file.path,
                old_text=text,
                new_text=new_text,
                lines=tuple(sorted({v.location.line for v in targets})),
            )
        )
    if not edits:
        msg = f"no CI file defines {' or '.join(names)}; nothing to bump"
        raise LintError(msg)
    return edits


def _values(path: Path) -> list[tuple[str | None, str | None]]:
    ci_file = read_file(path)
    return [(v.name, v.value) for v in ci_file.definitions()]


def _check_round_trip(
    path: Path,
    new_text: str,
    *,
    before: list[tuple[str | None, str | None]],
    names: Sequence[str],
    new: str,
) -> None:
    """Parse the edited text: the bumped names read ``new``, every other value is unchanged."""
    with tempfile.TemporaryDirectory() as tmp:
        # Keep the name (and .github/workflows parent) so the same reader parses it.
        probe = Path(tmp) / path.parent.parent.name / path.parent.name / path.name
        probe.parent.mkdir(parents=True)
        probe.write_text(new_text, encoding="utf-8")
        after = _values(probe)
    expected = [(n, new if n in names else v) for n, v in before]
    if after != expected:
        msg = f"{path}: editing the value in place would change other values; edit it by hand"
        raise ConfigError(msg)


def apply(edits: Sequence[FileEdit]) -> None:
    """Write every edit atomically (temp file + rename), after all of them were planned."""
    for edit in edits:
        fd, tmp = tempfile.mkstemp(dir=edit.path.parent, prefix=f".{edit.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(edit.new_text)
            Path(tmp).chmod(edit.path.stat().st_mode & 0o777)
            Path(tmp).replace(edit.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
