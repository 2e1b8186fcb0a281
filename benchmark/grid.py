"""Expanding a grid (datasets x budgets x seeds x arms x classifiers) into hashed work units.

Two levels of identity matter: a *fit* (dataset, budget, seed, arm + settings) is trained once and its
samples reused by every classifier; a *cell* adds the classifier. Both are keyed by a content hash of
their fully resolved config, which is what resume and the sample cache look up.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from augbench.core.errors import UserError

CACHE_VERSION = 2  # bump when the meaning of cached samples or runs changes (2: budgeted val, equal steps)


def content_hash(obj) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_budgets(text) -> list[int | str | None]:
    """'10,50,all' -> [10, 50, None]; '5%,10%' -> ['5%', '10%'] (fractions of each minority class);
    None means every real image. Counts and fractions may be mixed."""
    from augbench.datasets.budget import parse_fraction

    items = text if isinstance(text, (list, tuple)) else str(text).split(",")
    out: list[int | str | None] = []
    for item in items:
        item = str(item).strip().lower()
        if not item:
            continue
        if item == "all":
            out.append(None)
            continue
        if item.endswith("%"):
            out.append(parse_fraction(item))
            continue
        try:
            value = int(item)
        except ValueError:
            raise UserError(f"budget {item!r} is not a number.",
                            "write budgets like --budget 10,50,100,all or --budget 5%,10%,50%.") from None
        if value <= 0:
            raise UserError(f"budget {value} must be positive.", "use a positive count per minority class, or 'all'.")
        out.append(value)
    if not out:
        raise UserError("no budget given.", "pass e.g. --budget 10,50,100.")
    return list(dict.fromkeys(out))


def parse_seeds(text) -> list[int]:
    items = text if isinstance(text, (list, tuple)) else str(text).split(",")
    try:
        seeds = [int(str(s).strip()) for s in items if str(s).strip()]
    except ValueError:
        raise UserError(f"seeds {text!r} are not integers.", "write seeds like --seeds 0,1,2.") from None
    if not seeds:
        raise UserError("no seed given.", "pass e.g. --seeds 0,1,2.")
    return list(dict.fromkeys(seeds))


def budget_label(budget: int | str | None) -> str:
    return "all" if budget is None else str(budget)


@dataclass
class GridSpec:
    """Everything that defines a grid; CLI flags and grid files both end up here."""

    datasets: list[str]
    generators: list[str]
    classifiers: list[str]
    budgets: list[int | None]
    seeds: list[int]
    preset: dict
    image_size: int
    target: str = "original"  # the first target; ``targets`` holds the whole axis when it has several
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
    extra: dict = field(default_factory=dict)
    #: the target axis (e.g. ratio:0.5, ratio:1, ratio:5); None: the single ``target``
    targets: list[str] | None = None

    def target_axis(self) -> list[str]:
        return list(self.targets) if self.targets else [self.target]

    def grid_id(self) -> str:
        keys = ("datasets", "generators", "classifiers", "budgets", "seeds", "image_size", "target", "minority",
                "val_budget", "split_fingerprints")
        extra = {"targets": self.targets} if self.targets and len(self.targets) > 1 else {}
        return content_hash({k: getattr(self, k) for k in keys} | {"preset": self.preset.get("name")} | extra)

    def fits(self) -> list["Fit"]:
        axis = self.target_axis()
        return [Fit(self, d, b, s, g, t if len(axis) > 1 else None) for d in self.datasets for b in self.budgets
                for t in axis for s in self.seeds for g in self.generators]

    def cells(self) -> list["Cell"]:
        return [c for fit in self.fits() for c in fit.cells()]


def compute_scale(arm: str) -> float | None:
    """The compute multiple of a ``--gen-budget`` variant (``dcgan@4x`` -> 4.0), else None. Being
    variants, the multiples are arms of their own in every table and hash."""
    from augbench.core.registry import variant_scale

    return variant_scale(arm)


def arm_settings(preset: dict, arm: str) -> dict:
    """An arm's preset entry; a variant (``ddpm@g3``) starts from its base arm's entry and changes
    only what its own entry sets, so ``generators.ddpm@g3.guidance=3`` differs from ddpm in one knob."""
    from augbench.core.registry import split_variant

    entries = preset.get("generators") or {}
    base, label = split_variant(arm)
    if label is None:
        return dict(entries.get(arm, {}))
    return {**entries.get(base, {}), **entries.get(arm, {})}


@dataclass
class Fit:
    """One generator fit: (dataset, budget, seed, arm). Its samples serve every classifier."""

    spec: GridSpec
    dataset: str
    budget: int | None
    seed: int
    arm: str
    target_value: str | None = None  # set on grids with a target axis; else the grid's one target

    @property
    def target(self) -> str:
        return self.target_value or self.spec.target

    def generator_config(self) -> dict:
        return arm_settings(self.spec.preset, self.arm)

    def config(self) -> dict:
        """The resolved settings that determine the generated images (and nothing else)."""
        s = self.spec
        return {
            "version": CACHE_VERSION, "dataset": self.dataset, "image_size": s.image_size,
            "subsample": s.preset.get("subsample") or {}, "budget": budget_label(self.budget),
            "seed": self.seed, "minority": s.minority, "target": self.target,
            "split": s.split_fingerprints.get(self.dataset),
            "arm": self.arm, "arm_config": self.generator_config(),
            "fidelity": s.preset.get("fidelity") or {}, "inception_weights": s.inception_weights,
            # only when set: a preset without a compute block keeps the hashes (and caches) it had
            **({"compute": s.preset["compute"]} if s.preset.get("compute") else {}),
            **({"gen_scale": compute_scale(self.arm)} if compute_scale(self.arm) else {}),
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
        target = f" t={self.target_value}" if self.target_value else ""
        return f"{self.dataset} b={budget_label(self.budget)}{target} s={self.seed} {self.arm}"


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
        return {"dataset": f.dataset, "budget": budget_label(f.budget), "seed": f.seed, "arm": f.arm,
                "classifier": self.classifier, "image_size": f.spec.image_size, "target": f.target,
                "preset": f.spec.preset.get("name", "custom"), "config_name": f.spec.preset.get("name", "custom"),
                "val_budget": f.spec.val_budget}

    def label(self) -> str:
        return f"{self.fit.label()} {self.classifier}"


def spec_summary(spec: GridSpec) -> dict:
    d = asdict(spec)
    d["preset"] = spec.preset.get("name")
    d["budgets"] = [budget_label(b) for b in spec.budgets]
    return d
