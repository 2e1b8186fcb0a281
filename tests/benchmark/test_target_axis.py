"""The synthetic:real ratio axis: --target ratio:0.5,1,5 is a grid axis, each fit filling every
minority class with r synthetic images per budget image."""
import pytest

from augbench.benchmark.cli import build_parser
from augbench.benchmark.gridfile import spec_from_args
from augbench.core.errors import UserError
from augbench.core.values import Target, parse_targets
from augbench.datasets.budget import target_counts


def test_ratio_list_expands_and_other_targets_stay_single():
    def labels(text):
        return [t.label() for t in parse_targets(text)]

    assert labels("ratio:0.5,1,5") == ["ratio:0.5", "ratio:1", "ratio:5"]
    assert labels("original") == ["original"] and labels("500") == ["500"]
    assert labels("balanced,ratio:2") == ["balanced", "ratio:2"]
    assert parse_targets("ratio:0.50,1.0") == [Target("ratio", ratio=0.5), Target("ratio", ratio=1.0)]
    for bad in ("ratio:x", "ratio:-1", "sometimes", "0", "ratio:1,original", ""):
        with pytest.raises(UserError):
            parse_targets(bad)


def test_ratio_targets_add_r_synthetic_images_per_budget_image():
    effective, original = {0: 10, 3: 7}, {0: 300, 3: 7}
    assert target_counts(original, effective, "ratio:0.5", 900) == {0: 15, 3: 11}  # 3.5 rounds up
    assert target_counts(original, effective, "ratio:5", 900) == {0: 60, 3: 42}
    assert target_counts(original, effective, "ratio:0", 900) == effective


def _spec(*argv):
    return spec_from_args(build_parser().parse_args(["run", "--dataset", "pneumonia", "--preset", "smoke",
                                                     "--generators", "none,oversample", "--budget", "10", *argv]))


def test_each_ratio_is_its_own_fit_and_cell_and_the_header_lists_them():
    spec, _, shown = _spec("--target", "ratio:0.5,1,5")
    fits = spec.fits()
    assert sorted({f.target.label() for f in fits}) == ["ratio:0.5", "ratio:1", "ratio:5"] and len(fits) == 6
    assert len({f.hash for f in fits}) == 6 and len({c.hash for c in spec.cells()}) == 6
    assert {c.params()["target"] for c in spec.cells()} == {"ratio:0.5", "ratio:1", "ratio:5"}
    assert shown["target"] == "ratio:0.5,ratio:1,ratio:5"
    assert all(f"t={f.target.label()}" in f.label() for f in fits)
    # none and oversample at one ratio share a pair key: oversample is the count-matched control
    keys = {(c.fit.target, c.pair_key()) for c in spec.cells()}
    assert len(keys) == 3


def test_a_single_target_keeps_the_ids_it_always_had():
    one, _, _ = _spec("--target", "balanced")
    assert one.targets is None and one.target == Target("balanced")
    assert all(f.target_value is None and "t=" not in f.label() for f in one.fits())
