"""The four calls the rest of augbench uses to get data: names, metadata, pixels, a summary."""
from __future__ import annotations

import numpy as np

from augbench.datasets.images import check_image_size
from augbench.datasets.source import Source
from augbench.datasets.types import DatasetInfo, Splits


def _source(name: str) -> Source:
    from augbench.datasets.registry import DATASETS

    return DATASETS.create(name)


def dataset_names(pattern: str = "*") -> list[str]:
    """Registered names (parametric ones such as 'folder' and 'medmnist' need ':<arg>')."""
    from augbench.datasets.registry import DATASETS

    return DATASETS.names(pattern)


def dataset_info(name: str, data_dir=None) -> DatasetInfo:
    """The metadata record (classes, channels, published counts, source, licence, files)."""
    return _source(name).info(data_dir)


def load_dataset(name: str, *, data_dir=None, image_size: int | None = None, cache_dir=None,
                 seed: int = 0) -> Splits:
    """Train/val/test as uint8 NHWC arrays at ``image_size`` (None = native), decoded once and cached.

    ``seed`` only affects splits that augbench has to carve itself (see ``Splits.notes``).
    """
    image_size = check_image_size(image_size)
    return _source(name).load(data_dir=data_dir, image_size=image_size, cache_dir=cache_dir, seed=int(seed))


def describe_dataset(name: str, data_dir=None, seed: int = 0, image_size: int | None = None) -> dict:
    """Counts as actually loaded (no pixels decoded), for `benchmark data info NAME`.

    ``image_size`` shows which file a load at that size would read, for datasets published at
    several sizes (MedMNIST); the counts are the same at every size.
    """
    source = _source(name)
    info = source.info(data_dir)
    root, chosen = source.locate_sized(data_dir, check_image_size(image_size))
    catalog = source.catalog(root)
    parts, notes = source.assign(catalog, seed)
    n = info.n_classes
    counts = {split: np.bincount(catalog.labels[idx], minlength=n).tolist() for split, idx in parts.items()}
    train = counts["train"]
    smallest = min(train) if train else 0
    file_notes = {**catalog.notes, **chosen}
    return {
        "name": name,
        "task": info.task,
        "classes": list(info.class_names),
        "channels": info.channels,
        "counts": counts,
        "totals": {split: int(sum(c)) for split, c in counts.items()},
        # never invented: a publisher that gives split totals only gets that said, not per-class numbers
        "published_counts": ({k: list(v) for k, v in info.counts.items()} if info.counts else
                             "none published per class (the counts above are as loaded)"),
        "published_totals": info.published_totals or None,
        "imbalance_ratio": (max(train) / smallest) if smallest > 0 else None,
        "largest_class": info.class_names[int(np.argmax(train))] if train else None,
        "smallest_class": info.class_names[int(np.argmin(train))] if train else None,
        "split": {k: v for k, v in {**catalog.notes, **notes}.items() if k not in FILE_NOTES},
        **{k: file_notes[k] for k in FILE_NOTES if file_notes.get(k)},
        **({"warning": chosen["warning"]} if chosen.get("warning") else {}),
        "seed": seed,
        "source": info.source,
        "licence": info.licence,
        "location": str(root) if root is not None else None,
        "description": info.description,
    }


# notes about which file was read, shown on their own lines by `data info` rather than under "split"
FILE_NOTES = ("native_size", "native_files", "native_file", "native_choice")
