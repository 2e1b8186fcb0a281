"""Before any cell: tie every hash to the exact split it will use, and say when splits share subjects.

The fingerprint goes into every fit and cell hash (``GridSpec.split_fingerprints``), so a changed
split never resumes from runs made on another one. It is computed on the loaded splits, which the
runner's validation has just loaded (and cached), so it costs one pass of hashing.
"""
from __future__ import annotations

from benchmark.grid import GridSpec


def attach_fingerprints(spec: GridSpec) -> dict[str, str]:
    """Fill ``spec.split_fingerprints`` for every dataset of the grid; returns it."""
    from benchmark.execute import dataset_cache_dir, load_splits
    from datasets.fingerprint import split_fingerprint

    for name in spec.datasets:
        if name not in spec.split_fingerprints:
            splits = load_splits(name, spec.data_dir, spec.image_size, dataset_cache_dir(spec))
            spec.split_fingerprints[name] = split_fingerprint(splits)
    return spec.split_fingerprints
