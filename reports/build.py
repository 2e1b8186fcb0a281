"""`benchmark report` end to end: select runs, build every table and figure, write the formats asked.

Building is separated from writing so the CLI, tests and the runner's closing summary share one
path, and so the (slower) figures are only drawn when a format that shows them is requested.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from augbench.core.errors import UserError
from augbench.core.layout import KIND_GRID, PARAM_PROBE_VERDICT, TAG_GRID, TAG_KIND, TAG_PAIR_KEY
from augbench.core.values import Budget
from augbench.reports.fidelity_tables import fidelity_tables
from augbench.reports.plots import (Figure, metric_vs_budget, metric_vs_compute, probe_curves, recall_heatmap, sample_grids, training_curves,
                           tsne_panels)
from augbench.reports.render import Table, to_csv, to_latex, to_markdown
from augbench.reports.runs import RunSet, budget_sort_key, load_runs, metric_names
from augbench.reports.compare import Comparer
from augbench.reports.predictions import PredictionSource
from augbench.reports.tables import (DEFAULT_METRICS, ONE_SEED_NOTE, default_budget, left_out_table, main_tables,
                            pairwise_tables, per_class_tables, stats_tables)

FORMATS = ("md", "csv", "latex", "html", "png")


@dataclass
class Report:
    runs: RunSet
    metrics: list[str]
    budget: str
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    figure_notes: dict[str, list[str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)   # seconds per stage of build_report

    @property
    def title(self) -> str:
        return f"augbench report — experiment {self.runs.experiment}"

    def meta(self) -> list[str]:
        cells, fits = self.runs.cells, self.runs.fits
        seeds = sorted(int(s) for s in cells["seed"].dropna().unique())
        lines = [f"Store: {self.runs.tracking_uri}; experiment {self.runs.experiment!r}; "
                 f"grid id(s): {', '.join(self.runs.grid_ids) or '–'}.",
                 f"{len(cells)} finished classifier runs, {len(fits)} generator fits; datasets: "
                 f"{', '.join(sorted(cells['dataset'].unique()))}; classifiers: "
                 f"{', '.join(sorted(cells['classifier'].unique()))}; budgets: "
                 f"{', '.join(sorted(cells['budget'].unique(), key=budget_sort_key))}; seeds: "
                 f"{', '.join(map(str, seeds))}.",
                 f"Metrics: {', '.join(self.metrics)}; per-class tables and per-fit figures at budget {self.budget}."]
        if self.runs.duplicates_dropped:
            lines.append(f"{self.runs.duplicates_dropped} older finished run(s) with the same cell hash (same "
                         "configuration, arm, arm settings and seed, e.g. after --force) were ignored (newest kept).")
        if self.runs.left_out:
            lines.append(f"{len(self.runs.left_out)} run(s) left out, listed with the reason under 'Left out'.")
        if self.runs.legacy_runs:
            lines.append(f"{self.runs.legacy_runs} run(s) carry no {TAG_PAIR_KEY} tag (made before it existed): "
                         "they are grouped by dataset, classifier, image size, preset and target only, so other "
                         "settings (epochs, minority classes, grid overrides) cannot be told apart for them.")
        return lines

    def warnings(self) -> list[str]:
        seeds = self.runs.cells.groupby(self.runs.group_keys() + ["arm", "budget"])["seed"].nunique()
        out = [ONE_SEED_NOTE] if len(seeds) and int(seeds.max()) <= 1 else []
        return out + probe_warnings(self.runs.fits)


def probe_warnings(fits) -> list[str]:
    """Arms whose generator was still improving (or diverged) when its fit ended, by budget and seed."""
    verdict = f"params.{PARAM_PROBE_VERDICT}"
    if fits.empty or verdict not in fits:
        return []
    out = []
    for label, meaning in (("still improving", "its numbers are a lower bound for the arm"),
                           ("diverged", "its generator ended worse than it started")):
        hit = fits[fits[verdict] == label]
        if hit.empty:
            continue
        parts = []
        for (dataset, arm), group in hit.groupby(["dataset", "arm"]):
            where = ", ".join(f"budget {b} seed(s) {', '.join(str(s) for s in sorted(g['seed'].dropna()))}"
                              for b, g in sorted(group.groupby("budget"), key=lambda kv: budget_sort_key(kv[0])))
            parts.append(f"{arm} on {dataset} ({where})")
        out.append(f"{label.capitalize()} when its fit ended ({meaning}; convergence probe, "
                   f"docs/protocol.md): " + "; ".join(parts) + ".")
    return out


def resolve_metrics(requested, runs: RunSet) -> list[str]:
    """Exact logged names, or the same name with the ``test_`` prefix (``macro_auc`` -> ``test_macro_auc``)."""
    logged = metric_names(runs.cells)
    names = [m.strip() for m in (requested.split(",") if isinstance(requested, str) else requested) if m.strip()]
    out = []
    for name in names:
        if name in logged:
            out.append(name)
        elif f"test_{name}" in logged:
            out.append(f"test_{name}")
        else:
            close = difflib.get_close_matches(name, logged, n=3)
            raise UserError(f"metric {name!r} was not logged by these runs"
                            + (f" (did you mean {', '.join(close)}?)" if close else "") + ".",
                            "pass --metric with logged names, e.g. test_balanced_accuracy,test_macro_auc,"
                            "test_recall_<class>; `benchmark ui` lists them all.")
    return out


def resolve_budget(budget, runs: RunSet) -> str:
    """The stored budget label ``--budget`` names, matched as a budget, not as text (``12.50%`` finds
    runs stored as ``12.5%``); the smallest budget when none is given."""
    available = sorted(runs.cells["budget"].unique(), key=budget_sort_key)
    if budget is None or str(budget) == "":
        return default_budget(runs.cells)
    wanted = Budget.parse(budget)
    for label in available:
        if Budget.read(label) == wanted:
            return label
    raise UserError(f"budget {wanted.label()} has no runs in this selection.",
                    f"pass --budget with one of: {', '.join(available)}.")


def build_report(tracking_uri: str, experiment: str = "augbench", *, grid_id: str | None = None,
                 dataset: str | None = None, metrics=DEFAULT_METRICS, budget=None, figures: bool = True,
                 share_scores: bool = True, progress: bool | None = None) -> Report:
    """Every table (and, with ``figures``, every figure) of the selected runs.

    One :class:`Comparer` serves all tables, so each run is scored once on the shared test-set
    resamples (``share_scores=False`` rescores per comparison: same numbers, the slower path kept
    for perf/report_speed.py and the test that compares the two). ``progress``: a bar on stderr
    (None: only on a terminal). ``report.timings`` has the seconds of each stage."""
    import time

    from tqdm import tqdm

    t0 = time.perf_counter()
    runs = load_runs(tracking_uri, experiment, grid_id=grid_id, dataset=dataset)
    report = Report(runs, resolve_metrics(metrics, runs), resolve_budget(budget, runs))
    report.timings["load runs"] = time.perf_counter() - t0
    keys = runs.group_keys()
    comparer = Comparer(PredictionSource(tracking_uri), share_scores=share_scores)
    cells = runs.cells
    t = time.perf_counter()
    comparer.prefetch(cells, report.metrics)
    report.timings["score runs"] = time.perf_counter() - t
    stages = [(f"main {m}", lambda m=m: main_tables(cells, m, keys, comparer)) for m in report.metrics]
    stages += [(f"stats {m}", lambda m=m: stats_tables(cells, m, keys, comparer)) for m in report.metrics]
    stages += [(f"pairwise {m}", lambda m=m: pairwise_tables(cells, m, keys, report.budget, comparer))
               for m in report.metrics]
    stages += [("per class", lambda: per_class_tables(cells, keys, report.budget, comparer=comparer)),
               ("left out", lambda: left_out_table(cells, keys, runs.left_out)),
               ("fidelity", lambda: fidelity_tables(runs.fits))]
    if figures:
        stages.append(("figures", lambda: _add_figures(report, keys) or []))
    bar = tqdm(stages, desc="report", unit="stage", disable=None if progress is None else not progress,
               leave=False, dynamic_ncols=True)
    for name, make in bar:
        bar.set_postfix_str(name, refresh=True)
        t = time.perf_counter()
        report.tables += make()
        report.timings[name] = time.perf_counter() - t
    bar.close()
    return report


def _add_figures(report: Report, keys: list[str]) -> None:
    from augbench.reports.artifacts import RunFiles

    runs = report.runs
    for metric in report.metrics:
        report.figures += metric_vs_budget(runs.cells, metric, keys)
    report.figures += recall_heatmap(runs.cells, keys, report.budget)
    if not runs.fits.empty:
        report.figures += metric_vs_compute(runs.cells, runs.fits, report.metrics[0], keys, report.budget)
    if runs.fits.empty:
        report.figure_notes["samples"] = ["No generator-fit runs in this selection: no sample grids, t-SNE or "
                                          "training curves."]
        return
    files = RunFiles(runs.tracking_uri)
    for name, make in (("samples", sample_grids), ("tsne", tsne_panels), ("training", training_curves),
                       ("probe", probe_curves)):
        result = make(runs.fits, report.budget, files)
        report.figures += result.figures
        if result.notes:
            report.figure_notes[name] = result.notes
    if not any(f.section == "samples" for f in report.figures):
        report.figure_notes.setdefault("samples", []).append(
            f"No fit at budget {report.budget} logged sample grids (baseline arms add no learned samples).")


def report_markdown(report: Report) -> str:
    parts = [f"# {report.title}", "", *(f"{m}  " for m in report.meta())]
    parts += [f"> **{w}**" for w in report.warnings()]
    titles = {"main": "Main tables", "stats": "Statistics: each arm against none",
              "pairwise": "All pairs of arms", "per_class": "Per class", "fidelity": "Fidelity",
              "left_out": "Left out"}
    for section, title in titles.items():
        chosen = [t for t in report.tables if t.section == section]
        if chosen:
            parts += ["", f"## {title}"]
            for table in chosen:
                parts += ["", to_markdown(table)]
    return "\n".join(parts) + "\n"


def report_latex(report: Report) -> str:
    head = [f"% {report.title}", *(f"% {m}" for m in report.meta()), "% needs \\usepackage{booktabs}", ""]
    return "\n".join(head) + "\n\n".join(to_latex(t) for t in report.tables) + "\n"


def report_html(report: Report) -> str:
    from augbench.reports.html import render_page

    return render_page(report.title, report.meta(), report.warnings(), report.tables, report.figures,
                       report.figure_notes)


def parse_formats(text: str | None) -> list[str]:
    formats = [f.strip().lower() for f in (text or "").split(",") if f.strip()]
    formats = ["latex" if f == "tex" else "md" if f == "markdown" else f for f in formats]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UserError(f"unknown report format(s): {', '.join(unknown)}.", f"use any of: {', '.join(FORMATS)}.")
    return formats


def write_report(report: Report, output_dir, formats) -> list[Path]:
    """Write the requested formats into ``output_dir``; returns the paths written."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(name: str, content, binary: bool = False) -> None:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if binary else path.write_text(content, encoding="utf-8")
        written.append(path)

    if "md" in formats:
        put("report.md", report_markdown(report))
    if "csv" in formats:
        for table in report.tables:
            put(f"csv/{table.key}.csv", to_csv(table))
    if "latex" in formats:
        put("report.tex", report_latex(report))
    if "html" in formats:
        put("report.html", report_html(report))
    if "png" in formats:
        for figure in report.figures:
            put(f"figures/{figure.key}.png", figure.png, binary=True)
    return written


def attach_report(report: Report, paths) -> str:
    """Log written report files as artifacts (folder ``report/``) of the grid's parent run, so the
    MLflow UI shows the report next to the runs it summarises. Needs a selection of exactly one grid."""
    from mlflow import MlflowClient

    grids = report.runs.grid_ids
    if len(grids) != 1:
        raise UserError(f"--attach needs runs of exactly one grid, this selection has {len(grids)} "
                        f"({', '.join(grids) or 'none'}).", "pass --grid-id to choose the grid.")
    client = MlflowClient(tracking_uri=report.runs.tracking_uri)
    experiment = client.get_experiment_by_name(report.runs.experiment)
    parents = client.search_runs([experiment.experiment_id],
                                 f"tags.`{TAG_KIND}` = '{KIND_GRID}' and tags.`{TAG_GRID}` = '{grids[0]}'",
                                 max_results=1)
    if not parents:
        raise UserError(f"grid {grids[0]} has no parent run to attach the report to.",
                        "rerun the grid with `benchmark run` (it creates the parent), or drop --attach.")
    for path in paths:
        if Path(path).suffix in (".html", ".md", ".tex"):
            client.log_artifact(parents[0].info.run_id, str(path), "report")
    return parents[0].info.run_id
