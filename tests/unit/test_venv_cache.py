"""A kept build venv whose marker a cut-short job left unreadable is made again, never an
internal error; a marker's key never names a place outside the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from numpy_wheels.build.backends.host import VENV_MARKER, _reused_venv, park_venv

KEY = "ab" * 32


@pytest.mark.parametrize(
    "marker",
    [b"", b'{"key": "' + KEY.encode() + b'", "build_req', b"[1, 2]", b"[" * 100_000, b"\xff"],
)
def test_an_unreadable_kept_venv_is_made_again(tmp_path: Path, marker: bytes) -> None:
    stored = tmp_path / "cache" / "build-venvs" / KEY
    stored.mkdir(parents=True)
    (stored / VENV_MARKER).write_bytes(marker)
    venv = tmp_path / "work" / "build-venv"
    assert _reused_venv(stored, venv) is None
    assert not venv.exists()


def test_a_readable_kept_venv_is_reused(tmp_path: Path) -> None:
    stored = tmp_path / "cache" / "build-venvs" / KEY
    stored.mkdir(parents=True)
    marker = {"key": KEY, "build_requirements": ["meson-python==0.18.0"]}
    (stored / VENV_MARKER).write_text(json.dumps(marker))
    venv = tmp_path / "work" / "build-venv"
    assert _reused_venv(stored, venv) == ["meson-python==0.18.0"]
    assert (venv / VENV_MARKER).is_file()
    assert not stored.exists()


@pytest.mark.parametrize("key", ["../../../outside", "not-a-key", 5, None])
def test_a_venv_whose_marker_names_no_key_is_not_kept(tmp_path: Path, key: object) -> None:
    venv = tmp_path / "work" / "build-venv"
    venv.mkdir(parents=True)
    (venv / VENV_MARKER).write_text(json.dumps({"key": key, "build_requirements": []}))
    park_venv(tmp_path / "work", tmp_path / "cache")
    assert venv.is_dir()  # left where it was: nothing moved into or out of the cache
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_a_finished_venv_is_kept_under_its_key(tmp_path: Path) -> None:
    venv = tmp_path / "work" / "build-venv"
    venv.mkdir(parents=True)
    (venv / VENV_MARKER).write_text(json.dumps({"key": KEY, "build_requirements": []}))
    park_venv(tmp_path / "work", tmp_path / "cache")
    assert (tmp_path / "cache" / "build-venvs" / KEY / VENV_MARKER).is_file()
