"""What YAML 1.1 and YAML 1.2 make of a plain (unquoted, untagged) scalar, computed per version.

The CI services do not agree on a YAML version: Travis reads its file with Ruby's YAML 1.1
loader, GitHub Actions with a YAML 1.2 core-schema one. The rules are the specifications':

- YAML 1.1: the type repository (https://yaml.org/type/ — bool, int, float, null, timestamp),
  as PyYAML and libyaml apply it (a float needs a dot, an exponent a sign; a leading ``0``
  means octal; ``yes``/``on``/``y`` are booleans);
- YAML 1.2: the core schema (YAML 1.2.2 §10.3.2: ``true``/``false``, decimal/``0o``/``0x``
  integers, floats with or without a dot).

ruamel's own 1.1 resolver also reads ``680841e1`` as a float (it warns that this is not 1.1), so
it is not used for this: the messages must say what each version's rules give.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Final, Literal, TypeAlias

Kind: TypeAlias = Literal["bool", "int", "float", "null", "timestamp"]
Version: TypeAlias = Literal["1.1", "1.2"]
VERSIONS: Final[tuple[Version, ...]] = ("1.1", "1.2")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Reading:
    """One YAML version's value for a plain scalar that is not a string."""

    version: Version
    kind: Kind
    value: str  # the value as a loader gives it back (``6808410.0``, ``42798``, ``true``)
    note: str = ""  # how the text got there, when not obvious ("octal", "base 60")


_BOOL_11 = re.compile(
    r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
)
_TRUE_11 = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_NULL = re.compile(r"~|null|Null|NULL|")
_TIMESTAMP_11 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?"
)
_FLOAT_11 = re.compile(
    r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?"
)
_SEXAGESIMAL_FLOAT_11 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*")
_INF = re.compile(r"([-+]?)\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
_BOOL_12 = re.compile(r"true|True|TRUE|false|False|FALSE")
_FLOAT_12 = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


def _int_11(text: str) -> tuple[int, str] | None:
    """A YAML 1.1 integer (https://yaml.org/type/int.html) and how it is written."""
    sign = -1 if text[:1] == "-" else 1
    body = text[1:] if text[:1] in "-+" else text
    digits = body.replace("_", "")
    if re.fullmatch(r"0b[01_]+", body):
        return sign * int(digits[2:], 2), "binary"
    if re.fullmatch(r"0x[0-9a-fA-F_]+", body):
        return sign * int(digits[2:], 16), "hexadecimal"
    if re.fullmatch(r"0[0-7_]+", body):
        return sign * int(digits, 8), "octal"
    if re.fullmatch(r"0|[1-9][0-9_]*", body):
        return sign * int(digits), ""
    if re.fullmatch(r"[1-9][0-9_]*(?::[0-5]?[0-9])+", body):
        return sign * _base60(digits), "base 60"
    return None


def _base60(digits: str) -> int:
    total = 0
    for part in digits.split(":"):
        total = total * 60 + int(part)
    return total


def _int_12(text: str) -> tuple[int, str] | None:
    """A YAML 1.2 core-schema integer (§10.3.2)."""
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return int(text), ""
    if re.fullmatch(r"0o[0-7]+", text):
        return int(text[2:], 8), "octal"
    if re.fullmatch(r"0x[0-9a-fA-F]+", text):
        return int(text[2:], 16), "hexadecimal"
    return None


def _special_float(text: str) -> str | None:
    inf = _INF.fullmatch(text)
    if inf:
        return f"{inf.group(1) if inf.group(1) == '-' else ''}inf"
    return "nan" if _NAN.fullmatch(text) else None


def _read_11(text: str) -> Reading | None:
    if _NULL.fullmatch(text):
        return Reading(version="1.1", kind="null", value="null")
    if _BOOL_11.fullmatch(text):
        value = "true" if text in _TRUE_11 else "false"
        return Reading(version="1.1", kind="bool", value=value)
    as_int = _int_11(text)
    if as_int is not None:
        return Reading(version="1.1", kind="int", value=str(as_int[0]), note=as_int[1])
    special = _special_float(text)
    if special is not None:
        return Reading(version="1.1", kind="float", value=special)
    if _FLOAT_11.fullmatch(text):
        return Reading(version="1.1", kind="float", value=repr(float(text.replace("_", ""))))
    if _SEXAGESIMAL_FLOAT_11.fullmatch(text):
        whole, _, fraction = text.replace("_", "").rpartition(".")
        sign = -1 if whole.startswith("-") else 1
        number = sign * (_base60(whole.lstrip("-+")) + float(f"0.{fraction or 0}"))
        return Reading(version="1.1", kind="float", value=repr(number), note="base 60")
    if _TIMESTAMP_11.fullmatch(text):
        return Reading(version="1.1", kind="timestamp", value=text)
    return None


def _read_12(text: str) -> Reading | None:
    if _NULL.fullmatch(text):
        return Reading(version="1.2", kind="null", value="null")
    if _BOOL_12.fullmatch(text):
        return Reading(version="1.2", kind="bool", value=text.lower())
    as_int = _int_12(text)
    if as_int is not None:
        return Reading(version="1.2", kind="int", value=str(as_int[0]), note=as_int[1])
    special = _special_float(text)
    if special is not None:
        return Reading(version="1.2", kind="float", value=special)
    if _FLOAT_12.fullmatch(text):
        return Reading(version="1.2", kind="float", value=repr(float(text)))
    return None


@functools.cache
def readings(text: str) -> tuple[Reading, ...]:
    """What each YAML version reads the plain scalar ``text`` as, for the versions that do not
    read a string.

    >>> [(r.version, r.kind, r.value) for r in readings("680841e1")]
    [('1.2', 'float', '6808410.0')]
    >>> [(r.version, r.value, r.note) for r in readings("0123456")]
    [('1.1', '42798', 'octal'), ('1.2', '123456', '')]
    >>> [(r.version, r.value) for r in readings("1.10")], readings("v2.4.6")
    ([('1.1', '1.1'), ('1.2', '1.1')], ())
    """
    found = (_read_11(text), _read_12(text))
    return tuple(r for r in found if r is not None)


_ARTICLE: Final[dict[Kind, str]] = {
    "bool": "the boolean",
    "int": "the integer",
    "float": "the float",
    "null": "null",
    "timestamp": "the date",
}


def _shown(reading: Reading) -> str:
    if reading.kind == "null":
        return "null (no value)"
    note = f" ({reading.note})" if reading.note else ""
    return f"{_ARTICLE[reading.kind]} {reading.value}{note}"


def describe(text: str) -> str | None:
    """What YAML 1.1 and 1.2 read the plain scalar ``text`` as, in words; None when both
    read the string written.

    >>> describe("680841e1")
    'YAML 1.2 reads the float 6808410.0 (YAML 1.1 reads the string)'
    >>> describe("0123456")
    'YAML 1.1 reads the integer 42798 (octal), YAML 1.2 the integer 123456'
    >>> describe("1.10")
    'YAML 1.1 and 1.2 read the float 1.1'
    >>> describe("main") is None
    True
    """
    found = readings(text)
    if not found:
        return None
    if len(found) == 1:
        (only,) = found
        other = next(v for v in VERSIONS if v != only.version)
        return f"YAML {only.version} reads {_shown(only)} (YAML {other} reads the string)"
    first, second = found
    if (first.kind, first.value, first.note) == (second.kind, second.value, second.note):
        return f"YAML 1.1 and 1.2 read {_shown(first)}"
    return f"YAML 1.1 reads {_shown(first)}, YAML 1.2 {_shown(second)}"


def changes_text(text: str) -> bool:
    """True when a YAML version gives back other text than ``text`` (``1.10`` → ``1.1``,
    ``yes`` → ``true``), not only another type (``64`` → ``64``).

    >>> changes_text("1.10"), changes_text("yes"), changes_text("64")
    (True, True, False)
    """
    return any(r.value != text for r in readings(text))


def tagged(tag: str, text: str) -> str | None:
    """What an explicit tag (``!!float``) makes every YAML version read, when not a string.

    >>> tagged("!!str", "680841e1") is None
    True
    >>> tagged("!!float", "680841e1")
    'its tag !!float makes every YAML version read a float'
    """
    del text  # the tag decides the type, whatever the text
    kind = tag.removeprefix("!!").removeprefix("tag:yaml.org,2002:")
    if kind in ("str", "binary"):
        return None
    return (
        f"its tag {tag} makes every YAML version read a{'n' if kind[0] in 'aeiou' else ''} {kind}"
    )
