"""The multibuild hook contract: ``env_vars.sh`` and ``config.sh`` run through bash.

Source order as multibuild: helpers (``mb_compat.sh``) → ``$ENV_VARS_PATH`` → ``$CONFIG_PATH``,
sourced from the wheels repository's root (their relative ``source`` lines), then each hook
runs in its own working directory.
``env_vars.sh`` is also evaluated on its own and the variables it exports are passed,
explicitly and visibly, to the build and test processes (and across the container boundary),
where multibuild lost everything not on its whitelist.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path

from numpy_wheels.cifiles.checks import Finding
from numpy_wheels.cifiles.records import Location
from numpy_wheels.cmd import call, shell
from numpy_wheels.errors import ConfigError, FatalError, HookError
from numpy_wheels.files import not_a_file

COMPAT_NAME = "mb_compat.sh"

#: multibuild's helpers (common_utils.sh, travis_*_steps.sh, osx_utils.sh, manylinux_utils.sh,
#: configure_build.sh, library_builders.sh) that mb_compat.sh provides with multibuild's
#: contract. The README lists the three groups.
MB_PROVIDED = frozenset(
    {
        "abspath", "any_python", "bdist_wheel_cmd", "build_bdist_wheel", "build_pip_wheel",
        "build_wheel", "build_wheel_cmd", "check_pip", "check_python", "check_var",
        "cmd_notexit", "expect_return", "fetch_unpack", "get_distutils_platform", "get_os",
        "get_platform", "get_py_digit", "get_py_mm", "get_py_mm_nodot", "gh_clone",
        "install_run", "install_wheel", "is_function", "lex_ver", "pip_opts", "pip_wheel_cmd",
        "realpath", "relpath", "retry", "rm_mkdir", "set_opts", "start_spinner",
        "stop_spinner", "strip_ver_suffix", "suppress", "unlex_ver", "untar",
        "wrap_wheel_builder",
    }
)  # fmt: skip
#: Helpers whose step is the tool's own: they say so and succeed (``activate_ccache`` and the
#: OpenBLAS pair refuse when what they stand for is missing).
MB_MAPPED = frozenset(
    {
        "activate_ccache", "build_openblas", "clean_code", "fill_submodule", "openblas_get",
        "repair_wheelhouse", "update_env_for_build_prefix",
    }
)  # fmt: skip
# Every other multibuild helper (CI-level steps, Python installers, library_builders.sh) and
# gfortran-install's get_gf_lib/install_gfortran are refused by name, with the reason.
_REFUSED = "numpy-wheels: refused:"

# `source FILE` / `. FILE` at the start of a line, and a shell function definition.
_SOURCE_LINE = re.compile(r"^\s*(?:source|\.)\s+(['\"]?)([^\s'\";&|$]+)\1\s*(?:[;#]|$)")
_FUNCTION = re.compile(r"^\s*(?:function\s+([A-Za-z_][\w-]*)|([A-Za-z_][\w-]*)\s*\(\s*\))", re.M)

# Variables bash sets for itself; never part of what env_vars.sh "exports".
_SHELL_NOISE = frozenset({"_", "SHLVL", "PWD", "OLDPWD", "BASH_EXECUTION_STRING"})
# bash -n's message: "config.sh: line 5: syntax error near unexpected token `}'".
_BASH_ERROR = re.compile(r": line (\d+): (.*)$")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Hooks:
    config_path: Path
    env_vars_path: Path
    #: The wheels repository: multibuild sourced env_vars.sh and config.sh from there, so
    #: their relative ``source helpers.sh`` work whatever directory a hook runs in.
    root: Path

    def _prelude(self, cwd: Path) -> str:
        self.check_files()
        compat = resources.files("numpy_wheels").joinpath(f"resources/{COMPAT_NAME}")
        config, env_vars = str(self.config_path.absolute()), str(self.env_vars_path.absolute())
        lines = [f"cd {shlex.quote(str(self.root))}", f"source {shlex.quote(str(compat))}"]
        if self.env_vars_path.is_file():
            lines.append(f"source {shlex.quote(env_vars)}")
        if self.config_path.is_file():
            lines.append(f"source {shlex.quote(config)}")
        # helper files config.sh sources (gfortran-install, multibuild) do not replace the
        # tool's mapped and refused helpers (issue 12 tryout)
        lines.append(f"_mb_keep_stubs {shlex.join((config, env_vars))}")
        lines.append(f"cd {shlex.quote(str(cwd.absolute()))}")
        return "\n".join(lines) + "\n"

    def check_files(self) -> None:
        """ConfigError when ``env_vars.sh`` or ``config.sh`` exists but is no regular file
        (a directory, a FIFO, a broken symlink): not taken for a missing file (files.py's
        ``not_a_file`` words, as for the CI files)."""
        for path, variable in (
            (self.env_vars_path, "ENV_VARS_PATH"),
            (self.config_path, "CONFIG_PATH"),
        ):
            kind = not_a_file(path)
            if kind is not None and kind != "missing":
                msg = f"{path} ({variable}) is {kind}, not a file: it must be a bash script"
                raise ConfigError(msg)

    def check(self) -> None:
        """Before a build: config.sh exists, both hook files are regular files that bash can
        parse (``bash -n``); else ConfigError naming the file (and the line)."""
        self.check_files()
        if not self.config_path.is_file():
            msg = f"{self.config_path} is missing: it defines the run_tests hook (CONFIG_PATH)"
            raise ConfigError(msg)
        for path in (self.env_vars_path, self.config_path):
            problem = syntax_error(path)
            if problem is not None:
                msg = f"{path}:{problem[0]}: {problem[1]} (bash -n {path.name})"
                raise ConfigError(msg)

    def exported_env(self, env: Mapping[str, str], *, cwd: Path) -> dict[str, str]:
        """The variables ``env_vars.sh`` exports or changes, given ``env``."""
        self.check_files()
        if not self.env_vars_path.is_file():
            return {}
        compat = resources.files("numpy_wheels").joinpath(f"resources/{COMPAT_NAME}")
        script = (
            f"cd {shlex.quote(str(self.root))}\n"
            f"source {shlex.quote(str(compat))}\n"
            f"source {shlex.quote(str(self.env_vars_path.absolute()))}\nenv -0"
        )
        doing = f"sourcing {self.env_vars_path.name}"
        out = _hook_shell(script, doing=doing, env=env, cwd=cwd, error=HookError, capture=True)
        after = dict(item.split("=", 1) for item in out.split("\0") if "=" in item)
        return {k: v for k, v in after.items() if k not in _SHELL_NOISE and env.get(k) != v}

    def defines(self, function: str, *, env: Mapping[str, str], cwd: Path) -> bool:
        """True when ``env_vars.sh``/``config.sh`` define ``function`` (mb_compat.sh's own
        definitions, such as the default ``build_wheel``, do not count)."""
        out = _hook_shell(
            self._prelude(cwd) + f"shopt -s extdebug\ndeclare -F {shlex.quote(function)} || true",
            doing=f"sourcing {self.env_vars_path.name} and {self.config_path.name}",
            env=env,
            cwd=cwd,
            error=HookError,
            capture=True,
        )
        fields = out.strip().split(" ", 2)
        return len(fields) == 3 and Path(fields[2]).name != COMPAT_NAME

    def run(
        self,
        function: str,
        *args: str,
        env: Mapping[str, str],
        cwd: Path,
        error: type[FatalError] = HookError,
    ) -> None:
        """Call a hook function (env_vars.sh and config.sh sourced from the wheels repository,
        then ``cd cwd``); its failure (any failing line: set -e) raises ``error``.

        A multibuild helper that this tool refuses (mb_compat.sh) is named in the error."""
        _hook_shell(
            self._prelude(cwd) + shlex.join([function, *args]),
            doing=f"{function} (from {self.config_path.name})",
            env=env,
            cwd=cwd,
            error=error,
        )


def _hook_shell(
    script: str,
    *,
    doing: str,
    env: Mapping[str, str],
    cwd: Path,
    error: type[FatalError],
    capture: bool = False,
) -> str:
    """``shell`` for a script that sources the hook files: a refused multibuild helper
    (wherever it is called: in a hook function or at the top level of config.sh, where its
    TERM used to surface as "exit code -15") is named in the error, as ``DOING called …``."""
    try:
        return shell(script, env=env, cwd=cwd, error=error, capture=capture)
    except FatalError as exc:
        refused = [line for line in exc.output.splitlines() if _REFUSED in line]
        if not refused:
            raise
        detail = refused[-1].split(_REFUSED, 1)[1].strip()
        msg = f"{doing} called a multibuild helper this tool refuses: {detail}"
        raise error(msg) from None


def syntax_error(path: Path) -> tuple[int, str] | None:
    """The first line bash cannot parse in ``path`` (``bash -n``) and bash's words for it;
    None for a file bash parses, or no regular file (``Hooks.check_files`` names those).

    Raises CommandNotFoundError (exit 14) without bash."""
    if not path.is_file():
        return None
    try:
        call("bash", "-n", str(path), env=os.environ, capture=True, echo=False, error=HookError)
    except HookError as exc:
        for line in exc.output.splitlines():
            match = _BASH_ERROR.search(line)
            if match is not None:
                return int(match.group(1)), match.group(2)
        return 1, exc.output.strip().splitlines()[-1] if exc.output.strip() else "bash -n failed"
    return None


def stub_names() -> frozenset[str]:
    """The helpers mb_compat.sh maps or refuses (its ``_MB_STUBS``), which stay the tool's
    even when config.sh sources a file that defines them."""
    compat = resources.files("numpy_wheels").joinpath(f"resources/{COMPAT_NAME}")
    script = f'source {shlex.quote(str(compat))}\nprintf "%s\\n" "${{!_MB_STUBS[@]}}"'
    out = call("bash", "-c", script, env=os.environ, capture=True, echo=False, error=HookError)
    return frozenset(out.split())


def _source_lines(hooks: Hooks) -> Iterator[tuple[Path, int, str]]:
    """Each ``source FILE`` / ``. FILE`` line of ``env_vars.sh``/``config.sh``: the hook file,
    the line number and FILE as written."""
    for hook_file in (hooks.env_vars_path, hooks.config_path):
        if not hook_file.is_file():
            continue
        lines = hook_file.read_text(encoding="utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, 1):
            match = _SOURCE_LINE.match(line)
            if match is not None:
                yield hook_file, number, match.group(2)


def sourced_files(hooks: Hooks) -> list[Path]:
    """The files ``env_vars.sh``/``config.sh`` source by a path inside the wheels repository
    (``source ci/helpers.sh``), relative to its root: staged with the hook files for a
    container, where they are sourced from the staged copy as from the repository."""
    found: dict[Path, None] = {}
    root = hooks.root.resolve()
    for _, _, sourced in _source_lines(hooks):
        if sourced.startswith("/"):
            continue
        target = (root / sourced).resolve()
        if target.is_file() and target.is_relative_to(root):
            found[target.relative_to(root)] = None
    return list(found)


def sourced_helper_findings(hooks: Hooks) -> list[Finding]:
    """A warning for each file ``env_vars.sh``/``config.sh`` source (relative to the wheels
    repository, where hooks are sourced) that defines helpers the tool keeps as its own:
    numpy-wheels' config.sh sources gfortran-install's gfortran_utils.sh, whose get_gf_lib
    is refused (issue 12 tryout: lint was silent, the build failed later)."""
    findings = []
    stubs: frozenset[str] | None = None
    for hook_file, number, sourced in _source_lines(hooks):
        target = hooks.root / sourced
        if not target.is_file():
            continue
        text = target.read_text(encoding="utf-8", errors="replace")
        stubs = stub_names() if stubs is None else stubs
        kept = sorted({a or b for a, b in _FUNCTION.findall(text)} & stubs)
        if kept:
            findings.append(_kept_finding(hook_file, number, sourced, kept))
    return findings


def hook_file_findings(hooks: Hooks) -> list[Finding]:
    """lint's word on the hook files themselves: a line bash cannot parse is an error at
    ``file:line`` (the build stops on it before any work). A hook file that is no regular file
    raises ConfigError, as a CI file does."""
    hooks.check_files()
    findings = []
    for path in (hooks.env_vars_path, hooks.config_path):
        problem = syntax_error(path)
        if problem is not None:
            findings.append(
                Finding(
                    kind="hook-syntax",
                    message=f"{path.name}: bash cannot parse it: {problem[1]}",
                    locations=(Location(path=path, line=problem[0]),),
                )
            )
    return findings


def _kept_finding(hook_file: Path, line: int, sourced: str, kept: list[str]) -> Finding:
    return Finding(
        kind="sourced-helpers",
        message=(
            f"{hook_file.name} sources {sourced}, whose {', '.join(kept)} this tool keeps as "
            "its own (mapped or refused multibuild helpers: the build says which, and why, "
            "when a hook calls one); define them in the hook file itself to override"
        ),
        locations=(Location(path=hook_file, line=line),),
        severity="warning",
    )
