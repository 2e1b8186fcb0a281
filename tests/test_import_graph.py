"""Imports flow one way, and no module imports one that imports it back.

Read statically from the source (function-level imports included, since a cycle hidden inside a
function is still a cycle: ``benchmark.check`` and ``benchmark.cli`` once imported each other that
way), so the test sees every edge whether or not a test happens to execute it.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"augbench": "augbench", "datasets": "augbench.datasets", "generators": "augbench.generators",
           "classifiers": "augbench.classifiers", "benchmark": "augbench.benchmark", "reports": "augbench.reports"}
#: which parts each part may import (core <- datasets <- generators, classifiers <- benchmark -> reports)
ALLOWED = {
    "core": set(),
    "datasets": {"core"},
    "generators": {"core", "datasets"},
    "classifiers": {"core", "datasets"},
    "reports": {"core"},
    "benchmark": {"core", "datasets", "generators", "classifiers", "reports"},
}


def _modules() -> dict[str, Path]:
    mods = {}
    for folder, package in FOLDERS.items():
        for path in (REPO / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(REPO / folder).with_suffix("").parts if p != "__init__"]
            mods[".".join([package, *parts])] = path
    return mods


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("augbench"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("augbench"):
            for alias in node.names:  # `from augbench.x import y` imports module x.y when y is one
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found


GRAPH = {name: {d for d in _imports(path) if d in MODULES and d != name} for name, path in MODULES.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "augbench"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_graph_was_read():
    assert "augbench.benchmark.cli" in GRAPH and "augbench.benchmark.runner" in GRAPH["augbench.benchmark.cli"]


def test_cycle_finder_finds_a_planted_cycle():
    planted = {k: set(v) for k, v in GRAPH.items()}
    planted["augbench.core.errors"].add("augbench.benchmark.cli")  # cli -> ... -> errors -> cli
    assert any("augbench.benchmark.cli" in c and "augbench.core.errors" in c for c in _cycles(planted))


def test_no_module_imports_one_that_imports_it_back():
    assert _cycles(GRAPH) == []


def test_parts_import_only_the_parts_below_them():
    wrong = sorted((m, d) for m, deps in GRAPH.items() for d in deps
                   if _part(m) != _part(d) and _part(m) in ALLOWED and _part(d) not in ALLOWED[_part(m)])
    assert wrong == []
