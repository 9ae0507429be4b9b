"""Reproducible wheels on the fooext fixture: independent builds of one recipe give one sha256."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.build.determinism import zip_date_time
from numpy_wheels.errors import ConfigError, ReproducibilityError
from numpy_wheels.files import sha256_of
from tests.provenance import check_summary


@pytest.fixture
def other_umask() -> Iterator[None]:
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def host_build(
    root: Path,
    wheelhouse: Path,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    outputs: list[str] | None = None,
) -> dict[str, object]:
    code = main(
        ["--root", str(root), "build", "--backend", "host", "--wheelhouse", str(wheelhouse)],
        env=env,
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    if outputs is not None:
        outputs.append(out)
    summary = json.loads((wheelhouse / "build-summary.json").read_text())
    (record,) = summary["wheels"]
    assert isinstance(record, dict)
    return record


def test_two_cold_builds_give_one_sha256(
    fooext_repo: Callable[..., Path],
    build_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    other_umask: None,
) -> None:
    """Separate wheels-repository copies, caches and wheelhouses, another locale, time zone and
    umask in the caller, with and without the compiler cache, cold and warm: the same wheel,
    byte for byte."""
    del other_umask
    first_root = fooext_repo()
    second_root = tmp_path / "elsewhere" / "wheels-copy"
    shutil.copytree(first_root, second_root, symlinks=True)
    first = host_build(
        first_root,
        tmp_path / "wh1",
        {**build_env, "NUMPY_WHEELS_CACHE": str(tmp_path / "c1")},
        capsys,
    )
    second = host_build(
        second_root,
        tmp_path / "wh2",
        {
            **build_env,
            "NUMPY_WHEELS_CACHE": str(tmp_path / "c2"),
            "TZ": "America/New_York",
            "LC_ALL": "C",
            "PYTHONHASHSEED": "random",
            "NUMPY_WHEELS_CCACHE": "0",
        },
        capsys,
    )
    outputs: list[str] = []
    warm = host_build(
        first_root,
        tmp_path / "wh3",
        {**build_env, "NUMPY_WHEELS_CACHE": str(tmp_path / "c1")},
        capsys,
        outputs,
    )
    assert first["sha256"] == second["sha256"] == warm["sha256"]
    assert first["compiler_cache"]["used"] is True  # type: ignore[index]
    assert first["compiler_cache"]["misses"] > 0  # type: ignore[index]
    assert second["compiler_cache"] == {"used": False, "reason": "NUMPY_WHEELS_CCACHE=0"}
    assert warm["compiler_cache"]["hit_rate"] == 1.0  # type: ignore[index]
    check_summary(json.loads((tmp_path / "wh1" / "build-summary.json").read_text()))
    wheel = tmp_path / "wh1" / str(first["wheel"])
    assert sha256_of(wheel) == first["sha256"]
    repro = first["reproducibility"]
    assert isinstance(repro, dict)
    assert repro["fixed_env"] == {"LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "TZ": "UTC"}
    assert repro["build_place"] == "/tmp/numpy-wheels-build/fooext-cp311-manylinux_x86_64"
    assert any(r.startswith("setuptools==") for r in repro["build_requirements"])
    # the place is gone after the build; its venv is kept in the cache and the warm build
    # (same pins, interpreter, platform and path) reused it, giving the same bytes
    assert f"build place {repro['build_place']} removed" in outputs[0]
    assert "build venv reused from " + str(tmp_path / "c1" / "build-venvs") in outputs[0]
    key = repro["build_venv_key"]
    assert warm["reproducibility"]["build_venv_key"] == key  # type: ignore[index]
    assert (tmp_path / "c1" / "build-venvs" / str(key) / "bin" / "python").exists()
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
    epoch = repro["source_date_epoch"]
    assert isinstance(epoch, int)
    assert {i.date_time for i in infos} == {zip_date_time(epoch)}
    assert {i.external_attr >> 16 for i in infos} <= {0o100644, 0o100755, 0o40755}
    assert infos[-1].filename.endswith(".dist-info/RECORD")


def _change_member(wheel: Path, dest: Path, member: str) -> Path:
    """A copy of ``wheel`` with one member's bytes changed (everything else as it was)."""
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(dest, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            out.writestr(info, data + b"# changed\n" if info.filename == member else data)
    return dest


def test_verify_rebuilds_and_names_a_changed_member(
    fooext_repo: Callable[..., Path],
    build_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = fooext_repo()
    record = host_build(root, root / "wheelhouse", build_env, capsys)
    wheel = root / "wheelhouse" / str(record["wheel"])
    summary = root / "wheelhouse" / "build-summary.json"

    code = main(["--root", str(root), "verify", str(wheel)], env=build_env)
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert f"reproduced: {wheel.name} sha256 {record['sha256']}" in out

    tampered = _change_member(wheel, tmp_path / wheel.name, "fooext/__init__.py")
    code = main(
        ["--root", str(root), "verify", str(tampered), "--provenance", str(summary)],
        env=build_env,
    )
    out, err = capsys.readouterr()
    assert code == ReproducibilityError.return_code == 23
    assert "changed              fooext/__init__.py" in out
    assert "1 member(s) differ: fooext/__init__.py" in err
    assert "Traceback" not in out + err

    with (root / "config.sh").open("a") as fh:
        fh.write("\n# edited after the build\n")
    code = main(["--root", str(root), "verify", str(wheel)], env=build_env)
    out, err = capsys.readouterr()
    assert code == ConfigError.return_code
    assert "config.sh: sha256" in err


def test_verdicts_are_reused_for_identical_bytes_only(
    fooext_repo: Callable[..., Path],
    build_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = fooext_repo()
    env = {**build_env, "NUMPY_WHEELS_CACHE": str(tmp_path / "cache")}

    def build(name: str, *args: str, extra: dict[str, str] | None = None) -> tuple[dict, str]:  # type: ignore[type-arg]
        wheelhouse = tmp_path / name
        code = main(
            ["--root", str(root), "build", "--backend", "host", "--wheelhouse", str(wheelhouse),
             *args],
            env={**env, **(extra or {})},
        )  # fmt: skip
        out, err = capsys.readouterr()
        assert code == 0, out + err
        (record,) = json.loads((wheelhouse / "build-summary.json").read_text())["wheels"]
        return record, out

    first, out = build("first")
    assert "dot = 32.0" in out  # tested
    assert first["verdict"]["reused"] is False
    again, out = build("again")
    assert again["sha256"] == first["sha256"]
    assert "dot = 32.0" not in out
    assert "the verdict is reused" in out
    assert again["verdict"]["reused"] is True
    assert again["test"].startswith("passed (verdict of ")
    # other bytes (another optimisation level): tested again, whatever the cache holds
    other, out = build("other", extra={"CFLAGS": "-O1"})
    assert other["sha256"] != first["sha256"]
    assert other["reproducibility"]["build_variables"] == {"CFLAGS": "-O1"}
    assert "dot = 32.0" in out
    assert other["verdict"]["reused"] is False
    forced, out = build("forced", "--retest")
    assert forced["sha256"] == first["sha256"]
    assert "dot = 32.0" in out
    assert forced["verdict"] | {"reused": False, "retest": True} == forced["verdict"]
