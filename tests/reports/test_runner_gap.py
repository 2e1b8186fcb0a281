"""The runner's summary prints the gap closed by the best learned arm, or says why it cannot.

A small tracking store with known per-seed values (no prediction artifacts, so seeds-only), written
through the runner's own Tracker and cell params (_store.py); the expected percentages are worked out
by hand below."""
import pytest

from augbench.benchmark.runner import GridResult, summarise
from augbench.core.layout import KIND_CELL, TAG_GRID

from ._store import cell_params, open_store

METRIC = "test_balanced_accuracy"
NONE = [0.60, 0.62, 0.58]
# budget 10: real − none = (0.10, 0.12, 0.08); dcgan − none = (0.025, 0.03, 0.02) = a quarter of it on every seed
# budget 50: real − none = (0.02, −0.03, 0.01), not resolved above none
DIFF = {"10": {"none": [0, 0, 0], "real": [0.10, 0.12, 0.08], "dcgan": [0.025, 0.03, 0.02]},
        "50": {"none": [0, 0, 0], "real": [0.02, -0.03, 0.01], "dcgan": [0.01, 0.0, 0.02]}}


@pytest.fixture(scope="module")
def grid_store(fast_dir):
    tracker = open_store(fast_dir / "runner-gap")
    hashes = []
    for budget, arms in DIFF.items():
        for arm, diffs in arms.items():
            for seed, (base, d) in enumerate(zip(NONE, diffs)):
                h = f"{arm}-{budget}-{seed}"
                hashes.append(h)
                rid = tracker.start(KIND_CELL, h, h, tags={TAG_GRID: "g1"},
                                    params=cell_params("toy", budget, seed, arm, "small-cnn", minority="lesion"))
                tracker.log_metrics(rid, {METRIC: base + d})
                tracker.finish(rid)
    return tracker.tracking_uri, hashes


def test_summarise_prints_gap_closed_and_inconclusive_lines(grid_store):
    uri, hashes = grid_store
    text = summarise(GridResult(tracking_uri=uri, experiment="augbench", hashes=hashes), metric=METRIC)
    assert "real (control)" in text
    # dcgan is exactly a quarter of the way on every seed: 25 % with a zero-width interval
    assert "budget 10: best learned arm dcgan closes 25% [25%, 25%] of the gap from none to real" in text
    assert "inconclusive at this compute: real is not resolved above none at budget 50; real − none is" in text
    assert "classifier.epochs=..." in text and "--preset paper" in text
    assert text.index("best learned arm") > text.index("| arm |")       # after the table
