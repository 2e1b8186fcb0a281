"""Test-wide settings: quiet, offline MLflow/albumentations, two torch threads, real data dir."""
import os
from pathlib import Path

for key, value in {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "NO_ALBUMENTATIONS_UPDATE": "1",
}.items():
    os.environ.setdefault(key, value)
# a developer's shell pointed at a team server must not receive the tests' runs (the CLI honours these)
for key in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
    os.environ.pop(key, None)

import pytest  # noqa: E402
import torch  # noqa: E402

# One torch thread by default: tests check behaviour, not speed, and on a busy 2-core machine two
# OpenMP threads spin-wait for each other (seen: 10x slower generator tests under load).
torch.set_num_threads(int(os.environ.get("AUGBENCH_TEST_THREADS", "1")))

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
# decoded/resized datasets are cached across test runs (HAM10000 takes a while to decode once)
os.environ.setdefault("AUGBENCH_CACHE", str(REPO / ".pytest_cache" / "augbench"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real datasets (../shared/data or $BENCHMARK_DATA_DIR); tests using it skip nowhere: CI has it."""
    path = Path(os.environ.get("BENCHMARK_DATA_DIR", DEFAULT_DATA))
    if not path.is_dir():
        pytest.fail(f"real data not found at {path}: set BENCHMARK_DATA_DIR to the shared data folder")
    return path


@pytest.fixture(scope="session")
def augbench_wheel(tmp_path_factory) -> Path:
    """A wheel of this checkout, built from a copy (setuptools would write build/ into the tree)."""
    import shutil
    import subprocess
    import sys

    tmp = tmp_path_factory.mktemp("wheel")
    src, out = tmp / "src", tmp / "dist"
    for name in ("augbench", "datasets", "generators", "classifiers", "benchmark", "reports"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
                   check=True, timeout=600)
    (wheel,) = out.glob("augbench-*.whl")
    return wheel


@pytest.fixture(scope="session")
def lineage_grid(tmp_path_factory, data_dir):
    """One real smoke grid run through the installed `benchmark` console script, with a command-line
    arm setting and --save-models: what the MLflow lineage and UI tests read back."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("lineage") / "out"
    script = Path(sys.executable).with_name("benchmark")
    cmd = [str(script), "run", "--dataset", "pneumonia", "--generators", "none,classic,ddpm", "--preset", "smoke",
           "--budget", "10", "--data-dir", str(data_dir), "--out", str(out), "--no-progress", "--save-models",
           "generators.ddpm.steps=5"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=out.parent)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


@pytest.fixture()
def mlflow_server(tmp_path):
    """A real `mlflow server` on 127.0.0.1 (the command `benchmark ui` runs), over a sqlite store."""
    from augbench.reports.server import free_port, server_command
    from tests._servers import serving

    root = tmp_path / "server"
    root.mkdir()
    port = free_port()
    cmd = server_command(f"sqlite:///{root / 'mlflow.db'}", root / "artifacts", port)
    with serving(cmd, port, root / "server.log", cwd=root) as url:
        yield url
