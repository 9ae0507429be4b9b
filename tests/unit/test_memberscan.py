"""MemberScan (build/validate.py): a wheel's members read as its download arrives give the
same verdict as reading them from the file afterwards, for intact, damaged and mutated
wheels fed in blocks of any size; and on intact wheels nothing is read a second time."""

from __future__ import annotations

import random
import struct
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from numpy_wheels.build import validate
from numpy_wheels.build.validate import InvalidDistribution, MemberScan, check_file
from tests.unit.test_validate import (
    TAG,
    deflated,
    patched,
    with_central_entry_repeated,
)
from tests.wheelfiles import bomb_in, make_wheel, recompressed, with_member_size

Verdict = str


def verdict(path: Path, scanned: MemberScan | None) -> Verdict:
    try:
        check_file(path, scanned=scanned)
    except InvalidDistribution as exc:
        return str(exc)
    return "valid"


def scanned(data: bytes, seed: int) -> MemberScan:
    """``data`` fed to a MemberScan in blocks of random sizes (1 byte to 256 KiB), as
    network reads arrive; a first attempt cut short and restarted, as a retried download."""
    rng = random.Random(seed)  # noqa: S311 (reproducible block sizes)
    scan = MemberScan()
    feed = scan.restart()
    feed(memoryview(data[: rng.randrange(len(data))]))  # the attempt a retry throws away
    feed = scan.restart()
    view, at = memoryview(data), 0
    while at < len(data):
        size = rng.choice([1, 7, 30, 4096, 65536, 262144])
        feed(view[at : at + size])
        at += size
    return scan


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many members the RECORD pass read from the file (not taken from the scan); the
    small members read whole (``_bounded_read``, with a sink) are not counted."""
    count: list[int] = []
    real = validate._read_member

    def counted(*args: object) -> object:
        if len(args) < 4 or args[3] is None:  # not a bounded read of METADATA, WHEEL, RECORD
            count.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(validate, "_read_member", counted)
    return count


def _stored(d: Path) -> Path:
    members = {"numpy/zeros.bin": bytes(300_000), "numpy/empty.txt": b""}
    return make_wheel(d, name="numpy", version="2.4.6", tag=TAG, members=members)


def _deflated(d: Path) -> Path:
    payload = bytes(range(256)) * 2000
    return deflated(make_wheel(d, name="numpy", version="2.4.6", tag=TAG, payload=payload))


def _streamed(d: Path) -> Path:
    """Written to an unseekable stream: sizes in data descriptors, which the scan cannot
    follow (it stops; the members are read from the file)."""
    path = _stored(d)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}

    class Unseekable:
        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, b: bytes) -> int:
            self.data += b
            return len(b)

        def flush(self) -> None:
            pass

    out = Unseekable()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:  # type: ignore[call-overload]
        for name, data in members.items():
            with zf.open(name, "w") as fh:
                fh.write(data)
    path.write_bytes(bytes(out.data))
    return path


def _recompressed(method: int) -> Callable[[Path], Path]:
    """The deflated wheel rewritten with every member compressed by ``method`` (bzip2, LZMA:
    zipfile, so pip, reads them; no build tool writes them)."""

    def make(d: Path) -> Path:
        return recompressed(_deflated(d), method)

    return make


INTACT: dict[str, Callable[[Path], Path]] = {
    "stored": _stored,
    "deflated": _deflated,
    "bzip2": _recompressed(zipfile.ZIP_BZIP2),
    "lzma": _recompressed(zipfile.ZIP_LZMA),
}


def _damaged(d: Path) -> Iterator[tuple[str, Path]]:
    """The damaged archives of test_validate, made again here."""
    bomb = deflated(make_wheel(d / "bomb", name="numpy", version="2.4.6", tag=TAG,
                               members={"numpy/zeros.bin": bytes(1 << 20)}))  # fmt: skip
    with_member_size(bomb, "numpy/zeros.bin", 1000)
    yield "bomb", bomb
    repeated = _stored(d / "repeated")
    with_central_entry_repeated(repeated, "numpy/zeros.bin")
    yield "repeated", repeated
    yield "encrypted", patched(_stored(d / "encrypted"), "numpy/zeros.bin", flags=0x1)
    yield "method 99", patched(_stored(d / "method"), "numpy/zeros.bin", method=99)
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):  # 8 MiB claimed as 1 byte
        zeros = {"numpy/zeros.bin": bytes(8 << 20)}
        packed = make_wheel(d / f"bomb{method}", name="numpy", version="2.4.6", tag=TAG,
                            members=zeros)  # fmt: skip
        bomb_in(packed, "numpy/zeros.bin", method)
        yield f"bomb {method}", packed
    for cut in (0.3, 0.9):
        path = _deflated(d / f"cut{cut}")
        path.write_bytes(path.read_bytes()[: int(path.stat().st_size * cut)])
        yield f"cut at {cut}", path


@pytest.mark.parametrize("kind", INTACT)
def test_an_intact_wheel_is_read_once(tmp_path: Path, kind: str, reads: list[int]) -> None:
    path = INTACT[kind](tmp_path)
    assert verdict(path, scanned(path.read_bytes(), seed=1)) == "valid"
    assert reads == []  # every member taken from the scan
    assert verdict(path, None) == "valid"
    assert reads  # without a scan they are read from the file


def test_a_wheel_the_scan_cannot_follow_is_read_from_the_file(
    tmp_path: Path, reads: list[int]
) -> None:
    path = _streamed(tmp_path)
    scan = scanned(path.read_bytes(), seed=1)
    assert scan.stopped
    assert scan.results == {}
    assert verdict(path, scan) == "valid"
    assert reads


def test_the_scan_stops_past_its_content_bound(
    tmp_path: Path, reads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member inflating past MAX_CONTENT (a zip bomb's, scaled down): the scan stops, the
    members from there on are read from the file; the verdict is the same."""
    monkeypatch.setattr(MemberScan, "MAX_CONTENT", 100_000)
    path = _deflated(tmp_path)  # __init__.py holds 512,010 bytes
    scan = scanned(path.read_bytes(), seed=1)
    assert scan.stopped
    assert verdict(path, scan) == "valid"
    assert len(reads) == len(zipfile.ZipFile(path).infolist()) - len(scan.results)


def test_damaged_wheels_get_the_same_verdict(tmp_path: Path) -> None:
    for name, path in _damaged(tmp_path):
        alone = verdict(path, None)
        assert alone != "valid", name
        for seed in range(3):
            assert verdict(path, scanned(path.read_bytes(), seed)) == alone, name


@pytest.mark.parametrize("kind", INTACT)
def test_mutated_wheels_get_the_same_verdict(tmp_path: Path, kind: str) -> None:
    """200 mutants of each intact wheel (bytes flipped, sizes in local headers changed,
    the file cut): whatever each is, the scan never changes its verdict."""
    original = INTACT[kind](tmp_path).read_bytes()
    path = tmp_path / f"numpy-2.4.6-{TAG}.whl"
    rng = random.Random(kind)  # noqa: S311 (reproducible mutants)
    locals_at = [i for i in range(len(original)) if original[i : i + 4] == b"PK\x03\x04"]
    seen = set()
    for n in range(200):
        raw = bytearray(original)
        how = n % 3
        if how == 0:
            for _ in range(rng.randint(1, 4)):
                raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        elif how == 1:  # a local header's compressed or uncompressed size
            struct.pack_into("<L", raw, rng.choice(locals_at) + rng.choice([18, 22]),
                             rng.randrange(1 << 20))  # fmt: skip
        else:
            del raw[rng.randrange(len(raw)) :]
        path.write_bytes(bytes(raw))
        alone = verdict(path, None)
        seen.add(alone == "valid")
        assert verdict(path, scanned(bytes(raw), seed=n)) == alone, (n, alone)
    assert seen == {True, False}  # some mutants stay valid (the scan's results are used)
