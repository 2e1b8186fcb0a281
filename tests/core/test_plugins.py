"""Backends from other installed distributions (augbench/core/plugins.py, docs/plugins.md).

Real plugin packages are built with setuptools and pip-installed into a folder of their own, then
used from subprocesses with that folder on PYTHONPATH, the way a user's environment would hold
them: one good plugin (a generator arm, a classifier and a dataset), one that fails to import, and
one that registers a name augbench already has.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from augbench.core import plugins
from augbench.core.errors import UserError
from augbench.core.plugins import PluginError, load_plugins

REPO = Path(__file__).resolve().parents[2]
BENCHMARK = Path(sys.executable).with_name("benchmark")

ARM_MODULE = '''
"""Mirror copies of the class's own budget images: a non-learned arm from outside augbench."""
import numpy as np
import torch

from augbench.core.errors import UserError
from augbench.generators import Generator, register_generator


@register_generator("hflip", order=50)
class HorizontalFlipCopies(Generator):
    """Horizontally flipped copies of randomly drawn budget images."""

    DEFAULTS = {"vflip": False}

    def __init__(self, **config):
        unknown = sorted(set(config) - set(self.DEFAULTS))
        if unknown:
            raise UserError(f"unknown setting(s) {unknown} for generator {self.name!r}.",
                            f"use only: {', '.join(self.DEFAULTS)}.")
        super().__init__(**{**self.DEFAULTS, **config})

    def _fit(self, images, labels, *, seed, device, progress):
        self._pool = {int(c): images[labels == c] for c in np.unique(labels)}

    def _sample(self, label, n, *, seed):
        pool = self._pool[label]
        picked = pool[np.random.default_rng([seed, label]).integers(0, len(pool), n)][:, :, ::-1]
        return np.ascontiguousarray(picked[:, ::-1] if self.config["vflip"] else picked)

    def state_dict(self):
        return {str(c): torch.from_numpy(v.copy()) for c, v in self._pool.items()}

    def load_state_dict(self, state):
        self._pool = {int(c): v.numpy() for c, v in state.items()}
'''

CLASSIFIER_MODULE = '''
from torch import nn

from augbench.classifiers import register_classifier


@register_classifier("tiny-linear", min_size=8, order=90, description="one linear layer on the pixels")
def tiny_linear(n_classes, in_channels, image_size, weights=None):
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, n_classes))
'''

DATASET_MODULE = '''
from augbench.datasets.registry import DATASETS
from augbench.datasets.synthetic import SyntheticSource


@DATASETS.register("plugin-shapes", order=95, summary="the synthetic shapes, registered by a plugin")
def _shapes():
    return SyntheticSource()
'''


def _plugin(root: Path, dist: str, modules: dict[str, str], entry_points: dict[str, dict[str, str]]) -> Path:
    """A setuptools project holding package ``<dist>_pkg`` with ``modules`` and ``entry_points``."""
    package = dist.replace("-", "_") + "_pkg"
    src = root / dist
    (src / package).mkdir(parents=True)
    (src / package / "__init__.py").write_text("")
    for name, code in modules.items():
        (src / package / f"{name}.py").write_text(textwrap.dedent(code))
    groups = "".join(f'\n[project.entry-points."{group}"]\n' + "".join(f'{k} = "{package}.{v}"\n' for k, v in eps.items())
                     for group, eps in entry_points.items())
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{dist}"\nversion = "0.1.0"\n{groups}\n'
        f'[tool.setuptools]\npackages = ["{package}"]\n')
    return src


def _install(src: Path, site: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(site), str(src)], check=True, timeout=300, capture_output=True)
    return site


def _env(site: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(site)}


def _run(cmd: list[str], site: Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=_env(site), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def good_site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("good")
    src = _plugin(root, "augbench-flip", {"arm": ARM_MODULE, "clf": CLASSIFIER_MODULE, "data": DATASET_MODULE},
                  {"augbench.generators": {"hflip": "arm"}, "augbench.classifiers": {"tiny-linear": "clf"},
                   "augbench.datasets": {"plugin-shapes": "data"}})
    return _install(src, root / "site")


# --- the loader on its own, in this process --------------------------------------------------------------
@pytest.fixture
def fake_group(monkeypatch):
    """Point entry_points(group=...) at hand-made entry points and forget what was loaded."""
    monkeypatch.setattr(plugins, "_STATE", {})

    def install(*eps: EntryPoint):
        monkeypatch.setattr("importlib.metadata.entry_points",
                            lambda group: [ep for ep in eps if ep.group == group])

    return install


def test_a_failed_plugin_fails_every_lookup_not_just_the_first(fake_group):
    fake_group(EntryPoint("broken", "no_such_module_for_augbench_zz", "augbench.generators"))
    with pytest.raises(PluginError) as first:
        load_plugins("augbench.generators")
    assert isinstance(first.value, UserError)
    assert "'broken'" in first.value.problem and "no_such_module_for_augbench_zz" in first.value.problem
    assert "ModuleNotFoundError" in first.value.problem and "uninstall" in first.value.fix
    with pytest.raises(PluginError) as again:  # the registry must not look complete the second time
        load_plugins("augbench.generators")
    assert again.value is first.value
    load_plugins("augbench.classifiers")  # another group is unaffected


def test_plugins_of_a_group_are_imported_once(fake_group, tmp_path, monkeypatch):
    (tmp_path / "counting_plugin_zz.py").write_text("import builtins\nbuiltins._augbench_zz = "
                                                    "getattr(builtins, '_augbench_zz', 0) + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "counting_plugin_zz", raising=False)
    import builtins

    monkeypatch.setattr(builtins, "_augbench_zz", 0, raising=False)
    fake_group(EntryPoint("counting", "counting_plugin_zz", "augbench.datasets"))
    for _ in range(3):
        load_plugins("augbench.datasets")
    assert builtins._augbench_zz == 1


# --- real installed plugins --------------------------------------------------------------------------------
def test_installed_plugin_backends_are_registered(good_site, tmp_path):
    code = ("from augbench.generators import expand_generators, create_generator\n"
            "from augbench.classifiers import classifier_names\n"
            "from augbench.datasets import dataset_names, load_dataset\n"
            "arms = expand_generators('all')\n"
            "assert 'hflip' in arms and 'oversample' in arms, arms\n"
            "assert create_generator('hflip').name == 'hflip'\n"
            "assert 'tiny-linear' in classifier_names(), classifier_names()\n"
            "assert 'plugin-shapes' in dataset_names(), dataset_names()\n"
            "print(len(load_dataset('plugin-shapes', image_size=28).train))\n")
    proc = _run([sys.executable, "-c", code], good_site, tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.split()[-1]) > 0


def test_generators_all_lists_the_plugin_arm_in_a_dry_run(good_site, tmp_path, data_dir):
    proc = _run([str(BENCHMARK), "run", "--dataset", "pneumonia", "--generators", "all", "--preset", "smoke",
                 "--budget", "10", "--data-dir", str(data_dir), "--out", str(tmp_path / "out"), "--no-progress",
                 "--dry-run"], good_site, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if "pneumonia b=10 s=0" in line]
    assert any(line.split()[-2] == "hflip" for line in rows), proc.stdout[-3000:]
    assert any(line.split()[-2] == "ddpm" for line in rows)  # the built-in arms are still all there


@pytest.mark.slow
def test_plugin_arm_and_classifier_run_a_real_grid_in_a_process_pool(good_site, tmp_path, data_dir):
    """Two jobs: the fits and cells run in spawned workers, which must find the plugin themselves."""
    from augbench.benchmark.store import default_tracking_uri
    from augbench.reports.runs import search_runs

    out = tmp_path / "out"
    proc = _run([str(BENCHMARK), "run", "--dataset", "pneumonia", "--generators", "none,hflip",
                 "--classifiers", "tiny-linear", "--preset", "smoke", "--budget", "10",
                 "--jobs", "2", "--data-dir", str(data_dir), "--out", str(out), "--no-progress"],
                good_site, tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cells = search_runs(default_tracking_uri(out), "augbench", kind="cell", status="FINISHED")
    assert sorted(zip(cells["params.arm"], cells["params.classifier"])) == [("hflip", "tiny-linear"),
                                                                              ("none", "tiny-linear")]
    flipped = cells[cells["params.arm"] == "hflip"]
    assert (flipped["params.n_train_synthetic"].astype(int) > 0).all()  # the arm really added images
    for key in ("metrics.test_macro_auc", "metrics.test_balanced_accuracy", "metrics.test_recall_normal"):
        assert flipped[key].notna().all(), key
    fits = search_runs(default_tracking_uri(out), "augbench", kind="generator", status="FINISHED")
    assert "hflip" in set(fits["params.arm"])
    assert "params.gen.vflip" not in fits or set(fits.loc[fits["params.arm"] == "hflip", "params.gen.vflip"]) == {"False"}


def test_plugin_arm_keeps_the_generator_contract(good_site, tmp_path):
    """tests/generators/test_contract.py reads the registry at collection time, so it holds an
    installed plugin's arm to the contract with no edit (what docs/plugins.md tells authors)."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(REPO / "tests" / "generators" / "test_contract.py"), "-k", "hflip"],
                          cwd=REPO, env=_env(good_site), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    passed = re.search(r"(\d+) passed", proc.stdout)
    # 6 size/channel round trips, seeded fit, odd size, default settings, unknown setting
    assert passed and int(passed.group(1)) >= 10 and "deselected" in proc.stdout, proc.stdout[-2000:]


def test_a_plugin_that_fails_to_import_is_one_error_naming_it(tmp_path, data_dir):
    src = _plugin(tmp_path, "augbench-broken", {"arm": "import numpy\nimport no_such_dependency_zz\n"},
                  {"augbench.generators": {"broken-arm": "arm"}})
    site = _install(src, tmp_path / "site")
    proc = _run([str(BENCHMARK), "run", "--dataset", "pneumonia", "--generators", "none", "--preset", "smoke",
                 "--budget", "10", "--data-dir", str(data_dir), "--out", str(tmp_path / "out"), "--no-progress",
                 "--dry-run"], site, tmp_path)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    error = proc.stderr
    for part in ("'broken-arm'", "augbench-broken 0.1.0", "augbench.generators", "ModuleNotFoundError",
                 "no_such_dependency_zz", "pip uninstall augbench-broken", "arm.py:2"):
        assert part in error, (part, error)
    assert not (tmp_path / "out").exists()  # refused while planning, before any output


def test_a_plugin_reusing_a_builtin_name_is_one_error_naming_the_plugin(tmp_path):
    code = ("from augbench.generators import register_generator\n"
            "from augbench.generators.baselines import RandomOversampling\n\n"
            "@register_generator('oversample')\nclass Mine(RandomOversampling):\n    pass\n")
    src = _plugin(tmp_path, "augbench-dup", {"arm": code}, {"augbench.generators": {"my-oversample": "arm"}})
    site = _install(src, tmp_path / "site")
    proc = _run([str(BENCHMARK), "list", "arms"], site, tmp_path)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    for part in ("'my-oversample'", "augbench-dup 0.1.0", "'oversample' registered twice", "rename"):
        assert part in proc.stderr, (part, proc.stderr)
