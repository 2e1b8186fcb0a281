"""Expanding a grid (datasets x budgets x seeds x arms x classifiers) into hashed work units.

Two levels of identity matter: a *fit* (dataset, budget, seed, arm + settings) is trained once and its
samples reused by every classifier; a *cell* adds the classifier. Both are keyed by a content hash of
their fully resolved config, which is what resume and the sample cache look up.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from augbench.benchmark.run_options import RunFound, RunOptions
from augbench.benchmark.settings import Settings, arm_settings, resolve_settings
from augbench.core.layout import (PARAM_ARM, PARAM_BUDGET, PARAM_CLASSIFIER, PARAM_CONFIG_NAME, PARAM_DATASET,
                                  PARAM_IMAGE_SIZE, PARAM_PRESET, PARAM_SEED, PARAM_TARGET, PARAM_VAL_BUDGET)
from augbench.core.values import ArmName, Budget, Target

CACHE_VERSION = 2  # bump when the meaning of cached samples or runs changes (2: budgeted val, equal steps)


def content_hash(obj) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class GridSpec:
    """Everything that defines a grid; CLI flags and grid files both end up here."""

    datasets: list[str]
    generators: list[str]
    classifiers: list[str]
    budgets: list[Budget]  # counts, fractions or 'all' (anything Budget.parse takes is parsed on the way in)
    seeds: list[int]
    preset: dict
    image_size: int
    target: Target = Target()  # the first target; ``targets`` holds the whole axis when it has several
    minority: list[str] | None = None
    device: str = "cpu"
    data_dir: str | None = None
    out_dir: str = "augbench-out"
    tracking_uri: str | None = None
    experiment: str = "augbench"
    inception_weights: str | None = None
    classifier_weights: str | None = None
    val_budget: str = "budgeted"  # "budgeted": val scaled like the train budget; "full": every val image (ablation)
    #: dataset name -> datasets.fingerprint.split_fingerprint of its loaded splits, filled by the runner
    #: before hashing, so a changed split (a split file added or removed) never reuses a fit or a cell
    split_fingerprints: dict = field(default_factory=dict)
    #: what the user asked for beside the grid (benchmark/run_options.py); in no hash
    options: RunOptions = field(default_factory=RunOptions)
    #: what the runner found when the run started, carried to every worker; in no hash
    found: RunFound = field(default_factory=RunFound)
    #: ``preset`` resolved to typed values (benchmark/settings.py) where the spec was built; the
    #: raw dict stays what hashes read, every other reader takes these through ``resolved()``
    settings: Settings | None = field(default=None, repr=False, compare=False)
    #: the target axis (e.g. ratio:0.5, ratio:1, ratio:5); None: the single ``target``
    targets: list[Target] | None = None

    def __post_init__(self):
        # a GridSpec built in Python may hold the values as text (10, '5%', 'ratio:0.5'): typed here, once
        object.__setattr__(self, "budgets", [Budget.parse(b) for b in self.budgets])
        object.__setattr__(self, "target", Target.parse(self.target))
        if self.targets is not None:
            object.__setattr__(self, "targets", [Target.parse(t) for t in self.targets])

    def resolved(self) -> Settings:
        """The typed settings: the ones resolved when the spec was built, else resolved now (a
        GridSpec made in Python); either way the one resolution of the preset's defaults."""
        return self.settings if self.settings is not None else resolve_settings(self.preset)

    def target_axis(self) -> list[Target]:
        return list(self.targets) if self.targets else [self.target]

    def grid_id(self) -> str:
        keys = ("datasets", "generators", "classifiers", "budgets", "seeds", "image_size", "target", "minority",
                "val_budget", "split_fingerprints")
        extra = {"targets": [t.label() for t in self.targets]} if self.targets and len(self.targets) > 1 else {}
        values = {k: getattr(self, k) for k in keys} | {"budgets": [b.grid_value() for b in self.budgets],
                                                        "target": self.target.label()}
        return content_hash(values | {"preset": self.preset.get("name")} | extra)

    def fits(self) -> list["Fit"]:
        axis = self.target_axis()
        return [Fit(self, d, b, s, g, t if len(axis) > 1 else None) for d in self.datasets for b in self.budgets
                for t in axis for s in self.seeds for g in self.generators]

    def cells(self) -> list["Cell"]:
        return [c for fit in self.fits() for c in fit.cells()]


@dataclass
class Fit:
    """One generator fit: (dataset, budget, seed, arm). Its samples serve every classifier."""

    spec: GridSpec
    dataset: str
    budget: Budget
    seed: int
    arm: str
    target_value: Target | None = None  # set on grids with a target axis; else the grid's one target

    def __post_init__(self):
        object.__setattr__(self, "budget", Budget.parse(self.budget))
        if self.target_value is not None:
            object.__setattr__(self, "target_value", Target.parse(self.target_value))

    @property
    def target(self) -> Target:
        return self.target_value if self.target_value is not None else self.spec.target

    @property
    def arm_name(self) -> ArmName:
        """The arm's base and variant; a ``--gen-budget`` variant's ``scale`` (``dcgan@4x``: 4.0) makes it
        an arm of its own in every table and hash."""
        return ArmName.parse(self.arm)

    def generator_config(self) -> dict:
        return arm_settings(self.spec.preset, self.arm)

    def config(self) -> dict:
        """The resolved settings that determine the generated images (and nothing else)."""
        s = self.spec
        return {
            "version": CACHE_VERSION, "dataset": self.dataset, "image_size": s.image_size,
            "subsample": s.preset.get("subsample") or {}, "budget": self.budget.label(),
            "seed": self.seed, "minority": s.minority, "target": self.target.label(),
            "split": s.split_fingerprints.get(self.dataset),
            "arm": self.arm, "arm_config": self.generator_config(),
            "fidelity": s.preset.get("fidelity") or {}, "inception_weights": s.inception_weights,
            # only when set: a preset without a compute block keeps the hashes (and caches) it had
            **({"compute": s.preset["compute"]} if s.preset.get("compute") else {}),
            **({"gen_scale": self.arm_name.scale} if self.arm_name.scale else {}),
            **self._precision(),
        }

    def _precision(self) -> dict:
        """The arm's resolved precision and scaffold settings (benchmark/precision_keys.py), for arms
        with a network."""
        from augbench.benchmark.precision_keys import arm_precision_name, arm_resolved_settings

        name = arm_precision_name(self.arm, self.generator_config(), self.spec.device)
        resolved = arm_resolved_settings(self.arm, self.generator_config())
        return {**({} if name is None else {"precision": name}), **({"resolved": resolved} if resolved else {})}

    @property
    def hash(self) -> str:
        return content_hash(self.config())

    def cells(self) -> list["Cell"]:
        return [Cell(self, c) for c in self.spec.classifiers]

    def label(self) -> str:
        target = f" t={self.target_value.label()}" if self.target_value is not None else ""
        return f"{self.dataset} b={self.budget.label()}{target} s={self.seed} {self.arm}"


@dataclass
class Cell:
    """One classifier trained on one fit's (real + synthetic) data and evaluated on the test split."""

    fit: Fit
    classifier: str

    def classifier_config(self) -> dict:
        cfg = dict(self.fit.spec.preset.get("classifier", {}))
        if self.fit.spec.classifier_weights:
            cfg["weights"] = self.fit.spec.classifier_weights
        return cfg

    def config(self) -> dict:
        from augbench.benchmark.precision_keys import classifier_precision_name

        cfg = self.classifier_config()
        return self.fit.config() | {"classifier": self.classifier, "classifier_config": cfg,
                                    "classifier_precision": classifier_precision_name(cfg, self.fit.spec.device),
                                    "val_budget": self.fit.spec.val_budget}

    @property
    def hash(self) -> str:
        return content_hash(self.config())

    def pair_key(self) -> str:
        """What two cells must share to be compared: everything but the arm, its settings, the seed
        and the budget (the report pairs seeds and budgets itself). Same key = same split, same
        classifier recipe and its resolved precision, same preset and grid overrides, same target,
        minority and val budget. (An arm's own precision belongs to the arm, like its settings.)"""
        config = self.config()
        for key in ("arm", "arm_config", "gen_scale", "precision", "resolved", "seed", "budget"):
            config.pop(key, None)
        return content_hash(config)

    def params(self) -> dict:
        f = self.fit
        name = f.spec.preset.get("name", "custom")
        return {PARAM_DATASET: f.dataset, PARAM_BUDGET: f.budget.label(), PARAM_SEED: f.seed, PARAM_ARM: f.arm,
                PARAM_CLASSIFIER: self.classifier, PARAM_IMAGE_SIZE: f.spec.image_size,
                PARAM_TARGET: f.target.label(), PARAM_PRESET: name, PARAM_CONFIG_NAME: name,
                PARAM_VAL_BUDGET: f.spec.val_budget}

    def label(self) -> str:
        return f"{self.fit.label()} {self.classifier}"


def spec_summary(spec: GridSpec) -> dict:
    d = asdict(spec)
    d.pop("settings", None)  # the preset's typed copy: the preset itself is what the summary names
    d["preset"] = spec.preset.get("name")
    d["budgets"] = [b.label() for b in spec.budgets]
    d["target"] = spec.target.label()
    d["targets"] = None if spec.targets is None else [t.label() for t in spec.targets]
    return d
