"""The dataset registry instance. Loader modules register into it on import; keeping it out of the
package's ``__init__`` lets them do so without importing the package that imports them.

The built-in loaders are imported with the package; installed ``augbench.datasets`` plugins
(docs/plugins.md) are imported on the first lookup instead, so a broken plugin is a UserError where a
name is resolved (inside the CLI's error handling), not an import error of augbench itself.
"""
from augbench.core.registry import Registry


class _DatasetRegistry(Registry):
    """A Registry whose lookups first import the installed dataset plugins."""

    @staticmethod
    def _plugins() -> None:
        from augbench.core.plugins import load_plugins

        load_plugins("augbench.datasets")

    def resolve(self, *args, **kwargs):
        self._plugins()
        return super().resolve(*args, **kwargs)

    def entry(self, *args, **kwargs):
        self._plugins()
        return super().entry(*args, **kwargs)

    def names(self, *args, **kwargs):
        self._plugins()
        return super().names(*args, **kwargs)


DATASETS = _DatasetRegistry("dataset")
