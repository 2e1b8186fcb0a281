"""Convergence you can see: a cheap FID probe at fixed fractions of a fit, and a verdict from it.

A learned arm that loses to ``none`` may be a bad idea or an unfinished one. At each of
``FRACTIONS`` of the fit's length the probe draws ``PROBE_SAMPLES`` images of each minority class
from the networks as they are, and measures their Fréchet distance to the class's budget images in
the domain extractor's feature space (benchmark/fidelity). The curve is logged as an MLflow metric
history by step (``probe_fid_<class>``, ``probe_fid_mean``), and its shape gives the verdict:

* ``diverged``: a probe point is not finite, or the last point is worse than the first and above
  ``DIVERGED_RATIO`` times the best one (the generator ended worse than it started);
* ``still improving``: over the last third of the fit (the last three points), the least-squares
  slope is negative, projects a drop of at least ``IMPROVING_DROP`` of the current FID over one
  more third, and its one-sided t-test gives p < ``IMPROVING_P``. The arm's numbers are then a
  lower bound for the arm;
* ``plateaued``: neither.

The probe never changes the fit: it runs under ``torch.no_grad``, inside a forked global RNG, with
every network's train/eval mode restored afterwards, and samples from its own fixed seed (the
tests check the fitted networks are bit-identical with and without it). With 10 budget images the
FID itself is noisy and biased; the verdict reads the curve's trend, never its level.
"""
from __future__ import annotations

import math

import numpy as np

FRACTIONS = (1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1.0)
PROBE_SAMPLES = 32
PROBE_SEED = 7_654_321
DIVERGED_RATIO = 1.5
IMPROVING_DROP = 0.05
IMPROVING_P = 0.10
VERDICTS = ("plateaued", "still improving", "diverged", "not probed")


class ConvergenceProbe:
    """``progress(step, total)`` for a generator's fit that also probes it at ``FRACTIONS``."""

    def __init__(self, generator, extractor, real_by_class: dict, class_keys: dict, then=None):
        self.generator, self.extractor, self.then = generator, extractor, then
        self.real = {c: extractor.features(images, reuse=True) for c, images in real_by_class.items()
                     if len(images) >= 2}
        self.keys = class_keys
        self.points: list[tuple[int, dict]] = []  # (step, {class: fid})
        self._next = 0
        self.errors: list[str] = []

    def __call__(self, step: int, total: int) -> None:
        if self.then is not None:
            self.then(step, total)
        while self._next < len(FRACTIONS) and step >= math.ceil(FRACTIONS[self._next] * total):
            self._next += 1
            self._probe(int(step))

    def _probe(self, step: int) -> None:
        import torch

        from augbench.benchmark.fidelity.frechet import fid_from_features

        nets = getattr(self.generator, "nets", {}) or {}
        modes = {name: [m.training for m in net.modules()] for name, net in nets.items()}
        fids = {}
        try:
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                for c, real in self.real.items():
                    fake = self.generator.probe_sample(c, PROBE_SAMPLES, seed=PROBE_SEED + int(c))
                    fids[c] = float(fid_from_features(real, self.extractor.features(fake)))
        except NotImplementedError as exc:  # the arm cannot be sampled mid-fit at all: say so once
            if str(exc) not in self.errors:
                self.errors.append(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - e.g. a phase (pre-training) the arm cannot sample in yet
            self.errors.append(f"step {step}: {type(exc).__name__}: {exc}"[:200])
            return
        finally:
            for name, net in nets.items():
                for module, mode in zip(net.modules(), modes[name]):
                    module.train(mode)
        self.points.append((step, fids))

    def history(self) -> list[tuple[int, dict]]:
        """(step, {metric: value}) rows for Tracker.log_metric_rows."""
        rows = []
        for step, fids in self.points:
            row = {f"probe_fid_{self.keys[c]}": v for c, v in fids.items()}
            finite = [v for v in fids.values() if np.isfinite(v)]
            row["probe_fid_mean"] = float(np.mean(finite)) if len(finite) == len(fids) and finite else math.nan
            rows.append((step, row))
        return rows

    def verdict(self) -> tuple[str, dict]:
        return verdict([step for step, _ in self.history()], [row["probe_fid_mean"] for _, row in self.history()])


def verdict(steps, fids) -> tuple[str, dict]:
    """(verdict, evidence) from a probe curve of mean FID by step (see the module docstring)."""
    steps, fids = np.asarray(steps, dtype=np.float64), np.asarray(fids, dtype=np.float64)
    if len(fids) < 3:
        return "not probed", {"probe_points": float(len(fids))}
    if not np.isfinite(fids).all() or fids[-1] > max(fids[0], DIVERGED_RATIO * np.min(fids)):
        return "diverged", {"probe_points": float(len(fids)), "probe_last_over_best": float(fids[-1] / np.min(fids))}
    x, y = steps[-3:], fids[-3:]
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    sxx = float(((x - x.mean()) ** 2).sum())
    se = math.sqrt(float((resid ** 2).sum()) / (len(x) - 2) / sxx) if sxx > 0 else math.inf
    from scipy import stats

    t = slope / se if se > 0 else (-math.inf if slope < 0 else math.inf)
    p = float(stats.t.cdf(t, df=len(x) - 2))  # one-sided: slope < 0
    third = float(x[-1] - x[0])  # the last third of the fit: one more third continues at this slope
    drop = float(-slope * third / max(abs(y[-1]), 1e-12))
    evidence = {"probe_points": float(len(fids)), "probe_slope": float(slope), "probe_slope_p": p,
                "probe_projected_drop": drop}
    if slope < 0 and drop >= IMPROVING_DROP and p < IMPROVING_P:
        return "still improving", evidence
    return "plateaued", evidence
