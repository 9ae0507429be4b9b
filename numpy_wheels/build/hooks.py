"""The multibuild hook contract: ``env_vars.sh`` and ``config.sh`` run through bash.

Source order as multibuild: helpers (``mb_compat.sh``) → ``$ENV_VARS_PATH`` → ``$CONFIG_PATH``.
``env_vars.sh`` is also evaluated on its own and the variables it exports are passed,
explicitly and visibly, to the build and test processes (and across the container boundary),
where multibuild lost everything not on its whitelist.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from numpy_wheels.cmd import shell
from numpy_wheels.errors import ConfigError, FatalError, HookError

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

# Variables bash sets for itself; never part of what env_vars.sh "exports".
_SHELL_NOISE = frozenset({"_", "SHLVL", "PWD", "OLDPWD", "BASH_EXECUTION_STRING"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Hooks:
    config_path: Path
    env_vars_path: Path

    def _prelude(self) -> str:
        compat = resources.files("numpy_wheels").joinpath(f"resources/{COMPAT_NAME}")
        lines = [f"source {shlex.quote(str(compat))}"]
        if self.env_vars_path.is_file():
            lines.append(f"source {shlex.quote(str(self.env_vars_path))}")
        if self.config_path.is_file():
            lines.append(f"source {shlex.quote(str(self.config_path))}")
        return "\n".join(lines) + "\n"

    def check(self) -> None:
        if not self.config_path.is_file():
            msg = f"{self.config_path} is missing: it defines the run_tests hook (CONFIG_PATH)"
            raise ConfigError(msg)

    def exported_env(self, env: Mapping[str, str], *, cwd: Path) -> dict[str, str]:
        """The variables ``env_vars.sh`` exports or changes, given ``env``."""
        if not self.env_vars_path.is_file():
            return {}
        compat = resources.files("numpy_wheels").joinpath(f"resources/{COMPAT_NAME}")
        script = (
            f"source {shlex.quote(str(compat))}\n"
            f"source {shlex.quote(str(self.env_vars_path))}\nenv -0"
        )
        out = shell(script, env=env, cwd=cwd, error=HookError, capture=True)
        after = dict(item.split("=", 1) for item in out.split("\0") if "=" in item)
        return {k: v for k, v in after.items() if k not in _SHELL_NOISE and env.get(k) != v}

    def defines(self, function: str, *, env: Mapping[str, str], cwd: Path) -> bool:
        """True when ``env_vars.sh``/``config.sh`` define ``function`` (mb_compat.sh's own
        definitions, such as the default ``build_wheel``, do not count)."""
        out = shell(
            self._prelude() + f"shopt -s extdebug\ndeclare -F {shlex.quote(function)} || true",
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
        """Call a hook function; its failure (any failing line: set -e) raises ``error``.

        A multibuild helper that this tool refuses (mb_compat.sh) is named in the error."""
        call_line = shlex.join([function, *args])
        try:
            shell(self._prelude() + call_line, env=env, cwd=cwd, error=error)
        except FatalError as exc:
            refused = [line for line in exc.output.splitlines() if _REFUSED in line]
            if not refused:
                raise
            detail = refused[-1].split(_REFUSED, 1)[1].strip()
            msg = (
                f"{function} (from {self.config_path.name}) called a multibuild helper this "
                f"tool refuses: {detail}"
            )
            raise error(msg) from None
