"""The resolved precision is part of a fit's and a cell's identity: a store shared between a bf16
machine and a float32 one never reuses one's results as the other's (AUGBENCH_CPU_BF16 plays both)."""
import pytest

from augbench.benchmark.cli import main
from augbench.benchmark.gridfile import spec_from_grid

GRID = {"datasets": ["pneumonia"], "generators": ["none", "dcgan"], "classifiers": ["small-cnn"],
        "budgets": [10], "seeds": [0], "preset": "quick"}


def _spec(tmp_path):
    spec, _, _ = spec_from_grid(GRID, "test grid", out=str(tmp_path), device="cpu", executor="local", jobs=1)
    return spec


def _resolved(tmp_path, monkeypatch, override: str) -> dict:
    """Each arm's fit config/hash and cell config/hash/pair key, resolved under ``override``
    (hashes are resolved when asked, so they are read while the override holds)."""
    monkeypatch.setenv("AUGBENCH_CPU_BF16", override)
    return {c.fit.arm: {"fit": c.fit.config(), "fit_hash": c.fit.hash, "cell": c.config(), "hash": c.hash,
                        "pair": c.pair_key()} for c in _spec(tmp_path).cells()}


def test_hashes_follow_the_resolved_precision(tmp_path, monkeypatch):
    bf16 = _resolved(tmp_path, monkeypatch, "1")
    fp32 = _resolved(tmp_path, monkeypatch, "0")
    # quick preset: dcgan has amp: true and the classifier cpu_bf16: auto, so both follow the CPU
    assert bf16["dcgan"]["fit"]["precision"] == "bf16" and fp32["dcgan"]["fit"]["precision"] == "float32"
    assert bf16["dcgan"]["fit_hash"] != fp32["dcgan"]["fit_hash"]
    assert "precision" not in bf16["none"]["fit"]                     # no network of its own
    assert bf16["none"]["fit_hash"] == fp32["none"]["fit_hash"]       # its (real) images do not change
    assert {r["cell"]["classifier_precision"] for r in bf16.values()} == {"bf16"}
    assert {r["cell"]["classifier_precision"] for r in fp32.values()} == {"float32"}
    assert all(bf16[a]["hash"] != fp32[a]["hash"] for a in ("none", "dcgan"))
    # within one machine the arms still pair; across precisions they are different configurations
    assert bf16["none"]["pair"] == bf16["dcgan"]["pair"]
    assert bf16["none"]["pair"] != fp32["none"]["pair"]


def test_scaffold_settings_are_in_the_hash_even_when_left_to_the_defaults(tmp_path, monkeypatch):
    from augbench.benchmark import precision_keys
    from augbench.generators._learned import ADVERSARIAL_DEFAULTS, SCAFFOLD_DEFAULTS

    plain = _resolved(tmp_path, monkeypatch, "0")
    assert plain["dcgan"]["fit"]["resolved"] == {"class_sampling": SCAFFOLD_DEFAULTS["class_sampling"],
                                                 "diffaugment": ADVERSARIAL_DEFAULTS["diffaugment"]}
    assert "resolved" not in plain["none"]["fit"]
    # a changed default changes the hash of every fit left to it, never reusing the old fits
    changed_to = "sqrt" if SCAFFOLD_DEFAULTS["class_sampling"] != "sqrt" else "natural"
    monkeypatch.setitem(SCAFFOLD_DEFAULTS, "class_sampling", changed_to)
    precision_keys._resolved.cache_clear()
    precision_keys.unfitted_arm.cache_clear()  # the arms read for the hash are built once per process
    try:
        changed = _resolved(tmp_path, monkeypatch, "0")
    finally:
        precision_keys._resolved.cache_clear()
        precision_keys.unfitted_arm.cache_clear()
    assert changed["dcgan"]["fit"]["resolved"]["class_sampling"] == changed_to
    assert changed["dcgan"]["fit_hash"] != plain["dcgan"]["fit_hash"]
    assert changed["none"]["fit_hash"] == plain["none"]["fit_hash"]
    assert changed["none"]["pair"] == changed["dcgan"]["pair"]  # an arm's settings never split pairing


@pytest.mark.slow
def test_a_grid_resumed_under_another_precision_reruns_its_cells(tmp_path, data_dir, capsys, monkeypatch):
    argv = ["run", "--dataset", "pneumonia", "--generators", "none", "--budget", "10", "--seeds", "0",
            "--preset", "smoke", "--data-dir", str(data_dir), "--out", str(tmp_path / "out"), "--no-progress",
            "classifier.cpu_bf16=auto", "classifier.epochs=1"]
    monkeypatch.setenv("AUGBENCH_CPU_BF16", "0")
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 0
    assert "1 already finished, 0 to run" in capsys.readouterr().out     # same precision: reused
    monkeypatch.setenv("AUGBENCH_CPU_BF16", "1")
    assert main(argv) == 0
    assert "0 already finished, 1 to run" in capsys.readouterr().out     # other precision: rerun
