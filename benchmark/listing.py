"""`benchmark list arms|classifiers|datasets`: what can be named on the command line, with the
settings each takes and their defaults, read off the registries themselves so a new arm (or a
plugin's) is listed the moment it registers, with nothing to keep in step by hand.
"""
from __future__ import annotations

import inspect
import re

KINDS = ("arms", "classifiers", "datasets")


def listing(kind: str) -> list[str]:
    return {"arms": _arms, "classifiers": _classifiers, "datasets": _datasets}[kind]()


def _first_line(obj, width: int = 110) -> str:
    """The first sentence of the backend's own docstring (not one inherited from its base class),
    else of its module's."""
    own = obj.__dict__.get("__doc__") if isinstance(obj, type) else obj.__doc__
    doc = inspect.cleandoc(own or inspect.getmodule(obj).__doc__ or "")
    paragraph = " ".join(doc.split("\n\n")[0].split())
    sentence = re.split(r"(?<!\bal)\.\s+(?=[A-Z`])", paragraph)[0].rstrip(".").replace("``", "")
    return sentence if len(sentence) <= width else sentence[:width - 3].rstrip() + "..."


def _settings(values: dict, indent: str = "    ") -> list[str]:
    return [f"{indent}{key} = {values[key]!r}" for key in sorted(values)]


def _arms() -> list[str]:
    from augbench.benchmark.settings import _declared_settings
    from augbench.generators import GENERATORS, create_generator, generator_names

    lines = []
    for name in generator_names():
        factory = GENERATORS.entry(name).factory
        kind = "learned" if getattr(factory, "learned", False) else "no training"
        lines.append(f"{name} ({kind}): {_first_line(factory)}")
        settings = _declared_settings(create_generator(name))
        lines += _settings(settings) if settings else ["    (no settings)"]
    lines.append("set one with generators.<arm>.<setting>=VALUE; name a variant <arm>@<label> "
                 "(e.g. --generators ddpm,ddpm@g3 generators.ddpm@g3.guidance_scale=3)")
    return lines


def _classifiers() -> list[str]:
    import dataclasses

    from augbench.benchmark.settings import ClassifierSettings
    from augbench.classifiers import classifier_entry, classifier_names

    lines = []
    for name in classifier_names():
        meta = classifier_entry(name).meta
        lines.append(f"{name} (>= {meta.get('min_size', '?')} px): {meta.get('description', '')}")
    lines.append("training settings, shared by every classifier (classifier.<setting>=VALUE):")
    defaults = {f.name: f.default for f in dataclasses.fields(ClassifierSettings)}
    return lines + _settings(defaults)


def _datasets() -> list[str]:
    from augbench import datasets as ds

    lines = []
    for name in ds.dataset_names():
        entry = ds.DATASETS.entry(name)
        shown = f"{name}:<arg>" if entry.parametric else name
        lines.append(f"{shown:26s} {entry.meta.get('summary', '')}")
    return lines
