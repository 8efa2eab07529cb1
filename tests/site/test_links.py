"""Internal links of the built site, in both editions (``make book``, ``make student``).

Every relative ``href`` and ``src`` of every HTML page must name an existing file, and every
``#anchor`` (to the same page or another) must be an ``id`` (or ``name``) in its target.
External links (http, https, protocol-relative), ``mailto:``, ``data:`` and ``javascript:``
are not followed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[2]
EDITIONS = {"main": (ROOT / "_build" / "html", "make book"),
            "student": (ROOT / "_build" / "student" / "html", "make student")}
ATTRIBUTES = ("href", "src")
EXTERNAL = ("http:", "https:", "mailto:", "data:", "javascript:", "tel:", "//")


@cache
def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(errors="replace"), "html.parser")


@cache
def anchors(path: Path) -> frozenset[str]:
    page = soup(path)
    return frozenset(tag["id"] for tag in page.find_all(id=True)) | frozenset(
        tag["name"] for tag in page.find_all("a", attrs={"name": True}))


def broken_links(html: Path) -> list[str]:
    broken = []
    for page in sorted(html.rglob("*.html")):
        if {"_sources", "_static"} & set(page.relative_to(html).parts):  # copies, templates
            continue
        for tag in soup(page).find_all(True):
            for attribute in ATTRIBUTES:
                link = tag.get(attribute)
                if not isinstance(link, str) or not link.strip():
                    continue
                link = link.strip()
                if link.lower().startswith(EXTERNAL):
                    continue
                parts = urlsplit(link)
                if parts.scheme:  # file:, or anything else a static site should not hold
                    broken.append(f"{page.relative_to(html)}: {link} (absolute URL)")
                    continue
                target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
                if target.is_dir():
                    target = target / "index.html"
                where = f"{page.relative_to(html)}: <{tag.name} {attribute}={link!r}>"
                if not target.is_file():
                    broken.append(f"{where}: no such file")
                elif not target.is_relative_to(html.resolve()):
                    broken.append(f"{where}: outside the site")
                elif parts.fragment and target.suffix == ".html":
                    if unquote(parts.fragment) not in anchors(target):
                        broken.append(f"{where}: no id {parts.fragment!r} in {target.name}")
    return broken


@pytest.mark.parametrize("edition", EDITIONS)
def test_internal_links_resolve(edition):
    html, command = EDITIONS[edition]
    if not (html / "index.html").is_file():
        pytest.fail(f"No built site at {html}: run `{command}` first.")
    pages = list(html.rglob("*.html"))
    assert len(pages) > 10, f"only {len(pages)} pages in {html}"
    broken = broken_links(html)
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:40])
