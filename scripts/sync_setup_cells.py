"""Write (or, with --check, verify) the standard setup cell at the top of every notebook.

The repository address lives only in ``_config.yml``; this script copies it into the setup
cell that each notebook starts with, so that a notebook opened on Colab can install the
``helpers`` package from the repository. ``make test`` runs it with ``--check``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TAG = "setup"
TAGS = [TAG, "hide-input"]  # folded on the rendered page; its printed line stays visible

TEMPLATE = '''\
# Setup, the same in every chapter. On Colab: install the book's helpers from the
# repository (never reinstalling Colab's torch, numpy or matplotlib). Elsewhere: import.
import importlib.util
import subprocess
import sys
from pathlib import Path

REPO_URL = "{url}"
if importlib.util.find_spec("helpers") is None:
    if "google.colab" in sys.modules:
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps"]
        subprocess.run([*pip, f"git+{{REPO_URL}}"], check=True)
    elif (Path.cwd().parent / "helpers").is_dir():
        sys.path.insert(0, str(Path.cwd().parent))

from helpers import plotting, runtime

plotting.use_book_style()
RUNTIME = runtime.setup(seed=0)'''


def repository_url() -> str:
    text = (ROOT / "_config.yml").read_text()
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, flags=re.MULTILINE)
    if not match:
        raise SystemExit("_config.yml has no repository.url entry.")
    return match.group(1)


def setup_source() -> str:
    return TEMPLATE.format(url=repository_url())


def sync(path: Path, check: bool) -> bool:
    """Return True if the notebook already had the right setup cell."""
    nb = nbformat.read(path, as_version=4)
    source = setup_source()
    codes = [c for c in nb.cells if c.cell_type == "code"]
    first = codes[0] if codes else None
    if first is not None and TAG in first.metadata.get("tags", []):
        if first.source == source and first.metadata.get("tags") == TAGS:
            return True
        if not check:
            first.source = source
            first.metadata["tags"] = list(TAGS)
    elif not check:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": list(TAGS)}, id="setup")
        position = nb.cells.index(first) if first is not None else len(nb.cells)
        nb.cells.insert(position, cell)
    if not check:
        nbformat.write(nb, path)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report notebooks out of sync")
    args = parser.parse_args()
    stale = [p for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if not sync(p, args.check)]
    for p in stale:
        print(f"{'out of sync' if args.check else 'updated'}: {p.relative_to(ROOT)}")
    if args.check and stale:
        print("Run `python scripts/sync_setup_cells.py` to rewrite the setup cells.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
