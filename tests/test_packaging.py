"""What pyproject.toml promises is true: the Python floor, the declared imports, and the tested pins.

A wrong ``requires-python`` lets pip start installing on an interpreter the dependencies refuse (a
resolver error deep in numpy's metadata); an undeclared import works only where some other package
happened to pull it in; ``==`` pins on everything make augbench impossible to install beside other
tools, so ranges are declared and the exact tested versions live in constraints.txt.
"""
from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("augbench", "datasets", "generators", "classifiers", "benchmark", "reports")
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
OPTIONAL = [Requirement(r) for rs in PROJECT.get("optional-dependencies", {}).values() for r in rs]
FLOOR = SpecifierSet(PROJECT["requires-python"])


def _constraints() -> dict[str, Version]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


@pytest.mark.parametrize("req", RUNTIME, ids=str)
def test_python_floor_is_one_every_dependency_accepts(req):
    """Each dependency's own Requires-Python admits every Python our floor admits (3.11 up)."""
    theirs = SpecifierSet(metadata.metadata(req.name).get("Requires-Python") or "")
    for minor in range(8, 15):
        version = f"3.{minor}"
        if version in FLOOR:
            assert version in theirs, f"{req.name} needs Python {theirs}, but requires-python says {FLOOR}"


def test_floor_is_no_lower_than_needed():
    """The floor is the highest floor among the dependencies, not an arbitrary later one either."""
    floors = []
    for req in RUNTIME:
        spec = SpecifierSet(metadata.metadata(req.name).get("Requires-Python") or "")
        floors.append(next((f"3.{m}" for m in range(8, 15) if f"3.{m}" in spec), "3.8"))
    needed = max(floors, key=Version)
    assert needed in FLOOR and f"3.{Version(needed).minor - 1}" not in FLOOR, (needed, FLOOR)


def test_ranges_not_pins():
    pinned = [r.name for r in RUNTIME if any(s.operator == "==" for s in r.specifier)]
    assert pinned == [], pinned


def test_torch_admits_every_patch_release_of_the_tested_minor_and_no_other_minor():
    """A user's own torch build of the tested minor (another patch, a local +cu build) is kept; a
    different minor, which the matching torchvision was not built for, is not admitted."""
    pins = _constraints()
    for name in ("torch", "torchvision"):
        spec = next(r.specifier for r in RUNTIME if canonicalize_name(r.name) == name)
        tested = pins[name]
        for patch in range(0, 6):
            assert spec.contains(Version(f"{tested.major}.{tested.minor}.{patch}")), (name, spec, patch)
        assert spec.contains(Version(f"{tested}+cpu"))
        assert not spec.contains(Version(f"{tested.major}.{tested.minor + 1}.0"))
        assert not spec.contains(Version(f"{tested.major}.{tested.minor - 1}.0"))


@pytest.mark.slow
def test_pip_keeps_the_installed_torch():
    """pip's own resolver, on this environment: installing augbench changes no installed torch."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--no-build-isolation",
                               "--report", str(report), "--quiet", str(REPO)], capture_output=True, text=True,
                              env={**__import__("os").environ, "PIP_CONSTRAINT": ""}, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        installs = [canonicalize_name(item["metadata"]["name"]) for item in json.loads(report.read_text())["install"]]
    assert installs == ["augbench"], installs


def test_constraints_pin_what_pyproject_allows_and_what_is_installed():
    pins = _constraints()
    for req in RUNTIME + OPTIONAL:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} has no tested pin in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (req, pins[name])
        assert Version(metadata.version(req.name)) == pins[name], f"the test env has another {req.name}"


def _imported_top_levels() -> set[str]:
    names = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "augbench"}


def test_every_imported_package_is_declared():
    declared = {canonicalize_name(r.name) for r in RUNTIME + OPTIONAL}
    owners = metadata.packages_distributions()
    missing = {}
    for module in sorted(_imported_top_levels()):
        dists = {canonicalize_name(d) for d in owners.get(module, [])}
        assert dists, f"import {module}: no installed distribution provides it"
        if not dists & declared:
            missing[module] = sorted(dists)
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_pip_refuses_a_python_below_the_floor(augbench_wheel, tmp_path):
    def pip_for(version: str):
        return subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-index",
                               "--only-binary=:all:", "--python-version", version, "-d", str(tmp_path / version),
                               str(augbench_wheel)], capture_output=True, text=True, timeout=300)

    below = pip_for("3.10")
    assert below.returncode != 0
    assert "requires a different Python" in below.stderr + below.stdout
    assert pip_for("3.11").returncode == 0
