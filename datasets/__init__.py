"""Dataset registry, loaders, budget sampling. Knows nothing of generators, classifiers or MLflow.

Note: this package is named ``datasets`` and shadows Hugging Face's ``datasets`` if both are installed
in one environment; augbench does not use Hugging Face's, and a test checks which one resolves.
"""
from augbench.core.errors import DataError, UnknownNameError, UserError
from augbench.core.registry import Registry
from augbench.datasets.types import DatasetInfo, Split, Splits

DATASETS = Registry("dataset")

# Loader modules register themselves on import; they need DATASETS defined above.
from augbench.datasets import chestxray, fashion_mnist, folder, isic, medmnist, synthetic  # noqa: E402,F401

from augbench.datasets.api import dataset_info, dataset_names, describe_dataset, load_dataset  # noqa: E402
from augbench.datasets.budget import BudgetResult, apply_budget, default_minority, target_counts  # noqa: E402
from augbench.datasets.fetch import fetch_dataset  # noqa: E402
from augbench.datasets.paths import resolve_data_dir  # noqa: E402

__all__ = [
    "DATASETS", "DataError", "DatasetInfo", "Registry", "Split", "Splits", "UnknownNameError", "UserError",
    "dataset_info", "dataset_names", "describe_dataset", "load_dataset", "resolve_data_dir",
    "BudgetResult", "apply_budget", "default_minority", "target_counts", "fetch_dataset",
]
