"""Change BUILD_COMMIT (or the daily commit) in every CI file at once.

A careful line-level edit, not a YAML dump: the result differs from the original only in the
values, so comments, key order, quoting and indentation stay as the maintainer wrote them.
Each edited file is read back and must give the new value and every other value unchanged;
nothing is written unless every file passes; the files are replaced as a set (all or none),
in place (a symlinked CI file is edited where it points; CRLF files keep CRLF).
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias

from numpy_wheels.cifiles.checks import lint
from numpy_wheels.cifiles.readers import read_file
from numpy_wheels.cifiles.records import (
    DAILY_NAMES,
    CIConfig,
    EnvVar,
    Location,
    is_valid_ref,
)
from numpy_wheels.cifiles.scalars import readings
from numpy_wheels.cifiles.spans import Scalar, Slot, block_content, separating_tabs, slots
from numpy_wheels.errors import ConfigError, LintError, UsageError
from numpy_wheels.files import read_config_text, shown


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
        msg = f"{shown(ref)} is not a valid git ref (tag, branch or commit hash)"
        raise UsageError(msg)
    return ref


@dataclasses.dataclass(frozen=True, kw_only=True)
class FileEdit:
    path: Path  # the CI file as found (may be a symlink)
    relative: str  # its path from the repository root (the diff's a/ and b/ names)
    old_text: str
    new_text: str
    lines: tuple[int, ...]
    mode: int = 0o644

    @property
    def target(self) -> Path:
        """The file actually rewritten: a symlinked CI file is edited where it lives."""
        return self.path.resolve()

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.old_text.splitlines(keepends=True),
                self.new_text.splitlines(keepends=True),
                # relative to the repository root, as git writes them: `git apply` takes it
                fromfile=f"a/{self.relative}",
                tofile=f"b/{self.relative}",
            )
        )


def _needs_yaml_quotes(value: str) -> bool:
    """True when YAML 1.1 or 1.2 would not read this unquoted text as the same string.

    >>> [_needs_yaml_quotes(v) for v in ("v2.4.6", "680841e1", "0123456", "1.10", "main")]
    [False, True, True, True, False]
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if readings(value):
        return True
    try:
        loaded = YAML(typ="safe", pure=True).load(f"k: {value}\n")
    except YAMLError:
        return True
    return not isinstance(loaded, dict) or loaded.get("k") != value


#: (start, end, replacement) in a file's text.
Edit: TypeAlias = tuple[int, int, str]


def _value_edit(text: str, scalar: Scalar, new: str, *, key_end: int) -> Edit:
    """Replace a mapping value (a commit-ish) with ``new``, written in the same form: the same
    quotes, the same block style and header, the anchor and tag before it kept."""
    match scalar.style:
        case "|" | ">":
            start, end = block_content(text, scalar)
            if start == end:  # an empty block: the value goes on the line after the header
                return _empty_block(text, scalar, new)
            return start, end, new
        case '"' | "'":
            return scalar.start, scalar.end, f"{scalar.style}{new}{scalar.style}"
        case _:
            quote = '"' if scalar.tag is None and _needs_yaml_quotes(new) else ""
            if not scalar.value and scalar.anchor is None and scalar.tag is None:
                # An empty value: no text of its own; it goes after the key's colon.
                after = text.index(":", key_end) + 1
                if text[after : after + 1] in (" ", "\t"):
                    return after + 1, after + 1, f"{quote}{new}{quote}"
                return after, after, f" {quote}{new}{quote}"
            return scalar.start, scalar.end, f"{quote}{new}{quote}"


def _empty_block(text: str, scalar: Scalar, new: str) -> Edit:
    """A block scalar with no text yet (``BUILD_COMMIT: |``): one line under its header,
    indented two more than the header's line."""
    line_start = text.rfind("\n", 0, scalar.start) + 1
    line = text[line_start : scalar.start]
    indent = " " * (len(line) - len(line.lstrip(" ")) + 2)
    header_end = text.find("\n", scalar.start)
    if header_end < 0:  # the header ends the file
        return len(text), len(text), f"\n{indent}{new}"
    eol = "\r\n" if text[header_end - 1 : header_end] == "\r" else "\n"
    return header_end + 1, header_end + 1, f"{indent}{new}{eol}"


def _assignment_edit(text: str, scalar: Scalar, var: EnvVar, new: str) -> Edit | None:
    """Replace ``NAME=old`` inside a Travis env string (any YAML form), shell quotes kept."""
    assert var.name is not None
    assert var.value is not None
    if scalar.style in ("|", ">"):
        start, end = block_content(text, scalar)
    elif scalar.style:  # inside the YAML quotes
        start, end = scalar.start + 1, scalar.end - 1
    else:
        start, end = scalar.start, scalar.end
    pattern = re.compile(
        rf"(?<![A-Za-z0-9_]){re.escape(var.name)}=(?P<q>[\"']?){re.escape(var.value)}(?P=q)"
        r"(?![A-Za-z0-9_.\-/])"
    )
    found = pattern.search(text, start, end)
    if found is None:
        return None
    quote = found.group("q")
    return found.start(), found.end(), f"{var.name}={quote}{new}{quote}"


def _where_written(slots_: Sequence[Slot], var: EnvVar) -> Slot | None:
    """The slot a reader's definition came from: the key on its line, or the string (mapping
    value or list item) on its line that assigns the name. A key merged in (``<<: *defaults``)
    is not on the definition's line: then the one key of that name written with that value."""
    line = var.location.line
    for slot in slots_:
        if slot.line != line:
            continue
        if var.form == "mapping" and slot.key == var.name:
            return slot
        if var.form == "string" and slot.scalar is not None and f"{var.name}=" in slot.scalar.value:
            return slot
    same = [
        s
        for s in slots_
        if var.form == "mapping"
        and s.key == var.name
        and s.scalar is not None
        and s.scalar.value == var.value
    ]
    return same[0] if len(same) == 1 else None


def _edit_for(
    text: str, slots_: Sequence[Slot], var: EnvVar, new: str, names: Sequence[str]
) -> Edit:
    """Where and how to write ``new`` for one definition; a ConfigError naming file:line and
    the form when it cannot be edited in place."""
    slot = _where_written(slots_, var)
    form = "a mapping value" if var.form == "mapping" else "a NAME=value string"
    if slot is None or slot.scalar is None:
        msg = (
            f"{var.location}: cannot find where {var.name} is written as {form}; "
            f'edit it by hand (write it as {var.name}: "{new}")'
        )
        raise ConfigError(msg)
    if var.form == "mapping" and (slot.alias is not None or slot.scalar.anchor is not None):
        _check_anchor_users(slots_, slot, var, names)
    if var.form == "mapping":
        tag = slot.scalar.tag
        if tag is not None and tag not in ("!!str", "tag:yaml.org,2002:str"):
            msg = (
                f"{var.location}: {var.name} has the tag {tag}, which makes YAML read it as "
                f"another type than a string; write it without the tag ({var.name}: "
                f'"{var.value}") and run bump again'
            )
            raise ConfigError(msg)
        return _value_edit(text, slot.scalar, new, key_end=slot.key_end)
    edit = _assignment_edit(text, slot.scalar, var, new)
    if edit is None:
        shown_style = {None: "plain", '"': "double-quoted", "'": "single-quoted"}
        style = shown_style.get(slot.scalar.style, f"{slot.scalar.style} block")
        msg = (
            f"{var.location}: {var.name}={var.value} is not written as such in this "
            f"{style} string (escapes or line breaks inside it?); write it on one line "
            f"as {var.name}={new}"
        )
        raise ConfigError(msg)
    return edit


def _check_anchor_users(
    slots_: Sequence[Slot], slot: Slot, var: EnvVar, names: Sequence[str]
) -> None:
    """An anchored value is also the value of every alias of it: editing it changes them all.
    Allowed only when each use is a value being bumped; else a ConfigError naming the anchor's
    file:line and the other use."""
    scalar = slot.scalar
    assert scalar is not None
    name = slot.alias or scalar.anchor
    others = [s for s in slots_ if s.scalar is scalar and s.key not in names]
    if not others:
        return
    other = others[0]
    path = var.location.path
    used = (
        f"{other.key} ({Location(path=path, line=other.line)})"
        if other.key
        else f"the item at {Location(path=path, line=other.line)}"
    )
    anchor = Location(path=path, line=scalar.line)
    if slot.alias is not None:
        what = f"{var.name} is the alias *{name} of the anchor &{name} at {anchor}"
        fix = f"write {var.name}'s own value there instead of the alias"
    else:
        what = f"{var.name}'s value is the anchor &{name}"
        fix = f"write the other use's own value instead of *{name}"
    msg = (
        f"{var.location}: {what}, which {used} also uses: bump cannot change one without "
        f"the other; {fix}"
    )
    raise ConfigError(msg)


def plan_bump(
    config: CIConfig, new: str, *, daily: bool = False, force: bool = False
) -> list[FileEdit]:
    """The edits that set the (daily) commit to ``new`` in every file that defines it
    otherwise; empty when every file already has it. A ConfigError (file:line, the form, how
    to rewrite it) for a value that cannot be edited in place."""
    validate_ref(new)
    names = DAILY_NAMES if daily else ("BUILD_COMMIT",)
    if not force:
        disagree = [f for f in lint(config) if f.kind == "disagree" and f.subject == names[0]]
        if disagree:
            msg = f"{disagree[0]}\nrefusing to bump files that already disagree (--force does)"
            raise LintError(msg)
    # Grouped by the file each value is written in: an Azure template's variables are read
    # through every pipeline job that uses it, and are edited once, in the template.
    by_file: dict[Path, dict[tuple[int, str | None], EnvVar]] = {}
    for ci_file in config.files:
        for var in ci_file.definitions():
            if var.name in names and var.value is not None:
                by_file.setdefault(var.location.path, {})[(var.location.line, var.name)] = var
    defined = bool(by_file)
    edits = []
    for path, found in by_file.items():
        targets = list(found.values())
        text = read_config_text(path)
        written = slots(separating_tabs(text, where=str(path)))
        spans = {_edit_for(text, written, var, new, names) for var in targets}
        new_text = _applied(text, spans, path)
        if new_text == text:  # already the value, written as it should be
            continue
        # read as the round trip reads it (a computed GitHub matrix stays unexpanded)
        before = _values(path)
        _check_round_trip(path, new_text, before=before, names=names, new=new)
        edits.append(
            FileEdit(
                path=path,
                relative=_relative(path, config.root),
                old_text=text,
                new_text=new_text,
                lines=tuple(sorted({text.count("\n", 0, start) + 1 for start, _, _ in spans})),
                mode=path.stat().st_mode & 0o777,
            )
        )
    if not defined:
        msg = f"no CI file defines {' or '.join(names)}; nothing to bump"
        raise LintError(msg, hint=f"Set {names[0]} in a CI file's global environment first.")
    return edits


def _applied(text: str, spans: set[Edit], path: Path) -> str:
    """``text`` with the edits made, last first (positions before an edit stay valid)."""
    ordered = sorted(spans, reverse=True)
    for (start, _, _), (_, end, _) in itertools.pairwise(ordered):
        if end > start:  # two definitions written in one place, edited two ways
            msg = f"{path}: two values to bump overlap at offset {start}; edit them by hand"
            raise ConfigError(msg)
    for start, end, replacement in ordered:
        text = text[:start] + replacement + text[end:]
    return text


def _relative(path: Path, root: Path) -> str:
    """``path`` from the repository root, in git's spelling (``/`` on every OS)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # not under the root (cannot happen for files found there)
        return path.name


def _values(path: Path, templates: Path | None = None) -> list[tuple[str | None, str | None]]:
    """The values written in ``path`` itself, each once, in line order (an Azure pipeline's
    jobs also carry their templates' variables, which are another file's). ``templates``:
    where its Azure templates are (the original's directory, for the edited copy)."""
    ci_file = read_file(path, templates=templates)
    written = {
        (v.location.line, v.name): (v.name, v.value)
        for v in ci_file.definitions()
        if v.location.path == path
    }
    return [written[key] for key in sorted(written, key=lambda k: (k[0], k[1] or ""))]


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
        probe.write_bytes(new_text.encode("utf-8"))
        after = _values(probe, templates=path.parent)
    # A block scalar (``|``) keeps its line break after the new text as after the old one.
    got = [(n, v.strip() if n in names and v is not None else v) for n, v in after]
    expected = [(n, new if n in names else v) for n, v in before]
    if got != expected:
        # the bumped value's texts are shown; another value's never (it may be a credential)
        changed = next(
            (
                f"{n} ({shown(v or '')} → {shown(w or '')})" if n in names else f"{n}'s value"
                for (n, v), (_, w) in zip(expected, got, strict=False)
                if v != w
            ),
            "the number of values",
        )
        msg = (
            f"{path}: editing the value in place would change {changed}; nothing was changed "
            "(edit it by hand)"
        )
        raise ConfigError(msg)


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def apply(edits: Sequence[FileEdit], *, replace: Callable[[Path, Path], None] = os.replace) -> None:
    """Write every edit, as a set: all or none.

    Every new text is written to a temporary file next to its target first; then each target
    is checked to still hold the text that was planned (an edit made meanwhile is never
    overwritten) and replaced by a rename. If any step fails, the files already replaced get
    their old text back and nothing of the set stays changed. ``replace`` is the rename
    (a parameter so that a test can make one of them fail).
    """
    staged: list[tuple[FileEdit, Path]] = []
    done: list[FileEdit] = []
    try:
        for edit in edits:
            staged.append((edit, _stage(edit.target, edit.new_text, edit.mode)))
        for edit, tmp in staged:
            if _current(edit.target) != edit.old_text.encode("utf-8"):
                msg = (
                    f"{edit.path} changed while bump ran; nothing was changed "
                    "(run bump again on the new text)"
                )
                raise ConfigError(msg)
            try:
                replace(tmp, edit.target)
            except OSError as exc:
                msg = (
                    f"cannot replace {edit.path}: {exc.strerror or exc}; "
                    "nothing was changed (all files keep their old value)"
                )
                raise ConfigError(msg) from None
            done.append(edit)
    except BaseException:
        for edit in reversed(done):  # put the old text back: the set stays consistent
            restore = _stage(edit.target, edit.old_text, edit.mode)
            restore.replace(edit.target)
        raise
    finally:
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)


def _stage(target: Path, text: str, mode: int) -> Path:
    """``text`` in a temporary file next to ``target`` (same directory: the rename is atomic)."""
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        msg = f"cannot write next to {target}: {exc.strerror or exc}; nothing was changed"
        raise ConfigError(msg) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp
