"""A pytest plugin: nbval runs the code of every exercise solution, in its chapter's kernel.

The root ``conftest.py`` loads it. For every notebook that nbval collects (``--nbval`` or
``--nbval-lax``), each ``python`` block (fenced with backticks or tildes) inside a ``{solution}``
directive of a markdown cell becomes one more test item, named ``Solution <label>``. It runs
right after the code cells that precede its markdown cell, in the same kernel, so it sees
what the chapter has computed up to its exercise. It runs in a copy of the kernel's
namespace: whatever names it binds are gone afterwards, so a solution cannot change what later
cells or solutions see. A solution that raises fails the notebook's tests like a cell does.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from student_edition import python_blocks, solutions  # noqa: E402


def solution_code(nb) -> list[tuple[int, str, str]]:
    """``(cell index, label, code)`` of every python block of every solution of ``nb``."""
    return [(index, label, code) for index, cell in enumerate(nb.cells)
            if cell.cell_type == "markdown" and "{solution}" in cell.source
            for label, body in solutions(cell.source) for code in python_blocks(body)]


def runner(label: str, code: str) -> str:
    """The source of a cell that runs ``code`` in a copy of the kernel's namespace."""
    return (f"# The solution {label}, run in a copy of the chapter's namespace.\n"
            f"exec(compile({code!r}, '<solution {label}>', 'exec'), dict(globals()))\n")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval is not installed: nothing to add to
        return
    out, done = [], set()
    for item in items:
        parent = item.parent if isinstance(item, IPyNbCell) else None
        if parent is not None and parent not in done:
            done.add(parent)
            position = {id(cell): k for k, cell in enumerate(parent.nb.cells)}
            cells = [i for i in items if isinstance(i, IPyNbCell) and i.parent is parent]
            added = [(index, IPyNbCell.from_parent(
                parent, name=f"Solution {label}", cell_num=index,
                cell=nbformat.v4.new_code_cell(runner(label, code)),
                options=defaultdict(bool, check=False)))
                for index, label, code in solution_code(parent.nb)]
            for cell in cells:
                at = position.get(id(cell.cell), len(parent.nb.cells))
                out += [solution for index, solution in added if index < at]
                added = [(index, solution) for index, solution in added if index >= at]
                out.append(cell)
            out += [solution for _, solution in added]
        elif parent is None:
            out.append(item)
    items[:] = out
