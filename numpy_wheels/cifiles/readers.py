"""One reader per CI service, each turning a parsed YAML document into a ``CIFile``.

Shapes accepted are listed in records.py; each value keeps the file and line it came from.

Values are the text the author wrote, never a number re-rendered: the YAML is loaded with a
constructor that keeps every scalar as its text (``680841e1`` stays ``680841e1``, not the
float ``6808410.0``; ``3.10`` stays ``3.10``, not ``3.1``), and notes what YAML 1.1 (Travis's
Ruby) or YAML 1.2 (GitHub Actions) would read a plain one as (``scalars.describe``), or the
type an explicit tag gives (``!!str`` a string), so ``lint`` can ask for quotes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import math
import re
import warnings
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
from numpy_wheels.cifiles.scalars import describe, tagged
from numpy_wheels.cifiles.spans import separating_tabs
from numpy_wheels.errors import ConfigError
from numpy_wheels.files import not_a_file, read_config_text


def _line(node: Any, key: Any, fallback: int) -> int:
    """1-based line of ``key`` (mapping key or sequence index) in a ruamel node."""
    lc = getattr(node, "lc", None)
    try:
        if isinstance(key, int) and isinstance(node, list):
            return int(lc.item(key)[0]) + 1  # type: ignore[union-attr]
        return int(lc.key(key)[0]) + 1  # type: ignore[union-attr]
    except (AttributeError, KeyError, TypeError, IndexError):
        return fallback


class Text(str):
    """A plain YAML scalar as written, with what a YAML loader would have made of it.

    ``yaml_type``: what YAML 1.1/1.2 read instead of the string (``scalars.describe``), or None
    when every loader reads a string; ``line``: 1-based line of the scalar.
    """

    yaml_type: str | None = None
    tag: str | None = None  # an explicit tag as written (``!!float``)
    line: int = 0


def _construct_text(constructor: Any, node: Any) -> Text:
    del constructor
    # ruamel's round-trip parser marks where a folded (``>``) scalar was folded with "\a";
    # its own constructor removes them, so must this one (they are no part of the value).
    text = Text(node.value.replace("\a", "") if node.style == ">" else node.value)
    handle = getattr(node.ctag, "handle", None)
    if handle is not None:  # an explicit tag (``!!str 680841e1``) decides the type
        text.yaml_type = tagged(f"{handle}{node.ctag.suffix}", node.value)
        text.tag = f"{handle}{node.ctag.suffix}"
    elif node.style is None:
        text.yaml_type = describe(node.value) if node.value else None
    text.line = node.start_mark.line + 1
    return text


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value  # a Text keeps its yaml_type and line
    return str(value)


def _typed(value: Any) -> str | None:
    return getattr(value, "yaml_type", None)


def _kind(node: Any) -> str:
    if isinstance(node, Mapping):
        return "a mapping"
    if isinstance(node, list):
        return "a list"
    if node is None:
        return "empty"
    return f"the scalar {str(node)[:40]!r}"


def _expect(node: Any, kind: type | tuple[type, ...], what: str, path: Path, line: int) -> Any:
    """``node`` if it has the shape the reader needs; else a ConfigError naming file:line.

    ``None`` (an empty key) reads as empty. Readers call this on every node they walk into,
    so a wrong shape is a message, never an AttributeError/TypeError."""
    if node is None:
        return {} if kind is Mapping or kind == (Mapping,) else []
    if isinstance(node, kind):
        return node
    names: dict[object, str] = {Mapping: "a mapping", list: "a list", str: "a string"}
    wanted = " or ".join(
        names.get(k, k.__name__) for k in (kind if isinstance(kind, tuple) else (kind,))
    )
    msg = f"{Location(path=path, line=line)}: {what} must be {wanted}, not {_kind(node)}"
    raise ConfigError(msg)


def _mapping_env(node: Any, path: Path, fallback: int, what: str = "env") -> list[EnvVar]:
    """``NAME: value`` mappings (AppVeyor, Azure, GitHub, Travis mapping items)."""
    out: list[EnvVar] = []
    node = _expect(node, Mapping, what, path, fallback)
    for name, value in node.items():
        loc = Location(path=path, line=_line(node, name, fallback))
        if not isinstance(name, str) or not name:
            msg = f"{loc}: variable name {name!r} is not a string"
            raise ConfigError(msg)
        if isinstance(value, Mapping) and "secure" in value:
            out.append(EnvVar(name=str(name), value=None, form="secure", location=loc))
        elif isinstance(value, Mapping | list):
            msg = f"{loc}: variable {name} has a {type(value).__name__} value; expected a string"
            raise ConfigError(msg)
        else:
            out.append(
                EnvVar(
                    name=str(name),
                    value=_scalar(value),
                    form="mapping",
                    location=loc,
                    yaml_type=_typed(value),
                    yaml_tag=getattr(value, "tag", None),
                )
            )
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
    for i, item in enumerate(_expect(node, list, "env", path, fallback)):
        line = _line(node, i, fallback)
        if isinstance(item, Mapping):
            out.extend(_travis_env_items(item, path, line))
        elif isinstance(item, list):
            _expect(item, (str, Mapping), "an env item", path, line)
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
    _expect(node.get("name"), (str, int, float), "a job name", path, line)
    _expect(node.get("os"), (str,), "a job os", path, line)
    name = node.get("name") or " ".join(f"{v.name}={v.value}" for v in env if v.name) or str(index)
    return Job(
        name=str(name),
        env=tuple(env),
        location=Location(path=path, line=line),
        os=_scalar(node.get("os")) or None,
    )


def read_travis(path: Path, data: Any) -> CIFile:
    env_node = _expect(data.get("env"), (Mapping, list, str), "env", path, _line(data, "env", 1))
    global_env: list[EnvVar] = []
    jobs: list[Job] = []
    if isinstance(env_node, str):
        global_env = _travis_env_items(env_node, path, _line(data, "env", 1))
    elif isinstance(env_node, Mapping):
        global_env = _travis_env_items(env_node.get("global"), path, _line(env_node, "global", 1))
        key = "matrix" if "matrix" in env_node else "jobs"
        rows = _expect(env_node.get(key), list, f"env.{key}", path, _line(env_node, key, 1))
        for i, row in enumerate(rows):
            line = _line(rows, i, 1)
            env = _travis_env_items(row, path, line)
            jobs.append(
                Job(name=_scalar(row), env=tuple(env), location=Location(path=path, line=line))
            )
    else:  # a bare list: each item is a job row
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
        section = _expect(data.get(key), Mapping, key, path, _line(data, key, 1))
        for sub, target in (("include", jobs), ("exclude", excluded)):
            line = _line(section, sub, 1)
            rows = _expect(section.get(sub), list, f"{key}.{sub}", path, line)
            for i, row in enumerate(rows):
                row_line = _line(rows, i, line)
                _expect(row, Mapping, f"{key}.{sub} item", path, row_line)
                target.append(_travis_job(row, path, row_line, len(target)))
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
    line = _line(data, "environment", 1)
    env_node = _expect(data.get("environment"), Mapping, "environment", path, line)
    if "global" in env_node or "matrix" in env_node:
        global_env = _mapping_env(
            env_node.get("global"), path, _line(env_node, "global", line), "environment.global"
        )
        rows_line = _line(env_node, "matrix", line)
        rows = _expect(env_node.get("matrix"), list, "environment.matrix", path, rows_line)
    else:
        global_env, rows = _mapping_env(env_node, path, line, "environment"), []
    jobs = []
    for i, row in enumerate(rows):
        row_line = _line(rows, i, line)
        env = _mapping_env(row, path, row_line, "environment.matrix item")
        jobs.append(
            Job(
                name=" ".join(f"{v.name}={v.value}" for v in env),
                env=tuple(env),
                location=Location(path=path, line=row_line),
                os="windows",
            )
        )
    return CIFile(path=path, provider="appveyor", global_env=tuple(global_env), jobs=tuple(jobs))


_PARAMETER = re.compile(r"\$\{\{\s*parameters\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
#: Azure's own limit on nested templates ("up to 20 levels of nesting").
MAX_TEMPLATE_DEPTH = 20


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Scope:
    """Where an Azure job list is read: its file, and the template parameters in force
    (the caller's values over the template's defaults; a pipeline's own defaults at the top)."""

    path: Path
    params: Mapping[str, Any]
    caller: Path  # the file the parameter values are written in (the matrix rows' file)
    base: Path  # the directory its templates are found from (the file's own, as Azure's)
    depth: int = 0
    used: list[Path] = dataclasses.field(default_factory=list)  # templates read, shared


def _literal(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and "${{" not in str(value)


def _substitute(value: Any, params: Mapping[str, Any]) -> Any:
    """``${{ parameters.X }}`` replaced by the parameter's value where that value is a literal
    (a whole-value reference may also give a mapping, e.g. a ``matrix`` parameter); anything
    else stays as written, for the service to expand at run time.

    >>> _substitute("${{ parameters.name }}", {"name": "linux"})
    'linux'
    >>> _substitute("py-${{ parameters.v }}-${{ parameters.x }}", {"v": "3.8"})
    'py-3.8-${{ parameters.x }}'
    """
    if not isinstance(value, str) or "${{" not in value:
        return value
    whole = _PARAMETER.fullmatch(value.strip())
    if whole and whole.group(1) in params:
        found = params[whole.group(1)]
        return found if _literal(found) or isinstance(found, Mapping) else value

    def one(match: re.Match[str]) -> str:
        found = params.get(match.group(1))
        return _scalar(found) if _literal(found) else match.group(0)

    return _PARAMETER.sub(one, value)


def _declared_parameters(node: Any, path: Path, line: int) -> dict[str, Any]:
    """A template's (or pipeline's) ``parameters:`` defaults: the old mapping form
    (``name: default``) or the typed list (``- name: x`` / ``default: y``)."""
    if isinstance(node, list):
        out: dict[str, Any] = {}
        for i, item in enumerate(node):
            _expect(item, Mapping, "a parameters item", path, _line(node, i, line))
            if item.get("name") is not None:
                out[str(item["name"])] = item.get("default")
        return out
    return dict(_expect(node, Mapping, "parameters", path, line))


def _azure_variables(node: Any, path: Path, line: int, scope: _Scope | None = None) -> list[EnvVar]:
    params = scope.params if scope is not None else {}
    if isinstance(node, list):  # [- name: X, value: Y] / [- group: …] / [- template: …]
        out = []
        for i, item in enumerate(node):
            _expect(item, Mapping, "a variables item", path, _line(node, i, line))
            if "name" in item:
                value = item.get("value")
                _expect(value, (str, int, float, bool, type(None)), "a variable value", path, line)
                out.append(
                    _substituted(
                        EnvVar(
                            name=str(item["name"]),
                            value=_scalar(value),
                            form="mapping",
                            location=Location(path=path, line=_line(node, i, line)),
                            yaml_type=_typed(value),
                            yaml_tag=getattr(value, "tag", None),
                        ),
                        params,
                        scope,
                    )
                )
        return out
    return [_substituted(v, params, scope) for v in _mapping_env(node, path, line, "variables")]


def _substituted(var: EnvVar, params: Mapping[str, Any], scope: _Scope | None) -> EnvVar:
    """``var`` with its ``${{ parameters.X }}`` filled from literal parameters; a value taken
    whole from a number-looking parameter notes where that parameter is written (for lint)."""
    if var.value is None or scope is None or "${{" not in var.value:
        return var
    value = _substitute(var.value, params)
    if not isinstance(value, str):  # a mapping where a variable needs a string: as written
        return var
    out = dataclasses.replace(var, value=_scalar(value))
    if _typed(value) and var.yaml_type is None:
        line = getattr(value, "line", 0) or 1
        out = dataclasses.replace(
            out,
            yaml_type=_typed(value),
            typed_at=Location(path=scope.caller, line=line),
            yaml_tag=getattr(value, "tag", None),
        )
    return out


def _matrix_rows_azure(matrix: Any, scope: _Scope, line: int) -> list[tuple[str, Any, Location]]:
    """The rows of an Azure ``strategy.matrix``: literal entries (in the file read) and those a
    ``${{ insert }}: ${{ parameters.matrix }}`` brings from the caller's ``matrix`` parameter
    (written in the caller's file). A runtime expression gives no rows here."""
    matrix = _substitute(matrix, scope.params)
    if not isinstance(matrix, Mapping):
        return []
    rows: list[tuple[str, Any, Location]] = []
    for key, value in matrix.items():
        if not str(key).lstrip().startswith("${{"):
            where = Location(path=scope.path, line=_line(matrix, key, line))
            rows.append((str(key), value, where))
            continue
        inserted = _substitute(value, scope.params) if "insert" in str(key) else None
        if isinstance(inserted, Mapping):  # the caller's matrix parameter
            rows.extend(
                (str(k), v, Location(path=scope.caller, line=_line(inserted, k, line)))
                for k, v in inserted.items()
            )
    return rows


def _azure_template(job: Mapping[str, Any], scope: _Scope, line: int) -> Iterator[Job]:
    """The jobs of a ``- template: FILE`` item, as Azure expands them: the template's own
    jobs and variables, its ``${{ parameters.X }}`` filled from the item's ``parameters:``
    (over the template's defaults). Template parameters are not variables. A template in
    another repository (``FILE@repo``), or one not there, gives a job per row of the item's
    ``matrix`` parameter with only the row's variables."""
    ref = str(job.get("template"))
    given = _expect(job.get("parameters"), Mapping, "template parameters", scope.path, line)
    params = {k: _substitute(v, scope.params) for k, v in given.items()}
    target = scope.base / ref.lstrip("/")
    if "@" not in ref and target.is_file():
        if scope.depth >= MAX_TEMPLATE_DEPTH:
            msg = f"{Location(path=scope.path, line=line)}: templates nested deeper than "
            msg += f"{MAX_TEMPLATE_DEPTH} levels (Azure's limit)"
            raise ConfigError(msg)
        scope.used.append(target)
        data = _load_yaml(target)
        data = _expect(data, Mapping, "a template", target, 1)
        defaults = _declared_parameters(data.get("parameters"), target, 1)
        inner = _Scope(
            path=target,
            params={**defaults, **params},
            caller=scope.path,
            base=target.parent,
            depth=scope.depth + 1,
            used=scope.used,
        )
        for key in ("jobs", "stages"):
            yield from _azure_jobs(data.get(key), inner, key, _line(data, key, 1))
        return
    os_label = _image(params.get("vmImage"))
    name = (params.get("name") if _literal(params.get("name")) else None) or ref
    rows = _matrix_rows_azure(params.get("matrix"), scope, line)
    for entry, row, where in rows:
        env = _mapping_env(row, where.path, where.line, f"matrix entry {entry}")
        yield Job(name=f"{name} {entry}", env=tuple(env), location=where, os=os_label)
    if not rows:
        yield Job(
            name=str(name), env=(), location=Location(path=scope.path, line=line), os=os_label
        )


def _azure_jobs(nodes: Any, scope: _Scope, what: str, line: int) -> Iterator[Job]:
    path = scope.path
    nodes = _expect(nodes, list, what, path, line)
    for i, job in enumerate(nodes):
        line = _line(nodes, i, line)
        _expect(job, Mapping, f"a {what} item", path, line)
        if "stage" in job:
            yield from _azure_jobs(job.get("jobs"), scope, "jobs", _line(job, "jobs", line))
            continue
        if "template" in job:
            yield from _azure_template(job, scope, line)
            continue
        written = _substitute(job.get("job") or job.get("deployment"), scope.params)
        name = str(written) if _literal(written) and str(written) else str(job.get("job") or i)
        base = _azure_variables(job.get("variables"), path, line, scope)
        pool = job.get("pool")
        image = _substitute(
            pool.get("vmImage") if isinstance(pool, Mapping) else None, scope.params
        )
        os_label = _image(image)
        strategy_line = _line(job, "strategy", line)
        strategy = _expect(job.get("strategy"), Mapping, "strategy", path, strategy_line)
        matrix = strategy.get("matrix")
        if not isinstance(matrix, str):
            _expect(matrix, Mapping, "strategy.matrix", path, strategy_line)
        rows = _matrix_rows_azure(matrix, scope, strategy_line)
        for entry, row, where in rows:
            env = _mapping_env(row, where.path, where.line, f"matrix entry {entry}")
            # Azure's precedence: a matrix entry's variables over the job's (the template's)
            # over the pipeline's; later definitions win when the environment is built.
            yield Job(name=f"{name} {entry}", env=tuple(base + env), location=where, os=os_label)
        if not rows:
            yield Job(
                name=name, env=tuple(base), location=Location(path=path, line=line), os=os_label
            )


def _image(image: Any) -> str | None:
    """An Azure ``vmImage`` as written (``macOS-10.15``, ``windows-2019``, ``ubuntu-18.04``;
    ``ci.job_os`` reads the OS from it), None when it is left to the run.

    >>> [_image(i) for i in ("macOS-10.15", "${{ parameters.x }}", "")]
    ['macOS-10.15', None, None]
    """
    return str(image) if _literal(image) and str(image) else None


def read_azure(path: Path, data: Any, *, templates: Path | None = None) -> CIFile:
    """A pipeline (or a template read on its own): its ``variables:``, and its jobs with the
    templates they use expanded (``_azure_template``); ``${{ parameters.X }}`` is filled from
    the file's own parameter defaults, which is what a push or scheduled run uses.
    ``templates``: the directory its templates are found from (default: the file's own; bump
    reads an edited copy elsewhere with the original's templates)."""
    line = _line(data, "parameters", 1)
    scope = _Scope(
        path=path,
        params=_declared_parameters(data.get("parameters"), path, line),
        caller=path,
        base=templates or path.parent,
    )
    line = _line(data, "variables", 1)
    global_env = _azure_variables(data.get("variables"), path, line, scope)
    jobs = list(_azure_jobs(data.get("jobs"), scope, "jobs", _line(data, "jobs", 1))) + list(
        _azure_jobs(data.get("stages"), scope, "stages", _line(data, "stages", 1))
    )
    return CIFile(
        path=path,
        provider="azure",
        global_env=tuple(global_env),
        jobs=tuple(jobs),
        templates=tuple(dict.fromkeys(scope.used)),
    )


_MATRIX_REF = re.compile(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}")


#: GitHub's own limit on the jobs one matrix may generate.
MAX_MATRIX_JOBS = 256


def _matrix_rows(strategy: Any, path: Path, line: int) -> list[dict[str, str]]:
    """Expand a GitHub ``strategy.matrix``: product of list keys, then include, minus exclude."""
    strategy = _expect(strategy, Mapping, "strategy", path, line)
    matrix = strategy.get("matrix")
    if isinstance(matrix, str):  # ${{ fromJSON(...) }}: computed at run time, no rows here
        return []
    line = _line(strategy, "matrix", line)
    matrix = _expect(matrix, Mapping, "strategy.matrix", path, line)
    axes = {
        k: v for k, v in matrix.items() if k not in ("include", "exclude") and isinstance(v, list)
    }
    size = math.prod(len(v) for v in axes.values()) if axes else 0
    if size > MAX_MATRIX_JOBS:
        msg = (
            f"{Location(path=path, line=line)}: the matrix makes {size} jobs; GitHub allows "
            f"{MAX_MATRIX_JOBS}"
        )
        raise ConfigError(msg)
    for sub in ("include", "exclude"):
        items = _expect(matrix.get(sub), list, f"strategy.matrix.{sub}", path, line)
        for i, item in enumerate(items):
            _expect(item, Mapping, f"a matrix.{sub} item", path, _line(items, i, line))
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
    """Replace ``${{ matrix.NAME }}`` with the row's value (unknown names stay as written).

    A matrix value YAML reads as a number (``python: [3.10]``) is the text as written; the
    variable notes where that value is written, so lint can ask for quotes there."""
    if var.value is None:
        return var
    typed = [
        row[m.group(1)] for m in _MATRIX_REF.finditer(var.value) if _typed(row.get(m.group(1)))
    ]

    def lookup(match: re.Match[str]) -> str:
        return row.get(match.group(1), match.group(0))

    filled = dataclasses.replace(var, value=_MATRIX_REF.sub(lookup, var.value))
    if typed and var.yaml_type is None:
        first = typed[0]
        filled = dataclasses.replace(
            filled,
            yaml_type=_typed(first),
            typed_at=Location(path=var.location.path, line=getattr(first, "line", 0) or 1),
        )
    return filled


def _computed(strategy: Any) -> bool:
    """A ``strategy.matrix`` computed at run time (``${{ fromJSON(needs.….outputs.…) }}``)."""
    matrix = strategy.get("matrix") if isinstance(strategy, Mapping) else None
    return isinstance(matrix, str) and "fromJSON(" in matrix.replace(" ", "")


def read_github(
    path: Path, data: Any, generated: Sequence[Mapping[str, str]] | None = None
) -> CIFile:
    """``generated``: the rows of a matrix computed at run time. This repository's workflow
    computes it with ``numpy_wheels matrix --json --ci github``, so the config layer passes
    the same rows (``config.build.read_ci_files``); without them such a job stays one job."""
    global_env = _mapping_env(data.get("env"), path, _line(data, "env", 1))
    jobs: list[Job] = []
    job_nodes = _expect(data.get("jobs"), Mapping, "jobs", path, _line(data, "jobs", 1))
    for job_id, job in job_nodes.items():
        line = _line(job_nodes, job_id, 1)
        _expect(job, Mapping, f"job {job_id}", path, line)
        env = _mapping_env(job.get("env"), path, _line(job, "env", line), f"jobs.{job_id}.env")
        env = [*env, *_build_step_env(job, path, line, job_id)]
        if _computed(job.get("strategy")) and generated is not None:
            rows = [dict(r) for r in generated]
            labels = [r.get("name", "") for r in rows]
        else:
            rows = _matrix_rows(job.get("strategy"), path, _line(job, "strategy", line)) or [{}]
            labels = [" ".join(f"{k}={v}" for k, v in row.items()) for row in rows]
        runs_on = EnvVar(
            name="runs-on",
            value=_scalar(job.get("runs-on")),
            form="mapping",
            location=Location(path=path, line=line),
        )
        for row, label in zip(rows, labels, strict=True):
            filled = tuple(_fill_matrix(v, row) for v in env)
            jobs.append(
                Job(
                    name=f"{job_id} {label}".strip(),
                    env=filled,
                    location=Location(path=path, line=line),
                    os=_fill_matrix(runs_on, row).value or row.get("os") or None,
                )
            )
    return CIFile(path=path, provider="github", global_env=tuple(global_env), jobs=tuple(jobs))


#: What the step that builds runs: this tool, or multibuild's steps.
_BUILD_STEP_WORDS = ("numpy_wheels", "build_wheel", "build_index_wheel", "install_run")


def _build_step_env(job: Mapping[str, Any], path: Path, line: int, job_id: str) -> list[EnvVar]:
    """The ``env:`` of the steps that build (their ``run`` calls this tool or multibuild's
    build steps): GitHub gives a step the job's variables and its own, so a workflow that
    sets MB_PYTHON_VERSION on the build step builds that wheel (issue 12 tryout: such a job
    built "no wheel")."""
    steps = job.get("steps")
    if not isinstance(steps, Sequence) or isinstance(steps, str):
        return []
    out: list[EnvVar] = []
    for index, step in enumerate(steps):
        if not isinstance(step, Mapping) or not isinstance(step.get("run"), str):
            continue
        if any(word in step["run"] for word in _BUILD_STEP_WORDS) and step.get("env"):
            where = f"jobs.{job_id}.steps[{index}].env"
            out += _mapping_env(step.get("env"), path, _line(step, "env", line), where)
    return out


READERS: dict[Provider, Callable[[Path, Any], CIFile]] = {
    "travis": read_travis,
    "appveyor": read_appveyor,
    "azure": read_azure,
    "github": read_github,
}


# -- YAML ----------------------------------------------------------------------------------


#: The most nodes a CI file may expand to (aliases counted at every use): numpy's CI files
#: have ~1,000; a "billion laughs" alias bomb has billions.
MAX_YAML_NODES = 100_000
#: Deeper nesting than this is refused before the parser recurses into it.
MAX_YAML_DEPTH = 100


def _check_expansion(root: Any, path: Path) -> None:
    """Refuse documents that expand (through aliases) beyond MAX_YAML_NODES, or that contain
    themselves. Sizes are memoised per node, so this is linear in the nodes as written."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Any, depth: int) -> int:
        if not isinstance(node, Mapping | list):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            msg = f"{path}: a YAML alias refers to a node that contains it (a cycle)"
            raise ConfigError(msg)
        if depth > MAX_YAML_DEPTH:
            msg = f"{path}: nested deeper than {MAX_YAML_DEPTH} levels"
            raise ConfigError(msg)
        active.add(key)
        children = [*node.keys(), *node.values()] if isinstance(node, Mapping) else node
        total = 1
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_YAML_NODES:
                msg = (
                    f"{path}: expands to more than {MAX_YAML_NODES} YAML nodes (an alias "
                    "bomb?); not read"
                )
                raise ConfigError(msg)
        active.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


def _nesting(text: str) -> int:
    """An upper bound of the flow/block nesting, found without parsing (brackets + indent)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


@functools.cache
def _as_written() -> type:
    """ruamel's round-trip constructor, every scalar kept as its text (a ``Text``)."""
    from ruamel.yaml.constructor import RoundTripConstructor

    class AsWritten(RoundTripConstructor):
        pass

    for kind in ("null", "bool", "int", "float", "timestamp", "str"):
        AsWritten.add_constructor(f"tag:yaml.org,2002:{kind}", _construct_text)
    return AsWritten


def _load_yaml(path: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import ReusedAnchorWarning, YAMLError

    text = read_config_text(path)
    if _nesting(text) > MAX_YAML_DEPTH:
        msg = f"{path}: nested deeper than {MAX_YAML_DEPTH} levels"
        raise ConfigError(msg)
    try:
        text = separating_tabs(text, where=str(path))
        yaml = YAML(typ="rt", pure=True)
        yaml.Constructor = _as_written()
        with warnings.catch_warnings():
            # An anchor defined again is valid YAML (the alias takes the latest definition).
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            data = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "'\\t'" in problem:  # ruamel names the character as an escape: '\t'
            problem += " (a tab where YAML needs spaces: indentation is spaces only)"
        msg = f"{where}: not valid YAML: {problem}"
        raise ConfigError(msg) from None
    except RecursionError:
        msg = f"{path}: nested too deeply to read"
        raise ConfigError(msg) from None
    _check_expansion(data, path)
    return data


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
    """The CI files of a wheels repository, in the order their values are reported. Whatever
    is there under a CI file's name counts — a directory, a FIFO, a broken symlink — so that
    reading it names what it is (it used to be taken for no file at all)."""
    found = [
        root / n
        for n in (".travis.yml", "appveyor.yml", ".appveyor.yml", "azure-pipelines.yml")
        if (root / n).is_symlink() or (root / n).exists()
    ]
    for pattern in ("azure/*.yml", ".github/workflows/*.yml", ".github/workflows/*.yaml"):
        found.extend(sorted(root.glob(pattern)))
    return found


def read_file(
    path: Path,
    *,
    provider: Provider | None = None,
    generated: Sequence[Mapping[str, str]] | None = None,
    templates: Path | None = None,
) -> CIFile:
    """One CI file; ``templates``: where an Azure pipeline's templates are (see read_azure)."""
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
    if provider == "github":
        return read_github(path, data, generated)
    if provider == "azure":
        return read_azure(path, data, templates=templates)
    return READERS[provider](path, data)


def _runs_tool(ci_file: CIFile) -> bool:
    """Whether the file, or a template it uses, calls this tool (``python -m numpy_wheels``)."""
    for path in (ci_file.path, *ci_file.templates):
        with contextlib.suppress(OSError):
            if "numpy_wheels" in path.read_text(encoding="utf-8", errors="replace"):
                return True
    return False


def read_config(
    root: Path,
    paths: Sequence[Path] = (),
    *,
    generated: Sequence[Mapping[str, str]] | None = None,
) -> CIConfig:
    """Read ``paths`` (default: every CI file found under ``root``); ``generated``: the rows of
    a GitHub matrix computed at run time (see ``read_github``)."""
    paths = list(paths) or discover(root)
    if not paths:
        msg = (
            f"no CI files in {root} (looked for .travis.yml, appveyor.yml, "
            "azure-pipelines.yml, azure/*.yml, .github/workflows/*.yml)"
        )
        raise ConfigError(msg)
    for p in paths:
        kind = not_a_file(p)
        if kind is not None:
            msg = f"CI file {p} {'does not exist' if kind == 'missing' else 'is ' + kind}"
            raise ConfigError(msg)
    files = tuple(read_file(p, generated=generated) for p in paths)
    # An Azure template (azure/posix.yml) is found as a CI file too, but Azure never runs it
    # on its own: its jobs are the pipeline's that use it (counted once), its values are
    # read there; the file stays listed.
    files = tuple(dataclasses.replace(f, runs_tool=_runs_tool(f)) for f in files)
    used = {t.resolve() for f in files for t in f.templates}
    files = tuple(dataclasses.replace(f, jobs=()) if f.path.resolve() in used else f for f in files)
    return CIConfig(root=root, files=files)
