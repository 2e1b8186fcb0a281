"""The installed distribution's version, read once: what `benchmark --version` prints and what every
MLflow run records (``augbench.version``), so a result can be traced to the code that made it."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("augbench")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
