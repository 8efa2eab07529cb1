"""Check the built site as a reader sees it: in a real headless browser (Debian's Chromium).

Run after ``make book`` and ``make student``, in both editions. Every page is served on
127.0.0.1 with the local MathJax 3 in place of the CDN's and loaded after typesetting
(:mod:`rendered`). Every page must typeset without a MathJax error and without an equation cut
off, and show no raw TeX and no directive or role syntax. Every page of the table of contents
must load, appear in the navigation of the front page, and show exactly the theorem, proof,
exercise and solution blocks that its source asks for (no solution in the student edition), and
its figures. Notebook chapters of the main edition must offer a Colab launch button.
"""

from __future__ import annotations

import re
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from urllib.parse import urljoin

import pytest
from bs4 import BeautifulSoup
from rendered import (
    CHROMIUM,
    MATHJAX,
    Site,
    block_problems,
    math_problems,
    output_problems,
    raw_markup,
    raw_tex,
)
from rendered import dom as rendered_dom

ROOT = Path(__file__).resolve().parents[2]
EDITIONS = {"main": ROOT / "_build" / "html", "student": ROOT / "_build" / "student" / "html"}
HTML = EDITIONS["main"]
sys.path.insert(0, str(ROOT / "scripts"))
from check_notebooks import page_source, toc_files  # noqa: E402

PAGES = toc_files()


@pytest.fixture(scope="session", autouse=True)
def built_site():
    for html, command in zip(EDITIONS.values(), ("make book", "make student"), strict=True):
        if not (html / "index.html").is_file():
            pytest.fail(f"No built site at {html}: run `{command}` first.")
    if CHROMIUM is None:
        pytest.fail("Chromium is missing: `make test` installs it (scripts/ensure_chromium.sh).")
    if not (MATHJAX / "es5" / "tex-mml-chtml.js").is_file():
        pytest.fail("The local MathJax is missing: `make test` installs it "
                    "(scripts/ensure_mathjax.sh).")


@cache
def server() -> Site:
    return Site(EDITIONS)


def site_pages(edition: str) -> list[str]:
    """Every HTML page of an edition (the table of contents, indices, search), without the
    redirect ``index.html``."""
    html = EDITIONS[edition]
    return sorted(str(p.relative_to(html).with_suffix("")) for p in html.rglob("*.html")
                  if not {"_sources", "_static"} & set(p.relative_to(html).parts)
                  and p.relative_to(html) != Path("index.html"))


@cache
def dom(page: str, edition: str = "main") -> BeautifulSoup:
    """The DOM of a page of an edition after Chromium has loaded it and MathJax typeset it."""
    assert (EDITIONS[edition] / f"{page}.html").is_file(), f"{edition}: {page}.html was not built"
    return rendered_dom(server().url(edition, page))


@cache
def every_dom(edition: str) -> dict[str, BeautifulSoup]:
    pages = site_pages(edition)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(pages, pool.map(dom, pages, [edition] * len(pages)), strict=True))


def _report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{page}: {problem}" for page, problems in found.items()
                     for problem in problems[:5])


@pytest.mark.parametrize("edition", EDITIONS)
def test_all_pages_load(edition):
    doms = every_dom(edition)
    missing = [page for page in PAGES if page not in doms]
    assert not missing, f"{edition}: pages of the table of contents not built: {missing}"
    for page in PAGES:
        soup = doms[page]
        main = soup.find("main") or soup.find("article")
        assert main is not None and main.find("h1"), f"{edition} {page}: no main heading"
        assert len(main.get_text(strip=True)) > 200, f"{edition} {page}: almost empty"


@pytest.mark.parametrize("edition", EDITIONS)
def test_front_page_redirects_and_has_title(edition):
    index = (EDITIONS[edition] / "index.html").read_text()
    assert PAGES[0].split("/")[-1] in index, "index.html does not lead to the root page"
    soup = dom(PAGES[0], edition)
    assert "Model Collapse" in soup.title.get_text()
    notice = [box for box in soup.select("div.admonition")
              if "student edition" in box.get_text(" ").lower()]
    assert bool(notice) == (edition == "student"), f"{edition}: wrong edition notice"


@pytest.mark.parametrize("edition", EDITIONS)
def test_navigation_lists_every_page(edition):
    soup = dom(PAGES[0], edition)
    nav = soup.select_one("nav.bd-docs-nav")
    assert nav is not None, "the front page has no navigation sidebar"
    base = f"file:///{PAGES[0]}.html"
    linked = set()
    for a in nav.find_all("a", href=True):
        target = urljoin(base, a["href"]).split("#")[0]
        if target.startswith("file:///") and target.endswith(".html"):
            linked.add(target[len("file:///"):-len(".html")])
    missing = [p for p in PAGES[1:] if p not in linked]
    assert not missing, f"pages missing from the navigation: {missing}"


@pytest.mark.parametrize("edition", EDITIONS)
def test_pages_typeset_without_math_errors(edition):
    doms = every_dom(edition)
    assert len(doms) >= len(PAGES), f"{edition}: only {len(doms)} pages"
    found = {page: math_problems(soup) for page, soup in doms.items()}
    assert not any(found.values()), _report(found)
    assert sum(len(soup.select("mjx-container")) for soup in doms.values()) > 1000


@pytest.mark.parametrize("edition", EDITIONS)
def test_printed_output_fits_the_column(edition):
    found = {page: output_problems(soup) for page, soup in every_dom(edition).items()}
    assert not any(found.values()), _report(found)


@pytest.mark.parametrize("edition", EDITIONS)
def test_no_raw_tex_is_visible(edition):
    found = {page: raw_tex(soup) for page, soup in every_dom(edition).items()}
    assert not any(found.values()), _report(found)


@pytest.mark.parametrize("edition", EDITIONS)
def test_no_directive_or_role_syntax_is_visible(edition):
    found = {page: raw_markup(soup) for page, soup in every_dom(edition).items()}
    assert not any(found.values()), _report(found)


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("page", PAGES)
def test_blocks_and_figures_are_rendered(page, edition):
    source, soup = page_source(page), dom(page, edition)
    problems = block_problems(soup, source, solutions=edition == "main")
    assert not problems, f"{edition} {page}: " + "; ".join(problems)
    # Every unconditional figure (a plt.show() at the start of a line, not inside an if-branch
    # such as "only when a full-scale result is committed") must be shown.
    figures = len(re.findall(r"(?m)^plt\.show\(\)", source))
    shown = len(soup.select(".cell_output img"))
    assert shown >= figures, f"{page}: {figures} figures in the source, {shown} shown"


@pytest.mark.parametrize("page", [p for p in PAGES if p.startswith("notebooks/")])
def test_chapters_have_a_colab_button(page):
    hrefs = [a.get("href", "") for a in dom(page, "main").find_all("a")]
    assert any("colab.research.google.com" in h and page in h for h in hrefs), (
        f"{page}: no Colab launch button")


# The chapters that show a helper's source (tests/test_notebooks_show_source.py checks the cells).
SHOWN_SOURCE = {
    "notebooks/02-recursive-training": ["def next_generation("],
    "notebooks/14-a-transformer-on-tiny-shakespeare": [
        "class CausalSelfAttention(", "class MLP(", "class Block("],
}


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("page", SHOWN_SOURCE)
def test_chapters_show_the_helpers_source_highlighted(page, edition):
    soup = dom(page, edition)
    outputs = soup.select(".cell_output .highlight")
    for start in SHOWN_SOURCE[page]:
        blocks = [block for block in outputs if start in block.get_text()]
        assert len(blocks) == 1, f"{edition} {page}: no highlighted output shows {start!r}"
        assert blocks[0].select("span.k"), f"{edition} {page}: {start!r} is not highlighted"
    assert "inspect.getsource" not in soup.get_text(), f"{page}: the display cell is visible"
