"""Closed sets the command line and the environment offer (argparse ``choices``, variables
such as NUMPY_WHEELS_BACKEND) and the code matches on; ``env_choice`` checks such a variable
where it is read (a misspelt value used to be read as unset and the default went on).

Imports nothing at import time, so the parser gets them without loading the layers that use
them.
"""

from __future__ import annotations

from collections.abc import Mapping
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


#: Values of the 0/1 variables (NUMPY_WHEELS_CCACHE, USE_CCACHE) and of ST_AUTH_VERSION.
SWITCHES = ("0", "1")
SWIFT_AUTH_VERSIONS = ("1", "1.0", "2", "2.0", "3", "3.0")


def env_choice(
    env: Mapping[str, str], name: str, choices: tuple[_T, ...], *, fold_case: bool = False
) -> _T | None:
    """The value of ``name`` in ``env`` as one of ``choices``; None when unset or empty.

    ConfigError naming the variable and the allowed values for anything else (source of the
    rule: issue 18, "every closed-choice environment variable is validated where read").

    >>> env_choice({"NUMPY_WHEELS_CCACHE": "0"}, "NUMPY_WHEELS_CCACHE", SWITCHES)
    '0'
    >>> env_choice({"X": "Host"}, "X", ("host", "cibuildwheel"), fold_case=True)
    'host'
    >>> env_choice({}, "X", SWITCHES) is None
    True
    """
    raw = env.get(name, "")
    value = raw.strip()
    if not value:
        return None
    if fold_case:
        value = value.lower()
    for choice in choices:
        if choice == value:
            return choice
    from numpy_wheels.errors import ConfigError  # on use: this module imports nothing

    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    msg = f"{name}={shown!r} is not one of {', '.join(choices)}"
    raise ConfigError(msg, hint=f"Set {name} to one of those values, or unset it.")


def env_switch(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    """A ``0``/``1`` variable as a bool (``default`` when unset); ConfigError otherwise.

    >>> env_switch({"USE_CCACHE": "1"}, "USE_CCACHE", default=False)
    True
    """
    value = env_choice(env, name, SWITCHES)
    return default if value is None else value == "1"
