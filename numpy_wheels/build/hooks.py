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

# Variables bash sets for itself; never part of what env_vars.sh "exports".
_SHELL_NOISE = frozenset({"_", "SHLVL", "PWD", "OLDPWD", "BASH_EXECUTION_STRING"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Hooks:
    config_path: Path
    env_vars_path: Path

    def _prelude(self) -> str:
        compat = resources.files("numpy_wheels").joinpath("resources/mb_compat.sh")
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
        script = f"source {shlex.quote(str(self.env_vars_path))}\nenv -0"
        out = shell(script, env=env, cwd=cwd, error=HookError, capture=True)
        after = dict(item.split("=", 1) for item in out.split("\0") if "=" in item)
        return {k: v for k, v in after.items() if k not in _SHELL_NOISE and env.get(k) != v}

    def defines(self, function: str, *, env: Mapping[str, str], cwd: Path) -> bool:
        out = shell(
            self._prelude() + f"type -t {shlex.quote(function)} || true",
            env=env,
            cwd=cwd,
            error=HookError,
            capture=True,
        )
        return out.strip() == "function"

    def run(
        self,
        function: str,
        *args: str,
        env: Mapping[str, str],
        cwd: Path,
        error: type[FatalError] = HookError,
    ) -> None:
        """Call a hook function; its failure (any failing line: set -e) raises ``error``."""
        call_line = shlex.join([function, *args])
        shell(self._prelude() + call_line, env=env, cwd=cwd, error=error)
