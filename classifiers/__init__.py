"""Classifier networks (registry) and the one shared training/evaluation loop. No generators, no MLflow.

``create_classifier(name, n_classes=, in_channels=, image_size=, weights=None)`` returns an
``nn.Module`` mapping float NCHW in [-1, 1] to logits; every entry's meta carries ``min_size``.
"""
from augbench.classifiers._auc import macro_ovr_auc, one_vs_rest_auc
from augbench.core.registry import Registry

CLASSIFIERS = Registry("classifier")


def register_classifier(name: str, **meta):
    return CLASSIFIERS.register(name, **meta)


def _import_backends() -> None:
    """Every public module of this package, then every installed ``augbench.classifiers`` entry
    point (docs/plugins.md), registers on import."""
    import importlib
    import pkgutil

    from augbench import classifiers
    from augbench.core.plugins import load_plugins

    for info in pkgutil.iter_modules(classifiers.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"augbench.classifiers.{info.name}")
    load_plugins("augbench.classifiers")


def create_classifier(name: str, **kwargs):
    _import_backends()
    return CLASSIFIERS.create(name, **kwargs)


def classifier_names() -> list[str]:
    _import_backends()
    return CLASSIFIERS.names()


def expand_classifiers(spec) -> list[str]:
    _import_backends()
    return CLASSIFIERS.expand(spec)


def classifier_entry(name: str):
    _import_backends()
    return CLASSIFIERS.get(name)


def create_seeded_classifier(name: str, seed: int, **kwargs):
    """``create_classifier`` with its random initial weights drawn from ``seed``.

    Initial weights come from torch's global RNG at construction time, so a run is only
    reproducible if that draw is seeded too; the RNG is forked so the caller's state is untouched.
    """
    from augbench.core.seeding import seeded_global_rng

    with seeded_global_rng(seed):
        return create_classifier(name, **kwargs)
