"""augbench installs under one name, so a generic top-level package of another project cannot shadow it.

Before the ``augbench.`` namespace the five parts were installed as top-level ``datasets``,
``generators``, ... packages: with Hugging Face's ``datasets`` in the same environment, one of the two
was imported in place of the other. These tests install a stand-in ``datasets`` package with pip and
import both, once against the editable install the tests run from and once against a built wheel.
"""
from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STAND_IN = '"""A stand-in for Hugging Face datasets."""\nORIGIN = "stand-in"\n\ndef load_dataset(*a, **k):\n    return "hf"\n'


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _stand_in_wheel(dest: Path) -> Path:
    """A minimal, valid wheel holding a top-level ``datasets`` package (no build backend needed)."""
    dist = "datasets_standin-0.0.1.dist-info"
    files = {
        "datasets/__init__.py": STAND_IN.encode(),
        f"{dist}/METADATA": b"Metadata-Version: 2.1\nName: datasets-standin\nVersion: 0.0.1\n",
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: augbench-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [_record_line(n, d) for n, d in files.items()] + [f"{dist}/RECORD,,"]
    wheel = dest / "datasets_standin-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
    return wheel


def _pip_install(wheel: Path, target: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
                    str(target), str(wheel)], check=True, timeout=300)


def _python(code: str, pythonpath: Path, cwd: Path) -> str:
    """Run ``code`` away from the repository (its folders must not be importable from the cwd)."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


BOTH = """
import datasets
import augbench.datasets as ad
import augbench.benchmark.cli
from augbench.generators import generator_names
assert datasets.ORIGIN == "stand-in", datasets.__file__
assert datasets.load_dataset() == "hf"
assert hasattr(ad, "DATASETS") and "isic" in ad.dataset_names()
assert "dcgan" in generator_names()
print(ad.__file__)
print(datasets.__file__)
"""


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    _pip_install(_stand_in_wheel(tmp_path_factory.mktemp("wheel")), site)
    assert (site / "datasets" / "__init__.py").is_file()
    return site


def test_stand_in_datasets_beside_the_editable_install(stand_in, tmp_path):
    ours, theirs = _python(BOTH, stand_in, tmp_path).split()
    assert Path(ours).resolve() == REPO / "datasets" / "__init__.py"
    assert Path(theirs).resolve().parent.parent == stand_in.resolve()


def test_either_import_order_keeps_both(stand_in, tmp_path):
    code = "import augbench.datasets as ad\nimport datasets\nassert datasets.ORIGIN == 'stand-in'\n" \
           "assert ad.load_dataset.__module__.startswith('augbench.datasets')\n"
    _python(code, stand_in, tmp_path)


def test_built_wheel_installs_only_under_augbench(augbench_wheel, tmp_path):
    """The non-editable install: every module under ``augbench/``, presets and baseline included."""
    wheel = augbench_wheel
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"augbench"}, tops
    for part in ("core", "datasets", "generators", "classifiers", "benchmark", "reports"):
        assert f"augbench/{part}/__init__.py" in names
    assert "augbench/benchmark/presets/quick.yaml" in names and "augbench/benchmark/baselines/ci.json" in names
    site = tmp_path / "site"  # the wheel and the stand-in side by side in one site folder
    _pip_install(_stand_in_wheel(tmp_path), site)
    _pip_install(wheel, site)
    ours, theirs = _python(BOTH, site, tmp_path).split()
    assert Path(ours).resolve() == (site / "augbench" / "datasets" / "__init__.py").resolve()
    assert Path(theirs).resolve() == (site / "datasets" / "__init__.py").resolve()
