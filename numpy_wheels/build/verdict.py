"""Test verdicts reused for identical bytes, honestly keyed.

A passing test run is stored under the hash of everything that decides its outcome: the wheel's
sha256, the test requirements with the versions pip resolves for them now, the test command
(the hook files' sha256 and the project source, which holds its own test requirements), the
label and extra arguments, and the interpreter. A rebuild that gives identical bytes finds the
verdict and says so; anything else, a different byte included, runs the tests again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from numpy_wheels.errors import FatalError
from numpy_wheels.files import read_json, sha256_of
from numpy_wheels.log import log


def verdict_key(parts: Mapping[str, object]) -> str:
    """The store key of a verdict: sha256 of its parts, as canonical JSON.

    >>> verdict_key({"wheel": "ab", "label": "full"})[:12]
    'dbd38c1a4e3e'
    """
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def key_parts(
    *,
    wheel: Path,
    test_requirements: Sequence[str],
    hooks: Mapping[str, str | None],
    source: str,
    env: Mapping[str, str],
    interpreter: str,
) -> dict[str, object]:
    """Everything a test verdict depends on (recorded beside the key)."""
    return {
        "wheel_sha256": sha256_of(wheel),
        "test_requirements": list(test_requirements),
        "test_command": {"hooks": dict(hooks), "source": source},
        "label": {k: env.get(k) for k in ("NUMPY_TEST_LABEL", "EXTRA_ARGV")},
        "interpreter": interpreter,
    }


def find(store: Path, key: str) -> dict[str, object] | None:
    """The stored verdict for ``key`` (None: never tested with these inputs)."""
    try:  # a cache: anything unreadable (a FIFO is never opened) is a miss
        found = read_json(store / f"{key}.json", error=FatalError)
    except FatalError:
        return None
    return found if isinstance(found, dict) and found.get("outcome") == "passed" else None


def save(store: Path, key: str, parts: Mapping[str, object], test: str) -> Path:
    """Store a passing verdict (written whole: a crash leaves no half record)."""
    store.mkdir(parents=True, exist_ok=True)
    path = store / f"{key}.json"
    record = {
        "outcome": "passed",
        "test": test,
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "parts": parts,
    }
    part = path.with_suffix(".json.part")
    part.write_text(json.dumps(record, indent=1) + "\n")
    part.replace(path)
    log.write(f"verdict stored: {path.name}")
    return path
