"""files.fetch (the sdist, a wheel to verify, the index's JSON page) has the overall deadline
of net.py's requests: a server that trickles a byte at a time, or sends headers one byte at a
time, is given up on when the deadline passes, whatever its per-read pace."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from numpy_wheels.errors import SourceError
from numpy_wheels.files import fetch
from tests.hostile.badserver import BadServer, Route


@pytest.mark.parametrize("behaviour", ["drip", "drip-headers"])
@pytest.mark.parametrize("to_file", [False, True], ids=["bytes", "file"])
def test_a_trickling_server_meets_the_deadline(
    bad: BadServer, tmp_path: Path, behaviour: str, to_file: bool
) -> None:
    # one byte every 0.2 s: never silent for the 5 s read timeout, never done either
    route = Route(behaviour=behaviour, body=b"x" * 100_000, interval=0.2)  # type: ignore[arg-type]
    url = bad.add(f"/{tmp_path.name}/{behaviour}/fooext-0.1.0.tar.gz", route)
    dest = tmp_path / "fooext-0.1.0.tar.gz.part" if to_file else None
    start = time.monotonic()
    with pytest.raises(SourceError, match=r"within the 2 s deadline") as info:
        fetch(url, error=SourceError, dest=dest, timeout=5, deadline=2)
    elapsed = time.monotonic() - start
    assert 1.5 < elapsed < 5, elapsed
    assert url in str(info.value)


def test_a_quick_server_is_read_whole(bad: BadServer, tmp_path: Path) -> None:
    url = bad.add(f"/{tmp_path.name}/ok", Route(body=b"y" * 300_000))
    assert fetch(url, error=SourceError, deadline=10) == b"y" * 300_000
    dest = tmp_path / "f.part"
    assert fetch(url, error=SourceError, dest=dest, deadline=10) == b""
    assert dest.read_bytes() == b"y" * 300_000
