"""Fidelity of each learned arm per class, next to what real images score against real images.

A FID of 40 means nothing alone: with 10 budget images even a perfect generator scores far from
zero. The calibration row (budget images vs held-out real images of the class, subsampled to the
synthetic count; logged by benchmark/fidelity as ``fid_calib_*``) is that yardstick, so it is
printed under the arms of every class. Every number names its extractor and sample counts.
"""
from __future__ import annotations

import math

import pandas as pd

from augbench.reports.render import Cell, Table
from augbench.reports.runs import budget_sort_key
from augbench.reports.conventions import arm_label, arm_order, is_control
from augbench.reports.stats import summary
from augbench.reports.tables import format_cell, is_best

#: (metric key prefix, column header, better: "low" | "high" | "")
COLUMNS = (("fid", "FID", "low"), ("fid_heldout", "FID vs held-out", "low"), ("kid", "KID", "low"), ("precision", "precision", "high"),
           ("recall", "recall", "high"), ("density", "density", ""), ("coverage", "coverage", "high"),
           ("memorisation", "memorisation", ""), ("memorisation_share", "share nearer than real", "low"))
CALIBRATION = "real vs real (calibration)"
#: distances whose scale depends on the extractor's feature magnitudes: shown with significant digits
SCALE_FREE = ("fid", "fid_heldout", "kid")


def extractors(fits: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Extractor key -> its logged params (name, dims, image_size, weights, ...)."""
    out: dict[str, dict[str, str]] = {}
    for column in fits.columns:
        if column.startswith("params.fidelity_") and column.endswith("_name") and fits[column].notna().any():
            key = column.removeprefix("params.fidelity_").removesuffix("_name")
            prefix = f"params.fidelity_{key}_"
            out[key] = {c.removeprefix(prefix): str(fits[c].dropna().iloc[0])
                        for c in fits.columns if c.startswith(prefix) and fits[c].notna().any()}
    return out


def fidelity_classes(fits: pd.DataFrame) -> list[str]:
    keys = [c.removeprefix("metrics.n_fake_") for c in fits.columns
            if c.startswith("metrics.n_fake_") and fits[c].notna().any()]
    return [k for k in keys if k != "overall"] + (["overall"] if "overall" in keys else [])


def _stat(frame: pd.DataFrame, metric: str) -> tuple[float, float, int]:
    column = f"metrics.{metric}"
    if column not in frame:
        return math.nan, math.nan, 0
    return summary(frame[column].to_numpy(dtype=float))


def _count(frame: pd.DataFrame, metric: str) -> str:
    mean, _, n = _stat(frame, metric)
    return "–" if not n else f"{mean:.0f}"


def _describe_extractor(key: str, p: dict[str, str]) -> str:
    parts = [f"{p.get('name', key)}", f"{p.get('dims', '?')}-d features", f"{p.get('image_size', '?')} px input"]
    if "val_auc" in p:
        parts.append(f"its val AUC {p['val_auc']}")
    return f"Extractor {key}: " + ", ".join(parts) + (f"; weights: {p['weights']}" if p.get("weights") else "") + "."


def fidelity_tables(fits: pd.DataFrame) -> list[Table]:
    """One table per (dataset, budget, extractor): rows = class x arm plus the calibration row."""
    tables: list[Table] = []
    if fits.empty:
        return tables
    found = extractors(fits)
    classes = fidelity_classes(fits)
    for (dataset, budget), group in sorted(fits.groupby(["dataset", "budget"]),
                                           key=lambda kv: (kv[0][0], budget_sort_key(kv[0][1]))):
        arms = arm_order(group["arm"])
        for x, params in found.items():
            if not any(f"metrics.fid_{x}_{c}" in group for c in classes):
                continue
            rows, data = [], []
            for cls in classes:
                present = [a for a in arms if _stat(group[group["arm"] == a], f"fid_{x}_{cls}")[2]
                           or _stat(group[group["arm"] == a], f"n_fake_{cls}")[2]]
                if not present:
                    continue
                stats = {(a, m): _stat(group[group["arm"] == a], f"{m}_{x}_{cls}") for a in present for m, _, _ in COLUMNS}
                for a in present:  # memorisation falls back to the leave-one-out score without held-out images
                    if not stats[a, "memorisation"][2]:
                        stats[a, "memorisation"] = _stat(group[group["arm"] == a], f"memorisation_loo_{x}_{cls}")
                for i, arm in enumerate(present):
                    sel = group[group["arm"] == arm]
                    row = [Cell(cls if i == 0 else ""), Cell(arm_label(arm))]
                    for m, _, better in COLUMNS:
                        mean, std, n = stats[arm, m]
                        means = [stats[a, m][0] for a in present if stats[a, m][2] and not is_control(a)]
                        best = bool(better) and is_best(mean, n, means, lower=better == "low", arm=arm)
                        row.append(Cell(format_cell(mean, std, n, significant=m in SCALE_FREE), bold=best))
                        if n:
                            data.append({"dataset": dataset, "budget": budget, "extractor": x, "class": cls,
                                         "arm": arm, "metric": m, "mean": mean, "std": std, "n": n})
                    row.append(Cell(format_cell(*_stat(sel, f"msssim_{cls}"))))
                    row.append(Cell(f"{_count(sel, f'n_real_{cls}')} / {_count(sel, f'n_fake_{cls}')}"))
                    rows.append(row)
                calib = [_stat(group, f"fid_calib_{x}_{cls}"), _stat(group, f"kid_calib_{x}_{cls}")]
                if calib[0][2] or calib[1][2]:
                    row = [Cell(""), Cell(CALIBRATION), Cell(format_cell(*calib[0], significant=True)), Cell("–"),
                           Cell(format_cell(*calib[1], significant=True))]
                    row += [Cell("–")] * (len(COLUMNS) - 3)
                    row.append(Cell(format_cell(*_stat(group, f"msssim_real_{cls}"))))
                    row.append(Cell(f"{_count(group, f'n_real_{cls}')} / {_count(group, f'n_calib_{cls}')}"))
                    rows.append(row)
                    for m, s in zip(("fid", "kid"), calib):
                        if s[2]:
                            data.append({"dataset": dataset, "budget": budget, "extractor": x, "class": cls,
                                         "arm": CALIBRATION, "metric": m, "mean": s[0], "std": s[1], "n": s[2]})
            if not rows:
                continue
            notes = [_describe_extractor(x, params),
                     "FID/KID/PRDC: real = the budget images the arm was fitted on, fake = its samples; FID vs "
                     "held-out: validation images of the class instead (copying the budget does not help there). "
                     "Mean ± std over seeds (n "
                     "= fits). n real / fake: images per class each number rests on (FID is biased upward at "
                     "small n, so compare arms only at equal counts).",
                     f"{CALIBRATION}: budget images vs held-out (validation) real images of the class, subsampled "
                     "to the synthetic count — the score a perfect generator would get; its last column is "
                     "n real / n held-out used.",
                     "Memorisation ~1: synthetic images sit as close to the budget as fresh real images do; "
                     "<1: near-copies; >1: farther away. MS-SSIM: within-set similarity in pixel space "
                     "(higher = less diverse; the calibration row shows the real images').",
                     "Bold: best arm per class for FID/KID (lower), precision/recall/coverage (higher)."]
            tables.append(Table(f"fidelity_{dataset}_b{budget}_{x}".replace("/", "-"),
                                f"Fidelity per class — dataset {dataset}, budget {budget}, extractor {x}",
                                ["class", "arm", *(h for _, h, _ in COLUMNS), "MS-SSIM", "n real / fake"], rows,
                                notes, pd.DataFrame(data), "fidelity"))
    return tables
