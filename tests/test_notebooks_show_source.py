"""The chapters that teach the core code show it from the live source, never from a copy.

Chapter 2 shows the engine's one-generation step, Chapter 14 the GPT's attention and block. A
cell tagged ``remove-input`` displays ``inspect.getsource`` of each object, so the rendered
page shows the highlighted source of the helpers it was built with, and each shown object's
docstring names the chapter that shows it (``Shown in Chapter 14, *A transformer on tiny
Shakespeare*``), as d2l does. The site test checks that the built pages show it highlighted.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
SHOWN = {
    "02-recursive-training": ["statmodel.next_generation"],
    "14-a-transformer-on-tiny-shakespeare": ["gpt.CausalSelfAttention", "gpt.MLP", "gpt.Block"],
}


def _object(dotted: str):
    module, name = dotted.split(".")
    return getattr(importlib.import_module(f"helpers.{module}"), name)


def _notebook(stem: str):
    return nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)


def _display_cells(stem: str) -> list:
    return [cell for cell in _notebook(stem).cells
            if cell.cell_type == "code" and "inspect.getsource(" in cell.source]


def _shown(stem: str) -> dict[str, str]:
    """What each display cell of a chapter shows: its last expression, evaluated after the
    display cells before it, with the helpers imported (as in the chapter's kernel)."""
    namespace = {name: importlib.import_module(f"helpers.{name}") for name in ("gpt", "statmodel")}
    shown = {}
    for cell in _display_cells(stem):
        *body, last = ast.parse(cell.source).body
        assert isinstance(last, ast.Expr), "a display cell must end with its Code(...) expression"
        exec(compile(ast.Module(body=body, type_ignores=[]), "<cell>", "exec"), namespace)
        code = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
        assert type(code).__name__ == "Code" and code.language == "python"
        shown[cell.source] = code.data
    return shown


@pytest.mark.parametrize(("stem", "dotted"),
                         [(stem, dotted) for stem, objects in SHOWN.items() for dotted in objects])
def test_the_chapter_displays_the_live_source(stem, dotted):
    cells = [c for c in _display_cells(stem) if f"inspect.getsource({dotted})" in c.source]
    assert len(cells) == 1, f"{stem}: one cell must display inspect.getsource({dotted})"
    cell = cells[0]
    assert "remove-input" in cell.metadata.get("tags", []), \
        f"{stem}: tag the cell that shows {dotted} 'remove-input' (the reader sees the source)"
    assert inspect.getsource(_object(dotted)) in _shown(stem)[cell.source]


@pytest.mark.parametrize(("stem", "dotted"),
                         [(stem, dotted) for stem, objects in SHOWN.items() for dotted in objects])
def test_the_docstring_names_the_chapter(stem, dotted):
    number = int(stem.split("-")[0])
    title = re.match(r"# (.+)", _notebook(stem).cells[0].source).group(1)
    assert f"Shown in Chapter {number}, *{title}*." in inspect.getdoc(_object(dotted))


def test_the_shown_source_keeps_its_shape_comments():
    attention = inspect.getsource(_object("gpt.CausalSelfAttention"))
    for shape in ("(B, T, C)", "(B, nh, T, hs)"):
        assert shape in attention
    step = inspect.getsource(_object("statmodel.next_generation"))
    assert "(B, s)" in step and "rng.multinomial(n, q)" in step
