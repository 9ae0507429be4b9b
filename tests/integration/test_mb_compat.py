"""multibuild's helper functions for config.sh (resources/mb_compat.sh), run with real bash:
every function multibuild defines is provided, mapped or refused by name; the provided ones
keep multibuild's contract; numpy-wheels' own 2018 config.sh runs its hook stages through
the tool, and the helper it cannot have is named."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main
from numpy_wheels.build.hooks import MB_MAPPED, MB_PROVIDED, Hooks
from numpy_wheels.cifiles.checks import NOT_HONOURED
from numpy_wheels.errors import BuildError, HookError
from tests.selfwheel import build_this_wheel

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
COMPAT = str(resources.files("numpy_wheels").joinpath("resources/mb_compat.sh"))


def multibuild_functions() -> set[str]:
    lines = (CORPUS / "multibuild-functions.txt").read_text().splitlines()
    return {line.split()[1] for line in lines if line and not line.startswith("#")}


def bash(script: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f"set -eo pipefail\nsource {COMPAT}\n{script}"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "PYTHON_EXE": sys.executable},
        check=False,
        timeout=60,
    )


def test_every_multibuild_function_is_provided_mapped_or_refused() -> None:
    names = multibuild_functions()
    assert len(names) > 120
    assert names >= MB_PROVIDED | MB_MAPPED
    defined = bash(
        "for f in " + " ".join(sorted(names)) + '; do declare -F "$f" >/dev/null || echo "$f"; done'
    )
    assert defined.stdout.split() == []  # none missing
    refused = sorted(names - MB_PROVIDED - MB_MAPPED - {"activate_ccache"})
    for name in refused:
        # Inside `local x=$(...)`, where multibuild's own errors went unnoticed, too.
        proc = bash(f'f() {{ local x=$({name} a b); echo "not reached $x"; }}\nf\necho after')
        assert proc.returncode != 0, name
        assert f"numpy-wheels: refused: {name}: " in proc.stderr, name
        assert "not reached" not in proc.stdout
        assert "after" not in proc.stdout


def test_provided_helpers_keep_multibuild_semantics(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.make_archive(str(tmp_path / "arch"), "gztar", tmp_path, "a")
    proc = bash(
        "\n".join(
            [
                "lex_ver 3.2.1; echo",
                "unlex_ver 003002001",
                "strip_ver_suffix 3.10.0",
                f"relpath {tmp_path}/a/b {tmp_path}",
                "abspath a",
                '[ -n "$(is_function lex_ver)" ] && echo is-function',
                "is_function no_such_fn || echo not-a-function",
                "expect_return 3 bash -c 'exit 3' && echo expected-3",
                "suppress true",
                "rm_mkdir fresh && ls -d fresh",
                "mkdir unpack && (cd unpack && untar ../arch.tar.gz) && ls unpack/a",
                "get_py_mm",
                "clean_code numpy v1.0",
                "repair_wheelhouse wheelhouse",
            ]
        ),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:4] == ["003002001", "3.2.1", "3.10.0", "a/b"]
    assert lines[4] == str(tmp_path / "a")
    assert lines[5:8] == ["is-function", "not-a-function", "expected-3"]
    assert "Running true" in lines
    assert "fresh" in lines
    assert "b" in lines
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in lines
    # Mapped steps say what the tool does instead, and succeed.
    assert "numpy-wheels: clean_code: the tool checked out numpy at v1.0" in proc.stderr
    assert "numpy-wheels: repair_wheelhouse: the tool repairs" in proc.stderr


def test_only_the_projects_own_build_wheel_counts(tmp_path: Path) -> None:
    plain = tmp_path / "config.sh"
    plain.write_text("function run_tests { true; }\n")
    hooks = Hooks(config_path=plain, env_vars_path=tmp_path / "none.sh", root=tmp_path)
    env = {"PATH": os.environ["PATH"]}
    # mb_compat.sh defines multibuild's default build_wheel; that is not an override.
    assert not hooks.defines("build_wheel", env=env, cwd=tmp_path)
    assert hooks.defines("run_tests", env=env, cwd=tmp_path)
    plain.write_text('function build_wheel { build_pip_wheel "$@"; }\n')
    assert hooks.defines("build_wheel", env=env, cwd=tmp_path)


@pytest.fixture
def numpy_2018(tmp_path: Path) -> Path:
    """A wheels repository with numpy-wheels' config.sh and env_vars.sh of December 2018,
    verbatim, and the real gfortran_utils.sh of the gfortran-install submodule they source
    (whose get_gf_lib downloads archives): the tool's refusals stay in force over it."""
    from tests.mb_repo import make_multibuild_repo

    root = make_multibuild_repo(tmp_path / "numpy-wheels")
    for name in ("config.sh", "env_vars.sh"):
        shutil.copy(CORPUS / "numpy-wheels-2018-12" / name, root / name)
    (root / "gfortran-install").mkdir()
    shutil.copy(
        CORPUS / "gfortran-install-2024-02" / "gfortran_utils.sh", root / "gfortran-install"
    )
    return root


def test_numpy_2018_config_sh_hook_stages(numpy_2018: Path) -> None:
    hooks = Hooks(
        config_path=numpy_2018 / "config.sh",
        env_vars_path=numpy_2018 / "env_vars.sh",
        root=numpy_2018,
    )
    env = {"PATH": os.environ["PATH"], "REPO_DIR": "fooext", "PLAT": "x86_64"}
    # env_vars.sh: its variables are read (not exported there, so nothing crosses).
    assert hooks.exported_env(env, cwd=numpy_2018) == {}
    assert not hooks.defines("pre_build", env=env, cwd=numpy_2018)
    for stage in ("build_wheel", "build_libs", "get_test_cmd", "run_tests"):
        assert hooks.defines(stage, env=env, cwd=numpy_2018), stage
    # get_test_cmd is numpy-wheels' own helper: it runs and gives numpy.test's call.
    script = f"source {COMPAT}\nsource config.sh\nEXTRA_ARGV=\"'-x'\"; get_test_cmd"
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, cwd=numpy_2018, check=True
    )
    assert "numpy.test('full'" in proc.stdout
    assert "extra_argv=['-x']" in proc.stdout
    # build_wheel -> build_libs -> get_gf_lib (gfortran-install): refused by name, as the
    # build step's error, although it is called inside `local x=$(abspath $(...))`.
    with pytest.raises(BuildError, match=r"build_wheel \(from config.sh\) called a multibuild "
                       r"helper this tool refuses: get_gf_lib: gfortran-install"):  # fmt: skip
        hooks.run("build_wheel", "fooext", "x86_64", env=env, cwd=numpy_2018, error=BuildError)


def test_numpy_2018_config_sh_through_the_cli(numpy_2018: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "numpy_wheels", "build", "--backend", "host"],
        cwd=numpy_2018,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == BuildError.return_code, out
    assert "Traceback" not in out
    assert "config.sh defines no pre_build" in out  # the pre_build stage ran (none defined)
    assert "refuses: get_gf_lib: gfortran-install fetches prebuilt OpenBLAS" in out
    assert "FAILED BuildError" in out


def test_a_refused_helper_in_a_hook_is_a_hook_error(tmp_path: Path) -> None:
    config = tmp_path / "config.sh"
    config.write_text("function pre_build { build_openssl; }\n")
    hooks = Hooks(config_path=config, env_vars_path=tmp_path / "none.sh", root=tmp_path)
    with pytest.raises(HookError, match=r"refuses: build_openssl: multibuild's library_builders"):
        hooks.run("pre_build", env={"PATH": os.environ["PATH"]}, cwd=tmp_path)


def test_run_tests_does_not_inherit_the_wheels_repos_pytest_config(tmp_path: Path) -> None:
    """The wheels repository's pyproject.toml configures pytest for *its* tests (minversion,
    addopts); the project's tests run by run_tests from tmp_for_test must not pick it up."""
    from numpy_wheels.build.wheeltest import run_wheel_tests

    root = tmp_path / "wheels"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\nminversion = '99'\naddopts = ['--no-such-option']\n"
    )
    (root / "config.sh").write_text(
        "function run_tests {\n"
        "    printf 'def test_one():\\n    assert True\\n' > test_x.py\n"
        "    python -m pytest -q -p no:cacheprovider test_x.py\n"
        "}\n"
    )
    wheel_dir = build_this_wheel(tmp_path / "build").parent
    hooks = Hooks(config_path=root / "config.sh", env_vars_path=root / "none.sh", root=root)
    # pytest from this environment's index cache; the wheel under test is any pure wheel.
    run_wheel_tests(
        sorted(wheel_dir.glob("*.whl")),
        hooks=hooks,
        test_depends=["pytest"],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        root=root,
    )
    assert not (root / "tmp_for_test").exists()


def test_lint_names_the_helpers_a_sourced_file_cannot_replace(
    numpy_2018: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """config.sh sources gfortran-install/gfortran_utils.sh: lint says which of its functions
    stay the tool's refusals, at config.sh's line (issue 12 tryout: lint was silent)."""
    assert main(["--root", str(numpy_2018), "lint"], env={"PATH": os.environ["PATH"]}) == 0
    out = capsys.readouterr()
    assert (
        "config.sh:4: config.sh sources gfortran-install/gfortran_utils.sh, whose get_gf_lib, "
        "get_gf_lib_for_suf, install_gfortran this tool keeps as its own"
    ) in out.out + out.err


def test_manylinux_url_reaches_multibuilds_pip_helpers_only() -> None:
    """lint's word on MANYLINUX_URL matches mb_compat.sh: pip_opts reads it (issue 12 tryout:
    lint said it was not honoured at all)."""
    script = f"source {COMPAT}\nMANYLINUX_URL=https://example.invalid/wheels pip_opts"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "--find-links https://example.invalid/wheels"
    assert "pip_opts" in NOT_HONOURED["MANYLINUX_URL"]


def test_openblas_get_without_openblas_names_the_setting() -> None:
    """The refusal names the project setting as it is written (a boolean; it named a string)."""
    script = f"source {COMPAT}\nPKG_CONFIG_PATH= openblas_get"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "(openblas = true in [tool.numpy-wheels] of pyproject.toml)" in proc.stderr


def test_hook_files_are_sourced_from_the_wheels_repository(tmp_path: Path) -> None:
    """config.sh sources a helper by a relative path (numpy-wheels' own `source
    gfortran-install/gfortran_utils.sh`): multibuild sourced it from the repository's root, so
    run_tests, which runs in tmp_for_test, sees it (issue 12 tryout: exit 12 blamed the
    wheel's tests)."""
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "helpers.sh").write_text('greet() { echo "hello from $1"; }\n')
    (tmp_path / "env_vars.sh").write_text("source ci/helpers.sh\nexport GREETING=$(greet env)\n")
    (tmp_path / "config.sh").write_text(
        "source ci/helpers.sh\n"
        'function run_tests { greet run_tests > out.txt; echo "$GREETING" >> out.txt; '
        "pwd >> out.txt; }\n"
    )
    hooks = Hooks(
        config_path=tmp_path / "config.sh", env_vars_path=tmp_path / "env_vars.sh", root=tmp_path
    )
    work = tmp_path / "tmp_for_test"
    work.mkdir()
    env = {"PATH": os.environ["PATH"]}
    exported = hooks.exported_env(env, cwd=work)
    assert exported["GREETING"] == "hello from env"
    hooks.run("run_tests", env={**env, **exported}, cwd=work)
    # the hook itself runs where it was asked to
    assert (work / "out.txt").read_text().splitlines() == [
        "hello from run_tests",
        "hello from env",
        str(work),
    ]


@pytest.mark.parametrize("where", ["config.sh", "env_vars.sh"])
def test_a_refused_helper_at_the_top_level_is_named(tmp_path: Path, where: str) -> None:
    """A refused helper called while config.sh/env_vars.sh is sourced (not in a function) is
    named with its line, by every stage that sources the files (issue 12 tryout: "command
    failed with exit code -15")."""
    (tmp_path / "config.sh").write_text("function run_tests { true; }\n")
    (tmp_path / where).write_text("# a comment\nbuild_zlib 1.2.11\necho not reached\n")
    hooks = Hooks(
        config_path=tmp_path / "config.sh", env_vars_path=tmp_path / "env_vars.sh", root=tmp_path
    )
    env = {"PATH": os.environ["PATH"]}
    said = rf"refuses: build_zlib: multibuild's library_builders.sh .* \(called at {where}:2\)"
    stages: list[Callable[[], object]] = [
        lambda: hooks.defines("pre_build", env=env, cwd=tmp_path),
        lambda: hooks.run("run_tests", env=env, cwd=tmp_path),
    ]
    if where == "env_vars.sh":
        stages.append(lambda: hooks.exported_env(env, cwd=tmp_path))
    for stage in stages:
        with pytest.raises(HookError, match=said) as info:
            stage()
        assert "exit code" not in str(info.value)


@pytest.mark.parametrize("kind", ["directory", "fifo", "broken-symlink"])
@pytest.mark.parametrize("name", ["config.sh", "env_vars.sh"])
def test_a_hook_file_that_is_no_file_is_named(tmp_path: Path, name: str, kind: str) -> None:
    """Not "config.sh is missing", and an env_vars.sh that is none is not skipped."""
    from numpy_wheels.errors import ConfigError

    (tmp_path / "config.sh").write_text("function run_tests { true; }\n")
    path = tmp_path / name
    path.unlink(missing_ok=True)
    if kind == "directory":
        path.mkdir()
        said = "is a directory"
    elif kind == "fifo":
        os.mkfifo(path)
        said = r"is a FIFO \(named pipe\)"
    else:
        path.symlink_to(tmp_path / "gone.sh")
        said = rf"is a broken symbolic link \(to {tmp_path}/gone.sh\)"
    hooks = Hooks(
        config_path=tmp_path / "config.sh", env_vars_path=tmp_path / "env_vars.sh", root=tmp_path
    )
    env = {"PATH": os.environ["PATH"]}
    for stage in (
        hooks.check,
        lambda: hooks.exported_env(env, cwd=tmp_path),
        lambda: hooks.run("run_tests", env=env, cwd=tmp_path),
    ):
        with pytest.raises(ConfigError, match=rf"{name} \(\w+_PATH\) {said}, not a file"):
            stage()


def test_a_hook_file_bash_cannot_parse_stops_the_build_at_its_line(tmp_path: Path) -> None:
    from numpy_wheels.errors import ConfigError

    (tmp_path / "config.sh").write_text("function run_tests {\n    true\n    echo (\n}\n")
    hooks = Hooks(
        config_path=tmp_path / "config.sh", env_vars_path=tmp_path / "env_vars.sh", root=tmp_path
    )
    with pytest.raises(ConfigError, match=r"config.sh:3: syntax error near unexpected token"):
        hooks.check()


def test_activate_ccache_is_the_tools_compiler_cache(tmp_path: Path) -> None:
    """With the tool's ccache on (CCACHE_DIR, and its masquerade directory of cc -> ../ccache
    links first on PATH, as build/ccache.py makes it) activate_ccache is mapped and succeeds;
    without it (and no system ccache) it is still refused (issue 12 tryout: refused with
    "ccache is not installed here" although the build compiled through the tool's)."""
    home = tmp_path / "ccache-4.14.2-x86_64"
    (home / "bin").mkdir(parents=True)
    (home / "ccache").write_text("#!/bin/sh\nexit 0\n")
    (home / "ccache").chmod(0o755)
    (home / "bin" / "cc").symlink_to(Path("..") / "ccache")
    path = f"{home / 'bin'}:{os.environ['PATH']}"
    script = f"set -e\nsource {COMPAT}\nactivate_ccache\necho after"
    on = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": path, "CCACHE_DIR": str(tmp_path / "store")},
        check=False,
    )
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == "after"
    assert "numpy-wheels: activate_ccache: the tool's compiler cache is on" in on.stderr
    if any(Path(d).is_dir() for d in ("/usr/lib/ccache", "/usr/lib64/ccache")):
        return  # a system ccache: multibuild's own activation applies
    off = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": path},  # no CCACHE_DIR: not the tool's cache
        check=False,
    )
    assert off.returncode != 0
    assert "refused: activate_ccache: ccache is not installed here" in off.stderr


def test_container_stages_source_the_hook_files_where_they_are_staged(tmp_path: Path) -> None:
    """A helper config.sh sources relative to the repository is staged with it, and the
    container drivers source config.sh from the staged repository, then run the hook where
    they were (cibuildwheel's test-command directory)."""
    from numpy_wheels.build.backends.cibuildwheel import DRIVER
    from numpy_wheels.build.portability import _stage

    root = tmp_path / "repo"
    (root / "tools").mkdir(parents=True)
    (root / "tools" / "helpers.sh").write_text('greet() { echo "hello from $1"; }\n')
    (root / "config.sh").write_text(
        "source tools/helpers.sh\n"
        "function run_tests { greet run_tests > out.txt; pwd >> out.txt; }\n"
    )
    hooks = Hooks(config_path=root / "config.sh", env_vars_path=root / "env_vars.sh", root=root)
    (tmp_path / "a.whl").write_bytes(b"")
    stage = tmp_path / "stage"
    _stage(tmp_path / "a.whl", hooks, root, stage)
    assert (stage / "repo" / "tools" / "helpers.sh").read_text() == (
        root / "tools" / "helpers.sh"
    ).read_text()
    staged = stage / "repo"
    (staged / "driver.sh").write_text(DRIVER)
    (staged / "mb_compat.sh").write_text(Path(COMPAT).read_text())
    where = tmp_path / "test-cwd"
    where.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "CONFIG_PATH": str(staged / "config.sh"),
        "ENV_VARS_PATH": str(staged / "env_vars.sh"),
    }
    proc = subprocess.run(
        ["bash", str(staged / "driver.sh"), "run_tests"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (where / "out.txt").read_text().splitlines() == ["hello from run_tests", str(where)]
