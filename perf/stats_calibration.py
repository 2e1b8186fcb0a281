"""Is paired_difference calibrated? False-positive rate under no difference, power under a planted one.

Simulates two arms with reports/simulate.py (latent-score model on DermaMNIST's test class counts,
2005 images, the rarest class 23) and counts how often the 95 % interval excludes zero:

* null, seeds vary: the arms have the same distribution, training runs differ from seed to seed;
* null, seeds fixed: every seed gives the same model, only the test set is random (the case where
  a one-seed, test-image-only interval is right);
* planted: arm A's class separation is larger (``--effect``).

For each case and n = 1, 3, 5, 10 seeds it prints the rejection rate of the report's interval
(t-based, seeds x test images) and of the plain hierarchical percentile bootstrap it replaces,
with the binomial standard error of each rate. Results: docs/statistics.md.

    python perf/stats_calibration.py [--trials 300] [--n-boot 300] [--auc-trials 100]
"""
from __future__ import annotations

import argparse
import math
import platform
import subprocess
import time

import numpy as np

from augbench.reports.simulate import Scenario, simulate, subject_ids
from augbench.reports.stats import paired_differences

SEEDS = (1, 3, 5, 10)


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = fields.get("Flags", "")
    extras = [name for name, flag in (("AVX-512", "avx512f"), ("AMX", "amx_tile")) if flag in flags.split()]
    return f"{fields.get('Model name', '?').strip()}, {fields.get('CPU(s)', '?').strip()} CPUs" + \
        (f" ({', '.join(extras)})" if extras else " (no AVX-512/AMX)")


def rates(scenario: Scenario, n_seeds: int, metric: str, trials: int, n_boot: int, seed: int, by_subject=False):
    rng = np.random.default_rng(seed)
    groups = subject_ids(scenario)[0] if by_subject else None
    hits = np.zeros(2)
    estimates, widths = [], []
    for trial in range(trials):
        a, b, labels = simulate(rng, n_seeds, scenario)
        r = paired_differences(a, b, labels, [metric], n_boot=n_boot, seed=trial, groups=groups)[metric]
        hits += [r.p_value < 0.05, r.extra["percentile_p"] < 0.05]
        estimates.append(r.estimate)
        widths.append(r.high - r.low)
    return hits / trials, float(np.mean(estimates)), float(np.std(estimates)), float(np.mean(widths))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--auc-trials", type=int, default=100)
    parser.add_argument("--n-boot", type=int, default=300)
    parser.add_argument("--effect", type=float, default=0.15)
    parser.add_argument("--null-seeds", type=int, nargs="+",
                        help="only the null (seeds vary) balanced-accuracy rows at these seed counts: a focused "
                             "rerun with more --trials, to tighten one rate's standard error")
    parser.add_argument("--clustered", type=int, default=0, metavar="VIEWS",
                        help="only the clustered rows: test images in subjects of VIEWS views sharing their image "
                             "terms (HAM10000: 45 %% of images in multi-image lesions), resampled by subject and, "
                             "for contrast, by image")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"CPU: {cpu_model()}; {args.trials} trials per row ({args.auc_trials} for macro_auc), "
          f"{args.n_boot} image resamples per call")
    cases = [("null, seeds vary", Scenario(), "balanced_accuracy", args.trials, SEEDS),
             ("null, seeds fixed", Scenario(seed_scale=0.0), "balanced_accuracy", args.trials, SEEDS),
             (f"planted (effect {args.effect})", Scenario(effect=args.effect), "balanced_accuracy", args.trials, SEEDS),
             ("null, seeds vary", Scenario(), "macro_auc", args.auc_trials, (1, 3, 5)),
             ("null, seeds fixed", Scenario(seed_scale=0.0), "macro_auc", args.auc_trials, (1,)),
             (f"planted (effect {args.effect})", Scenario(effect=args.effect), "macro_auc", args.auc_trials, (3,))]
    if args.clustered:
        sc = Scenario(views=args.clustered)
        cases = [(f"null, {args.clustered} views/subject, subject bootstrap", sc, "balanced_accuracy", args.trials,
                  (3, 5, 10)),
                 (f"null, {args.clustered} views/subject, image bootstrap", sc, "balanced_accuracy", args.trials, (3,)),
                 (f"null, {args.clustered} views/subject, subject bootstrap", sc, "macro_auc", args.auc_trials, (3, 5)),
                 ]
    if args.null_seeds:  # the same rng streams as the full table's first row, extended to --trials
        cases = [("null, seeds vary", Scenario(), "balanced_accuracy", args.trials, tuple(args.null_seeds))]
    print("| case | metric | seeds | rejection rate, report (t) | plain percentile bootstrap | mean estimate "
          "| sd of estimate | mean 95% width |")
    print("|---|---|---|---|---|---|---|---|")
    for i, (name, scenario, metric, trials, seeds) in enumerate(cases):
        for n in seeds:
            (t_rate, p_rate), mean, sd, width = rates(scenario, n, metric, trials, args.n_boot, 1000 * i + n,
                                                      by_subject="subject bootstrap" in name)
            se_t = math.sqrt(max(t_rate * (1 - t_rate), 0.05 * 0.95) / trials)
            se_p = math.sqrt(max(p_rate * (1 - p_rate), 0.05 * 0.95) / trials)
            print(f"| {name} | {metric} | {n} | {t_rate:.3f} ± {se_t:.3f} | {p_rate:.3f} ± {se_p:.3f} | "
                  f"{mean:+.4f} | {sd:.4f} | {width:.4f} |", flush=True)
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
