"""Which classes of a dataset the budget applies to: the one rule the runner checks up front and
every fit group applies again, so the two can never disagree.

The budget only touches minority classes, so a minority set that is empty (a balanced dataset under
the default rule "every class smaller than the largest") makes every budget a no-op and every arm
the same experiment; a set that holds every class leaves no full-size class to compare against.
Both are errors naming the fix (``--minority``). A set whose classes are not the smaller ones (a
named minority class with more training images than a class left out) is legal but odd: it is
returned as a warning the runner prints before the grid starts.

This is a property of the dataset and its class names, so it lives with the datasets, below the
benchmark that asks.
"""
from __future__ import annotations

from augbench.datasets.budget import default_minority
from augbench.core.errors import UserError


def _known(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:12])
    return shown + (f", ... ({len(names)} classes)" if len(names) > 12 else "")


def flag_value(names: list[str], c: int) -> str:
    """How class ``c`` is written on the command line: its name, or its index when the name holds a
    comma (``--minority`` is a comma list, so BreastMNIST's 'normal, benign' is written 1)."""
    return str(c) if "," in names[c] else names[c]


def resolve_minority_names(requested: list[str] | None, names: list[str], dataset: str = "this dataset") -> list[int]:
    """Class indices for ``requested`` (names, or indices written as digits); a UserError naming the
    known classes for anything else."""
    out: list[int] = []
    for item in requested or []:
        item = str(item).strip()
        if item in names:
            index = names.index(item)
        elif item.isdigit() and int(item) < len(names):
            index = int(item)
        else:
            from difflib import get_close_matches

            close = get_close_matches(item, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UserError(f"minority class {item!r} is not a class of {dataset} ({hint}known: {_known(names)}).",
                            f"pass --minority with names from that list or class indices 0..{len(names) - 1}, "
                            f"e.g. --minority {flag_value(names, 0)}, "
                            "or leave it out to budget every class smaller than the largest.")
        if index not in out:
            out.append(index)
    return out


def check_minority(dataset: str, requested: list[str] | None, names: list[str], counts: list[int]) -> tuple[list[int], str]:
    """(minority class indices, a warning or ''), or a UserError for an unknown, empty or all-class set.

    ``counts`` are the training-split counts before any CI cap or budget, the same ones the runner
    resolves the default from.
    """
    names = [str(n) for n in names]
    if requested:
        minority = resolve_minority_names(requested, names, dataset)
    else:
        minority = default_minority(counts)
    if not minority:
        raise UserError(f"{dataset} has no minority class: all {len(names)} classes have {max(counts, default=0)} "
                        "training images, so no class is smaller than the largest and the budget would change nothing.",
                        f"name the classes to budget, e.g. --minority {flag_value(names, 0)} (known: {_known(names)}).")
    if len(minority) == len(names):
        raise UserError(f"--minority names every class of {dataset} ({_known(names)}): the budget would shrink the "
                        "whole dataset and leave no full-size class, which is not the rare-class protocol.",
                        "name only the rare classes, e.g. --minority "
                        f"{flag_value(names, min(range(len(names)), key=lambda c: counts[c]))}.")
    others = [c for c in range(len(names)) if c not in minority]
    largest_other = max(counts[c] for c in others)
    odd = [c for c in minority if counts[c] > largest_other]
    warning = ""
    if odd:
        shown = ", ".join(f"{names[c]} ({counts[c]})" for c in odd)
        warning = (f"warning: minority classes of {dataset} {shown} have more training images than every class left "
                   f"out (largest: {largest_other}); the budget will shrink common classes. Check --minority.")
    return minority, warning


def resolve_minority(requested: list[str] | None, names: list[str], counts: list[int]) -> list[int]:
    """The class indices alone, for a fit group: the runner has already raised or warned about this
    dataset with its name, so the errors here name it generically."""
    return check_minority("this dataset", requested, names, counts)[0]
