"""bagan at the quick preset's size, on real isic images at budget 10: with natural batches (about 1 %
minority images) its adversarial phase pulls the class-c fakes away from the real class-c images and
the convergence probe's FID climbs (the mission's 9 of 9 "diverged" fits); with balanced batches the
discriminator sees the rare classes' real images and the curve stays flat. The probe is the one a
grid runs (benchmark/probe.py), on the grid's own fit data."""
import pytest

from augbench.benchmark.fit import _probe, prepare_fit_data
from augbench.benchmark.gridfile import spec_from_grid
from augbench.generators import create_generator


def _probe_verdict(tmp_path, data_dir, class_sampling: str) -> tuple[str, list]:
    grid = {"datasets": ["isic"], "generators": ["bagan"], "classifiers": ["small-cnn"], "budgets": [10],
            "seeds": [0], "preset": "quick", "data_dir": str(data_dir)}
    spec, _, _ = spec_from_grid(grid, "bagan divergence", out=str(tmp_path), device="cpu", executor="local", jobs=1)
    fit = spec.cells()[0].fit
    data = prepare_fit_data(fit)
    real = data.budgeted.split
    generator = create_generator("bagan", **{**fit.generator_config(), "gan_steps": 150,
                                             "class_sampling": class_sampling})
    probe = _probe(data, generator, None)
    generator.fit(real.images, real.labels, data.info.n_classes, seed=0, progress=probe)
    verdict, _ = probe.verdict()
    return verdict, [row["probe_fid_mean"] for _, row in probe.history()]


@pytest.mark.slow
def test_a_quick_bagan_fit_on_isic_does_not_diverge_with_balanced_batches(tmp_path, data_dir):
    verdict, curve = _probe_verdict(tmp_path, data_dir, "balanced")
    assert verdict != "diverged", curve
    assert curve[-1] < 1.5 * min(curve), curve
    # the cause, shown: the same fit with natural batches ends at well over 1.5x its best FID
    natural, natural_curve = _probe_verdict(tmp_path, data_dir, "natural")
    assert natural == "diverged", natural_curve
