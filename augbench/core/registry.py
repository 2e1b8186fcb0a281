"""One registry pattern shared by datasets, generators and classifiers.

Modelled on timm's registry: a decorator (``register``) puts a factory under a name, and every
lookup goes through ``resolve``, so the CLI, grid files and tests all resolve names the same way.
The doors built on it: ``create`` (an instance), ``get`` / ``entry`` (the entry, for a factory's
class or meta without building it), ``names`` and ``expand`` ('all' or a comma list, checked).
Parametric entries (``folder:<path>``, ``medmnist:<file.npz>``) receive the text after the colon.
A registry built with ``variants=True`` (the generators) also accepts ``<name>@<label>``: the same
backend under a label of its own, so one grid can hold two ddpm arms with different settings and
every table, hash and MLflow run keeps them apart.
"""
from __future__ import annotations

import difflib
import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from augbench.core.errors import UnknownNameError
from augbench.core.values import VARIANT_SEP, ArmName


@dataclass
class Entry:
    name: str
    factory: Callable[..., Any]
    parametric: bool = False
    meta: dict = field(default_factory=dict)


_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")  # no dots: `generators.ddpm@g3.guidance=3` splits on them


class Registry:
    def __init__(self, kind: str, *, variants: bool = False):
        self.kind = kind
        self.variants = variants
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, *, parametric: bool = False, **meta):
        def decorator(factory):
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._entries[name] = Entry(name, factory, parametric, meta)
            return factory

        return decorator

    def resolve(self, spec: str) -> tuple[Entry, str | None]:
        """Return the entry for ``spec`` and its argument (text after ':' for parametric names)."""
        spec = spec.strip()
        if spec in self._entries and not self._entries[spec].parametric:
            return self._entries[spec], None
        if self.variants and VARIANT_SEP in spec:
            name = ArmName.parse(spec)
            base, label = name.base, name.variant
            if not _LABEL.fullmatch(label or ""):
                raise UnknownNameError(
                    f"{self.kind} variant {spec!r} needs a label after {VARIANT_SEP!r}.",
                    f"write it as '{base}{VARIANT_SEP}<label>' with letters, digits, '_' or '-', "
                    f"e.g. '{base}{VARIANT_SEP}v2'.")
            entry, arg = self.resolve(base)
            return entry, arg
        head, sep, arg = spec.partition(":")
        entry = self._entries.get(head)
        if entry is not None and entry.parametric:
            if not sep or not arg:
                raise UnknownNameError(
                    f"{self.kind} {head!r} needs an argument.",
                    f"write it as '{head}:<value>', e.g. '{entry.meta.get('example', head + ':...')}'.",
                )
            return entry, arg
        raise UnknownNameError(
            f"unknown {self.kind} {spec!r}.", self._suggestion(spec)
        )

    def _suggestion(self, spec: str) -> str:
        known = self.names()
        close = difflib.get_close_matches(spec, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"{hint}Known {self.kind}s: {', '.join(known)}."

    def get(self, spec: str) -> Entry:
        return self.resolve(spec)[0]

    def entry(self, name: str) -> Entry:
        """The entry registered under a bare name, parametric ones included (for listings)."""
        head = name.strip().partition(":")[0]
        if self.variants:
            head = ArmName.parse(head).base
        if head in self._entries:
            return self._entries[head]
        raise UnknownNameError(f"unknown {self.kind} {name!r}.", self._suggestion(name))

    def create(self, spec: str, **kwargs):
        entry, arg = self.resolve(spec)
        if entry.parametric:
            return entry.factory(arg, **kwargs)
        return entry.factory(**kwargs)

    def names(self, pattern: str = "*") -> list[str]:
        """Names matching ``pattern``, ordered by the ``order`` meta (then registration order)."""
        ranked = sorted(enumerate(self._entries.values()), key=lambda ie: (ie[1].meta.get("order", 100), ie[0]))
        return [e.name for _, e in ranked if fnmatch.fnmatch(e.name, pattern)]

    def __contains__(self, spec: str) -> bool:
        try:
            self.resolve(spec)
        except UnknownNameError:
            return False
        return True

    def expand(self, specs: str | list[str]) -> list[str]:
        """Turn 'all' or a comma list into validated names, keeping the user's order."""
        if isinstance(specs, str):
            specs = [s for s in specs.split(",") if s.strip()]
        out: list[str] = []
        for spec in specs:
            spec = spec.strip()
            if spec == "all":
                out.extend(n for n in self.names() if not self._entries[n].parametric)
            else:
                self.resolve(spec)
                out.append(spec)
        return list(dict.fromkeys(out))
