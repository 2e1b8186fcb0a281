"""One arm against another at one budget, within one configuration: which numbers, which method.

The runs of a table already share a configuration (pair key, reports/runs.py); here they are
paired by seed. When every run of both arms kept its per-image test predictions and they
reproduce the logged metric, the comparison is the seeds x test-images bootstrap of
reports/stats.py; otherwise it falls back to the logged per-seed values (a paired t interval over
seeds) and says why, so older runs still get a comparison that is honest about what it covers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from augbench.core.layout import ARTIFACT_PREDICTIONS
from augbench.reports.predictions import (PredictionSource, decision_of, matches_logged, recomputable, reproduces,
                                         stat_name, unnamed_classes_note)
from augbench.reports.conventions import BASELINE, lower_is_better
from augbench.reports.resampling import GLOBAL_METRICS, ScoredRun, TestResamples, resamples_key
from augbench.reports.stats import (N_BOOT, GapClosed, PairedDifference, gap_closed, gap_closed_from_values,
                                     gap_from_scores, paired_differences, paired_from_scores, seed_difference)

BOOT_SEED = 0
NO_CORRECTED_NOTE = f"some runs' {ARTIFACT_PREDICTIONS} carry no prior-corrected probabilities (older runs)"


def _decision_key(corrected: bool):
    """The key a run's scores are cached under: its id, marked when they are the prior-corrected ones."""
    return (lambda run_id: f"{run_id}#pc") if corrected else (lambda run_id: run_id)


@dataclass
class Comparison:
    metric: str
    budget: str
    arm: str
    reference: str
    result: PairedDifference
    seeds: list = field(default_factory=list)
    note: str = ""   # why the per-image bootstrap was not used ("" when it was)


@dataclass
class GapComparison:
    metric: str
    budget: str
    arm: str
    control: str
    reference: str
    result: GapClosed
    seeds: list = field(default_factory=list)
    note: str = ""   # why the per-image bootstrap was not used ("" when it was)


def shared_groups(predictions) -> np.ndarray | None:
    """The test images' subject ids when every run logged the same ones (then the bootstrap draws
    subjects, reports/clusters.py), else None (images are drawn, as for runs logged before ids were)."""
    first = predictions[0].groups if predictions else None
    if first is None or any(p.groups is None or not np.array_equal(p.groups, first) for p in predictions):
        return None
    return first


class Comparer:
    """Paired comparisons with the prediction artifacts of one store (None: logged values only)."""

    def __init__(self, source: PredictionSource | None = None, n_boot: int = N_BOOT, *, share_scores: bool = True):
        self.source = source
        self.n_boot = n_boot
        #: score each run once on the shared resamples and reuse it in every comparison (the numbers
        #: are identical either way; False recomputes per comparison, the path before the cache)
        self.share_scores = share_scores
        self._cache: dict = {}
        self._resamples: dict = {}
        self._scored: dict = {}

    def scored(self, run_id: str, pred, groups) -> ScoredRun:
        """The run's metrics on the test set's shared resamples (drawn once per test set)."""
        key = resamples_key(len(pred.labels), self.n_boot, BOOT_SEED, groups)
        if key not in self._resamples:
            self._resamples[key] = TestResamples.draw(len(pred.labels), self.n_boot, BOOT_SEED, groups)
        if (run_id, key) not in self._scored:
            self._scored[run_id, key] = ScoredRun(pred.probs, pred.labels, self._resamples[key])
        return self._scored[run_id, key]

    def prefetch(self, cells: pd.DataFrame, metrics, jobs: int | None = None) -> int:
        """Score every run of ``cells`` on ``metrics`` (global ones: per-class scores are cheap once
        these are done) in a thread pool before the tables ask: numpy's sorts, gathers and products
        release the GIL, so the cores share the report's one expensive step. The numbers are those
        the tables would compute on demand. Returns the number of runs scored."""
        import os
        from concurrent.futures import ThreadPoolExecutor

        names = [m.removeprefix("test_") for m in metrics if recomputable(m) and m.removeprefix("test_") in
                 GLOBAL_METRICS]
        if self.source is None or not self.share_scores or not names or "run_id" not in cells:
            return 0
        scored = []
        for run_id in cells["run_id"].dropna().unique():
            pred = self.source.get(run_id)
            if pred is not None:
                scored.append(self.scored(run_id, pred, pred.groups))

        def score(run: ScoredRun) -> None:
            for name in names:
                run.full.values(name)
                run.boot.values(name)

        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            list(pool.map(score, scored))
        return len(scored)

    def _reproduces(self, run_id: str, pred, name: str, logged: float, groups) -> bool:
        if not self.share_scores:
            return reproduces(pred, name, logged)
        return matches_logged(self.scored(run_id, pred, groups).full_value(name), logged)

    @classmethod
    def for_cells(cls, cells: pd.DataFrame) -> "Comparer":
        uri = cells.attrs.get("tracking_uri")
        return cls(PredictionSource(uri) if uri else None)

    def compare(self, group: pd.DataFrame, budget: str, arm: str, reference: str, metrics) -> dict[str, Comparison]:
        """Each metric of ``metrics`` for arm − reference; a ``test_pc_`` metric is recomputed from the
        prior-corrected probabilities the runs logged beside the plain ones."""
        out = {}
        for corrected in (False, True):
            chosen = [m for m in metrics if decision_of(m)[1] == corrected]
            if chosen:
                out |= self._compare(group, budget, arm, reference, chosen, corrected)
        return out

    def _compare(self, group, budget, arm, reference, metrics, corrected: bool) -> dict[str, Comparison]:
        at = group[group["budget"] == budget]
        a = at[at["arm"] == arm].set_index("seed")
        b = at[at["arm"] == reference].set_index("seed")
        seeds = sorted(set(a.index.dropna()) & set(b.index.dropna()))
        if not seeds:
            return {}
        out, todo = {}, []
        preds, why = self._predictions(a, b, seeds, corrected)
        groups = None if why else shared_groups([p for pair in preds for p in pair])
        rid = _decision_key(corrected)
        for metric in metrics:
            key = (tuple(a.loc[seeds, "run_id"]), tuple(b.loc[seeds, "run_id"]), metric)
            if key in self._cache:
                out[metric] = self._cache[key]
                continue
            note = why
            name = None
            if not note:
                note = unnamed_classes_note(metric, [(frame.loc[s, "run_id"], pair[side]) for side, frame in
                                                     ((0, a), (1, b)) for s, pair in zip(seeds, preds)])
                name = None if note or not recomputable(metric) else stat_name(metric, preds[0][0])
                if name is None:
                    note = note or "not recomputable from per-image predictions"
                else:
                    runs = [(p, row) for side, frame in ((0, a), (1, b)) for p, row in
                            zip([pp[side] for pp in preds], [frame.loc[s] for s in seeds])]
                    bad = [row["run_id"] for p, row in runs
                           if not self._reproduces(rid(row["run_id"]), p, name,
                                                   float(row.get(f"metrics.{metric}", np.nan)), groups)]
                    if bad:
                        note = f"the predictions of run {str(bad[0])[:12]} do not reproduce its logged {metric}"
            if note:
                column = f"metrics.{metric}"
                if column not in a or column not in b:
                    continue
                va = pd.to_numeric(a.loc[seeds, column], errors="coerce")
                vb = pd.to_numeric(b.loc[seeds, column], errors="coerce")
                result = seed_difference(va.to_numpy(float), vb.to_numpy(float), metric)
                out[metric] = self._cache[key] = Comparison(metric, budget, arm, reference, result, seeds, note)
            else:
                todo.append((metric, name, key))
        if todo:
            names = [n for _, n, _ in todo]
            if self.share_scores:
                runs = [[self.scored(rid(frame.loc[s, "run_id"]), pair[side], groups) for s, pair in zip(seeds, preds)]
                        for side, frame in ((0, a), (1, b))]
                resamples = runs[0][0].resamples
                results = paired_from_scores(runs[0], runs[1], names, resamples)
            else:
                probs_a = np.stack([p[0].probs for p in preds])
                probs_b = np.stack([p[1].probs for p in preds])
                results = paired_differences(probs_a, probs_b, preds[0][0].labels, names, n_boot=self.n_boot,
                                             seed=BOOT_SEED, groups=groups)
            for metric, name, key in todo:
                r = results[name]
                r = PairedDifference(**{**r.__dict__, "metric": metric})
                out[metric] = self._cache[key] = Comparison(metric, budget, arm, reference, r, seeds)
        return out

    def gap_closed(self, group: pd.DataFrame, budget: str, arm: str, control: str, metric: str,
                    reference: str = BASELINE, lower: bool | None = None) -> GapComparison | None:
        """Gap closed (arm − reference) / (control − reference) at one budget, over the seeds all
        three arms have; the seeds x test-images bootstrap when every run's predictions reproduce
        its logged metric, else the logged per-seed values (and the reason)."""
        lower = lower_is_better(metric) if lower is None else lower
        at = group[group["budget"] == budget]
        frames = [at[at["arm"] == x].set_index("seed") for x in (arm, reference, control)]
        seeds = sorted(set.intersection(*(set(f.index.dropna()) for f in frames)))
        if not seeds:
            return None
        key = ("gap", *(tuple(f.loc[seeds, "run_id"]) for f in frames), metric, lower)
        if key in self._cache:
            return self._cache[key]
        note, preds = "", None
        corrected = decision_of(metric)[1]
        rid = _decision_key(corrected)
        if self.source is None:
            note = "per-image predictions not read (no tracking store)"
        else:
            preds = [[self.source.get(f.loc[s, "run_id"]) for s in seeds] for f in frames]
            flat = [p for side in preds for p in side]
            if any(p is None for p in flat):
                note = f"some runs have no {ARTIFACT_PREDICTIONS} (older runs)"
            elif corrected:
                preds = [[p.corrected() for p in side] for side in preds]
                flat = [p for side in preds for p in side]
                if any(p is None for p in flat):
                    note = NO_CORRECTED_NOTE
            elif any(p.probs.shape != flat[0].probs.shape or not np.array_equal(p.labels, flat[0].labels) or (
                    p.ids is not None and flat[0].ids is not None and not np.array_equal(p.ids, flat[0].ids))
                    for p in flat):
                note = "the runs' test images differ (labels or ids), so images cannot be paired"
        name = None
        groups = None if note else shared_groups(flat)
        if not note:
            note = unnamed_classes_note(metric, [(f.loc[s, "run_id"], p) for side, f in zip(preds, frames)
                                                 for p, s in zip(side, seeds)])
            name = None if note or not recomputable(metric) else stat_name(metric, flat[0])
            if name is None:
                note = note or "not recomputable from per-image predictions"
            else:
                for side, f in zip(preds, frames):
                    for p, s in zip(side, seeds):
                        row = f.loc[s]
                        if not note and not self._reproduces(rid(row["run_id"]), p, name,
                                                             float(row.get(f"metrics.{metric}", np.nan)), groups):
                            note = f"the predictions of run {str(row['run_id'])[:12]} do not reproduce its logged {metric}"
        if note:
            column = f"metrics.{metric}"
            if any(column not in f for f in frames):
                return None
            values = [pd.to_numeric(f.loc[seeds, column], errors="coerce") for f in frames]
            result = gap_closed_from_values(*(v.to_numpy(float) for v in values), metric, lower=lower)
        elif self.share_scores:
            runs = [[self.scored(rid(f.loc[s, "run_id"]), p, groups) for p, s in zip(side, seeds)]
                    for side, f in zip(preds, frames)]
            result = gap_from_scores(*runs, name, lower=lower)
            result = GapClosed(**{**result.__dict__, "metric": metric})
        else:
            probs = [np.stack([p.probs for p in side]) for side in preds]
            result = gap_closed(*probs, flat[0].labels, name, lower=lower, n_boot=self.n_boot, seed=BOOT_SEED,
                                groups=groups)
            result = GapClosed(**{**result.__dict__, "metric": metric})
        out = self._cache[key] = GapComparison(metric, budget, arm, control, reference, result, seeds, note)
        return out

    def _predictions(self, a, b, seeds, corrected: bool = False):
        """[(pred A, pred B) per seed] and "" when all exist and share one test set, else the reason;
        ``corrected``: the prior-corrected probabilities of each run."""
        if self.source is None:
            return [], "per-image predictions not read (no tracking store)"
        pairs = [(self.source.get(a.loc[s, "run_id"]), self.source.get(b.loc[s, "run_id"])) for s in seeds]
        missing = sum(p is None for pair in pairs for p in pair)
        if missing:
            return pairs, f"some runs have no {ARTIFACT_PREDICTIONS} (older runs)"
        if corrected:
            pairs = [(pa.corrected(), pb.corrected()) for pa, pb in pairs]
            if any(p is None for pair in pairs for p in pair):
                return pairs, NO_CORRECTED_NOTE
        first = pairs[0][0]
        for pair in pairs:
            for p in pair:
                if p.probs.shape != first.probs.shape or not np.array_equal(p.labels, first.labels) or (
                        p.ids is not None and first.ids is not None and not np.array_equal(p.ids, first.ids)):
                    return pairs, "the runs' test images differ (labels or ids), so images cannot be paired"
        return pairs, ""

