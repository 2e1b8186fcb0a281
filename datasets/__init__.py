"""Dataset registry, loaders, budget sampling. Knows nothing of generators, classifiers or MLflow.

Installed as ``augbench.datasets``, so it sits beside Hugging Face's ``datasets`` without either
shadowing the other (tests/test_namespace.py).
"""
from augbench.core.errors import DataError, UnknownNameError, UserError
from augbench.core.registry import Registry
from augbench.datasets.registry import DATASETS
from augbench.datasets.types import DatasetInfo, Split, Splits

# Loader modules register themselves into DATASETS on import; installed plugins on its first lookup
# (datasets/registry.py).
from augbench.datasets import chestxray, fashion_mnist, folder, isic, medmnist, synthetic  # noqa: F401
from augbench.datasets.api import dataset_info, dataset_names, describe_dataset, load_dataset
from augbench.datasets.budget import BudgetResult, apply_budget, default_minority, target_counts
from augbench.datasets.fetch import fetch_dataset
from augbench.datasets.paths import resolve_data_dir

__all__ = [
    "DATASETS", "DataError", "DatasetInfo", "Registry", "Split", "Splits", "UnknownNameError", "UserError",
    "dataset_info", "dataset_names", "describe_dataset", "load_dataset", "resolve_data_dir",
    "BudgetResult", "apply_budget", "default_minority", "target_counts", "fetch_dataset",
]
