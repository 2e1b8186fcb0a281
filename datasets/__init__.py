"""Dataset registry, loaders, budget sampling. Knows nothing of generators, classifiers or MLflow.

Note: this package is named ``datasets`` and shadows Hugging Face's ``datasets`` if both are installed
in one environment; augbench does not use Hugging Face's, and a test checks which one resolves.
"""
from datasets.errors import DataError, UnknownNameError, UserError
from datasets.registry import Registry
from datasets.types import DatasetInfo, Split, Splits

DATASETS = Registry("dataset")

__all__ = ["DATASETS", "DataError", "DatasetInfo", "Registry", "Split", "Splits", "UnknownNameError", "UserError"]
