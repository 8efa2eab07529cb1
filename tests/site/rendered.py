"""What a reader sees: a built site served on 127.0.0.1, typeset by MathJax 3, in Chromium.

The published pages load MathJax from its CDN; :class:`Site` serves them with that script
replaced by a local copy of the same MathJax 3 (npm's ``mathjax`` package, installed by
``scripts/ensure_mathjax.sh``) and with a probe that, once MathJax has typeset the page,
records on ``<html>``: ``data-mathjax`` (``typeset``, ``absent`` on a page without math,
``not loaded`` or ``failed: ...``), ``data-cut-math`` (how many display equations are wider
than their box without scrolling, or reach past the window or a box that clips them) and
``data-scrolling-math`` (how many are wider than the column and scroll inside it) and
``data-wide-output`` (how many printed outputs of code cells run past their box, where a reader
would have to scroll to read them; the book's stylesheet wraps them).
:func:`dom` loads a page in headless Chromium and returns its DOM after the scripts ran.

The checkers take that DOM (and the page's source) and return a list of problems, empty when
the page is right; the site tests and their fixtures (synthetic pages that must fail) share
them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup, NavigableString, Tag

ROOT = Path(__file__).resolve().parents[2]
MATHJAX = ROOT / "_build" / "mathjax" / "node_modules" / "mathjax"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,2000", "--virtual-time-budget=15000"]
CDN_MATHJAX = re.compile(r'src="https?://[^"]*/mathjax@3[^"/]*/es5/([^"]+)"')
PROBE = """<script>
(function () {
  var root = document.documentElement;
  function scrolls(el) { return /auto|scroll/.test(getComputedStyle(el).overflowX); }
  function isCut(m) {  // wider than its box without a scrollbar, or beyond a box that clips
    if (m.scrollWidth > m.clientWidth + 1 && !scrolls(m)) { return true; }
    var box = m.getBoundingClientRect();
    if (box.left < -1 || box.right > document.documentElement.clientWidth + 1) { return true; }
    for (var el = m.parentElement; el && el !== document.body; el = el.parentElement) {
      if (scrolls(el)) { return false; }
      var clip = el.getBoundingClientRect();
      if (getComputedStyle(el).overflowX !== "visible"
          && (box.left < clip.left - 1 || box.right > clip.right + 1)) { return true; }
    }
    return false;
  }
  function done(state) {
    var cut = 0, wide = 0;
    document.querySelectorAll('mjx-container[display="true"]').forEach(function (m) {
      if (isCut(m)) { cut += 1; } else if (m.scrollWidth > m.clientWidth + 1) { wide += 1; }
    });
    root.setAttribute("data-mathjax", state);
    root.setAttribute("data-cut-math", String(cut));
    root.setAttribute("data-scrolling-math", String(wide));
    var outputs = 0;
    document.querySelectorAll("div.cell_output pre").forEach(function (p) {
      if (p.scrollWidth > p.clientWidth + 1) { outputs += 1; }
    });
    root.setAttribute("data-wide-output", String(outputs));
  }
  window.addEventListener("load", function () {
    if (!window.MathJax) { done("absent"); return; }
    if (!window.MathJax.startup) { done("not loaded"); return; }
    window.MathJax.startup.promise.then(function () { done("typeset"); },
                                        function (e) { done("failed: " + e); });
  });
})();
</script>"""


class _Handler(SimpleHTTPRequestHandler):
    """Serves ``/<mount>/<path>`` from ``mounts[mount]``; HTML pages with local MathJax."""

    def __init__(self, *args, mounts: dict[str, Path], **kwargs):
        self.mounts = mounts
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        mount, _, rest = unquote(urlsplit(path).path).lstrip("/").partition("/")
        root = self.mounts.get(mount)
        target = (root / rest).resolve() if root else None
        if target is None or not target.is_relative_to(root.resolve()):
            return str(ROOT / "_build" / ".no-such-file")
        return str(target)

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if path.suffix != ".html" or not path.is_file():
            return super().do_GET()
        page = CDN_MATHJAX.sub(r'src="/mathjax/es5/\1"', path.read_text())
        body = page.replace("</body>", PROBE + "</body>", 1).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


class Site:
    """A local HTTP server for built sites: ``Site({"main": path, ...})``, a context manager."""

    def __init__(self, sites: dict[str, Path]):
        if not (MATHJAX / "es5" / "tex-mml-chtml.js").is_file():
            raise FileNotFoundError(f"No local MathJax at {MATHJAX.relative_to(ROOT)}: run "
                                    "`make browser` (scripts/ensure_mathjax.sh) first.")
        mounts = {**sites, "mathjax": MATHJAX}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, mounts=mounts))
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, site: str, page: str) -> str:
        return f"{self.base}/{site}/{page}.html"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def dom(url: str) -> BeautifulSoup:
    """The DOM of the page at ``url`` after Chromium has loaded it and run its scripts."""
    if CHROMIUM is None:
        raise FileNotFoundError("Chromium is missing: `make browser` installs it.")
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                             capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and "<html" in out.stdout, f"Chromium failed on {url}: {out.stderr}"
    return BeautifulSoup(out.stdout, "html.parser")


# --- checkers ----------------------------------------------------------------------------------

# TeX a reader should never see: a macro, \( \) or \[ \] delimiters, or $...$ on one line.
RAW_TEX = re.compile(r"\\[A-Za-z]+|\\[()\[\]]|\$[^$\n]+\$")
# MyST a reader should never see: fences, colon fences of directives, roles, directive options.
RAW_MYST = re.compile(r"```|~~~|:::\{|\{(?:prf:\w+|ref|doc|eq|numref|cite(?::\w+)?|glue(?::\w+)?|"
                      r"exercise|solution|math|term|download)\}|:label:|:class:")
# Not text a reader reads as prose: typeset math, scripts, code blocks, images.
CODE = {"mjx-container", "script", "style", "template", "noscript", "svg", "pre", ".highlight"}
# Directives of the source whose blocks must be rendered, by kind.
DIRECTIVE = re.compile(r"^ {0,3}([`~:])\1{2,}\s*\{(prf:\w+|exercise|solution)\}", re.MULTILINE)


def _text(soup: BeautifulSoup, skip: set[str]) -> str:
    """The page's title and the text of its body, without the elements named in ``skip`` (tag
    names, or ``.class``) and what they hold."""
    parts = [soup.title.get_text(" ") if soup.title else ""]

    def walk(tag: Tag) -> None:
        for child in tag.children:
            if isinstance(child, Tag):
                if child.name not in skip and not skip.intersection(
                        f".{c}" for c in child.get("class", [])):
                    walk(child)
            elif type(child) is NavigableString:  # not a comment, CDATA or doctype
                parts.append(child)

    if soup.body:
        walk(soup.body)
    return " ".join(parts)


def _excerpts(pattern: re.Pattern, text: str, limit: int = 5) -> list[str]:
    return [repr(" ".join(text[max(m.start() - 40, 0):m.end() + 40].split()))
            for m in list(pattern.finditer(text))[:limit]]


def math_problems(soup: BeautifulSoup) -> list[str]:
    """MathJax did not finish, reported an error, or left an equation cut off."""
    state = soup.html.get("data-mathjax")
    problems = []
    if state not in ("typeset", "absent"):
        problems.append(f"MathJax did not typeset the page: {state or 'no report from the probe'}")
    errors = soup.select("mjx-merror, [data-mjx-error]")
    problems += [f"MathJax error: {e.get('data-mjx-error') or e.get_text(' ')[:80]!r}"
                 for e in errors[:5]]
    cut = int(soup.html.get("data-cut-math") or 0)
    if cut:
        problems.append(f"{cut} display equation(s) cut off: neither scroll nor wrap in the column")
    return problems


def output_problems(soup: BeautifulSoup) -> list[str]:
    """Printed output of a code cell wider than the column (read only by scrolling)."""
    wide = int(soup.html.get("data-wide-output") or 0)
    return [f"{wide} printed output(s) wider than the column"] if wide else []


def raw_tex(soup: BeautifulSoup) -> list[str]:
    """TeX visible outside typeset math and code (page title, navigation and text)."""
    text = _text(soup, CODE | {"code"})
    return [f"raw TeX: {e}" for e in _excerpts(RAW_TEX, text)]


def raw_markup(soup: BeautifulSoup) -> list[str]:
    """Directive or role syntax visible on the page (inline code included, code blocks not)."""
    text = _text(soup, CODE)
    return [f"raw MyST: {e}" for e in _excerpts(RAW_MYST, text)]


PRF_KINDS = {"axiom", "theorem", "lemma", "definition", "remark", "conjecture", "corollary",
             "algorithm", "criterion", "example", "property", "observation", "proposition",
             "assumption", "notation", "proof"}


def rendered_blocks(soup: BeautifulSoup) -> Counter:
    """Rendered blocks by directive: ``prf:<kind>``, ``exercise``, ``solution``."""
    found: Counter = Counter()
    for div in soup.select("div.proof.admonition"):
        kinds = PRF_KINDS.intersection(div.get("class", [])) - {"proof"} or {"proof"}
        found.update(f"prf:{kind}" for kind in kinds)
    found["exercise"] = len(soup.select("div.exercise.admonition"))
    found["solution"] = len(soup.select("div.solution.admonition"))
    return +found


def source_blocks(source: str) -> Counter:
    """The same counts, from the directives of a page's source."""
    return Counter(m.group(2) for m in DIRECTIVE.finditer(source))


def block_problems(soup: BeautifulSoup, source: str, solutions: bool = True) -> list[str]:
    """Blocks of the source that the page does not show, or shows too often."""
    wanted = source_blocks(source)
    if not solutions:
        wanted.pop("solution", None)
    shown = rendered_blocks(soup)
    return [f"{kind}: {wanted[kind]} in the source, {shown[kind]} rendered"
            for kind in sorted(set(wanted) | set(shown)) if wanted[kind] != shown[kind]]
