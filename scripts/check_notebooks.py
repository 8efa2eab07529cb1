"""Check the notebooks as committed: outputs stripped, named NN-name.ipynb, all in _toc.yml.

Also checks that every file the table of contents names exists. Exits non-zero with a list of
problems; ``make test`` runs it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    """Every ``file:`` entry of _toc.yml, root first, without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", []))
    return files


def page_source(page: str) -> str:
    """The source of a TOC page: the Markdown file, or the notebook's cells joined by blank
    lines."""
    md, ipynb = ROOT / f"{page}.md", ROOT / f"{page}.ipynb"
    if md.is_file():
        return md.read_text()
    nb = nbformat.read(ipynb, as_version=4)
    return "\n\n".join(cell.source for cell in nb.cells)


def problems() -> list[str]:
    found = []
    listed = set(toc_files())
    for entry in listed:
        if not any((ROOT / f"{entry}{ext}").is_file() for ext in (".md", ".ipynb")):
            found.append(f"_toc.yml names {entry}, but neither {entry}.md nor {entry}.ipynb exists")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        rel = path.relative_to(ROOT)
        if not re.fullmatch(r"\d\d-[a-z0-9-]+\.ipynb", path.name):
            found.append(f"{rel}: name it NN-lowercase-words.ipynb")
        if str(rel.with_suffix("")) not in listed:
            found.append(f"{rel}: not listed in _toc.yml")
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and (cell.outputs or cell.execution_count):
                found.append(f"{rel}: cell {i} has stored outputs; strip them before committing")
                break
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
