"""Before any cell: tie every hash to the exact split it will use, and say when splits share subjects.

The fingerprint goes into every fit and cell hash (``GridSpec.split_fingerprints``), so a changed
split never resumes from runs made on another one. It is computed on the loaded splits, which the
runner's validation has just loaded (and cached), so it costs one pass of hashing.
"""
from __future__ import annotations

import dataclasses

from augbench.benchmark.grid import GridSpec


def with_fingerprints(spec: GridSpec) -> GridSpec:
    """``spec`` with ``split_fingerprints`` filled for every dataset of the grid (a new spec; the
    one given is left as it was)."""
    from augbench.benchmark.fit import dataset_cache_dir, load_splits
    from augbench.datasets.fingerprint import split_fingerprint

    prints = dict(spec.split_fingerprints)
    for name in spec.datasets:
        if name not in prints:
            prints[name] = split_fingerprint(load_splits(name, spec.data_dir, spec.image_size, dataset_cache_dir(spec)))
    return dataclasses.replace(spec, split_fingerprints=prints)


def split_warnings_and_audit(spec: GridSpec) -> tuple[list[str], dict]:
    """Warning lines for the run header and flat audit numbers for the grid's MLflow run.

    A split that shares subjects or images across train/val/test is allowed (the MedMNIST
    reproductions use the official DermaMNIST split on purpose), but never silently: the loader's
    own warning and the audit's counts are printed before the first cell and kept on the grid run.
    """
    from augbench.benchmark.fit import dataset_cache_dir, load_splits
    from augbench.datasets.audit import audit_splits

    warnings: list[str] = []
    params: dict = {}
    for name in spec.datasets:
        splits = load_splits(name, spec.data_dir, spec.image_size, dataset_cache_dir(spec))
        if splits.notes.get("warning"):
            warnings.append(f"warning: {name}: {splits.notes['warning']}")
        report = audit_splits(splits)
        if report.any_shared:
            warnings.append(f"warning: {name}: {report.warning()} (details: `benchmark data audit {name}`)")
        params.update({f"{name}.{k}": v for k, v in report.summary().items()})
        params[f"{name}.split_fingerprint"] = spec.split_fingerprints.get(name)
    return warnings, params
