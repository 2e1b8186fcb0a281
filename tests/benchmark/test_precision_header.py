"""The run header names the precision every learned arm and the classifier will run in."""
import dataclasses

from augbench.benchmark.cli import build_parser
from augbench.benchmark.gridfile import spec_from_args
from augbench.benchmark.precision_header import describe_precision
from augbench.core.precision import ENV_VAR


def _header(*argv):
    spec, _, shown = spec_from_args(build_parser().parse_args(
        ["run", "--dataset", "synthetic", "--generators", "all", "--device", "cpu", *argv]))
    return spec, shown


def _by_arm(lines):
    """{"bagan": label, ..., "classifier": label} from the grouped header lines."""
    out = {}
    for line in lines:
        who, label = line.split(": ", 1)
        for name in who.replace("classifier (small-cnn)", "classifier").split(", "):
            out[name] = label
    return out


def test_quick_preset_on_a_cpu_without_native_bf16_is_float32_throughout(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "0")
    spec, shown = _header("--preset", "quick")
    labels = _by_arm(describe_precision(spec))
    assert {"bagan", "bagan-gp", "dcgan", "cwgan-gp", "infogan", "ddpm", "latent-smote", "classifier"} <= set(labels)
    assert "none" not in labels  # arms without a network of their own are not listed
    assert all(label.startswith("float32") for label in labels.values()), labels
    assert "lacks native bf16" in labels["bagan"]
    assert "precision" in shown and "float32" not in shown["device"]  # precision has its own line now


def test_quick_preset_on_a_cpu_with_native_bf16_names_the_bf16_arms(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    spec, shown = _header("--preset", "quick")
    labels = _by_arm(describe_precision(spec))
    gans = ("dcgan", "cwgan-gp", "infogan", "wgan", "lsgan", "sngan", "acgan", "opengan", "bagan", "bagan-gp")
    assert all(labels[arm].startswith("bf16") for arm in gans), labels  # amp: true, measured faster here
    assert labels["ddpm"].startswith("float32")  # bf16 measured slower for its U-Net on CPU
    assert labels["classifier"].startswith("bf16")  # cpu_bf16: auto in quick, 2.4x faster where native
    assert "bagan, bagan-gp" in shown["precision"]


def test_a_grid_classifier_cpu_bf16_shows_in_the_header(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, "0")
    grid = tmp_path / "grid.yaml"
    grid.write_text("overrides: {classifier: {cpu_bf16: true}}\n")
    spec, _ = _header("--preset", "quick", "--config", str(grid))
    assert _by_arm(describe_precision(spec))["classifier"].startswith("bf16 autocast (forced")


def test_ray_workers_resolve_auto_themselves():
    spec, _ = _header("--preset", "quick")
    lines = describe_precision(dataclasses.replace(spec, device="auto"))
    assert len(lines) == 1 and "Ray worker" in lines[0]
