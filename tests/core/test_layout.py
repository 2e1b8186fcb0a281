"""core/layout.py: the run layout is defined once, keeps the names stores were written with, and the
writer and the reader agree on it.

The source checks read every module statically (like tests/test_import_graph.py), so a tag spelt
out anywhere else, or a second copy of the metric-key rule, fails here whether or not a test runs it.
Prose may name a tag (docstrings, messages); code that uses one takes the layout's constant.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import augbench.core.layout as layout

REPO = Path(__file__).resolve().parents[2]
#: every folder of shipped or run code (tests may spell names out: they pin what stores hold)
SOURCE = ("augbench", "datasets", "generators", "classifiers", "benchmark", "reports", "scripts", "perf")
LAYOUT = REPO / "augbench" / "core" / "layout.py"
#: ``augbench.<x>`` strings that are not tags: the installed subpackages and the plugin entry-point groups
NOT_TAGS = {f"augbench.{part}" for part in ("core", "datasets", "generators", "classifiers", "benchmark", "reports")}

#: the names as stores hold them; a change here is a format change (older stores stop being read)
PINNED = {
    "TAG_KIND": "augbench.kind", "TAG_HASH": "augbench.hash", "TAG_GRID": "augbench.grid_id",
    "TAG_FIT": "augbench.fit_hash", "TAG_FIT_RUN": "augbench.fit_run", "TAG_PAIR_KEY": "augbench.pair_key",
    "TAG_OWNER": "augbench.owner", "TAG_DRIVER": "augbench.driver", "TAG_SUPERSEDED": "augbench.superseded",
    "TAG_ERROR": "augbench.error", "TAG_VERSION": "augbench.version", "TAG_COMMAND": "augbench.command",
    "TAG_DIRTY": "augbench.git_dirty", "TAG_PARENT": "mlflow.parentRunId", "TAG_COMMIT": "mlflow.source.git.commit",
    "SUPERSEDED": "true",
    "KIND_GRID": "grid", "KIND_FIT": "generator", "KIND_FIT_LINK": "fit-link", "KIND_CELL": "cell",
    "AXES": ("dataset", "budget", "seed", "arm", "classifier"), "FIT_AXES": ("dataset", "budget", "seed", "arm"),
    "CONTEXT": ("image_size", "preset", "target"), "PARAM_MINORITY": "minority", "PARAM_CONFIG_NAME": "config_name", "PARAM_VAL_BUDGET": "val_budget",
    "PARAM_PROBE_VERDICT": "probe_verdict",
    "PREFIX_GEN": "gen.", "PREFIX_CLF": "clf.", "PREFIX_EFFECTIVE": "effective_", "PREFIX_N_VAL": "n_val_",
    "ARTIFACT_GRID": "grid.json", "ARTIFACT_SAMPLES": "samples.png", "ARTIFACT_REAL": "real.png",
    "ARTIFACT_FEATURES": "features_domain.npz", "ARTIFACT_FIDELITY_ROLES": "fidelity_roles.json",
    "ARTIFACT_PREDICTIONS": "predictions_test.npz", "ARTIFACT_CONFUSION": "confusion_matrix_test.csv",
    "ARTIFACT_TRACEBACK": "traceback.txt", "ARTIFACT_MODEL_DIR": "model",
    "FEATURE_ROLES": ("real", "heldout", "fake"),
    "PRED_PROBS": "probs", "PRED_LABELS": "labels", "PRED_CLASSES": "classes", "PRED_IDS": "ids",
    "PRED_GROUPS": "groups", "PRED_PROBS_PC": "probs_pc", "PRED_TRAIN_COUNTS": "train_counts",
    "CACHE_SAMPLES": "samples.npz", "CACHE_RECORD": "fit.json", "CACHE_WEIGHTS": "generator.pt",
    "SPLIT_TEST": "test", "SPLIT_VAL": "val", "PRIOR_CORRECTED_SPLIT": "test_pc",
}


def _sources() -> list[Path]:
    return sorted(p for folder in SOURCE for p in (REPO / folder).rglob("*.py"))


def _strings(path: Path):
    """(line, text) of every string constant in the module that is not a docstring (f-string parts included)."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def _tags() -> dict[str, str]:
    return {name: value for name, value in vars(layout).items() if name.startswith("TAG_")}


def test_names_keep_the_values_stores_were_written_with():
    assert {name: getattr(layout, name) for name in PINNED} == PINNED
    assert set(_tags()) <= set(PINNED), "a new tag: pin its value in PINNED"
    assert len(set(_tags().values())) == len(_tags()), "two tag constants share one name"


def test_every_tag_is_spelt_out_in_layout_only():
    tags = set(_tags().values())
    quoted = re.compile("[`'\"](" + "|".join(re.escape(t) for t in tags) + ")[`'\"]")
    tag_like = re.compile(r"^augbench\.[a-z_]+$")
    found = []
    for path in _sources():
        if path == LAYOUT:
            continue
        for line, text in _strings(path):
            if text in tags or (tag_like.match(text) and text not in NOT_TAGS) or quoted.search(text):
                found.append(f"{path.relative_to(REPO)}:{line}: {text[:80]!r}")
    assert not found, "tag names outside augbench/core/layout.py (import the TAG_* constant):\n" + "\n".join(found)
    assert any(text in tags for _, text in _strings(LAYOUT))  # the scan does see string constants


def test_the_metric_key_rule_has_one_definition():
    rule = re.compile(r"\[\^0-9a-zA-Z\]\+|\[\^0-9A-Za-z\]\+|\[\^a-zA-Z0-9\]\+|\[\^A-Za-z0-9\]\+")
    defined, copies = [], []
    for path in _sources():
        tree = ast.parse(path.read_text())
        defined += [f"{path.relative_to(REPO)}:{node.lineno}" for node in ast.walk(tree)
                    if isinstance(node, ast.FunctionDef) and node.name in ("metric_key", "class_key")]
        copies += [f"{path.relative_to(REPO)}:{line}" for line, text in _strings(path) if rule.search(text)]
    assert defined == ["augbench/core/layout.py:" + str(layout.metric_key.__code__.co_firstlineno)], defined
    assert copies == [f"augbench/core/layout.py:{_line_of(LAYOUT, '_UNSAFE = ')}"], copies
    from augbench.benchmark import metrics
    from augbench.reports import predictions

    assert metrics.metric_key is layout.metric_key and predictions.metric_key is layout.metric_key
    assert layout.metric_key("Pleural effusion/2") == "pleural_effusion_2" and layout.metric_key("--") == "class"


def _line_of(path: Path, start: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(start))


def test_the_writer_logs_the_params_the_reader_reads():
    """grid.Cell.params() (what every cell run carries) holds every axis and context setting reports/runs.py reads."""
    from augbench.benchmark.grid import GridSpec

    spec = GridSpec(datasets=["toy"], generators=["none"], classifiers=["small-cnn"], budgets=["all"], seeds=[3],
                    preset={"name": "fixture"}, image_size=28, target="balanced")
    (cell,) = spec.fits()[0].cells()
    params = cell.params()
    assert {*layout.AXES, *layout.CONTEXT, layout.PARAM_CONFIG_NAME} <= set(params)
    assert params[layout.PARAM_BUDGET] == "all" and params[layout.PARAM_SEED] == 3


def test_feature_keys_round_trip():
    key = layout.feature_key("heldout", "pleural_effusion")
    assert key == "heldout__pleural_effusion" and layout.feature_class(key) == "pleural_effusion"
    assert layout.feature_class("no separator") is None


def test_predictions_written_by_the_cell_are_read_back_in_full(tmp_path):
    """The cell's predictions logger and the report's reader agree on the artifact and every field."""
    from augbench.benchmark.cell import _log_predictions
    from augbench.benchmark.tracking import Tracker
    from augbench.reports.predictions import PredictionSource

    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "augbench", artifact_root=tmp_path / "artifacts")
    run_id = tracker.start(layout.KIND_CELL, "h", "cell", params={})
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), 10).astype(np.float32)
    probs_pc = rng.dirichlet(np.ones(3), 10).astype(np.float32)
    test = SimpleNamespace(labels=np.arange(10) % 3, ids=np.array([f"i{k}" for k in range(10)]),
                           groups=np.array([f"g{k // 2}" for k in range(10)]))
    _log_predictions(tracker, run_id, probs, test, class_names=["a", "B c", "d"], probs_pc=probs_pc,
                     train_counts=[5, 3, 1])
    tracker.finish(run_id)
    pred = PredictionSource(tracker.tracking_uri).get(run_id)
    assert pred is not None and pred.classes == ["a", "B c", "d"]
    np.testing.assert_array_equal(pred.probs, probs)
    np.testing.assert_array_equal(pred.probs_pc, probs_pc)
    np.testing.assert_array_equal(pred.labels, test.labels)
    np.testing.assert_array_equal(pred.ids, test.ids)
    np.testing.assert_array_equal(pred.groups, test.groups)
