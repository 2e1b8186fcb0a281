import pytest

from augbench.benchmark.grid import GridSpec, content_hash
from augbench.core.errors import UserError
from augbench.core.values import Budget, parse_budgets, parse_seeds


def _spec(**kw):
    base = dict(datasets=["synthetic"], generators=["none", "oversample"], classifiers=["small-cnn", "resnet18"],
                budgets=[10, 50], seeds=[0, 1], preset={"name": "smoke", "classifier": {"epochs": 1}}, image_size=28)
    base.update(kw)
    return GridSpec(**base)


def test_parse_budgets_and_seeds():
    assert parse_budgets("10, 50,all") == [Budget(count=10), Budget(count=50), Budget()]
    assert parse_budgets([5, "5"]) == [Budget(count=5)]
    assert parse_seeds("0,1,1") == [0, 1] and parse_seeds([2, "3"]) == [2, 3]
    for bad in ("0", "-3", "ten", ""):
        with pytest.raises(UserError):
            parse_budgets(bad)
    for bad in ("a", "0,-1", ""):
        with pytest.raises(UserError):
            parse_seeds(bad)


def test_a_spec_built_in_python_takes_budgets_and_targets_as_text():
    spec = _spec(budgets=[10, "5%", None], target="ratio:0.50")
    assert spec.budgets == [Budget(count=10), Budget(percent=5.0), Budget()]
    assert [f.budget.label() for f in spec.fits()][::4] == ["10", "5%", "all"]
    assert spec.cells()[0].params()["target"] == "ratio:0.5"


def test_expansion_counts_and_grouping():
    spec = _spec()
    assert len(spec.fits()) == 1 * 2 * 2 * 2
    cells = spec.cells()
    assert len(cells) == 16
    assert len({c.hash for c in cells}) == 16
    # the two classifiers of one fit share the fit hash: the generator is fitted once for both
    first = spec.fits()[0].cells()
    assert first[0].fit.hash == first[1].fit.hash and first[0].hash != first[1].hash


def test_hash_is_content_based():
    a, b = _spec().cells()[0], _spec().cells()[0]
    assert a.hash == b.hash
    changed = _spec(preset={"name": "smoke", "classifier": {"epochs": 2}}).cells()[0]
    assert changed.hash != a.hash and changed.fit.hash == a.fit.hash  # classifier settings don't touch the fit
    assert _spec(image_size=32).cells()[0].fit.hash != a.fit.hash
    assert content_hash({"x": 1, "y": 2}) == content_hash({"y": 2, "x": 1})


def test_grid_id_ignores_output_location():
    assert _spec(out_dir="a").grid_id() == _spec(out_dir="b").grid_id()
    assert _spec(seeds=[0]).grid_id() != _spec().grid_id()


def test_split_fingerprint_and_val_budget_key_what_they_change():
    a, b = _spec(), _spec(split_fingerprints={"synthetic": "0123abcd"})
    fa, fb = a.fits()[0], b.fits()[0]
    assert fa.hash != fb.hash and fa.cells()[0].hash != fb.cells()[0].hash  # a new split reuses nothing
    full = _spec(val_budget="full")
    assert full.fits()[0].hash == fa.hash  # val is not seen by the generator: its fit is reused
    assert full.cells()[0].hash != a.cells()[0].hash


def test_pair_key_ignores_arm_seed_and_budget_only():
    spec = _spec()
    keys = {c.pair_key() for c in spec.cells() if c.classifier == "small-cnn"}
    assert len(keys) == 1
    assert {c.pair_key() for c in spec.cells()} != keys  # the classifier is part of the configuration
    other = _spec(preset={"name": "smoke", "classifier": {"epochs": 2}})
    assert other.cells()[0].pair_key() != spec.cells()[0].pair_key()
