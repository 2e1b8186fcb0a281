"""Augmentation arms behind one interface (see base.Generator). Knows nothing of classifiers or MLflow.

The ways in, all over the one ``GENERATORS`` registry: ``register_generator`` (an arm registers,
with its ``order``), ``create_generator`` (an arm by name), ``generator_names`` and
``expand_generators`` (names, and 'all' or a comma list checked), and ``GENERATORS.entry`` / ``get``
for an arm's class and meta where a listing needs them (benchmark/listing.py, dryrun.py). Whether an
arm is learned is its class's flag (``LearnedGenerator.learned``), never registry meta.
"""
from augbench.core.registry import Registry
from augbench.generators.base import DivergenceError, Generator, check_finite, fit_resample

GENERATORS = Registry("generator", variants=True)  # ddpm@g3: ddpm under its own label


def register_generator(name: str, **meta):
    """Class decorator: registers a Generator subclass and stamps its ``name``."""

    def decorator(cls):
        cls.name = name
        GENERATORS.register(name, **meta)(cls)
        return cls

    return decorator


def create_generator(name: str, **config) -> Generator:
    _import_backends()
    return GENERATORS.create(name, **config)


def generator_names() -> list[str]:
    _import_backends()
    return GENERATORS.names()


def expand_generators(spec) -> list[str]:
    """'all' or a comma list -> validated arm names (order meta decides the order of 'all')."""
    _import_backends()
    return GENERATORS.expand(spec)


def _import_backends() -> None:
    """Backends register on import; every public module of this package is one backend or helper,
    and every ``augbench.generators`` entry point of an installed distribution is one more
    (docs/plugins.md). Loading them here, not at package import, is what makes pool and Ray workers,
    which import this package afresh, see the same arms as the driver."""
    import importlib
    import pkgutil

    from augbench import generators
    from augbench.core.plugins import load_plugins

    for info in pkgutil.iter_modules(generators.__path__):
        if not info.name.startswith("_") and info.name != "base":
            importlib.import_module(f"augbench.generators.{info.name}")
    load_plugins("augbench.generators")


__all__ = ["DivergenceError", "GENERATORS", "Generator", "check_finite", "create_generator", "fit_resample",
           "expand_generators", "generator_names", "register_generator"]
