"""`benchmark` command line: run grids, inspect datasets, render reports, open the MLflow UI.

User mistakes (names, paths, budgets, unreachable servers) end as one line saying what is wrong and
how to fix it, with a non-zero exit code and no traceback; anything else is a bug and keeps one.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

for _key, _value in {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
                     "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true", "NO_ALBUMENTATIONS_UPDATE": "1",
                     "MLFLOW_LOGGING_LEVEL": "WARNING"}.items():
    os.environ.setdefault(_key, _value)

from augbench.core.errors import UserError  # noqa: E402

DEFAULT_OUT = "augbench-out"


def _add_run_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("grid axes (flags override --config, which overrides the preset)")
    g.add_argument("--config", help="grid YAML file with the same keys as these flags (see grids/)")
    g.add_argument("--dataset", "--datasets", dest="datasets", help="dataset name(s), comma separated (default isic)")
    g.add_argument("--generators", help="arms: 'all' or a comma list (default all)")
    g.add_argument("--classifiers", help="comma list (default: the preset's, small-cnn)")
    g.add_argument("--budget", "--budgets", dest="budgets", help="real images kept per minority class: 10,50,100,all")
    g.add_argument("--seeds", help="comma list of seeds (default: the preset's)")
    g.add_argument("--preset", help="smoke | quick | paper | path.yaml (default: paper with a GPU, else quick)")
    g.add_argument("--image-size", type=int, help="square side in px (default: the preset's)")
    g.add_argument("--target", help="images per minority class after augmentation: original | balanced | N | "
                                    "ratio:R[,R...] (R synthetic per real image; a list is a grid axis)")
    g.add_argument("--gen-budget", dest="gen_budget",
                   help="compute sweep of the learned arms: 1x,4x,16x of the preset's (steps, or the compute "
                        "block's FLOPs/seconds); each multiple is an arm variant <arm>@4x")
    g.add_argument("--minority", help="minority classes (names), default: every class smaller than the largest")
    g.add_argument("--val-budget", choices=["budgeted", "full"],
                   help="validation images of each budgeted class: budgeted (default: max(1, round(B*n_val/n_train)), "
                        "nested like train) or full (every val image; an ablation that gives model selection "
                        "real images the budget excludes)")
    o = p.add_argument_group("where and how")
    o.add_argument("--data-dir", help="dataset root (default $BENCHMARK_DATA_DIR)")
    o.add_argument("--out", help=f"output folder: caches, artifacts, default MLflow store (default ./{DEFAULT_OUT})")
    o.add_argument("--tracking-uri", help="MLflow tracking URI (default $MLFLOW_TRACKING_URI, else "
                                          "sqlite:///<out>/mlflow.db)")
    o.add_argument("--experiment", help="MLflow experiment name (default $MLFLOW_EXPERIMENT_NAME, else augbench)")
    o.add_argument("--device", help="auto | cpu | cuda[:N] (default auto)")
    o.add_argument("--executor", choices=["local", "ray"], help="local (default; with --jobs N a process pool) or ray")
    o.add_argument("--jobs", type=int, help="parallel fit groups on this machine (default 1)")
    o.add_argument("--ray-address", help="Ray cluster address: auto | HOST:PORT | local (default auto)")
    o.add_argument("--gpus-per-cell", type=float, help="GPUs each Ray task asks for, fractions allowed (default 0)")
    o.add_argument("--cpus-per-cell", type=float, help="CPUs each Ray task asks for (default 1)")
    o.add_argument("--threads", type=int, help="torch threads per job (default: usable cores / --jobs)")
    o.add_argument("--inception-weights", help="local pt_inception-2015-12-05-6726825d.pth for Inception FID")
    o.add_argument("--classifier-weights", help="local state_dict file to initialise classifiers from")
    o.add_argument("--save-models", action="store_true",
                   help="log each cell's selected classifier weights as an MLflow artifact (model/<classifier>.pt)")
    o.add_argument("--force", action="store_true", help="rerun cells even when finished")
    o.add_argument("--rerun-failed", action="store_true", help="rerun only cells whose last run failed")
    o.add_argument("--dry-run", action="store_true", help="print the expanded grid, what is cached, an estimate")
    o.add_argument("--no-progress", action="store_true", help="plain log lines instead of a progress bar")
    o.add_argument("--json", metavar="PATH", help="also write the closing summary, with its statistics, as JSON")
    o.add_argument("--metric", default="test_macro_auc",
                   help="metric of the closing summary table (default test_macro_auc: threshold- and prior-free; docs/protocol.md)")
    p.add_argument("settings", nargs="*", metavar="KEY=VALUE",
                   help="preset settings as dotted keys, over the preset and the grid file's overrides: "
                        "classifier.epochs=20 generators.ddpm.guidance=3.0 fidelity.enabled=false "
                        "(`benchmark list arms` shows each arm's settings)")


def build_parser() -> argparse.ArgumentParser:
    from augbench.core.version import __version__

    parser = argparse.ArgumentParser(prog="benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"augbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run_args(sub.add_parser("run", help="run a grid of (dataset, budget, seed, arm, classifier) cells"))
    _add_data_args(sub.add_parser("data", help="list, describe or fetch datasets"))
    _add_report_args(sub.add_parser("report", help="tables, statistics and figures read back from MLflow "
                                                   "(see docs/reports.md)"))
    _add_ui_args(sub.add_parser("ui", help="start `mlflow server` on 127.0.0.1 over the project's store"))
    _add_check_args(sub.add_parser("check", help="rerun a tiny grid and compare its metrics with a committed baseline"))
    sub.add_parser("presets", help="list presets and what they set")
    lst = sub.add_parser("list", help="arms, classifiers or datasets, with each one's settings and defaults")
    lst.add_argument("kind", choices=["arms", "classifiers", "datasets"])
    return parser


def _add_data_args(data: argparse.ArgumentParser) -> None:
    dsub = data.add_subparsers(dest="data_command", required=True)
    dsub.add_parser("list", help="registered datasets")
    info = dsub.add_parser("info", help="classes, per-split counts, imbalance ratio")
    info.add_argument("name")
    info.add_argument("--data-dir")
    info.add_argument("--image-size", type=int,
                      help="also say which native file a load at this size reads (MedMNIST sets)")
    audit = dsub.add_parser("audit", help="shared subjects, exact and near duplicates across train/val/test")
    audit.add_argument("name")
    audit.add_argument("--split", choices=["default", "official"], default="default",
                       help="official: the dataset's published split where augbench defaults to a grouped one "
                            "(isic -> dermamnist)")
    audit.add_argument("--image-size", type=int, default=28, help="size the images are compared at (default 28)")
    audit.add_argument("--data-dir")
    fetch = dsub.add_parser("fetch", help="download a dataset's official files (checksummed)")
    fetch.add_argument("name")
    fetch.add_argument("--data-dir")
    fetch.add_argument("--size", type=int,
                       help="native size of a MedMNIST set's file: 28 (default), 64, 128 or 224")
    fetch.add_argument("--base-url", help="mirror to download from instead of the official host")
    derma = dsub.add_parser("derma-split", help="write ham10000/dermamnist_split_info.csv by matching MedMNIST's "
                                                "dermamnist.npz to the HAM10000 images")
    derma.add_argument("--npz", help="the official dermamnist.npz (any size; default DATA_DIR/medmnist/dermamnist.npz)")
    derma.add_argument("--data-dir")
    derma.add_argument("--out", help="CSV to write (default DATA_DIR/ham10000/dermamnist_split_info.csv)")
    derma.add_argument("--force", action="store_true", help="replace an existing --out file")


def _add_report_args(rep: argparse.ArgumentParser) -> None:
    rep.add_argument("--out", default=DEFAULT_OUT, help=f"output folder of `benchmark run` (default ./{DEFAULT_OUT})")
    rep.add_argument("--tracking-uri", help="MLflow tracking URI (default $MLFLOW_TRACKING_URI, else <out>/mlflow.db)")
    rep.add_argument("--experiment", help="MLflow experiment name (default $MLFLOW_EXPERIMENT_NAME, else augbench)")
    rep.add_argument("--grid-id", help="only runs of this grid (tag augbench.grid_id)")
    rep.add_argument("--dataset", help="only runs on this dataset")
    rep.add_argument("--metric", "--metrics", dest="metric", default="test_balanced_accuracy,test_macro_auc",
                     help="comma list of logged metrics for the main/statistics tables "
                          "(default test_balanced_accuracy,test_macro_auc; 'test_' may be left out)")
    rep.add_argument("--budget", help="budget of the per-class table and per-fit figures (default: the smallest)")
    rep.add_argument("--format", "--formats", dest="formats",
                     help="files to write: md,csv,latex,html,png (default: print Markdown only)")
    rep.add_argument("--output-dir", help="where --format files go (default <out>/report)")
    rep.add_argument("--attach", action="store_true",
                     help="also log the written md/html/tex files to the grid's parent run (MLflow UI: artifacts)")


def _add_ui_args(ui: argparse.ArgumentParser) -> None:
    ui.add_argument("--out", default=DEFAULT_OUT, help=f"output folder of `benchmark run` (default ./{DEFAULT_OUT})")
    ui.add_argument("--tracking-uri", help="backend store URI instead of sqlite:///<out>/mlflow.db")
    ui.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000)")


def _add_check_args(chk: argparse.ArgumentParser) -> None:
    chk.add_argument("--baseline", default=str(Path(__file__).with_name("baselines") / "ci.json"),
                     help="baseline JSON/YAML (grid + expected values); default: the project's CI baseline")
    chk.add_argument("--update-baseline", action="store_true", help="rewrite the baseline from this run")
    chk.add_argument("--data-dir")
    chk.add_argument("--out", help="keep the check's runs here (default: a temporary folder)")


def _quiet_logs() -> None:
    import logging

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_logs()
    try:
        handler = {"run": cmd_run, "data": cmd_data, "report": cmd_report, "ui": cmd_ui,
                   "presets": cmd_presets, "check": cmd_check, "list": cmd_list}[args.command]
        return int(handler(args) or 0)
    except UserError as exc:
        print(f"error: {exc.problem}", file=sys.stderr)
        if exc.fix:
            print(f"  fix: {exc.fix}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `benchmark list arms | head`: the reader left, nothing is wrong
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as exc:  # a full or read-only disk is the user's to fix; any other OSError is a bug
        from augbench.core.errors import disk_problem

        problem = disk_problem(exc, "a file", "--out (and $AUGBENCH_CACHE)")
        if problem is None:
            raise
        print(f"error: {problem.problem}", file=sys.stderr)
        print(f"  fix: {problem.fix} Finished cells are saved: rerun the same command to resume.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished cells are saved; rerun the same command to resume.", file=sys.stderr)
        return 130


# --- run -------------------------------------------------------------------------------------------------
def cmd_run(args) -> int:
    from augbench.benchmark.gridfile import spec_from_args
    from augbench.benchmark.runner import run_grid, summarise

    spec, run_opts, shown = spec_from_args(args)
    if args.save_models:
        spec = dataclasses.replace(spec, options=dataclasses.replace(spec.options, save_models=True))
    print("augbench run with:")
    for key, value in shown.items():
        print(f"  {key:12s} {value}")
    if args.dry_run:
        from augbench.benchmark.dryrun import describe_plan

        print(describe_plan(spec, jobs=run_opts["jobs"] if run_opts["executor"] == "local" else 1))
        return 0
    result = run_grid(spec, show_progress=not args.no_progress, **run_opts)
    print(summarise(result, metric=args.metric, json_path=args.json))
    print(f"MLflow: {result.tracking_uri} (experiment {result.experiment!r}); "
          f"`benchmark report --out {spec.out_dir}` or `benchmark ui --out {spec.out_dir}` to compare.")
    return 1 if result.failed else 0


# --- data ------------------------------------------------------------------------------------------------
def cmd_data(args) -> int:
    from augbench import datasets as ds

    if args.data_command == "list":
        args.kind = "datasets"
        return cmd_list(args)
    if args.data_command == "info":
        d = ds.describe_dataset(args.name, data_dir=args.data_dir, image_size=args.image_size)
        for key, value in d.items():
            print(f"{key}: {value}")
        return 0
    if args.data_command == "audit":
        return cmd_data_audit(args)
    if args.data_command == "fetch":
        from augbench.datasets.fetch import fetch_dataset

        paths = fetch_dataset(args.name, ds.resolve_data_dir(args.data_dir), base_url=args.base_url, size=args.size)
        for path in paths:
            print(f"fetched {path}")
        return 0
    if args.data_command == "derma-split":
        return cmd_data_derma_split(args)
    return 2


def cmd_data_derma_split(args) -> int:
    from augbench import datasets as ds
    from augbench.datasets.derma_split import match_dermamnist, write_split_csv

    root = ds.resolve_data_dir(args.data_dir)
    npz = Path(args.npz).expanduser() if args.npz else root / "medmnist" / "dermamnist.npz"
    out = Path(args.out).expanduser() if args.out else root / "ham10000" / "dermamnist_split_info.csv"
    if out.exists() and not args.force:
        raise UserError(f"{out} already exists.", "pass --force to replace it, or --out PATH to write elsewhere.")
    result = match_dermamnist(npz, data_dir=root)
    write_split_csv(result, out)
    print(f"wrote {out}: {result.summary()}")
    return 0


OFFICIAL_SPLIT = {"isic": "dermamnist"}  # datasets whose published split is registered under another name


def cmd_data_audit(args) -> int:
    from augbench import datasets as ds
    from augbench.datasets.audit import audit_splits

    name = args.name
    if args.split == "official" and name in OFFICIAL_SPLIT:
        name = OFFICIAL_SPLIT[name]
    elif args.split == "official" and name not in OFFICIAL_SPLIT.values():
        raise UserError(f"{name!r} has no separate official split to audit.",
                        f"drop --split official (datasets with one: {', '.join(OFFICIAL_SPLIT)}).")
    splits = ds.load_dataset(name, data_dir=args.data_dir, image_size=args.image_size)
    report = audit_splits(splits)
    print(f"split: {splits.notes.get('test_split')} (val: {splits.notes.get('val_split')})")
    print("\n".join(report.lines()))
    if report.any_shared:
        print(f"warning: {name}: {report.warning()}", file=sys.stderr)
    return 0


# --- report / ui ----------------------------------------------------------------------------------------
def _tracking(args, *, environment: bool = True) -> tuple[str, bool]:
    """(store URI, whether one was named): --tracking-uri, else $MLFLOW_TRACKING_URI (``environment``),
    else the embedded sqlite store under --out."""
    from augbench.benchmark.store import chosen_tracking_uri, default_tracking_uri

    uri, _ = chosen_tracking_uri(args.tracking_uri) if environment else (args.tracking_uri, "")
    return (uri, True) if uri else (default_tracking_uri(args.out), False)


def _require_store(args, *, environment: bool = True) -> str:
    uri, named = _tracking(args, environment=environment)
    if not named and not Path(args.out, "mlflow.db").exists():
        raise UserError(f"no results under {args.out!r} (no mlflow.db).",
                        "run `benchmark run ...` first, or pass --out/--tracking-uri of an existing store.")
    if not named:
        from augbench.benchmark.store import check_store_file

        check_store_file(Path(args.out, "mlflow.db"))
    return uri


def cmd_report(args) -> int:
    from augbench.reports.build import attach_report, build_report, parse_formats, report_markdown, write_report

    uri = _require_store(args)
    formats = parse_formats(args.formats)
    if args.attach and not formats:
        raise UserError("--attach needs files to attach.", "add --format html (and/or md, latex).")
    figures = any(f in formats for f in ("html", "png"))
    from augbench.benchmark.store import chosen_experiment

    report = build_report(uri, chosen_experiment(args.experiment)[0], grid_id=args.grid_id, dataset=args.dataset, metrics=args.metric,
                          budget=args.budget, figures=figures)
    if not formats:
        print(report_markdown(report))
        return 0
    output_dir = Path(args.output_dir or Path(args.out) / "report")
    written = write_report(report, output_dir, formats)
    for path in written:
        print(f"wrote {path}")
    if args.attach:
        run_id = attach_report(report, written)
        print(f"attached the report to grid run {run_id} (artifacts/report/)")
    return 0


def cmd_ui(args) -> int:
    import subprocess

    from augbench.reports.server import HOST, port_free, server_command

    # the UI serves a backend store; $MLFLOW_TRACKING_URI names a server to talk to, not one to serve
    uri = _require_store(args, environment=False)
    if not port_free(args.port):
        raise UserError(f"port {args.port} on {HOST} is already in use (another `benchmark ui` or mlflow server?).",
                        f"pass a free one, e.g. --port {args.port + 1}, or open the server that is running.")
    cmd = server_command(uri, Path(args.out) / "artifacts", args.port)
    print(f"MLflow UI: http://{HOST}:{args.port}  (store {uri}; Ctrl-C to stop)", flush=True)
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0


def cmd_check(args) -> int:
    from augbench.benchmark.check import run_check

    return run_check(args.baseline, update=args.update_baseline, out=args.out, data_dir=args.data_dir)


def cmd_list(args) -> int:
    from augbench.benchmark.listing import listing

    print("\n".join(listing(args.kind)))
    return 0


def cmd_presets(args) -> int:
    from augbench.benchmark.presets import load_preset, preset_names

    for name in preset_names():
        print(f"{name:8s} {load_preset(name).get('description', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
