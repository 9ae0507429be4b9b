"""Fixtures of the hostile-input suite: one misbehaving HTTP server per test process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.badserver import BadServer, bad_server


@pytest.fixture(scope="session")
def bad() -> Iterator[BadServer]:
    with bad_server() as server:
        yield server
