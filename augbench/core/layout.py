"""The run layout: every name augbench writes into an MLflow store and reads back, defined once.

The runner (``benchmark/``) writes runs under these names and the reports (``reports/``) read them;
both import them from here, so writer and reader cannot drift apart. They live in ``core`` because
it is the one part both sides may import (tests/test_import_graph.py): reports must read runs
without importing the training side.

The values are stored in every run. Changing one is a format change: stores written before it stop
being read (resume would rerun every cell, reports would find no runs). tests/core/test_layout.py
pins them, and checks that no other module spells an ``augbench.`` tag or the metric-key rule itself.
"""
from __future__ import annotations

import re

# --- tags ----------------------------------------------------------------------------------------------
TAG_KIND = "augbench.kind"          # which run this is: one of the KIND_* values below
TAG_HASH = "augbench.hash"          # content hash of the resolved config of the run; resume is keyed on it
TAG_GRID = "augbench.grid_id"       # hash of the grid spec; shared by all runs of one grid
TAG_FIT = "augbench.fit_hash"       # on cell and fit-link runs: the generator fit they used
TAG_FIT_RUN = "augbench.fit_run"    # on cell and fit-link runs: the run id of that fit's FINISHED run
TAG_PAIR_KEY = "augbench.pair_key"  # on cell runs: hash of the config minus arm, arm settings, seed and budget
TAG_OWNER = "augbench.owner"        # host:pid[:start ticks] of the process running it (stale-run detection)
TAG_DRIVER = "augbench.driver"      # owner token of the `benchmark run` process that planned the run
TAG_SUPERSEDED = "augbench.superseded"  # SUPERSEDED on runs a --force rerun (or a later retry) replaced
TAG_ERROR = "augbench.error"        # on FAILED runs: the error message (the traceback is an artifact)
TAG_VERSION = "augbench.version"    # augbench's version; a store written by a newer one is refused
TAG_COMMAND = "augbench.command"    # the command line that made the run
TAG_DIRTY = "augbench.git_dirty"    # "true"/"false": the checkout at TAG_COMMIT had uncommitted changes
#: MLflow's own tag names, which its fluent API sets but MlflowClient (all augbench uses) does not
TAG_PARENT = "mlflow.parentRunId"   # nests grid -> fit -> cells in the UI
TAG_COMMIT = "mlflow.source.git.commit"

#: the value of TAG_SUPERSEDED on a replaced run (any other value, or none, means current)
SUPERSEDED = "true"

# --- run kinds: the values of TAG_KIND ---------------------------------------------------------------
KIND_GRID = "grid"            # the grid's parent run
KIND_FIT = "generator"        # one generator fit
KIND_FIT_LINK = "fit-link"    # stands in, under a later grid, for a fit logged under an earlier one
KIND_CELL = "cell"            # one classifier trained on a fit's data

# --- params ------------------------------------------------------------------------------------------
PARAM_DATASET = "dataset"
PARAM_BUDGET = "budget"       # the budget's label (core/values.py Budget.label(): "10", "5%", "all")
PARAM_SEED = "seed"
PARAM_ARM = "arm"
PARAM_CLASSIFIER = "classifier"
PARAM_IMAGE_SIZE = "image_size"
PARAM_PRESET = "preset"
PARAM_TARGET = "target"
PARAM_MINORITY = "minority"   # comma-separated names of the classes the budget applied to
PARAM_VAL_BUDGET = "val_budget"  # "budgeted" or "full": how much validation data selected the model
PARAM_CONFIG_NAME = "config_name"   # cell runs: the configuration's label in the report (else the preset)
PARAM_PROBE_VERDICT = "probe_verdict"  # learned fits: the convergence probe's verdict
#: the axes of a cell; a fit has all but the classifier
AXES = (PARAM_DATASET, PARAM_BUDGET, PARAM_SEED, PARAM_ARM, PARAM_CLASSIFIER)
FIT_AXES = (PARAM_DATASET, PARAM_BUDGET, PARAM_SEED, PARAM_ARM)
#: settings shown in table titles when they vary; for runs without a pair key they are also what
#: keeps incomparable runs apart (the pair key, when present, covers them and much more).
CONTEXT = (PARAM_IMAGE_SIZE, PARAM_PRESET, PARAM_TARGET)
#: prefixes of param families
PREFIX_GEN = "gen."             # the arm's settings (on fits and on cells, to compare cells by them)
PREFIX_CLF = "clf."             # the classifier's settings (cells)
PREFIX_EFFECTIVE = "effective_"  # effective_<class key>: images kept per budgeted class; only those classes
PREFIX_N_VAL = "n_val_"         # n_val_<class key>: validation images kept per budgeted class (cells)

# --- artifacts ---------------------------------------------------------------------------------------
ARTIFACT_GRID = "grid.json"                  # grid runs: the resolved spec
ARTIFACT_SAMPLES = "samples.png"             # fit runs: a row of synthetic images per class
ARTIFACT_REAL = "real.png"                   # fit runs: the same layout with the budget images the arm saw
ARTIFACT_FEATURES = "features_domain.npz"    # fit runs: domain features, keyed by feature_key(role, class key)
ARTIFACT_FIDELITY_ROLES = "fidelity_roles.json"  # fit runs: what each feature role holds, class key -> index
ARTIFACT_PREDICTIONS = "predictions_test.npz"  # cell runs: per-image test predictions, fields PRED_* below
ARTIFACT_CONFUSION = "confusion_matrix_test.csv"  # cell runs: true class rows x predicted class columns
ARTIFACT_TRACEBACK = "traceback.txt"         # FAILED runs: the exception's traceback
ARTIFACT_MODEL_DIR = "model"                 # --save-models / learned fits: the weights file under model/

#: the roles of ARTIFACT_FEATURES: the budget images the arm saw, real images it never saw, its samples
FEATURE_ROLES = ("real", "heldout", "fake")
_FEATURE_SEP = "__"


def feature_key(role: str, class_key: str) -> str:
    """The array name of one role's features of one class in ARTIFACT_FEATURES: ``real__lesion``."""
    return f"{role}{_FEATURE_SEP}{class_key}"


def feature_class(key: str) -> str | None:
    """The class key of an ARTIFACT_FEATURES array name (None for a name that is not one)."""
    _, sep, cls = key.partition(_FEATURE_SEP)
    return cls if sep else None


# --- prediction file fields (ARTIFACT_PREDICTIONS, an npz) -------------------------------------------
PRED_PROBS = "probs"                # (N, K) float32 class probabilities on the test split
PRED_LABELS = "labels"              # (N,) int64 true classes
PRED_CLASSES = "classes"            # (K,) class names: per-class metrics are matched to classes by these
PRED_IDS = "ids"                    # (N,) image ids, where the split has them (pairing image by image)
PRED_GROUPS = "groups"              # (N,) subject ids (lesion, patient), where the split has them
PRED_PROBS_PC = "probs_pc"          # (N, K) the prior-corrected probabilities
PRED_TRAIN_COUNTS = "train_counts"  # (K,) int64 the arm's training counts (real + synthetic)

# --- fit cache: <out>/cache/fits/<fit hash>/ ---------------------------------------------------------
CACHE_SAMPLES = "samples.npz"   # the synthetic images and labels; written last, its presence = fit complete
CACHE_RECORD = "fit.json"       # settings, history, effective counts, timings, compute of the fit
CACHE_WEIGHTS = "generator.pt"  # a learned arm's networks (logged under ARTIFACT_MODEL_DIR too)

# --- metric names ------------------------------------------------------------------------------------
#: metric names start with the split they were computed on (test_recall_<class key>, val_macro_auc)
SPLIT_TEST = "test"
SPLIT_VAL = "val"
#: the key prefix of test metrics under the prior-corrected decision: test_pc_balanced_accuracy
PRIOR_CORRECTED_SPLIT = "test_pc"

_UNSAFE = re.compile(r"[^0-9a-zA-Z]+")


def metric_key(text: str) -> str:
    """A class name as a metric/param name fragment ('Pleural effusion' -> 'pleural_effusion').

    The one rule: the runner names per-class metrics and params with it, and the reports match
    logged names back to classes with it, so the two must never differ."""
    return _UNSAFE.sub("_", str(text)).strip("_").lower() or "class"
