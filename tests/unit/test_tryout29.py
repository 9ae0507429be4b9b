"""Files and input a fresh-user tryout (issue 18, tryout 29) found mishandled: damaged sdists,
a WHEEL Tag line with a non-ASCII character, a .dist-info of another project, file names with
line breaks, tools' output carrying a server's escape sequences, binaries of a wheel copied
out all at once."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from numpy_wheels.build import tagcheck
from numpy_wheels.build.validate import InvalidDistribution, check_file
from numpy_wheels.files import is_dist
from numpy_wheels.log import Logger
from tests.unit.test_validate import TAG, rewrite
from tests.wheelfiles import make_sdist, make_wheel


def damaged_sdist(tmp_path: Path, how: str) -> Path:
    path = make_sdist(tmp_path, name="numpy", version="2.4.6")
    raw = bytearray(path.read_bytes())
    if how == "crc":  # the gzip trailer: CRC-32, then the length
        raw[-8] ^= 0xFF
    elif how == "length":
        raw[-1] ^= 0xFF
    elif how == "cut-trailer":
        raw = raw[:-8]
    elif how == "junk-after":
        raw += b"not another gzip member"
    elif how == "deflate":  # a flipped bit inside the deflate stream: an invalid code
        raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("how", ["crc", "length", "cut-trailer", "junk-after", "deflate"])
def test_a_damaged_sdist_is_refused(tmp_path: Path, how: str) -> None:
    """tar -tzf refuses each of these; the check read only up to the tar's end blocks, so a
    wrong CRC passed, and a damaged deflate stream was an internal error (zlib.error)."""
    path = damaged_sdist(tmp_path, how)
    with pytest.raises((OSError, EOFError, zlib.error)), gzip.open(path) as fh:
        fh.read()  # the reference: gzip itself refuses the file
    with pytest.raises(InvalidDistribution, match=r"not a readable tar\.gz archive"):
        check_file(path)


def test_a_valid_sdist_with_padding_passes(tmp_path: Path) -> None:
    path = tmp_path / "numpy-2.4.6.tar.gz"
    data = b"Metadata-Version: 2.1\nName: numpy\nVersion: 2.4.6\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("numpy-2.4.6/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buf.getvalue() + bytes(1 << 16)))  # zeros past the end
    check_file(path)


def test_a_non_ascii_tag_line_is_a_wrong_tag(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, name="numpy", version="2.4.6", tag=TAG)
    wheel = f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {TAG}\u202e\n".encode()
    rewrite(path, {"numpy-2.4.6.dist-info/WHEEL": wheel})
    with pytest.raises(InvalidDistribution, match="WHEEL's Tag lines"):
        check_file(path)


def test_a_dist_info_of_another_project_is_refused(tmp_path: Path) -> None:
    """pip: ".dist-info directory 'barext-0.1.0.dist-info' does not start with 'fooext'"."""
    made = make_wheel(tmp_path / "made")
    path = tmp_path / made.name
    with zipfile.ZipFile(made) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            name = info.filename.replace("fooext-0.1.0.dist-info", "barext-0.1.0.dist-info")
            data = src.read(info).replace(b"fooext-0.1.0.dist-info", b"barext-0.1.0.dist-info")
            out.writestr(name, data)
    with pytest.raises(InvalidDistribution, match=r"barext-0\.1\.0\.dist-info directory is not"):
        check_file(path)


@pytest.mark.parametrize("char", ["\n", "\r", "\x1b", "\x9b", "\u202e", "\x00"])
def test_a_name_with_a_control_character_is_no_distribution(char: str) -> None:
    assert is_dist("fooext-0.1.0-py3-none-any.whl")
    assert not is_dist(f"fooext-0.1.0-py3-none-any{char}release verified.whl")


def test_a_tools_output_keeps_colours_and_nothing_else() -> None:
    """twine prints an index's reason phrase: only SGR (colour) sequences and a progress
    line's carriage return pass through."""
    stream = io.StringIO()
    logger = Logger(stream=stream)
    logger.relay("\x1b[1;31mred\x1b[0m 400 Bad\x1b]0;PWNED\x07\x1b[2J\x9b31m\u202eX\rdone")
    assert stream.getvalue() == (
        "\x1b[1;31mred\x1b[0m 400 Bad\\x1b]0;PWNED\\x07\\x1b[2J\\x9b31m\\u202eX\rdone\n"
    )


def test_the_tag_check_holds_one_binary_at_a_time(tmp_path: Path) -> None:
    """Each binary is read and deleted before the next is copied out: three members of
    1 GiB each wrote 3 GiB to TMPDIR."""
    elf = b"\x7fELF" + bytes(1 << 16)
    path = make_wheel(tmp_path, tag=TAG, members={f"fooext/lib{i}.so": elf for i in range(3)})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    held: list[int] = []

    def read(name: str, copy: Path) -> str:
        held.append(len(list(scratch.iterdir())))
        assert copy.read_bytes() == elf
        return name

    names, binaries = tagcheck._names_and_binaries(path, lambda: scratch, read)
    assert binaries == [f"fooext/lib{i}.so" for i in range(3)]
    assert held == [1, 1, 1]
    assert list(scratch.iterdir()) == []
    assert "fooext-0.1.0.dist-info/RECORD" in names
