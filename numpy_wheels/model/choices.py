"""Closed sets the command line offers (argparse ``choices``) and the code matches on.

Imports nothing, so the parser gets them without loading the layers that use them.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, TypeVar, get_args

Backend: TypeAlias = Literal["host", "cibuildwheel"]
SourceKind: TypeAlias = Literal["git", "sdist"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)
SOURCES: tuple[SourceKind, ...] = get_args(SourceKind)

_T = TypeVar("_T", bound=str)


def one_of(value: str | None, choices: tuple[_T, ...]) -> _T | None:
    """``value`` as a member of the closed set ``choices``, or None.

    >>> one_of("host", BACKENDS), one_of("docker", BACKENDS)
    ('host', None)
    """
    return next((c for c in choices if c == value), None)
