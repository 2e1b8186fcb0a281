"""Figures for the report, as PNG bytes (matplotlib's object API: no pyplot state, no display).

Nothing here trains anything: curves and features come from what the runs logged, and a panel
whose input was not logged is replaced by a note saying so. t-SNE is an embedding of stored
features, computed with a fixed seed so the picture is the same every time.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from augbench.core.layout import (ARTIFACT_FEATURES, ARTIFACT_REAL, ARTIFACT_SAMPLES, FEATURE_ROLES, PARAM_PROBE_VERDICT,
                                  feature_class, feature_key)
from augbench.reports.runs import budget_sort_key, class_keys
from augbench.reports.stats import CI_LEVEL, bootstrap_ci
from augbench.reports.conventions import arm_label, arm_order
from augbench.reports.stats import summary, values_by_seed
from augbench.reports.tables import iter_groups, slug

DPI = 100


@dataclass
class Figure:
    key: str
    title: str
    caption: str
    png: bytes = b""
    section: str = ""


@dataclass
class FigureSet:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # panels that could not be drawn, and why


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


# --- metric vs budget ----------------------------------------------------------------------------------
def metric_vs_budget(cells: pd.DataFrame, metric: str, keys: list[str]) -> list[Figure]:
    """One line per arm over budgets; band = bootstrap CI of the mean over seeds (none with one seed)."""
    out = []
    if f"metrics.{metric}" not in cells:
        return out
    for group_id, group in iter_groups(cells, keys):
        budgets = sorted(group["budget"].unique(), key=budget_sort_key)
        fig = _new_figure(6.4, 3.8)
        ax = fig.add_subplot()
        n_max = 0
        for k, arm in enumerate(arm_order(group["arm"])):
            xs, means, lows, highs = [], [], [], []
            for i, budget in enumerate(budgets):
                v = values_by_seed(group[(group["arm"] == arm) & (group["budget"] == budget)], metric).to_numpy()
                mean, _, n = summary(v)
                if not n:
                    continue
                n_max = max(n_max, n)
                low, high = bootstrap_ci(v)
                xs.append(i), means.append(mean), lows.append(low), highs.append(high)
            if not xs:
                continue
            style = line_style(k) if arm != "none" else {"color": "0.2", "marker": "o", "linestyle": "--"}
            line, = ax.plot(xs, means, label=arm_label(arm), **style)
            if np.isfinite(lows).any():
                ax.fill_between(xs, lows, highs, color=line.get_color(), alpha=0.15, linewidth=0)
        ax.set_xticks(range(len(budgets)), [str(b) for b in budgets])
        ax.set_xlabel("real images per minority class (budget)")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        band = (f"bands: bootstrap {CI_LEVEL:.0%} CI of the mean over seeds" if n_max > 1
                else "one seed per point: no band can be drawn")
        out.append(Figure(slug("curve", metric, *group_id.values()),
                          f"{metric} vs budget — " + ", ".join(f"{k} {v}" for k, v in group_id.items()),
                          f"Mean over seeds (n up to {n_max}); {band}.", _png(fig), "curves"))
    return out


# --- per-class recall heatmap ------------------------------------------------------------------------
def recall_heatmap(cells: pd.DataFrame, keys: list[str], budget: str, split: str = "test") -> list[Figure]:
    out = []
    for group_id, group in iter_groups(cells, keys):
        at = group[group["budget"] == budget]
        classes = class_keys(at, split)
        if at.empty or not classes:
            continue
        arms = arm_order(at["arm"])
        grid = np.full((len(arms), len(classes)), np.nan)
        ns = np.zeros_like(grid, dtype=int)
        for i, arm in enumerate(arms):
            for j, cls in enumerate(classes):
                grid[i, j], _, ns[i, j] = summary(values_by_seed(at[at["arm"] == arm], f"{split}_recall_{cls}").to_numpy())
        fig = _new_figure(1.2 + 0.9 * len(classes), 1.0 + 0.45 * len(arms))
        ax = fig.add_subplot()
        image = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
        ax.set_yticks(range(len(arms)), [arm_label(a) for a in arms])
        for i in range(len(arms)):
            for j in range(len(classes)):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=8,
                            color="white" if grid[i, j] < 0.6 else "black")
        fig.colorbar(image, ax=ax, label=f"{split} recall")
        out.append(Figure(slug("recall_heatmap", budget, *group_id.values()),
                          f"Per-class {split} recall at budget {budget} — "
                          + ", ".join(f"{k} {v}" for k, v in group_id.items()),
                          f"Mean recall over seeds (n = {int(ns.max())} at most) per arm and class.", _png(fig),
                          "heatmaps"))
    return out


# --- metric vs generator compute -------------------------------------------------------------------------
def metric_vs_compute(cells: pd.DataFrame, fits: pd.DataFrame, metric: str, keys: list[str],
                      budget: str) -> list[Figure]:
    """What more compute buys (a ``--gen-budget`` sweep): the headline metric and the minority
    recall of each learned arm against the FLOPs its fits got, and the arms that do not train as
    flat lines. Drawn only when the selection holds ``<arm>@<N>x`` variants."""
    from augbench.core.values import ArmName

    if not any(ArmName.parse(a).scale for a in cells["arm"].unique()) or "metrics.compute_flops" not in fits:
        return []
    panels = [m for m in (metric, "test_minority_recall") if f"metrics.{m}" in cells]
    out = []
    for group_id, group in iter_groups(cells, keys):
        at = group[group["budget"] == budget]
        if at.empty:
            continue
        fit_at = fits[(fits["budget"] == budget) & (fits["dataset"] == group_id.get("dataset", fits["dataset"]))]
        flops = fit_at.groupby("arm")["metrics.compute_flops"].mean()
        fig = _new_figure(4.2 * len(panels), 3.4)
        ns = 0
        for k, name in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), k + 1)
            lines: dict[str, list[tuple[float, float]]] = {}
            for arm in arm_order(at["arm"]):
                mean, _, n = summary(values_by_seed(at[at["arm"] == arm], name).to_numpy())
                ns = max(ns, n)
                if arm in flops.index and np.isfinite(flops[arm]):
                    lines.setdefault(ArmName.parse(arm).base, []).append((float(flops[arm]), mean))
                elif np.isfinite(mean):
                    ax.axhline(mean, linestyle="--", linewidth=1, color="0.5")
                    ax.annotate(arm, (1.0, mean), xycoords=("axes fraction", "data"), fontsize=7,
                                ha="right", va="bottom", color="0.35")
            for base, points in lines.items():
                points.sort()
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=base)
            ax.set_xscale("log")
            ax.set_xlabel("generator training FLOPs per fit")
            ax.set_ylabel(name)
            if lines:
                ax.legend(fontsize=7)
        out.append(Figure(slug("metric_vs_compute", budget, *group_id.values()),
                          f"What more generator compute buys at budget {budget} — "
                          + ", ".join(f"{k} {v}" for k, v in group_id.items()),
                          f"Mean over seeds (n = {ns} at most) of each learned arm at each compute multiple "
                          "(x: FLOPs its fits counted, log scale); dashed: arms that do not train.", _png(fig),
                          "compute"))
    return out


# --- per-fit panels ---------------------------------------------------------------------------------------
def representative_fits(fits: pd.DataFrame, budget: str) -> pd.DataFrame:
    """One fit per (dataset, arm) at the budget: the lowest seed (panels are illustrations, not stats)."""
    at = fits[fits["budget"] == budget]
    if at.empty:
        return at
    return at.sort_values("seed", kind="stable").drop_duplicates(["dataset", "arm"]).reset_index(drop=True)


def _label(fit) -> str:
    return f"dataset {fit['dataset']}, budget {fit['budget']}, arm {fit['arm']}, seed {fit['seed']}"


def sample_pair(real_png: bytes | None, fake_png: bytes | None) -> bytes:
    """Real grid above synthetic grid with a caption strip each, as one PNG."""
    from PIL import Image, ImageDraw

    parts = [(title, Image.open(io.BytesIO(raw)).convert("RGB")) for title, raw in
             (("real (budget images the arm saw)", real_png), ("synthetic (the arm's samples)", fake_png)) if raw]
    width = max(im.width for _, im in parts)
    strip = 16
    canvas = Image.new("RGB", (width, sum(im.height + strip for _, im in parts)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    top = 0
    for title, im in parts:
        draw.text((4, top + 2), title, fill=(0, 0, 0))
        canvas.paste(im, (0, top + strip))
        top += im.height + strip
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()


def sample_grids(fits: pd.DataFrame, budget: str, files) -> FigureSet:
    out = FigureSet()
    for _, fit in representative_fits(fits, budget).iterrows():
        names = files.artifact_names(fit["run_id"])
        if ARTIFACT_SAMPLES not in names:
            continue  # baseline arms log no samples
        real = files.read_bytes(fit["run_id"], ARTIFACT_REAL)
        fake = files.read_bytes(fit["run_id"], ARTIFACT_SAMPLES)
        out.figures.append(Figure(slug("samples", fit["dataset"], budget, fit["arm"]), f"Samples — {_label(fit)}",
                                  "One row per minority class: real budget images on top, synthetic below.",
                                  sample_pair(real, fake), "samples"))
    return out


TSNE_PER_ROLE = 150  # points per role (real, held-out, synthetic) and class: enough to see overlap


def _tsne(points: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-d embedding; one OpenMP thread, because on a shared machine more threads make it slower."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    perplexity = float(min(30.0, max(2.0, (len(points) - 1) / 3.0)))
    with threadpool_limits(limits=1):
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                    max_iter=500).fit_transform(points)


def _cap(points: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    if len(points) <= n:
        return points
    return points[np.sort(np.random.default_rng(seed).choice(len(points), n, replace=False))]


def tsne_panels(fits: pd.DataFrame, budget: str, files) -> FigureSet:
    """Per fit, one panel per class: real (budget), held-out real and synthetic domain features."""
    out = FigureSet()
    for _, fit in representative_fits(fits, budget).iterrows():
        if not any(c.startswith("metrics.fid_domain_") and pd.notna(fit[c]) for c in fit.index):
            continue  # no fidelity for this arm (baselines), so nothing to embed
        data = files.read_npz(fit["run_id"], ARTIFACT_FEATURES)
        if data is None:
            out.notes.append(f"t-SNE skipped for {_label(fit)}: the run saved no {ARTIFACT_FEATURES} "
                             "(made before features were logged); the report does not recompute features.")
            continue
        classes = sorted({c for c in map(feature_class, data) if c})
        if not classes:
            continue
        fig = _new_figure(3.2 * len(classes), 3.2)
        for i, cls in enumerate(classes):
            ax = fig.add_subplot(1, len(classes), i + 1)
            sets = [(role, data.get(feature_key(role, cls))) for role in FEATURE_ROLES]
            sets = [(r, _cap(a, TSNE_PER_ROLE)) for r, a in sets if a is not None and len(a)]
            points = np.concatenate([a for _, a in sets]).astype(np.float64)
            if len(points) < 5:
                ax.set_title(f"{cls}: too few points")
                ax.axis("off")
                continue
            xy = _tsne(points)
            start = 0
            style = {"real": ("tab:blue", "o", "real (budget)"), "heldout": ("tab:green", "^", "real (held-out)"),
                     "fake": ("tab:red", "x", "synthetic")}
            for role, arr in sets:
                color, marker, label = style[role]
                part = xy[start:start + len(arr)]
                start += len(arr)
                ax.scatter(part[:, 0], part[:, 1], s=12, c=color, marker=marker, label=f"{label} ({len(arr)})",
                           alpha=0.8 if role != "fake" else 0.5)
            ax.set_title(cls, fontsize=9)
            ax.set_xticks([]), ax.set_yticks([])
            ax.legend(fontsize=6, loc="best")
        out.figures.append(Figure(slug("tsne", fit["dataset"], budget, fit["arm"]), f"t-SNE of domain features — "
                                  f"{_label(fit)}", "Features of the domain extractor saved by the fit run "
                                  "(counts in the legend); t-SNE with a fixed seed, axes have no units.",
                                  _png(fig), "tsne"))
    return out


def training_curves(fits: pd.DataFrame, budget: str, files, max_panels: int = 6) -> FigureSet:
    out = FigureSet()
    for _, fit in representative_fits(fits, budget).iterrows():
        keys = sorted(c.removeprefix("metrics.") for c in fit.index
                      if c.startswith("metrics.train_") and pd.notna(fit[c]))
        if not keys:
            continue
        keys = keys[:max_panels]
        cols = min(3, len(keys))
        rows = math.ceil(len(keys) / cols)
        fig = _new_figure(3.2 * cols, 2.4 * rows)
        for i, key in enumerate(keys):
            steps, values = files.history(fit["run_id"], key)
            ax = fig.add_subplot(rows, cols, i + 1)
            ax.plot(steps, values, linewidth=1)
            ax.set_title(key.removeprefix("train_"), fontsize=9)
            ax.set_xlabel("step", fontsize=8)
            ax.grid(alpha=0.3)
        out.figures.append(Figure(slug("training", fit["dataset"], budget, fit["arm"]),
                                  f"Generator training curves — {_label(fit)}",
                                  "Losses the generator logged while fitting (train_* metrics by step).", _png(fig),
                                  "training"))
    return out


def line_style(k: int) -> dict:
    """The k-th line's colour, marker and dash: matplotlib's ten colours repeat from the 11th arm on,
    and the quick mission draws 12 learned arms, so a repeated colour gets another dash and marker."""
    markers, dashes = "osD^v", ("-", "--", ":", "-.")
    return {"color": f"C{k % 10}", "marker": markers[(k // 10) % len(markers)], "linestyle": dashes[(k // 10) % len(dashes)]}


# --- convergence probe ------------------------------------------------------------------------------------
def probe_curves(fits: pd.DataFrame, budget: str, files) -> FigureSet:
    """The convergence probe's mean per-class FID by step, one line per learned arm (lowest seed),
    with its verdict in the legend (benchmark/probe.py)."""
    out = FigureSet()
    verdict = f"params.{PARAM_PROBE_VERDICT}"
    if verdict not in fits:
        return out
    at = representative_fits(fits, budget)
    at = at[at[verdict].notna() & (at[verdict] != "not probed")]
    for dataset, group in at.groupby("dataset"):
        fig = _new_figure(5.6, 3.6)
        ax = fig.add_subplot()
        drawn = []
        for k, (_, fit) in enumerate(group.iterrows()):
            steps, values = files.history(fit["run_id"], "probe_fid_mean")
            if len(steps):
                total = max(steps)
                ax.plot([s / total for s in steps], values, label=f"{fit['arm']}: {fit[verdict]}",
                        **line_style(k))
                drawn.extend(v for v in values if np.isfinite(v) and v > 0)
        if drawn and max(drawn) > 10 * min(drawn):
            ax.set_yscale("log")  # one arm far off (a diverged or barely started fit) must not flatten the rest
        ax.set_xlabel("fraction of the fit")
        ax.set_ylabel("probe FID (mean over minority classes)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        out.figures.append(Figure(slug("probe", dataset, budget), f"Convergence probe — dataset {dataset}, budget {budget}",
                                  "Domain-feature FID of 32 samples per minority class against the class's budget "
                                  "images, at sixths of each fit (lowest seed); the trend matters, not the level "
                                  "(few real images bias FID upwards).", _png(fig), "training"))
    return out
