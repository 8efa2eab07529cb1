"""Check the built site in a real headless browser (Debian's Chromium).

Run after ``make book`` and ``make student``, in both editions. Every page of the table of
contents must load, appear in the navigation of the front page, and show the theorem blocks,
exercises and figures that its source asks for; the main edition shows every solution dropdown
and the student edition none. Notebook chapters of the main edition must offer a Colab launch
button.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from urllib.parse import urljoin

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[2]
EDITIONS = {"main": ROOT / "_build" / "html", "student": ROOT / "_build" / "student" / "html"}
HTML = EDITIONS["main"]
sys.path.insert(0, str(ROOT / "scripts"))
from check_notebooks import page_source, toc_files  # noqa: E402

PAGES = toc_files()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=5000"]


@pytest.fixture(scope="session", autouse=True)
def built_site():
    for html, command in zip(EDITIONS.values(), ("make book", "make student"), strict=True):
        if not (html / "index.html").is_file():
            pytest.fail(f"No built site at {html}: run `{command}` first.")
    if CHROMIUM is None:
        pytest.fail("Chromium is missing: `make test` installs it (scripts/ensure_chromium.sh).")


@cache
def dom(page: str, edition: str = "main") -> BeautifulSoup:
    """The DOM of a page of an edition after Chromium has loaded it and run its scripts."""
    path = EDITIONS[edition] / f"{page}.html"
    assert path.is_file(), f"{edition}: {page}.html was not built"
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                              path.as_uri()], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "<html" in out.stdout, (
        f"Chromium failed on {edition} {page}: {out.stderr}")
    return BeautifulSoup(out.stdout, "html.parser")


@pytest.mark.parametrize("edition", EDITIONS)
def test_all_pages_load(edition):
    with ThreadPoolExecutor(max_workers=2) as pool:
        soups = list(pool.map(dom, PAGES, [edition] * len(PAGES)))
    for page, soup in zip(PAGES, soups, strict=True):
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


source_text = page_source


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("page", PAGES)
def test_blocks_and_figures_are_rendered(page, edition):
    source, soup = source_text(page), dom(page, edition)
    kinds = ("theorem", "lemma", "proposition", "definition", "corollary", "proof")
    for kind in kinds:
        wanted = len(re.findall(rf"[`:]{{3,}}\{{prf:{kind}\}}", source))
        shown = len(soup.select(f"div.{kind}"))
        assert shown >= wanted, f"{page}: {wanted} prf:{kind} blocks in the source, {shown} shown"
    exercises = len(re.findall(r"[`:]{3,}\{exercise\}", source))
    assert len(soup.select("div.exercise")) >= exercises, f"{page}: exercises missing"
    solutions = len(re.findall(r"[`:~]{3,}\{solution\}", source))
    shown = len(soup.select("div.solution"))
    if edition == "student":
        assert shown == 0, f"{page}: {shown} solutions shown in the student edition"
    else:
        assert shown >= solutions, f"{page}: {solutions} solutions in the source, {shown} shown"
    # Every unconditional figure (a plt.show() at the start of a line, not inside an if-branch
    # such as "only when a full-scale result is committed") must be shown.
    figures = len(re.findall(r"(?m)^plt\.show\(\)", source))
    shown = len(soup.select(".cell_output img"))
    assert shown >= figures, f"{page}: {figures} figures in the source, {shown} shown"


@pytest.mark.parametrize("page", [p for p in PAGES if p.startswith("notebooks/")])
def test_chapters_have_a_colab_button(page):
    hrefs = [a.get("href", "") for a in dom(page).find_all("a")]
    assert any("colab.research.google.com" in h and page in h for h in hrefs), (
        f"{page}: no Colab launch button")
