"""The package's imports follow the pipeline: no circles, and no module importing a higher layer.

The layers, lowest first (README "Development"). Every import counts, also those inside
functions (imported on use) and under ``TYPE_CHECKING``: a late import hides a circle from
Python, not from the design.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import numpy_wheels

PACKAGE = Path(numpy_wheels.__file__).parent
#: Layer of each top-level module or folder of numpy_wheels; a module imports only its own
#: layer or lower ones.
LAYERS: Mapping[str, int] = {
    # the kernel: error tree, logger, call(), CI-service facts, file helpers
    "__init__": 0,
    "errors": 0,
    "log": 0,
    "cmd": 0,
    "ci": 0,
    "files": 0,
    "net": 0,
    "model": 1,  # matrix, plan, choices: pure functions over resources/*.toml
    "cifiles": 2,  # the CI files as written, as typed records
    "config": 3,  # the only readers of env, setup.cfg, pyproject.toml, ~/.pypirc
    "build": 4,
    "staging": 5,
    "release": 6,
    "commands": 7,  # argv -> typed requests
    "__main__": 7,
}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(("numpy_wheels", *parts))] = path
    out["numpy_wheels"] = out.pop("numpy_wheels.__init__")
    return out


MODULES = modules()


def imported(path: Path) -> Iterator[tuple[str, int]]:
    """Our modules ``path`` imports (anywhere in it), with the line."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            base = node.module or ""
            # ``from numpy_wheels.config import secrets`` imports the module config.secrets
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        for name in names:
            if name == "numpy_wheels" or name.startswith("numpy_wheels."):
                module = name
                while module not in MODULES:  # an attribute path: its module
                    module = module.rpartition(".")[0]
                yield module, node.lineno


def layer(module: str) -> int:
    top = "__init__" if module == "numpy_wheels" else module.split(".")[1]
    assert top in LAYERS, f"{module}: not in a layer; add it to LAYERS (and to the README)"
    return LAYERS[top]


GRAPH = {m: sorted({name for name, _ in imported(p)} - {m}) for m, p in MODULES.items()}


def test_every_module_has_a_layer() -> None:
    assert {layer(m) for m in MODULES} == set(LAYERS.values())


def upward(graph: Mapping[str, list[str]]) -> list[str]:
    """Imports of a higher layer.

    >>> upward({"numpy_wheels.config.build": ["numpy_wheels.build.runner"]})
    ['numpy_wheels.config.build (layer 3) imports numpy_wheels.build.runner (layer 4)']
    """
    return [
        f"{module} (layer {layer(module)}) imports {name} (layer {layer(name)})"
        for module, names in graph.items()
        for name in names
        if layer(name) > layer(module)
    ]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down(module: str) -> None:
    assert upward({module: GRAPH[module]}) == []


def cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan).

    >>> cycles({"a": ["b"], "b": ["a"], "c": ["a"]})
    [['a', 'b']]
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    assert cycles(GRAPH) == []


def test_the_checks_can_fail() -> None:
    """Both checks see what they must in the real graph plus one bad edge."""
    assert cycles({**GRAPH, "numpy_wheels.ci": ["numpy_wheels.log"]}) == [
        ["numpy_wheels.ci", "numpy_wheels.log"]
    ]
    assert upward({**GRAPH, "numpy_wheels.model.plan": ["numpy_wheels.config.build"]}) == [
        "numpy_wheels.model.plan (layer 1) imports numpy_wheels.config.build (layer 3)"
    ]
    assert "numpy_wheels.config.build" in GRAPH["numpy_wheels.build.runner"]


def config_names(module: str) -> set[str]:
    """What ``module`` takes from the config layer (``from numpy_wheels.config.x import ...``)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("numpy_wheels.config")
        for alias in node.names
    }


#: The resolved settings the pipeline steps receive; anything else from config/ would be a
#: step reading configuration itself (a return trip).
RESOLVED = {"BuildOptions", "StoreConfig", "Target", "check_container_name"}  # a pure check


@pytest.mark.parametrize("module", sorted(m for m in MODULES if 4 <= layer(m) <= 6))
def test_steps_receive_resolved_configuration(module: str) -> None:
    """build/, staging/ and release/ get frozen settings from config/, never call back into it
    (BUILD_COMMIT: CI file -> cifiles -> config.build -> runner -> backend, one way)."""
    assert config_names(module) <= RESOLVED


def test_config_names_sees_calls_into_config() -> None:
    assert "resolve_build_options" in config_names("numpy_wheels.commands")
    assert not config_names("numpy_wheels.commands") <= RESOLVED
