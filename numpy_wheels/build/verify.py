"""``verify``: rebuild a wheel from its provenance record and compare the bytes.

The record is the wheel's entry in ``build-summary.json`` (schema:
``resources/provenance.schema.json``). Before anything is built, the recipe this wheels
repository holds now is compared with the record's (hooks, commit, OpenBLAS pin, config
settings): a difference there is a configuration problem, not a reproducibility one. After the
rebuild, a difference in bytes is shown member by member (and with diffoscope when installed).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from numpy_wheels.build.determinism import build_variables
from numpy_wheels.errors import ConfigError, ReproducibilityError
from numpy_wheels.files import load_json, member_sha256, sha256_of
from numpy_wheels.log import log


@dataclasses.dataclass(frozen=True, kw_only=True)
class Provenance:
    """A wheel's provenance: the whole summary of the build that made it, and its entry."""

    summary: Mapping[str, Any]
    record: Mapping[str, Any]
    where: str  # the file it was read from

    @property
    def reproducibility(self) -> Mapping[str, Any]:
        value = self.record.get("reproducibility")
        return value if isinstance(value, dict) else {}


def read_provenance(text: str, *, wheel_name: str, where: str) -> Provenance:
    """The entry for ``wheel_name`` in a build summary; a ConfigError when there is none."""
    summary: Any = load_json(text, where=where, error=ConfigError)
    wheels = summary.get("wheels") if isinstance(summary, dict) else None
    if not isinstance(wheels, list):
        msg = f"{where} is not a build summary (no 'wheels' list)"
        raise ConfigError(msg)
    entries = [w for w in wheels if isinstance(w, dict) and w.get("wheel") == wheel_name]
    if not entries:
        msg = f"{where} has no record of {wheel_name}"
        raise ConfigError(msg)
    record = entries[0]
    if not isinstance(record.get("reproducibility"), dict):
        msg = (
            f"{where}: the record of {wheel_name} has no 'reproducibility' block (made by an "
            "older numpy-wheels): it does not say how to rebuild the wheel"
        )
        raise ConfigError(msg)
    return Provenance(summary=summary, record=record, where=where)


def rebuild_env(provenance: Provenance, env: Mapping[str, str], cache: Path) -> dict[str, str]:
    """The environment of the rebuild: the caller's, a clean cache, and what the record says
    crossed into the build (the process's build variables, SOURCE_DATE_EPOCH, the mode)."""
    repro = provenance.reproducibility
    out = {k: v for k, v in env.items() if not build_variables({k: v})}
    out.update({str(k): str(v) for k, v in (repro.get("build_variables") or {}).items()})
    out["NUMPY_WHEELS_CACHE"] = str(cache)
    out["SOURCE_DATE_EPOCH"] = str(repro["source_date_epoch"])
    place = repro.get("build_place")
    if isinstance(place, str) and place:
        out["NUMPY_WHEELS_BUILD_BASE"] = str(Path(place).parent)
    commit = provenance.summary.get("commit")
    if isinstance(commit, dict) and commit.get("mode") == "daily":
        out["NUMPY_WHEELS_MODE"] = "daily"
    return out


def recipe_differences(
    provenance: Provenance,
    *,
    hooks: Mapping[str, str | None],
    commit: str,
    config_settings: Mapping[str, object],
) -> list[str]:
    """How the wheels repository's recipe now differs from the record's (empty: the same)."""
    repro = provenance.reproducibility
    out = []
    recorded_hooks = repro.get("hooks") or {}
    for name, sha in sorted(hooks.items()):
        if name in recorded_hooks and recorded_hooks[name] != sha:
            out.append(
                f"{name}: sha256 {str(sha)[:16]}… here, {str(recorded_hooks[name])[:16]}… "
                "in the record"
            )
    recorded_commit = (provenance.summary.get("commit") or {}).get("commit")
    if recorded_commit is not None and recorded_commit != commit:
        out.append(f"the CI files build {commit}; the record built {recorded_commit}")
    recorded_settings = repro.get("config_settings")
    if recorded_settings is not None and _jsonable(recorded_settings) != _jsonable(config_settings):
        out.append(f"config-settings are {config_settings!r}; the record's {recorded_settings!r}")
    return out


def _jsonable(value: object) -> object:
    return json.loads(json.dumps(value))


def member_hashes(wheel: Path) -> dict[str, str]:
    """sha256 of every member of a wheel, by name (streamed: a wheel from a URL is not
    trusted to be small inside)."""
    with zipfile.ZipFile(wheel) as zf:
        return {i.filename: member_sha256(zf, i).hex() for i in zf.infolist() if not i.is_dir()}


def member_diff(published: Path, rebuilt: Path) -> list[tuple[str, str]]:
    """(how, member) for each member that differs: ``changed``, ``only in the wheel``,
    ``only in the rebuild`` (empty when only the zip container differs)."""
    a, b = member_hashes(published), member_hashes(rebuilt)
    out = [("changed", n) for n in sorted(a.keys() & b.keys()) if a[n] != b[n]]
    out += [("only in the wheel", n) for n in sorted(a.keys() - b.keys())]
    out += [("only in the rebuild", n) for n in sorted(b.keys() - a.keys())]
    return out


def diffoscope(published: Path, rebuilt: Path, env: Mapping[str, str]) -> str | None:
    """diffoscope's text report when it is installed (None otherwise)."""
    program = shutil.which("diffoscope", path=env.get("PATH"))
    if program is None:
        return None
    proc = subprocess.run(
        [program, "--text", "-", str(published), str(rebuilt)],
        env=dict(env),
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
        timeout=600,
    )
    return proc.stdout[-20000:]


def compare(published: Path, rebuilt: Path, *, env: Mapping[str, str]) -> dict[str, object]:
    """Equal sha256, or a ReproducibilityError naming the members that differ."""
    want, got = sha256_of(published), sha256_of(rebuilt)
    if want == got:
        log.write(f"reproduced: {published.name} sha256 {want}")
        return {"wheel": published.name, "sha256": want, "reproduced": True, "members": []}
    diff = member_diff(published, rebuilt)
    log.write(f"{published.name}: sha256 {want}; the rebuild's {got}")
    for how, name in diff:
        log.write(f"  {how:<20} {name}")
    if not diff:
        log.write("  no member differs: only the zip container (order, dates, modes)")
    report = diffoscope(published, rebuilt, env)
    if report:
        log.write("diffoscope:\n" + report)
    else:
        log.write("(diffoscope is not installed: per-member hashes only)")
    names = [name for _, name in diff]
    msg = (
        f"{published.name} is not what its provenance rebuilds: "
        + (f"{len(names)} member(s) differ: {', '.join(names[:20])}" if names else "zip container")
        + f" (rebuilt wheel: {rebuilt})"
    )
    raise ReproducibilityError(msg)
