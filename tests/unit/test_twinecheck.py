"""twine's check of a wheel's METADATA stand-in says what it says of the wheel (issue 18:
the check no longer hashes 20 MiB wheels for nothing), once per distinct METADATA."""

from __future__ import annotations

from pathlib import Path

import pytest

from numpy_wheels.build.twinecheck import (
    TwineCheckFailed,
    _Records,
    _run_twine_check,
    check_distinct,
    import_check,
    metadata_stand_in,
)
from tests.wheelfiles import make_sdist, make_wheel

HEAD = b"Metadata-Version: 2.1\nName: fooext\nVersion: 0.1.0\n"
GOOD = HEAD + b"Description-Content-Type: text/markdown\n\n# Fooext\n"


@pytest.mark.parametrize(
    ("metadata", "members"),
    [
        (GOOD, {}),
        (HEAD + b"Description-Content-Type: text/x-rst\n\n`broken <\n", {}),  # fails to render
        (HEAD + b"\nno content type\n", {}),  # a warning: --strict fails
        # twine reads the first member named *METADATA* holding Metadata-Version (by depth,
        # then name): here a decoy before the .dist-info one, which the stand-in keeps
        (GOOD, {"aaa/METADATA": HEAD + b"Description-Content-Type: text/x-rst\n\n`bad <\n"}),
        (GOOD, {"aaa/METADATA.txt": b"no header here"}),
    ],
)
def test_twine_says_the_same_of_the_stand_in(
    tmp_path: Path, metadata: bytes, members: dict[str, bytes]
) -> None:
    wheel = make_wheel(
        tmp_path, tag="cp312-cp312-win_amd64", size=4 << 20, metadata=metadata, members=members
    )
    (tmp_path / "scratch").mkdir()
    stand_in = metadata_stand_in(wheel, tmp_path / "scratch")
    assert stand_in.name == wheel.name
    assert stand_in.stat().st_size < 16 << 10  # not the 4 MiB payload
    check = import_check()
    on_wheel, on_stand_in = _Records(), _Records()
    failed = _run_twine_check(check, wheel, on_wheel)
    assert _run_twine_check(check, stand_in, on_stand_in) == failed
    assert on_stand_in.lines == on_wheel.lines
    assert failed == (metadata != GOOD or "aaa/METADATA" in members)


def test_an_sdist_is_checked_itself(tmp_path: Path) -> None:
    sdist = tmp_path / "fooext-0.1.0.tar.gz"
    sdist.write_bytes(b"")
    assert metadata_stand_in(sdist, tmp_path) == sdist


def test_one_check_per_distinct_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three wheels and an sdist sharing one METADATA, one wheel with another: two checks
    (twine's verdict is a function of those bytes alone); a wheel whose METADATA twine
    refuses is named, with twine's reason."""
    good = [
        make_wheel(tmp_path, tag=tag)
        for tag in ("cp312-cp312-win_amd64", "cp313-cp313-win_amd64", "py3-none-any")
    ]
    other = make_wheel(tmp_path / "other", tag="cp311-cp311-win_amd64", metadata=GOOD)
    check_distinct([*good, make_sdist(tmp_path), other])
    out = capsys.readouterr().out
    assert out.count(": PASSED") == 2
    assert f"{good[0].name}: PASSED" in out
    assert f"{other.name}: PASSED" in out
    bad = make_wheel(
        tmp_path / "bad", tag="cp311-cp311-win_amd64", metadata=HEAD + b"\nno content type\n"
    )
    with pytest.raises(TwineCheckFailed, match=rf"{bad.name} FAILED:\n  .*content_type"):
        check_distinct([*good, bad])
