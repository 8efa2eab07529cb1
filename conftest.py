"""pytest configuration shared by the unit tests and the notebook tests (nbval)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

# nbval runs every exercise solution's code too, in its chapter's kernel.
pytest_plugins = ["nbval_solutions"]
