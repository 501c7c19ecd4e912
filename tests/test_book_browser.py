"""Build the book and open every page in headless Chromium, as a reader would.

For each page: HTTP 200; no JavaScript errors beyond the two known, harmless ones of Jupyter
Book 1.x's own templates; every formula typeset by MathJax; every image loaded; every internal
link pointing at a page (and anchor) that exists; no request leaving 127.0.0.1. A full-page
screenshot of each page is saved under ``_build/screenshots/`` for humans to look at.

Needs Playwright (``pip install playwright``) and Debian's Chromium at /usr/bin/chromium
(``apt-get install chromium``); never ``playwright install``. Without them the test skips, unless
POOLING_LAB_REQUIRE_BROWSER=1 (set by .ci/run), where it fails instead.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = Path(os.environ.get("POOLING_LAB_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("POOLING_LAB_REQUIRE_BROWSER") == "1"

# Console errors that Jupyter Book 1.x's own templates log on every page, and why they are
# harmless. Anything else fails the test.
KNOWN_CONSOLE_ERRORS = {
    # sphinx-thebe's script and the book theme both declare this constant; the second
    # declaration throws, but thebe (launch buttons for live code) is not enabled here.
    r"Identifier 'THEBE_JS_URL' has already been declared": "sphinx-thebe loaded twice",
    # pydata-sphinx-theme validates the stored light/dark mode before it has been set once.
    r"^Got invalid theme mode: \. Resetting to auto\.$": "theme mode read before it is stored",
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


def _missing_tools() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright; never `playwright install`)"
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) is None:
        return "jupyter-book is not installed (pip install -e '.[book]')"
    return None


@pytest.fixture(scope="module")
def site():
    """Build the book once with -W, serve it on 127.0.0.1, yield its base URL."""
    reason = _missing_tools()
    if reason:
        if REQUIRED:
            pytest.fail(f"browser test required but cannot run: {reason}")
        pytest.skip(reason)
    book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    build = subprocess.run(
        [book, "build", str(ROOT), "-W", "--keep-going"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert build.returncode == 0, build.stdout[-5000:] + build.stderr[-5000:]
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def test_every_built_page_is_tested(site):
    """No page is built that this test does not open (only_build_toc_files keeps it so)."""
    built = {
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if not p.relative_to(HTML).parts[0].startswith("_")
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
    page.screenshot(path=str(SHOTS / (path.replace("/", "__") + ".png")), full_page=True)
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
