"""Where each value of a CI file is written, from the YAML parser's own marks.

``bump`` edits a value in place by these positions, whatever form the value is written in: plain
or quoted, on one line or several, a block scalar (``|``/``>-`` with the text on the next
lines), after an anchor (``&commit``) or a tag (``!!str``), or through an alias (``*commit``:
then the anchor's definition is what is written). The parser's events give the structure (which
key a value belongs to, which anchor an alias names) and its scanner's tokens where each
scalar's own text starts (an event's start includes the anchor and tag before it).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from numpy_wheels.errors import ConfigError

#: How many tabs after a colon are made spaces before the file counts as not readable.
MAX_SEPARATING_TABS = 200


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scalar:
    """A scalar's own text: ``text[start:end]`` (a block scalar: from its ``|``/``>`` header to
    the end of its last content line)."""

    start: int
    end: int
    style: str | None  # None (plain), '"', "'", '|' or '>'
    value: str
    anchor: str | None
    tag: str | None  # as written: "!!str"
    line: int  # 1-based line of the anchor, tag or text, whichever comes first


@dataclasses.dataclass(frozen=True, kw_only=True)
class Slot:
    """A mapping value or a sequence item: its key (None: an item), the 1-based line the
    readers give it (the key's line, or the item's), and what is written there."""

    key: str | None
    line: int
    scalar: Scalar | None  # the scalar (an alias: the anchor's); None: a collection
    alias: str | None = None  # the anchor an alias names (``*commit`` → "commit")
    key_end: int = 0  # index after the key's text (where an empty value is written)


def separating_tabs(text: str, *, where: str) -> str:
    """``text`` with each tab that separates a key's colon from its value made a space.

    ``key:\\tvalue`` is valid YAML (1.1 and 1.2: separation is spaces or tabs), but ruamel's
    scanner refuses it. A tab the scanner refuses right after a colon is such a separator, and a
    space there means the same; the length (and so every position and line) is unchanged.
    Other tabs stay (a tab in indentation is not YAML; the reader's error names its line)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    if "\t" not in text:
        return text
    for _ in range(MAX_SEPARATING_TABS + 1):
        try:
            for _token in YAML(typ="rt", pure=True).scan(text):
                pass
        except MarkedYAMLError as exc:
            mark = exc.problem_mark
            index = getattr(mark, "index", -1)
            if not (0 <= index < len(text) and text[index] == "\t"):
                return text
            before = text[text.rfind("\n", 0, index) + 1 : index].rstrip(" \t")
            if not before.endswith(":") or before.lstrip().startswith("#"):
                return text
            text = text[:index] + " " + text[index + 1 :]
            continue
        return text
    msg = f"{where}: more than {MAX_SEPARATING_TABS} tabs after colons; use spaces"
    raise ConfigError(msg)


def _token_starts(text: str) -> dict[int, int]:
    """End index → start index of every scalar token (its own text, without anchor and tag)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.tokens import ScalarToken

    return {
        t.end_mark.index: t.start_mark.index
        for t in YAML(typ="rt", pure=True).scan(text)
        if isinstance(t, ScalarToken)
    }


def _tag(event: Any) -> str | None:
    ctag = getattr(event, "ctag", None)
    handle = getattr(ctag, "handle", None)
    if handle is None:
        return None if ctag is None or str(ctag) == "!" else str(ctag)
    return f"{handle}{getattr(ctag, 'suffix', '')}"


@dataclasses.dataclass
class _Frame:
    mapping: bool
    want_key: bool = True
    key: str | None = None
    key_line: int = 0
    key_end: int = 0


def slots(text: str) -> list[Slot]:
    """Every mapping value and sequence item of ``text`` (a YAML document, already read
    without error), in file order."""
    from ruamel.yaml import YAML
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceStartEvent,
    )

    starts = _token_starts(text)
    anchors: dict[str, Scalar | None] = {}
    stack: list[_Frame] = []
    out: list[Slot] = []
    for event in YAML(typ="rt", pure=True).parse(text):
        if isinstance(event, CollectionEndEvent):
            stack.pop()
            continue
        if not isinstance(event, ScalarEvent | AliasEvent | MappingStartEvent | SequenceStartEvent):
            continue
        scalar: Scalar | None = None
        if isinstance(event, ScalarEvent):
            start = starts.get(event.end_mark.index, event.end_mark.index)
            scalar = Scalar(
                start=start if event.value or event.style else event.end_mark.index,
                end=event.end_mark.index,
                style=event.style,
                value=event.value,
                anchor=event.anchor,
                tag=_tag(event),
                line=event.start_mark.line + 1,
            )
        elif isinstance(event, AliasEvent):
            scalar = anchors.get(event.anchor)
        if not isinstance(event, AliasEvent) and event.anchor is not None:
            anchors[event.anchor] = scalar
        parent = stack[-1] if stack else None
        if parent is not None and parent.mapping and parent.want_key:
            parent.key = event.value if isinstance(event, ScalarEvent) else None
            parent.key_line = event.start_mark.line + 1
            parent.key_end = event.end_mark.index
            parent.want_key = False
        elif parent is not None:
            mapping_value = parent.mapping
            out.append(
                Slot(
                    key=parent.key if mapping_value else None,
                    line=parent.key_line if mapping_value else event.start_mark.line + 1,
                    scalar=scalar,
                    alias=event.anchor if isinstance(event, AliasEvent) else None,
                    key_end=parent.key_end if mapping_value else 0,
                )
            )
            parent.want_key = mapping_value
        if isinstance(event, MappingStartEvent | SequenceStartEvent):
            stack.append(_Frame(mapping=isinstance(event, MappingStartEvent)))
    return out


def block_content(text: str, scalar: Scalar) -> tuple[int, int]:
    """The span of a block scalar's text without its header line and the blank lines and
    line breaks around it (what a new one-line value replaces).

    >>> text = "k: >-  # note\\r\\n   v1\\r\\n   v2\\r\\n\\r\\nx: 1\\n"
    >>> start, end = block_content(text, Scalar(start=3, end=28, style=">", value="v1 v2",
    ...     anchor=None, tag=None, line=1))
    >>> text[start:end]
    'v1\\r\\n   v2'
    """
    header_end = text.find("\n", scalar.start, scalar.end)
    body = text[header_end + 1 : scalar.end] if header_end >= 0 else ""
    first = re.search(r"\S", body)
    if first is None:
        return scalar.end, scalar.end
    last = len(body.rstrip())
    return header_end + 1 + first.start(), header_end + 1 + last
