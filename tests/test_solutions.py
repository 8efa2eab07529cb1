"""Every exercise solution's code runs in the notebook tests (tests/nbval_solutions.py).

The plugin turns each ``python`` block of a ``{solution}`` into an nbval item that runs in its
chapter's kernel after the cells before it. These tests check the parser, that every block of
the notebooks becomes an item, and, on made-up notebooks, that a solution sees the chapter's
names, leaves them alone, and fails the tests when it raises.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from student_edition import python_blocks, solutions  # noqa: E402

# A python block, found independently of the parser: a fence of backticks or tildes at the
# start of a line, "python", and the same fence closing it.
BLOCK = re.compile(r"^ {0,3}(`{3,}|~{3,})python[ \t]*\n.*?^ {0,3}\1[ \t]*$", re.M | re.S)


def test_solution_code_is_parsed():
    text = ("```{exercise}\n:label: e\nNot this:\n~~~python\nEXERCISE = 1\n~~~\n```\n\n"
            "````{solution} e\n:class: dropdown\n\n```python\nA = 1\n```\n\nText.\n\n"
            "~~~python\nB = 2\n~~~\n\n~~~\nnot python\n~~~\n````\n\n"
            ":::{solution} f\n~~~python\nC = 3\n~~~\n:::\n")
    found = solutions(text)
    assert [label for label, _ in found] == ["e", "f"]
    assert [python_blocks(body) for _, body in found] == [["A = 1\n", "B = 2\n"], ["C = 3\n"]]


def test_every_solution_block_becomes_a_test_item():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    wanted = 0
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                wanted += sum(len(BLOCK.findall(body)) for _, body in solutions(cell.source))
    assert wanted >= 29, f"only {wanted} solution code blocks: is the parser wrong?"
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "--nbval-lax",
                          "--nbval-current-env", "notebooks"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    items = [line for line in out.stdout.splitlines() if "::Solution " in line]
    assert len(items) == wanted, out.stdout[-2000:]


def _notebook(path: Path, solution: str, after: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_markdown_cell("```{exercise}\n:label: ex-one\nTry.\n```\n\n"
                                              "```{solution} ex-one\n:class: dropdown\n\n"
                                              f"~~~python\n{solution}\n~~~\n```"),
                nbformat.v4.new_code_cell(after)]
    nbformat.write(nb, path)


def test_solutions_run_in_the_chapter_namespace_and_a_raising_one_fails(tmp_path):
    _notebook(tmp_path / "good.ipynb", "y = x + 1\nassert y == 2", "assert 'y' not in globals()")
    _notebook(tmp_path / "bad.ipynb", "raise RuntimeError('broken solution')", "x")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "nbval_solutions", "--nbval-lax",
                          "--nbval-current-env", "-q", "-rA", "-p", "no:cacheprovider",
                          "good.ipynb", "bad.ipynb"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    report = out.stdout
    assert out.returncode == 1, report[-3000:]
    assert "PASSED good.ipynb::Solution ex-one" in report
    assert "PASSED good.ipynb::Cell 1" in report          # the solution's y did not leak
    assert "FAILED bad.ipynb::Solution ex-one" in report and "broken solution" in report
    assert "PASSED bad.ipynb::Cell 1" in report
