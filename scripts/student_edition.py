"""Build the student edition of the book: the same book with every solution left out.

    python scripts/student_edition.py          # both steps below (``make student``)
    python scripts/student_edition.py export   # notebooks for students: _build/student/notebooks
    python scripts/student_edition.py build    # student sources: _build/student/src,
                                               # their HTML: _build/student/html

Solutions live only in ``{solution}`` directives (sphinx-exercise), fenced with backticks,
tildes or colons. They are removed from every markdown cell and every MyST page; a cell left
empty is dropped. Exercises, assignment cells (code cells tagged ``assignment``) and everything
else stay in place. The gated ``{solution-start}``/``{solution-end}`` syntax is refused, since
its solution spans cells that this script cannot tell apart.

The student book is built from a copy of the sources with the solutions removed (so neither the
pages, the ``_sources`` downloads, the executed notebooks nor the search index can hold them),
with sphinx-exercise's ``hide_solutions`` on as a second guard. It uses the main build's
execution cache, ``_build/.jupyter_cache``: jupyter-cache keys a notebook on its code cells
only, so after ``make book`` no notebook is executed again (and a student build run first fills
the cache for the main build).
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from check_notebooks import toc_files  # noqa: E402

OUT = ROOT / "_build" / "student"
SRC = OUT / "src"
HTML = OUT / "html"
NOTEBOOKS = OUT / "notebooks"
MAIN_CACHE = ROOT / "_build" / ".jupyter_cache"

NOTICE = """
```{admonition} Student edition
:class: important

This is the **student edition** of the book: the solutions to the exercises are left out.
The chapter notebooks, with their exercises and assignments and without solutions, are the
ones to work in.
```
"""

# An opening fence: up to three spaces, then 3+ backticks, tildes or colons, then the info.
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\s*\{(?P<name>[\w:.-]+)\}")
# Directives whose body is literal text: a {solution} written inside one is an example.
LITERAL = {"code", "code-block", "code-cell", "sourcecode", "literalinclude", "raw", "math"}
PYTHON = {"python", "python3", "ipython", "ipython3", "py"}  # info strings of runnable code


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence`` (CommonMark's rule)."""
    stripped = line.strip()
    return (len(line) - len(line.lstrip(" ")) <= 3 and len(stripped) >= len(fence)
            and set(stripped) == {fence[0]})


def _directive(info: str) -> str | None:
    match = DIRECTIVE.match(info)
    return match["name"] if match else None


def strip_solutions(text: str, found: list[tuple[str, str]] | None = None) -> str:
    """``text`` (MyST markdown) without its ``{solution}`` directives.

    Fences nest as in CommonMark: a block opened by N fence characters ends at the first line
    made of N or more of the same character and nothing else, so ````` ````{solution} `````
    may hold ```` ```python ```` or ``~~~python`` blocks. Solutions nested in other directives
    (tabs, admonitions) are found too; code blocks are left alone. Each removed solution's
    ``(label, body)`` is appended to ``found`` when it is given.
    """
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i].rstrip("\r\n"))
        if match is None or (match["fence"][0] == "`" and "`" in match["info"]):
            out.append(lines[i])
            i += 1
            continue
        fence, name = match["fence"], _directive(match["info"])
        if name in ("solution-start", "solution-end"):
            raise ValueError("gated {solution-start}/{solution-end} solutions are not supported; "
                             "write the solution in a {solution} directive")
        end = i + 1
        while end < len(lines) and not _closes(lines[end], fence):
            end += 1
        body = lines[i + 1:end]
        closing = lines[end:end + 1]
        if name == "solution":
            if found is not None:
                found.append((match["info"].strip()[len("{solution}"):].strip(), "".join(body)))
            # Drop the block, and the blank line after it when one is left before it.
            i = end + 1
            if (not out or not out[-1].strip()) and i < len(lines) and not lines[i].strip():
                i += 1
            continue
        if name is not None and name not in LITERAL:
            inner = strip_solutions("".join(body), found)
            if body and not inner.endswith("\n"):
                inner += "\n"
            out.append(lines[i])
            out.append(inner)
        else:
            out.append(lines[i])
            out.extend(body)
        out.extend(closing)
        i = end + 1
    return "".join(out)


def solutions(text: str) -> list[tuple[str, str]]:
    """``(label, body)`` of every ``{solution}`` directive of ``text``, in order."""
    found: list[tuple[str, str]] = []
    strip_solutions(text, found)
    return found


def python_blocks(text: str) -> list[str]:
    """The code of every fenced ``python`` block (backticks or tildes) of ``text``, in order."""
    lines = text.splitlines(keepends=True)
    blocks, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i].rstrip("\r\n"))
        end = i + 1
        if match is not None and match["fence"][0] != ":":
            while end < len(lines) and not _closes(lines[end], match["fence"]):
                end += 1
            if match["info"].strip() in PYTHON:
                blocks.append("".join(lines[i + 1:end]))
            end += 1
        i = end
    return blocks


def strip_notebook(nb: nbformat.NotebookNode, *, outputs: bool = False) -> nbformat.NotebookNode:
    """A copy of ``nb`` without solutions (and, with ``outputs``, without outputs)."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "{solution" in cell.source:
            cell.source = strip_solutions(cell.source).strip("\n")
            if not cell.source.strip():
                continue
        if outputs and cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    nb.cells = cells
    return nb


def _write(path: Path, data: str) -> None:
    """Write ``data`` only when it changed, so that Sphinx rebuilds only what changed."""
    if path.is_file() and path.read_text() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data)


def _copy(source: Path, target: Path) -> None:
    if target.is_file() and target.stat().st_size == source.stat().st_size and (
            target.read_bytes() == source.read_bytes()):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def student_config(config: dict) -> dict:
    config = copy.deepcopy(config)
    config["title"] = f"{config.get('title', '')} (student edition)".strip()
    execute = config.setdefault("execute", {})
    execute["cache"] = str(MAIN_CACHE)
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["hide_solutions"] = True
    # A Colab button would open the notebook with its solutions from the repository.
    config.setdefault("launch_buttons", {})["colab_url"] = ""
    return config


def source_dirs(config: dict) -> set[str]:
    """The top-level folders that the book is built from."""
    names = {Path(f).parts[0] for f in toc_files() if len(Path(f).parts) > 1}
    names |= {Path(b).parts[0] for b in config.get("bibtex_bibfiles", []) if len(Path(b).parts) > 1}
    names |= {d for d in ("_static", "_templates", "images", "figures") if (ROOT / d).is_dir()}
    return names


def make_sources() -> Path:
    """Write the student source tree into _build/student/src and return it."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    wanted: set[Path] = set()

    def put(rel: Path, data: str | None = None) -> None:
        wanted.add(rel)
        if data is None:
            _copy(ROOT / rel, SRC / rel)
        else:
            _write(SRC / rel, data)

    put(Path("_config.yml"), yaml.safe_dump(student_config(config), sort_keys=False))
    put(Path("_toc.yml"))
    root_page = toc_files()[0]
    for top in sorted(source_dirs(config)):
        for path in sorted((ROOT / top).rglob("*")):
            rel = path.relative_to(ROOT)
            if not path.is_file() or any(p.startswith(".") or p in ("__pycache__", "_build")
                                         for p in rel.parts):
                continue
            if path.suffix == ".ipynb":
                nb = strip_notebook(nbformat.read(path, as_version=4), outputs=True)
                put(rel, nbformat.writes(nb) + "\n")
            elif path.suffix == ".md":
                text = strip_solutions(path.read_text())
                if rel.with_suffix("").as_posix() == root_page:
                    text = add_notice(text)
                put(rel, text)
            else:
                put(rel)
    for path in sorted(SRC.rglob("*"), reverse=True):  # remove what the book no longer has
        rel = path.relative_to(SRC)
        if path.is_file() and rel not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return SRC


def add_notice(text: str) -> str:
    """Put the student-edition notice after the page's title."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("# "):
            return "".join(lines[:i + 1]) + NOTICE + "".join(lines[i + 1:])
    return NOTICE.lstrip() + "\n" + text


def build() -> int:
    """Build the student book from the student sources into _build/student/html."""
    from jupyter_book.sphinx import build_sphinx

    src = make_sources()
    print(f"student sources: {src.relative_to(ROOT)}; output: {HTML.relative_to(ROOT)}")
    # What `jupyter-book build --warningiserror --keep-going` does, with the output folder set.
    # A fresh environment: every page is read again (from the execution cache, in seconds), so
    # a notebook that failed last time runs again and its warning is not lost.
    result = build_sphinx(src, HTML, noconfig=True, path_config=str(src / "_config.yml"),
                          doctreedir=OUT / ".doctrees",
                          confoverrides={"external_toc_path": str(src / "_toc.yml"),
                                         "latex_individualpages": False},
                          warningiserror=True, keep_going=True, freshenv=True)
    if result:
        print(f"the student build failed: {result}", file=sys.stderr)
        return 1
    return 0


def export() -> int:
    """Write the chapter notebooks for students into _build/student/notebooks."""
    if NOTEBOOKS.exists():
        shutil.rmtree(NOTEBOOKS)
    NOTEBOOKS.mkdir(parents=True)
    count = 0
    for entry in toc_files():
        path = ROOT / f"{entry}.ipynb"
        if path.is_file():
            nb = strip_notebook(nbformat.read(path, as_version=4), outputs=True)
            nbformat.write(nb, NOTEBOOKS / path.name)
            count += 1
    print(f"{count} student notebooks in {NOTEBOOKS.relative_to(ROOT)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", nargs="?", choices=("all", "export", "build"), default="all")
    step = parser.parse_args(argv).step
    for name, run in (("export", export), ("build", build)):
        if step in ("all", name):
            start = time.perf_counter()
            if run():
                return 1
            print(f"student {name}: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
