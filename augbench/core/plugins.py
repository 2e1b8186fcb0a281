"""Backends from other installed distributions, found through entry points.

A distribution declares ``[project.entry-points."augbench.generators"] myarm = "my_pkg.arm"``
(likewise ``augbench.classifiers`` and ``augbench.datasets``); loading the entry point imports the
module, whose registry decorator registers the backend. Each registry calls ``load_plugins`` from the
same function that imports its built-in modules, so a spawned pool worker or a Ray worker, which
imports the registries afresh, finds the plugin arms exactly as the driver did.

A broken plugin is the user's to fix (or uninstall), so it surfaces as one ``PluginError`` naming
the distribution and the entry point, raised on the driver while the grid is planned, never as a
traceback deep inside a worker.
"""
from __future__ import annotations

from augbench.core.errors import UserError

GROUPS = ("augbench.generators", "augbench.classifiers", "augbench.datasets")

#: group -> "loading", True (done) or the PluginError it failed with (raised again on every lookup, so
#: a registry never looks complete after one of its plugins failed)
_STATE: dict[str, object] = {}


class PluginError(UserError):
    """An installed plugin failed to import or to register its backend."""


def load_plugins(group: str) -> None:
    """Import every entry point of ``group`` once per process."""
    state = _STATE.get(group)
    if state is True or state == "loading":  # "loading": a plugin module looking its registry up
        return
    if isinstance(state, PluginError):
        raise state
    from importlib.metadata import entry_points

    _STATE[group] = "loading"
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            ep.load()
        except Exception as exc:  # noqa: BLE001 - whatever the plugin raised, the fix is the plugin's
            _STATE[group] = error = _failure(group, ep, exc)
            raise error from exc
    _STATE[group] = True


def _failure(group: str, ep, exc: BaseException) -> PluginError:
    dist = getattr(ep, "dist", None)
    dist_name = dist.name if dist is not None else "an unknown distribution"
    version = f" {dist.version}" if dist is not None else ""
    where = _last_frame(exc)
    kind = group.rpartition(".")[2].rstrip("s")
    problem = (f"plugin {ep.name!r} = {ep.value!r} (entry point group {group!r}, distribution "
               f"{dist_name}{version}) failed to load: {type(exc).__name__}: {exc}{where}.")
    uninstall = f"pip uninstall {dist.name}" if dist is not None else "uninstall the plugin"
    if isinstance(exc, ValueError) and "registered twice" in str(exc):
        fix = (f"the plugin registers a {kind} name that augbench or another plugin already has: rename "
               f"it in the plugin, or remove one of the two ({uninstall}).")
    else:
        fix = (f"fix the plugin (an ImportError usually means a missing dependency of it), or remove it "
               f"with `{uninstall}`; augbench imports every installed {group} plugin whenever it looks up a {kind}.")
    return PluginError(problem, fix)


def _last_frame(exc: BaseException) -> str:
    """' (at file:line)' of the innermost frame in the plugin's own code (not augbench's registry
    nor the import machinery), so the user sees which line of the plugin broke."""
    if isinstance(exc, SyntaxError):
        return ""  # its message already names the file and line
    found = ""
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        filename = tb.tb_frame.f_code.co_filename
        ours = module == "augbench" or module.startswith(("augbench.", "importlib."))  # not augbench_foo
        if not (ours or filename.startswith("<")):
            found = f" (at {filename}:{tb.tb_lineno})"
        tb = tb.tb_next
    return found
