"""Build the book and open every page in headless Chromium, as a reader would.

For each page: HTTP 200; no JavaScript errors beyond the known, harmless one of Jupyter
Book 1.x's own templates; every formula typeset by MathJax; every image loaded; every internal
link pointing at a page (and anchor) that exists; no request leaving 127.0.0.1. A full-page
screenshot of each page is saved under ``_build/screenshots/`` for humans to look at. Every
notebook chapter's page has a "Run in your browser" button that opens that chapter's staged
copy in the in-browser site (whose notebooks test_lite_browser.py runs).

Needs Playwright (``pip install playwright``) and Debian's Chromium at /usr/bin/chromium
(``apt-get install chromium``); never ``playwright install``. Without them the test skips, unless
POOLING_LAB_REQUIRE_BROWSER=1 (set by .ci/run), where it fails instead.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import lite_stage  # noqa: E402

HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"

# Console errors that Jupyter Book 1.x's own templates log on every page, and why they are
# harmless. Anything else fails the test.
KNOWN_CONSOLE_ERRORS = {
    # sphinx-thebe's script and the book theme both declare this constant; the second
    # declaration throws, but thebe (launch buttons for live code) is not enabled here.
    r"Identifier 'THEBE_JS_URL' has already been declared": "sphinx-thebe loaded twice",
}


def _pages() -> list[str]:
    """Every page the reader can reach: the toc's files plus Sphinx's generated pages."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return [f"{f}.html" for f in files] + ["genindex.html", "py-modindex.html", "search.html"]


PAGES = _pages()


@pytest.fixture(scope="module")
def browser(site, launch_options):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(**launch_options)
        yield chromium
        chromium.close()


def test_every_built_page_is_tested(site):
    """No page is built that this test does not open (only_build_toc_files keeps it so)."""
    built = {
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if not p.relative_to(HTML).parts[0].startswith("_")
        and p.relative_to(HTML).parts[0] != "lite"  # the in-browser site: test_lite_browser.py
    }
    assert built - {"index.html"} == set(PAGES)


# The JavaScript run in the page after MathJax has finished.
PAGE_REPORT = """async () => {
  if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
  const maths = [...document.querySelectorAll('.math')];
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, textarea')
       .forEach(e => e.remove());
  return {
    math: maths.length,
    untypeset: maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent),
    containers: document.querySelectorAll('mjx-container').length,
    text: clone.textContent,
    images: [...document.images].map(i => [i.getAttribute('src'), i.naturalWidth]),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  };
}"""


def _anchor_exists(target: Path, fragment: str) -> bool:
    html = target.read_text(encoding="utf-8")
    return f'id="{fragment}"' in html or f'name="{fragment}"' in html


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_in_chromium(browser, site, path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def only_local(route):
        # The book must work with no network: refuse, and record, any request elsewhere.
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    response = page.goto(site + path, wait_until="load")
    assert response is not None and response.status == 200, f"{path}: HTTP status"
    report = page.evaluate(PAGE_REPORT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # a long page on a busy machine takes a while to capture whole
    page.screenshot(
        path=str(SHOTS / (path.replace("/", "__") + ".png")), full_page=True, timeout=180_000
    )
    page.close()

    unexpected = [e for e in errors if not any(re.search(k, e) for k in KNOWN_CONSOLE_ERRORS)]
    assert not unexpected, f"{path}: JavaScript errors {unexpected}"
    assert not outside, f"{path}: requests that left the machine {outside}"
    assert not report["untypeset"], f"{path}: formulas MathJax did not typeset"
    assert report["containers"] >= report["math"]
    for raw in ("\\(", "\\)", "$$", "\\["):
        assert raw not in report["text"], f"{path}: raw TeX {raw!r} left in the page text"
    broken = [src for src, width in report["images"] if width == 0]
    assert not broken, f"{path}: images that did not load {broken}"
    if (ROOT / path).with_suffix(".ipynb").exists():  # a notebook page offers its .ipynb
        wanted = "_sources/" + path.replace(".html", ".ipynb")
        assert any(link.endswith(wanted) for link in report["links"]), f"{path}: no download"
    for link in report["links"]:
        parts = urlsplit(link)
        if parts.hostname != "127.0.0.1":
            continue
        target = HTML / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        assert target.exists(), f"{path}: link to missing page {link}"
        if parts.fragment and target.suffix == ".html":
            assert _anchor_exists(target, unquote(parts.fragment)), f"{path}: no anchor {link}"


BUTTON_REPORT = """() => [...document.querySelectorAll('a.lite-launch-button')].map(a => ({
  href: a.href, text: a.textContent.trim(),
  visible: a.getBoundingClientRect().height > 0,
  underTitle: a.parentElement === document.querySelector('section > h1').nextElementSibling,
}))"""


@pytest.mark.parametrize("chapter", lite_stage.notebook_chapters())
def test_run_in_browser_button_opens_this_chapter(browser, site, chapter):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
    page.goto(site + chapter + ".html", wait_until="load")
    buttons = page.evaluate(BUTTON_REPORT)
    page.close()
    assert len(buttons) == 1, f"{chapter}: expected one 'Run in your browser' button, got {buttons}"
    button = buttons[0]
    assert "Run in your browser" in button["text"] and button["visible"]
    assert button["underTitle"], f"{chapter}: the button is not right under the title"
    parts = urlsplit(button["href"])
    assert parts.hostname == "127.0.0.1"
    assert parts.path == "/lite/notebooks/index.html", button["href"]
    assert parts.query == f"path={chapter}.ipynb", button["href"]
    staged = HTML / "lite" / "files" / f"{chapter}.ipynb"
    assert staged.exists(), f"{chapter}: the in-browser site holds no {staged.name}"
