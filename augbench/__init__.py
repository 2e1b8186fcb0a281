"""augbench: does synthetic data help a classifier with few real images of the rare classes?

The five parts of the project live in the repository's top-level folders (``datasets/``,
``generators/``, ``classifiers/``, ``benchmark/``, ``reports/``) and are installed under this one
name (``augbench.datasets`` and so on) by a setuptools ``package-dir`` mapping, so that they never
collide with other installed packages of the same generic names (Hugging Face's ``datasets``).
"""
from augbench.core.version import __version__  # noqa: F401
