"""The dataset registry instance. Loader modules register into it on import; keeping it out of the
package's ``__init__`` lets them do so without importing the package that imports them."""
from augbench.core.registry import Registry

DATASETS = Registry("dataset")
