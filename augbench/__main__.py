"""``python -m augbench ...`` is the ``benchmark`` command, for environments whose scripts folder is
not on PATH (a notebook kernel, a job scheduler's bare interpreter)."""
import sys

from augbench.benchmark.cli import main

if __name__ == "__main__":
    sys.exit(main())
