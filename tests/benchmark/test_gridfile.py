"""Grid files (--config): same keys as the flags, flags win, the shipped grids resolve; devices and
executor options give one clear message when wrong; the bare mission command prints its defaults."""
from pathlib import Path

import pytest
import yaml

from augbench.benchmark.cli import build_parser, main
from augbench.benchmark.settings import train_config
from augbench.benchmark.grid_keys import read_grid_file
from augbench.benchmark.gridfile import spec_from_args
from augbench.benchmark.run_resources import choose_device
from augbench.datasets import DATASETS, UserError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("isic", "pneumonia", "breast", "chestxray", "fashion-mnist-imbalanced")


def _spec(*argv):
    return spec_from_args(build_parser().parse_args(["run", *argv]))


def _write(tmp_path, data, name="grid.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if isinstance(data, dict) else data)
    return str(path)


def test_grid_file_sets_axes_and_flags_override_it(tmp_path):
    grid = _write(tmp_path, {"dataset": "synthetic", "generators": ["none", "oversample"], "budget": [10, "all"],
                             "seeds": [3, 4], "preset": "smoke", "image-size": 24, "classifiers": "small-cnn",
                             "target": "balanced", "jobs": 2, "out": str(tmp_path / "o")})
    spec, opts, shown = _spec("--config", grid)
    assert spec.datasets == ["synthetic"] and spec.generators == ["none", "oversample"]
    assert [b.label() for b in spec.budgets] == ["10", "all"] and spec.seeds == [3, 4] and spec.image_size == 24
    assert spec.target.label() == "balanced" and spec.preset["name"] == "smoke" and opts["jobs"] == 2
    assert spec.out_dir == str(tmp_path / "o")
    assert shown["budgets"] == "10,all"

    spec, opts, _ = _spec("--config", grid, "--budget", "50", "--seeds", "0", "--generators", "classic", "--jobs", "1")
    assert [b.label() for b in spec.budgets] == ["50"] and spec.seeds == [0] and spec.generators == ["classic"] and opts["jobs"] == 1
    assert spec.image_size == 24  # what the flags do not say still comes from the file


def test_grid_file_overrides_the_preset(tmp_path):
    grid = _write(tmp_path, {"dataset": "synthetic", "generators": "none", "preset": "smoke",
                             "overrides": {"classifier": {"epochs": 7}, "seeds": [5]}})
    spec, _, _ = _spec("--config", grid)
    assert spec.preset["classifier"]["epochs"] == 7 and spec.seeds == [5]
    assert spec.preset["classifier"]["batch_size"]  # merged, not replaced


@pytest.mark.parametrize("content, needle", [
    ({"dataset": "synthetic", "budgett": [10]}, "unknown key 'budgett'"),
    ("dataset: [synthetic\n", "not valid YAML"),
])
def test_bad_grid_files_are_one_message(tmp_path, content, needle):
    with pytest.raises(UserError, match=needle) as info:
        read_grid_file(_write(tmp_path, content))
    assert info.value.fix


def test_missing_grid_file(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "fix:" in err


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_grids_resolve(name):
    path = REPO / "grids" / f"{name}.yaml"
    spec, _, _ = _spec("--config", str(path))
    assert spec.datasets == [name]
    for dataset in spec.datasets:
        DATASETS.resolve(dataset)
    assert len(spec.generators) > 4  # "all": baselines and GANs
    assert spec.cells() and len({c.hash for c in spec.cells()}) == len(spec.cells())


def test_device_resolution():
    import torch

    device, note = choose_device("auto")
    assert device == ("cuda" if torch.cuda.is_available() else "cpu") and note.startswith("auto")
    assert choose_device("cpu")[0] == "cpu"
    assert choose_device("auto", remote=True)[0] == "auto"  # Ray workers decide for themselves
    with pytest.raises(UserError, match="unknown device"):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU"):
            choose_device("cuda:1")
        assert choose_device("cuda:1", remote=True)[0] == "cuda:1"


@pytest.mark.parametrize("argv, needle", [
    (["--jobs", "0"], "--jobs 0 must be at least 1"),
    (["--gpus-per-cell", "1"], "--gpus-per-cell applies to --executor ray only"),
    (["--executor", "ray", "--jobs", "2"], "--jobs is for the local executor"),
    (["--threads", "0"], "--threads 0 must be at least 1"),
])
def test_bad_executor_options(tmp_path, capsys, argv, needle):
    code = main(["run", "--dataset", "synthetic", "--generators", "none", "--preset", "smoke",
                 "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "fix:" in err


def test_bare_mission_command_prints_its_defaults(tmp_path, monkeypatch, data_dir, capsys):
    """`benchmark run --generators all --dataset isic --budget 10,50,100` and nothing else (dry run here)."""
    import torch

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BENCHMARK_DATA_DIR", str(data_dir))
    assert main(["run", "--generators", "all", "--dataset", "isic", "--budget", "10,50,100", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    settings = dict(line.strip().split(None, 1) for line in printed.split("\n\n")[0].splitlines()[1:])
    expected_preset = "paper" if torch.cuda.is_available() else "quick"
    assert settings["preset"].startswith(f"{expected_preset} (chosen by hardware")
    assert settings["classifiers"] and settings["seeds"] and settings["budgets"] == "10,50,100"
    assert settings["out"] == "augbench-out" and settings["tracking"].endswith(
        "augbench-out/mlflow.db (default: embedded sqlite under --out)")
    assert settings["device"].startswith("cuda" if torch.cuda.is_available() else "cpu (auto")
    from augbench.benchmark.executors import usable_cpus

    # quick's jobs: auto is one fit group per usable core on a CPU; paper (a GPU) runs sequentially
    cpu_pool = not torch.cuda.is_available() and usable_cpus() > 1
    assert settings["executor"].startswith(f"local, process pool of {usable_cpus()}" if cpu_pool
                                           else "local, sequential")
    assert settings["seeds"] == ("0,1,2" if not torch.cuda.is_available() else settings["seeds"])
    assert "Estimated time" in printed
    assert not (tmp_path / "augbench-out" / "mlflow.db").exists()  # a dry run creates no store


REPRO_RECIPE = {"repro-medmnist-pneumonia": ("pneumonia", 100), "repro-medmnist-pneumonia-8ep": ("pneumonia", 8),
                "repro-medmnist-derma": ("dermamnist", 100), "repro-medmnist-derma-8ep": ("dermamnist", 8),
                "repro-medmnist-pneumonia-bf16": ("pneumonia", 100)}


@pytest.mark.parametrize("name", sorted(REPRO_RECIPE))
def test_reproduction_grids_carry_the_medmnist_recipe(name):
    """MedMNIST v2's recipe: ResNet-18, all real data, no arm, Adam 1e-3, batch 128, 3 seeds, 28 px."""
    dataset, epochs = REPRO_RECIPE[name]
    spec, _, _ = _spec("--config", str(REPO / "grids" / f"{name}.yaml"))
    assert spec.datasets == [dataset] and spec.generators == ["none"] and spec.classifiers == ["resnet18"]
    assert [b.label() for b in spec.budgets] == ["all"] and spec.seeds == [0, 1, 2] and spec.image_size == 28
    cells = spec.cells()
    assert len(cells) == 3
    cfg = cells[0].classifier_config()
    assert (cfg["epochs"], cfg["batch_size"], cfg["lr"]) == (epochs, 128, 0.001)
    tc = train_config(cfg, seed=cells[0].fit.seed, device="cpu")
    assert (tc.epochs, tc.batch_size, tc.lr, tc.milestones, tc.gamma) == (epochs, 128, 0.001, (0.5, 0.75), 0.1)
    assert tc.cpu_bf16 == name.endswith("-bf16")  # float32 unless the grid says otherwise


def test_every_shipped_grid_file_resolves_to_distinct_cells():
    for path in sorted((REPO / "grids").glob("*.yaml")):
        spec, _, _ = _spec("--config", str(path))
        cells = spec.cells()
        assert cells, path.name
        assert len({c.hash for c in cells}) == len(cells), path.name


def test_a_grid_dict_resolves_like_the_same_grid_file(tmp_path):
    """`benchmark check` builds its spec from a dict of grid-file keys: same keys, same cells."""
    from augbench.benchmark.gridfile import spec_from_grid

    grid = {"dataset": "synthetic", "generators": ["none", "dcgan"], "budgets": [10, "all"], "preset": "smoke",
            "image-size": 24, "overrides": {"classifier": {"epochs": 3}, "generators": {"dcgan": {"steps": 4}}}}
    out = str(tmp_path / "o")
    from_file, _, _ = _spec("--config", _write(tmp_path, grid), "--out", out, "--device", "cpu")
    from_dict, _, _ = spec_from_grid(grid, "a test grid", out=out, device="cpu")
    assert [c.hash for c in from_dict.cells()] == [c.hash for c in from_file.cells()]
    assert from_dict.preset == from_file.preset and from_dict.preset["classifier"]["epochs"] == 3
    with pytest.raises(UserError, match="a test grid has an unknown key 'budgett'"):
        spec_from_grid({"budgett": [10]}, "a test grid")
