"""The checks of the site test fail where they should: on a small book built to be wrong.

A three-page book is built with the book's own configuration (its extensions and MathJax
macros): a page whose title holds a macro and whose proof has a backtick in its directive
argument, with a wide display equation that scrolls (as the theme makes every display) and one
that a style stops from scrolling, and a printed output that a style stops from wrapping; a
page without math; and a page written correctly. It is
served and typeset exactly as the real editions are (:mod:`rendered`), and the checkers must
report each defect, and nothing on the correct page. Needs no build of the book; Chromium and
the local MathJax as for the other site tests.
"""

from __future__ import annotations

import copy
import shutil

import pytest
import yaml
from rendered import (
    ROOT,
    Site,
    block_problems,
    dom,
    math_problems,
    output_problems,
    raw_markup,
    raw_tex,
)

LONG = "printed: " + " ".join(f"z = {k:+.2f}" for k in range(40))
# a printed output, as myst-nb renders one
OUTPUT = """<div class="cell_output docutils container">
<div class="output stream highlight-myst-ansi notranslate">
<div class="highlight"><pre><span></span>{}</pre></div></div></div>"""
WIDE = " + ".join(rf"\frac{{{k}}}{{{k + 1}}} \Ex[T_{{{k}}}]" for k in range(1, 40))
BROKEN = rf"""# $\Ex[T]$ is of order $n$

Math on the page: $\Ex[T] \le 3n - 2$, and a wide display:

$$
\Ex[\tau] \le {WIDE} .
$$

<div class="squeeze">

$$
\Ex[\tau] \le {WIDE} .
$$

</div>
<style>.squeeze mjx-container {{ overflow: visible !important; }}</style>

<div class="nowrap">

{OUTPUT.format(LONG)}

</div>
<style>.nowrap pre {{ white-space: pre !important; }}</style>

```{{prf:theorem}} Bounds
:label: fx-thm-bounds

$n (1 - S_0) \le \Ex[T] \le 3n - 2$.
```

```{{prf:proof}} (of {{prf:ref}}`fx-thm-bounds`)
A proof whose directive argument holds a backtick.

It has a second paragraph.
```

## A heading after the proof

Some text.
"""
PLAIN = """# A page without math

It links to {doc}`broken` and says nothing else.
"""
FIXED = r"""# The mean collapse time is of order n

Math on the page: $\Ex[T] \le 3n - 2$.

{output}

```{prf:theorem} Bounds, again
:label: fx-thm-fixed

$n (1 - S_0) \le \Ex[T]$.
```

```{prf:proof}
(Of {prf:ref}`fx-thm-fixed`.) A proof, with its reference in its body.
```
""".replace("{output}", OUTPUT.format(LONG))


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory):
    from jupyter_book.sphinx import build_sphinx

    src = tmp_path_factory.mktemp("fixture-book")
    config = copy.deepcopy(yaml.safe_load((ROOT / "_config.yml").read_text()))
    config.update(title="Fixture", exclude_patterns=["_build"],
                  execute={"execute_notebooks": "off"})
    config.pop("bibtex_bibfiles", None)
    config["sphinx"]["config"].pop("bibtex_reference_style", None)
    (src / "_config.yml").write_text(yaml.safe_dump(config))
    shutil.copytree(ROOT / "book" / "_static", src / "book" / "_static")  # the stylesheet
    chapters = [{"file": "plain"}, {"file": "fixed"}]
    toc = {"format": "jb-book", "root": "broken", "chapters": chapters}
    (src / "_toc.yml").write_text(yaml.safe_dump(toc))
    for name, text in (("broken", BROKEN), ("plain", PLAIN), ("fixed", FIXED)):
        (src / f"{name}.md").write_text(text)
    html = src / "_build" / "html"
    build_sphinx(src, html, noconfig=True, path_config=str(src / "_config.yml"),
                 doctreedir=src / "_build" / ".doctrees",
                 confoverrides={"external_toc_path": str(src / "_toc.yml"),
                                "latex_individualpages": False}, freshenv=True)
    assert (html / "plain.html").is_file(), "the fixture book did not build"
    with Site({"fixture": html}) as site:
        yield {page: (dom(site.url("fixture", page)), text) for page, text in
               (("broken", BROKEN), ("plain", PLAIN), ("fixed", FIXED))}


def test_a_backtick_in_a_directive_argument_is_caught(fixture_site):
    soup, source = fixture_site["broken"]
    assert "prf:proof: 1 in the source, 0 rendered" in block_problems(soup, source)
    assert any("{prf:" in problem or "```" in problem for problem in raw_markup(soup))


def test_a_macro_in_a_title_is_caught(fixture_site):
    soup, _ = fixture_site["plain"]
    assert soup.html.get("data-mathjax") == "absent"  # no math of its own: no MathJax at all
    found = raw_tex(soup)
    assert any(r"\Ex" in problem for problem in found), found
    broken, _ = fixture_site["broken"]
    assert any(r"\Ex" in problem for problem in raw_tex(broken))  # in its <title>


def test_a_wide_equation_that_cannot_scroll_is_caught(fixture_site):
    soup, _ = fixture_site["broken"]
    assert soup.html.get("data-mathjax") == "typeset"
    assert soup.html.get("data-scrolling-math") == "1"  # the first one scrolls: fine
    assert math_problems(soup) == [
        "1 display equation(s) cut off: neither scroll nor wrap in the column"]


def test_printed_output_wider_than_the_column_is_caught(fixture_site):
    broken, _ = fixture_site["broken"]
    assert output_problems(broken) == ["1 printed output(s) wider than the column"]
    fixed, _ = fixture_site["fixed"]  # the book's stylesheet wraps the same line
    assert not output_problems(fixed) and LONG in fixed.get_text()


def test_the_correct_page_passes(fixture_site):
    soup, source = fixture_site["fixed"]
    assert soup.html.get("data-mathjax") == "typeset"
    # (raw_tex is not asked: its navigation links to the broken page, whose title has a macro)
    assert not math_problems(soup) and not raw_markup(soup)
    assert not block_problems(soup, source)
    assert len(soup.select("mjx-container")) == 2  # the inline math and the theorem's
