"""One reader per CI service, each turning a parsed YAML document into a ``CIFile``.

Shapes accepted are listed in records.py; each value keeps the file and line it came from.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from numpy_wheels.cifiles.records import (
    CIConfig,
    CIFile,
    EnvVar,
    Job,
    Location,
    Provider,
    split_assignments,
)
from numpy_wheels.errors import ConfigError


def _line(node: Any, key: Any, fallback: int) -> int:
    """1-based line of ``key`` (mapping key or sequence index) in a ruamel node."""
    lc = getattr(node, "lc", None)
    try:
        if isinstance(key, int) and isinstance(node, list):
            return int(lc.item(key)[0]) + 1  # type: ignore[union-attr]
        return int(lc.key(key)[0]) + 1  # type: ignore[union-attr]
    except (AttributeError, KeyError, TypeError, IndexError):
        return fallback


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _mapping_env(node: Any, path: Path, fallback: int) -> list[EnvVar]:
    """``NAME: value`` mappings (AppVeyor, Azure, GitHub, Travis mapping items)."""
    out: list[EnvVar] = []
    if not isinstance(node, Mapping):
        return out
    for name, value in node.items():
        loc = Location(path=path, line=_line(node, name, fallback))
        if isinstance(value, Mapping) and "secure" in value:
            out.append(EnvVar(name=str(name), value=None, form="secure", location=loc))
        elif isinstance(value, Mapping | list):
            msg = f"{loc}: variable {name} has a {type(value).__name__} value; expected a string"
            raise ConfigError(msg)
        else:
            out.append(EnvVar(name=str(name), value=_scalar(value), form="mapping", location=loc))
    return out


def _travis_env_items(node: Any, path: Path, fallback: int) -> list[EnvVar]:
    """A Travis env: a string, a list of strings / ``secure:`` / mapping items, or a mapping."""
    if node is None:
        return []
    if isinstance(node, str):
        return _string_env(node, Location(path=path, line=fallback))
    if isinstance(node, Mapping):
        if "secure" in node:
            return [
                EnvVar(
                    name=None,
                    value=None,
                    form="secure",
                    location=Location(path=path, line=fallback),
                )
            ]
        return _mapping_env(node, path, fallback)
    out: list[EnvVar] = []
    for i, item in enumerate(node):
        line = _line(node, i, fallback)
        if isinstance(item, Mapping):
            out.extend(_travis_env_items(item, path, line))
        else:
            out.extend(_string_env(_scalar(item), Location(path=path, line=line)))
    return out


def _string_env(text: str, loc: Location) -> list[EnvVar]:
    pairs, problem = split_assignments(text)
    out = [EnvVar(name=n, value=v, form="string", location=loc) for n, v in pairs]
    if problem is not None:
        out.append(EnvVar(name=None, value=text, form="string", location=loc, problem=problem))
    return out


def _travis_job(node: Any, path: Path, line: int, index: int) -> Job:
    env = _travis_env_items(node.get("env"), path, _line(node, "env", line))
    name = node.get("name") or " ".join(f"{v.name}={v.value}" for v in env if v.name) or str(index)
    return Job(
        name=str(name),
        env=tuple(env),
        location=Location(path=path, line=line),
        os=_scalar(node.get("os")) or None,
    )


def read_travis(path: Path, data: Any) -> CIFile:
    env_node = data.get("env")
    global_env: list[EnvVar] = []
    jobs: list[Job] = []
    if isinstance(env_node, Mapping):
        global_env = _travis_env_items(env_node.get("global"), path, _line(env_node, "global", 1))
        rows = env_node.get("matrix") or env_node.get("jobs") or []
        for i, row in enumerate(rows):
            line = _line(rows, i, 1)
            env = _travis_env_items(row, path, line)
            jobs.append(
                Job(name=_scalar(row), env=tuple(env), location=Location(path=path, line=line))
            )
    elif env_node is not None:  # a bare list: each item is a job row
        for i, row in enumerate(env_node):
            line = _line(env_node, i, 1)
            jobs.append(
                Job(
                    name=_scalar(row),
                    env=tuple(_travis_env_items(row, path, line)),
                    location=Location(path=path, line=line),
                )
            )
    excluded: list[Job] = []
    for key in ("matrix", "jobs"):
        section = data.get(key)
        if not isinstance(section, Mapping):
            continue
        for sub, target in (("include", jobs), ("exclude", excluded)):
            rows = section.get(sub) or []
            for i, row in enumerate(rows):
                if isinstance(row, Mapping):
                    target.append(_travis_job(row, path, _line(rows, i, 1), len(target)))
    # Only excludes that name env rows can match env-defined jobs (others exclude host jobs).
    excluded_envs = {_env_key(j) for j in excluded if j.env}
    kept = [j for j in jobs if _env_key(j) not in excluded_envs]
    return CIFile(
        path=path,
        provider="travis",
        global_env=tuple(global_env),
        jobs=tuple(kept),
        excluded=tuple(excluded),
    )


def _env_key(job: Job) -> frozenset[tuple[str | None, str | None]]:
    return frozenset((v.name, v.value) for v in job.env)


def read_appveyor(path: Path, data: Any) -> CIFile:
    env_node = data.get("environment") or {}
    if not isinstance(env_node, Mapping):
        msg = f"{path}: 'environment' must be a mapping"
        raise ConfigError(msg)
    line = _line(data, "environment", 1)
    if "global" in env_node or "matrix" in env_node:
        global_env = _mapping_env(env_node.get("global"), path, line)
        rows = env_node.get("matrix") or []
    else:
        global_env, rows = _mapping_env(env_node, path, line), []
    jobs = []
    for i, row in enumerate(rows):
        row_line = _line(rows, i, line)
        env = _mapping_env(row, path, row_line)
        jobs.append(
            Job(
                name=" ".join(f"{v.name}={v.value}" for v in env),
                env=tuple(env),
                location=Location(path=path, line=row_line),
                os="windows",
            )
        )
    return CIFile(path=path, provider="appveyor", global_env=tuple(global_env), jobs=tuple(jobs))


def _azure_variables(node: Any, path: Path, line: int) -> list[EnvVar]:
    if isinstance(node, list):  # [- name: X, value: Y] / [- group: …] / [- template: …]
        out = []
        for i, item in enumerate(node):
            if isinstance(item, Mapping) and "name" in item:
                out.append(
                    EnvVar(
                        name=str(item["name"]),
                        value=_scalar(item.get("value")),
                        form="mapping",
                        location=Location(path=path, line=_line(node, i, line)),
                    )
                )
        return out
    return _mapping_env(node, path, line)


def _azure_jobs(nodes: Any, path: Path) -> Iterator[Job]:
    for i, job in enumerate(nodes or []):
        if not isinstance(job, Mapping):
            continue
        line = _line(nodes, i, 1)
        if "stage" in job:
            yield from _azure_jobs(job.get("jobs"), path)
            continue
        name = str(job.get("job") or job.get("template") or i)
        base = _azure_variables(job.get("variables"), path, line)
        params = job.get("parameters") if "template" in job else None
        if isinstance(params, Mapping):
            # Template parameters: scalars are variables; a `matrix` parameter gives the rows.
            base += _mapping_env(
                {k: v for k, v in params.items() if not isinstance(v, Mapping | list)}, path, line
            )
            matrix = params.get("matrix")
        else:
            matrix = (job.get("strategy") or {}).get("matrix")
        if isinstance(matrix, Mapping) and matrix:
            for entry, row in matrix.items():
                row_line = _line(matrix, entry, line)
                yield Job(
                    name=f"{name} {entry}",
                    env=tuple(base + _mapping_env(row, path, row_line)),
                    location=Location(path=path, line=row_line),
                )
        else:
            yield Job(name=name, env=tuple(base), location=Location(path=path, line=line))


def read_azure(path: Path, data: Any) -> CIFile:
    global_env = _azure_variables(data.get("variables"), path, _line(data, "variables", 1))
    jobs = list(_azure_jobs(data.get("jobs"), path)) + list(_azure_jobs(data.get("stages"), path))
    return CIFile(path=path, provider="azure", global_env=tuple(global_env), jobs=tuple(jobs))


_MATRIX_REF = re.compile(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}")


def _matrix_rows(strategy: Any) -> list[dict[str, str]]:
    """Expand a GitHub ``strategy.matrix``: product of list keys, then include, minus exclude."""
    matrix = strategy.get("matrix") if isinstance(strategy, Mapping) else None
    if not isinstance(matrix, Mapping):
        return []
    axes = {
        k: v for k, v in matrix.items() if k not in ("include", "exclude") and isinstance(v, list)
    }
    rows = (
        [
            dict(zip(axes, (_scalar(x) for x in combo), strict=True))
            for combo in itertools.product(*axes.values())
        ]
        if axes
        else []
    )
    excludes = [{k: _scalar(v) for k, v in e.items()} for e in matrix.get("exclude") or []]
    rows = [r for r in rows if not any(e.items() <= r.items() for e in excludes)]
    for inc in matrix.get("include") or []:
        rows.append({k: _scalar(v) for k, v in inc.items()})
    return rows


def _fill_matrix(var: EnvVar, row: Mapping[str, str]) -> EnvVar:
    """Replace ``${{ matrix.NAME }}`` with the row's value (unknown names stay as written)."""
    if var.value is None:
        return var

    def lookup(match: re.Match[str]) -> str:
        return row.get(match.group(1), match.group(0))

    return dataclasses.replace(var, value=_MATRIX_REF.sub(lookup, var.value))


def read_github(path: Path, data: Any) -> CIFile:
    global_env = _mapping_env(data.get("env"), path, _line(data, "env", 1))
    jobs: list[Job] = []
    for job_id, job in (data.get("jobs") or {}).items():
        if not isinstance(job, Mapping):
            continue
        line = _line(data["jobs"], job_id, 1)
        env = _mapping_env(job.get("env"), path, _line(job, "env", line))
        rows = _matrix_rows(job.get("strategy")) or [{}]
        for row in rows:
            filled = tuple(_fill_matrix(v, row) for v in env)
            label = " ".join(f"{k}={v}" for k, v in row.items())
            jobs.append(
                Job(
                    name=f"{job_id} {label}".strip(),
                    env=filled,
                    location=Location(path=path, line=line),
                    os=row.get("os") or _scalar(job.get("runs-on")) or None,
                )
            )
    return CIFile(path=path, provider="github", global_env=tuple(global_env), jobs=tuple(jobs))


READERS: dict[Provider, Callable[[Path, Any], CIFile]] = {
    "travis": read_travis,
    "appveyor": read_appveyor,
    "azure": read_azure,
    "github": read_github,
}


# -- YAML ----------------------------------------------------------------------------------


def _load_yaml(path: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror}"
        raise ConfigError(msg) from None
    try:
        return YAML(typ="rt", pure=True).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        msg = f"{where}: not valid YAML: {problem}"
        raise ConfigError(msg) from None


def provider_of(path: Path) -> Provider | None:
    name = path.name
    if name == ".travis.yml":
        return "travis"
    if name in ("appveyor.yml", ".appveyor.yml"):
        return "appveyor"
    if name == "azure-pipelines.yml" or path.parent.name == "azure":
        return "azure"
    if path.parent.name == "workflows" and path.parent.parent.name == ".github":
        return "github"
    return None


def discover(root: Path) -> list[Path]:
    """The CI files of a wheels repository, in the order their values are reported."""
    found = [
        root / n
        for n in (".travis.yml", "appveyor.yml", ".appveyor.yml", "azure-pipelines.yml")
        if (root / n).is_file()
    ]
    for pattern in ("azure/*.yml", ".github/workflows/*.yml", ".github/workflows/*.yaml"):
        found.extend(sorted(root.glob(pattern)))
    return found


def read_file(path: Path, *, provider: Provider | None = None) -> CIFile:
    provider = provider or provider_of(path)
    if provider is None:
        msg = f"{path}: not a CI file this tool knows (Travis, AppVeyor, Azure, GitHub Actions)"
        raise ConfigError(msg)
    data = _load_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        msg = f"{path}: the top level must be a mapping, got {type(data).__name__}"
        raise ConfigError(msg)
    return READERS[provider](path, data)


def read_config(root: Path, paths: Sequence[Path] = ()) -> CIConfig:
    """Read ``paths`` (default: every CI file found under ``root``)."""
    paths = list(paths) or discover(root)
    if not paths:
        msg = (
            f"no CI files in {root} (looked for .travis.yml, appveyor.yml, "
            "azure-pipelines.yml, azure/*.yml, .github/workflows/*.yml)"
        )
        raise ConfigError(msg)
    for p in paths:
        if not p.is_file():
            msg = f"CI file {p} does not exist"
            raise ConfigError(msg)
    files = tuple(read_file(p) for p in paths)
    return CIConfig(root=root, files=files)
