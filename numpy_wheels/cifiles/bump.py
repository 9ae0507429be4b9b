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
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from numpy_wheels.cifiles.checks import lint
from numpy_wheels.cifiles.readers import implicit_type, read_file
from numpy_wheels.cifiles.records import DAILY_NAMES, CIConfig, EnvVar, is_valid_ref, shown
from numpy_wheels.errors import ConfigError, LintError, UsageError
from numpy_wheels.files import read_config_text


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

    if implicit_type(value) is not None:
        return True
    try:
        loaded = YAML(typ="safe", pure=True).load(f"k: {value}\n")
    except YAMLError:
        return True
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
    """The edits that set the (daily) commit to ``new`` in every file that defines it
    otherwise; empty when every file already has it."""
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
        lines = _lines(text)
        for var in targets:
            index = var.location.line - 1
            lines[index] = _edit_line(lines[index], var, new)
        new_text = "".join(lines)
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
                lines=tuple(sorted({v.location.line for v in targets})),
                mode=path.stat().st_mode & 0o777,
            )
        )
    if not defined:
        msg = f"no CI file defines {' or '.join(names)}; nothing to bump"
        raise LintError(msg)
    return edits


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
    expected = [(n, new if n in names else v) for n, v in before]
    if after != expected:
        msg = f"{path}: editing the value in place would change other values; edit it by hand"
        raise ConfigError(msg)


def _lines(text: str) -> list[str]:
    r"""Lines as YAML counts them (split after ``\n`` only), each with its own line ending,
    so a CRLF file keeps CRLF on every line it does not change and on the one it does.

    >>> _lines("a: 1\r\nb: 2\x0c\n")
    ['a: 1\r\n', 'b: 2\x0c\n']
    """
    return re.findall(r"[^\n]*\n|[^\n]+", text)


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
