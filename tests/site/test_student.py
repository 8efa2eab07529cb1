"""The student edition (``make student``): no solution survives, every exercise does.

Run after ``make book`` and ``make student``. For every ``{solution}`` of the sources, distinctive
fragments of its body (runs of plain text that appear nowhere in the sources once the solutions
are removed) must show in the main edition and must not occur in any file of the student
edition: pages, ``_sources`` downloads, executed notebooks, images, search index, the student
sources and the exported notebooks. The search index is checked word by word as well, since it
holds stems, not text. The first tests check the solution stripper itself and need no build.
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "_build" / "html"
STUDENT = ROOT / "_build" / "student"
STUDENT_HTML = STUDENT / "html"
EXPORTED = STUDENT / "notebooks"
sys.path.insert(0, str(ROOT / "scripts"))
import student_edition  # noqa: E402
from check_notebooks import page_source, toc_files  # noqa: E402

PAGES = toc_files()
CHAPTERS = [p for p in PAGES if (ROOT / f"{p}.ipynb").is_file()]
# A {solution} block, found independently of the script: the fence, its label, its body, and
# the first line made only of at least as many of the fence's characters.
SOLUTION = re.compile(r"^ {0,3}(?P<fence>(?P<c>[`~:])(?P=c){2,})\{solution\}(?P<arg>[^\n]*)\n"
                      r"(?P<body>.*?)^ {0,3}(?P=fence)(?P=c)*[ \t]*$", re.MULTILINE | re.DOTALL)
EXERCISE_LABEL = re.compile(r"^ {0,3}([`~:])\1{2,}\{exercise\}[^\n]*\n(?::[a-z]+:[^\n]*\n)*?"
                            r":label:\s*(\S+)", re.MULTILINE)


# --- the stripper, on made-up sources -------------------------------------------------------

def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_strip_nested_fences():
    text = ("Intro\n\n````{solution} ex-a\n:class: dropdown\n\n```python\nSECRET_A = 1\n```\n\n"
            "~~~\nSECRET_B\n~~~\n````\n\nKept after.\n\n:::{solution} ex-b\nSECRET_C\n:::\n\n"
            "```{exercise}\n:label: ex-c\nKept exercise.\n```\n\n```{solution} ex-c\n"
            ":class: dropdown\n\n~~~python\nSECRET_D = 2\n~~~\n\nSECRET_E\n```\n")
    out = student_edition.strip_solutions(text)
    assert "SECRET" not in out and "{solution}" not in out
    assert "Intro" in out and "Kept after." in out and "Kept exercise." in out
    assert out.count("```") == 2, out  # the exercise's fences only


def test_strip_solutions_nested_in_directives_but_not_in_code():
    text = ("::::{tab-set}\n:::{tab-item} One\n```{solution} x\nSECRET\n```\nvisible\n:::\n::::\n\n"
            "````md\n```{solution} example\nshown as an example\n```\n````\n")
    out = student_edition.strip_solutions(text)
    assert "SECRET" not in out and "visible" in out and out.count("::::") == 2
    assert "shown as an example" in out


def test_gated_solutions_are_refused():
    with pytest.raises(ValueError, match="solution-start"):
        student_edition.strip_solutions("```{solution-start} x\n```\nA\n```{solution-end}\n```\n")


def test_strip_notebook_keeps_exercises_and_assignments():
    stub = "def answer():\n    return None  # your code here\n\ncheck(answer)"
    nb = _nb(nbformat.v4.new_markdown_cell("```{exercise}\n:label: asg-one\nDo it.\n```"),
             nbformat.v4.new_code_cell(stub, metadata={"tags": ["assignment"]},
                                       outputs=[nbformat.v4.new_output("stream", text="x")],
                                       execution_count=3),
             nbformat.v4.new_markdown_cell("```{solution} asg-one\n:class: dropdown\n\n"
                                           "~~~python\nSECRET\n~~~\n```"),
             nbformat.v4.new_markdown_cell("Text.\n\n```{solution} asg-one\nSECRET\n```\n"))
    out = student_edition.strip_notebook(nb, outputs=True)
    assert [c.cell_type for c in out.cells] == ["markdown", "code", "markdown"]
    assert out.cells[0].source == nb.cells[0].source
    assert out.cells[1].source == stub and out.cells[1].metadata.tags == ["assignment"]
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None
    assert out.cells[2].source == "Text."
    assert len(nb.cells) == 4 and nb.cells[1].outputs, "the input notebook was changed"


# --- the built editions -----------------------------------------------------------------------

source = page_source


@cache
def solutions() -> list[tuple[str, str, str]]:
    """(page, label, body) of every {solution} in the sources."""
    return [(page, m["arg"].strip(), m["body"]) for page in PAGES
            for m in SOLUTION.finditer(source(page))]


def squash(text: str) -> str:
    """``text`` without whitespace: code on a page is split into highlighted spans."""
    return "".join(text.split())


@cache
def stripped_sources() -> str:
    return "\n".join(student_edition.strip_solutions(source(page)) for page in PAGES)


def fragments(body: str) -> list[str]:
    """Runs of plain ASCII text in ``body`` that nothing but a solution holds.

    Markup, math delimiters, quotes and dashes (which smartquotes rewrites) split the runs, so
    what is left reads the same in HTML, JSON and the search index's sources. A run counts as
    found elsewhere whatever its line breaks and spacing there.
    """
    found = []
    for line in body.splitlines():
        if re.match(r"\s*(:[a-z-]+:|[`~:]{3})", line):
            continue
        for run in re.split(r"[^A-Za-z0-9 ,;:=+/-]+|--|\s{2,}", line):
            run = run.strip(" ,;:-")
            if len(run) >= 20 and " " in run and squash(run) not in squash(stripped_sources()):
                found.append(run)
    return found


@cache
def page_text(html: Path, page: str) -> str:
    return squash(BeautifulSoup((html / f"{page}.html").read_text(), "html.parser").get_text())


@cache
def student_files() -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(STUDENT.rglob("*")) if p.is_file()}


def require(path: Path, command: str) -> None:
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `{command}` first.")


def test_the_sources_have_solutions():
    assert len(solutions()) >= len(CHAPTERS), "fewer solutions than chapters: is the parser wrong?"
    short = [f"{page}: {label}" for page, label, body in solutions() if not fragments(body)]
    assert len(short) <= len(solutions()) // 4, f"solutions with no distinctive text: {short}"


def test_main_edition_has_every_solution():
    require(MAIN / "index.html", "make book")
    missing = []
    for page, label, body in solutions():
        text = page_text(MAIN, page)
        missing += [f"{page} ({label}): {frag!r}" for frag in fragments(body)
                    if squash(frag) not in text]
    assert not missing, "solution text missing from the main edition:\n" + "\n".join(missing[:20])
    for page in PAGES:
        soup = BeautifulSoup((MAIN / f"{page}.html").read_text(), "html.parser")
        wanted = sum(1 for p, _, _ in solutions() if p == page)
        assert len(soup.select("div.solution")) == wanted, f"{page}: solutions missing"


def test_no_solution_text_in_the_student_edition():
    require(STUDENT_HTML / "index.html", "make student")
    require(EXPORTED, "make student")
    frags = {frag: f"{page} ({label})" for page, label, body in solutions()
             for frag in fragments(body)}
    assert frags
    leaks = [f"{path.relative_to(ROOT)}: {where}: {frag!r}"
             for path, data in student_files().items()
             for frag, where in frags.items() if frag.encode() in data]
    leaks += [f"{page}.html (as text): {where}: {frag!r}" for page in PAGES
              for frag, where in frags.items() if squash(frag) in page_text(STUDENT_HTML, page)]
    assert not leaks, "solution text in the student edition:\n" + "\n".join(leaks[:30])
    assert not any(b"{solution}" in data for path, data in student_files().items()
                   if path.suffix in (".ipynb", ".md", ".txt")), "a {solution} directive survived"


def _index_terms(html: Path) -> set[str]:
    text = (html / "searchindex.js").read_text()
    index = json.loads(text[text.index("(") + 1:text.rindex(")")])
    return set(index["terms"]) | set(index.get("titleterms", {}))


def _printed_outputs() -> list[str]:
    """The outputs of every executed page, from the execution cache that both editions read
    (a build that finds a notebook in the cache writes its ``jupyter_execute`` copy without
    outputs): for each page its latest record only, since older records hold outputs of code
    that the book no longer has."""
    from jupyter_cache import get_cache

    cache = get_cache(ROOT / "_build" / ".jupyter_cache")
    latest = {}
    for record in cache.list_cache_records():
        if record.uri not in latest or record.created > latest[record.uri].created:
            latest[record.uri] = record
    return [json.dumps(cell.get("outputs", [])) for record in latest.values()
            for cell in cache.get_cache_bundle(record.pk).nb.cells if cell.cell_type == "code"]


def test_no_solution_words_in_the_student_search_index():
    require(STUDENT_HTML / "searchindex.js", "make student")
    from sphinx.search.en import SearchEnglish

    stem = SearchEnglish({}).stem
    texts = [stripped_sources(), *(p.read_text() for p in (ROOT / "book").glob("*.bib"))]
    visible = {stem(w.lower()) for text in texts for w in re.findall(r"[A-Za-z]+", text)}
    for text in _printed_outputs():  # printed outputs (e.g. the source a chapter shows) are indexed
        visible |= {stem(w.lower()) for w in re.findall(r"[A-Za-z]+", text)}
    own = {stem(w.lower()) for _, _, body in solutions()
           for w in re.findall(r"[A-Za-z]{5,}", body)} - visible
    assert own, "no word is found only in the solutions"
    main, student = _index_terms(MAIN), _index_terms(STUDENT_HTML)
    assert own & main, "the main search index has none of the solutions' own words"
    assert not own & student, f"solution words in the student search index: {sorted(own & student)}"


def _exercise_labels(text: str) -> list[str]:
    return [m.group(2) for m in EXERCISE_LABEL.finditer(text)]


@pytest.mark.parametrize("page", PAGES)
def test_student_pages_keep_every_exercise(page):
    require(STUDENT_HTML / "index.html", "make student")
    soup = BeautifulSoup((STUDENT_HTML / f"{page}.html").read_text(), "html.parser")
    labels = _exercise_labels(source(page))
    wanted = len(re.findall(r"[`:~]{3,}\{exercise\}", source(page)))
    assert len(soup.select("div.exercise")) == wanted, f"{page}: exercises missing"
    ids = {tag["id"] for tag in soup.find_all(id=True)}
    assert set(labels) <= ids, f"{page}: exercises missing: {sorted(set(labels) - ids)}"
    assert not soup.select("div.solution"), f"{page}: a solution is shown"


def _assignment_cells(nb) -> list[str]:
    return [c.source for c in nb.cells
            if c.cell_type == "code" and "assignment" in c.metadata.get("tags", [])]


@pytest.mark.parametrize("page", CHAPTERS)
def test_exported_notebooks_keep_exercises_and_assignments(page):
    require(EXPORTED, "make student")
    original = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
    exported = nbformat.read(EXPORTED / f"{Path(page).name}.ipynb", as_version=4)
    text = "\n\n".join(c.source for c in exported.cells)
    assert "{solution}" not in text
    assert _exercise_labels(text) == _exercise_labels(source(page))
    assert _assignment_cells(exported) == _assignment_cells(original)
    code = [c.source for c in original.cells if c.cell_type == "code"]
    assert [c.source for c in exported.cells if c.cell_type == "code"] == code
    assert all(not c.outputs and c.execution_count is None
               for c in exported.cells if c.cell_type == "code")
    # The assignment stubs are on the student page too, run (they print, and do not raise).
    page_code = page_text(STUDENT_HTML, page)
    for cell in _assignment_cells(original):
        first = next(line for line in cell.splitlines() if line.strip()
                     and not line.lstrip().startswith("#"))
        assert squash(first) in page_code, f"{page}: assignment cell missing"


def test_student_front_page_says_so():
    require(STUDENT_HTML / "index.html", "make student")
    text = page_text(STUDENT_HTML, PAGES[0])
    assert "thisisthestudentedition" in text.lower(), "the student front page does not say so"
    assert "thisisthestudentedition" not in page_text(MAIN, PAGES[0]).lower()
