"""``bump`` edits the CI files as a set: all or none, in place, one line each, never over an
edit made meanwhile (issue 18, cause 4)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.cifiles.bump import apply, plan_bump
from numpy_wheels.cifiles.readers import read_config
from numpy_wheels.errors import ConfigError

Copy = Callable[[str], Path]
FILES = (".travis.yml", "appveyor.yml", ".github/workflows/wheels.yml")


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@contextlib.contextmanager
def unreplaceable(path: Path) -> Iterator[None]:
    """Make renames onto ``path`` fail for real: the immutable flag as root, a read-only
    directory otherwise."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("chattr is not installed")
        done = subprocess.run(["chattr", "+i", str(path)], check=False, capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"the file system refuses chattr +i: {done.stderr!r}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.parent.stat().st_mode
        path.parent.chmod(0o555)
        try:
            yield
        finally:
            path.parent.chmod(mode)


def test_second_file_unreplaceable_leaves_all_three_unchanged(
    capsys: pytest.CaptureFixture[str], data_copy: Copy
) -> None:
    root = data_copy("this-repo")
    before = snapshot(root)
    with unreplaceable(root / FILES[1]):
        code = main(["--root", str(root), "bump", "v9.9.9"], env={})
    out, err = capsys.readouterr()
    assert code == ConfigError.return_code, out + err
    assert "nothing was changed" in err
    assert "Traceback" not in out + err
    assert "+++" not in out  # no diff of a change that was not made
    assert snapshot(root) == before  # all three files, and no temporary file left


def test_failing_rename_of_the_third_file_rolls_back_the_first_two(data_copy: Copy) -> None:
    root = data_copy("this-repo")
    before = snapshot(root)
    edits = plan_bump(read_config(root), "v9.9.9")
    assert len(edits) == 3
    calls: list[Path] = []

    def replace(src: Path, dst: Path) -> None:
        calls.append(dst)
        if len(calls) == 3:
            raise PermissionError(1, "Operation not permitted")
        src.replace(dst)

    with pytest.raises(ConfigError, match="nothing was changed"):
        apply(edits, replace=replace)
    assert len(calls) == 3
    assert snapshot(root) == before


def test_an_edit_made_while_bump_runs_is_kept(data_copy: Copy) -> None:
    root = data_copy("this-repo")
    edits = plan_bump(read_config(root), "v9.9.9")
    theirs = root / FILES[2]
    theirs.write_text(theirs.read_text() + "# a maintainer's edit\n")
    before = snapshot(root)
    with pytest.raises(ConfigError, match="changed while bump ran"):
        apply(edits)
    assert snapshot(root) == before


def one_line_changed(old: bytes, new: bytes) -> list[tuple[bytes, bytes]]:
    old_lines, new_lines = old.split(b"\n"), new.split(b"\n")
    assert len(old_lines) == len(new_lines)
    return [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]


def test_crlf_file_keeps_crlf_and_changes_one_line(
    capsys: pytest.CaptureFixture[str], data_copy: Copy
) -> None:
    root = data_copy("this-repo")
    path = root / "appveyor.yml"
    crlf = path.read_bytes().replace(b"\n", b"\r\n")
    path.write_bytes(crlf)
    assert main(["--root", str(root), "bump", "v9.9.9"], env={}) == 0
    capsys.readouterr()
    after = path.read_bytes()
    changed = one_line_changed(crlf, after)
    assert len(changed) == 1
    assert changed[0][1].endswith(b"v9.9.9\r")
    assert after.count(b"\r\n") == crlf.count(b"\r\n")
    assert b"\n" not in after.replace(b"\r\n", b"")


def test_symlinked_ci_file_is_edited_where_it_lives(
    capsys: pytest.CaptureFixture[str], data_copy: Copy
) -> None:
    root = data_copy("this-repo")
    real = root / "shared" / "travis.yml"
    real.parent.mkdir()
    (root / ".travis.yml").replace(real)
    (root / ".travis.yml").symlink_to(Path("shared") / "travis.yml")
    old = real.read_bytes()
    assert main(["--root", str(root), "bump", "v9.9.9"], env={}) == 0
    capsys.readouterr()
    assert (root / ".travis.yml").is_symlink()
    assert len(one_line_changed(old, real.read_bytes())) == 1
    assert b"BUILD_COMMIT=v9.9.9" in real.read_bytes()
    assert read_config(root).files[0].get_global("BUILD_COMMIT").value == "v9.9.9"  # type: ignore[union-attr]
