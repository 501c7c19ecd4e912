"""Build the book and open every page in headless Chromium, as a reader would.

For each page: HTTP 200; no JavaScript error at all; every formula typeset by MathJax, with
assistive MathML and a spoken label (MathJax's accessibility extensions, loaded from the book's
own copy); every image loaded; every internal link pointing at a page (and anchor) that exists;
no request leaving 127.0.0.1. A screenshot of the top of each page (light mode) is
saved under ``_build/screenshots/`` for humans to look at. Every notebook chapter's page has a
"Run in your browser" button that opens that chapter's staged copy in the in-browser site
(whose notebooks test_lite_browser.py runs).

Accessibility (the README's "Accessibility" says why and how):

- axe-core (vendored in tests/vendor/axe-core, its sha256 checked before it is injected) runs on
  every page with the WCAG 2.0 and 2.1 level A and AA rules, in light mode, and again in dark
  mode with the rules that depend on colour (color-contrast, link-in-text-block); any critical
  or serious violation fails, listed with its rule, impact, first nodes and help text;
- every image in a page's article has a text alternative: not missing, not empty, not a file
  name or path, and at least ALT_MIN_WORDS words (the figures' alts are written in the
  notebooks' cell metadata, mystnb.image.alt; tests/test_figure_alts.py checks the source);
- keyboard: on a chapter page, Tab alone reaches the "Run in your browser" button, a solution's
  toggle and a hidden code cell's toggle; Enter and Space open and close the toggles, Enter
  follows the button; every element Tab stops at shows a focus indicator.

The pages are opened and read two at a time in a background thread, from the moment the site
is served (``RUNS``); the tests, which come near the end of the suite, check what it read.

Needs Playwright (``pip install playwright``) and Debian's Chromium at /usr/bin/chromium
(``apt-get install chromium``); never ``playwright install``. Without them the test skips, unless
POOLING_LAB_REQUIRE_BROWSER=1 (set by .ci/run), where it fails instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from helpers import BackgroundJob, in_background, leaves_the_machine

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import lite_stage  # noqa: E402

HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"

# axe-core, vendored from npm's axe-core@4.14.1 tarball (tests/vendor/axe-core/README.md): the
# test checks the file against this before it injects it, so a changed file fails loudly.
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
# WCAG 2.0 and 2.1, levels A and AA. In dark mode only the colours change, so only the rules
# that look at colours run again there.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_COLOUR_RULES = ["color-contrast", "link-in-text-block"]
AXE_FAILING = {"critical", "serious"}
# A figure's text alternative says what is drawn and what to see in it: a sentence at least.
ALT_MIN_WORDS = 8
# Where the pages' times go (axe, the keyboard walk): pytest -s prints them.
TIMES: dict[str, float] = {}


def _axe_source() -> str:
    data = AXE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == AXE_SHA256, f"{AXE} changed: sha256 {digest}, expected {AXE_SHA256}"
    return data.decode("utf-8")


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
  const containers = [...document.querySelectorAll('mjx-container')];
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, textarea')
       .forEach(e => e.remove());
  return {
    math: maths.length,
    untypeset: maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent),
    containers: containers.length,
    // what a screen reader gets: MathML beside the rendering, and a spoken label
    noMathml: containers.filter(c => !c.querySelector('mjx-assistive-mml math'))
                        .map(c => c.textContent),
    unspoken: containers.filter(c => !(c.getAttribute('aria-label') || '').trim())
                        .map(c => c.textContent),
    text: clone.textContent,
    images: [...document.images].map(i => [i.getAttribute('src'), i.naturalWidth]),
    alts: [...document.querySelectorAll('.bd-article img')]
              .map(i => [i.getAttribute('src'), i.getAttribute('alt')]),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  };
}"""

# axe-core on the whole page; returns the violations in a form that reads well in a failure.
AXE_RUN = """async (runOnly) => {
  const result = await axe.run(document, {runOnly, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
  }));
}"""

# The theme's own switch to dark mode does this (pydata-sphinx-theme sets both attributes);
# transitions are turned off first so that axe reads the final colours, not a step between.
TO_DARK = """async () => {
  const still = document.createElement('style');
  still.textContent = '*, *::before, *::after { transition: none !important; }';
  document.head.append(still);
  document.documentElement.dataset.mode = 'dark';
  document.documentElement.dataset.theme = 'dark';
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
}"""


def _failing(violations: list[dict]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}, {v['count']} nodes, e.g. {v['nodes']}): {v['help']}"
        for v in violations
        if v["impact"] in AXE_FAILING
    ]


def _bad_alt(alt: str | None) -> str | None:
    """Why an image's alt is not a text alternative, or None if it is one."""
    if alt is None:
        return "no alt"
    if not alt.strip():
        return "empty alt"
    if "_images/" in alt or re.search(r"\.(png|svg|jpe?g|gif)\b", alt, re.IGNORECASE):
        return "alt is a file name"
    if len(alt.split()) < ALT_MIN_WORDS:
        return f"alt shorter than {ALT_MIN_WORDS} words"
    return None


def _anchor_exists(target: Path, fragment: str) -> bool:
    html = target.read_text(encoding="utf-8")
    return f'id="{fragment}"' in html or f'name="{fragment}"' in html


BUTTON_REPORT = """() => [...document.querySelectorAll('a.lite-launch-button')].map(a => ({
  href: a.href, text: a.textContent.trim(),
  visible: a.getBoundingClientRect().height > 0,
  underTitle: a.parentElement === document.querySelector('section > h1').nextElementSibling,
}))"""


async def _visit(page, site: str, path: str, axe: str, record: dict) -> None:
    """Open one page in ``page`` as a reader would, and gather into ``record`` what its test
    checks (the lane's listeners add its errors and outside requests)."""
    response = await page.goto(site + path, wait_until="load")
    record["status"] = None if response is None else response.status
    record["report"] = await page.evaluate(PAGE_REPORT)
    # the launch button, read here so its test need not load the page again (a load with
    # MathJax and its enrichment costs a second or more per page)
    record["buttons"] = await page.evaluate(BUTTON_REPORT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The top of the page only: full-page captures took about 20 s for the whole book.
    await page.screenshot(path=str(SHOTS / path.replace("/", "__")) + ".png")
    started = time.perf_counter()
    await page.add_script_tag(content=axe)
    record["light"] = await page.evaluate(AXE_RUN, {"type": "tag", "values": AXE_TAGS})
    await page.evaluate(TO_DARK)
    record["dark"] = await page.evaluate(AXE_RUN, {"type": "rule", "values": AXE_COLOUR_RULES})
    TIMES[f"axe {path}"] = time.perf_counter() - started


async def _visit_all(site: str, launch_options: dict) -> dict:
    """Every page, two at a time, in one browser started at a lower priority.

    Each lane is one tab that goes from page to page, as a reader clicking through the book
    would: the site's files come from the HTTP cache after the first page, and the tab's
    renderer is reused. Both lanes together took 40 s here, against 55 s with a new tab per page
    and Playwright's request interception (which turns the HTTP cache off). The launch
    options' proxy stops every request that is not for 127.0.0.1; a listener records them.
    """
    from playwright.async_api import async_playwright

    records: dict[str, dict] = {}
    queue = list(PAGES)
    axe = _axe_source()  # a changed axe-core fails the page tests, before any page opens
    async with async_playwright() as p:
        with tempfile.TemporaryDirectory(prefix="pooling-lab-pages-") as folder:
            browser = await p.chromium.launch(**in_background(launch_options, Path(folder)))

            async def lane():
                context = await browser.new_context(viewport={"width": 1280, "height": 900})
                record: dict = {}

                def outside(request):
                    if leaves_the_machine(request.url):
                        record["outside"].append(request.url)

                def console(message):
                    if message.type == "error":
                        record["errors"].append(message.text)

                def page_error(error):
                    record["errors"].append(str(error))

                async def new_tab():
                    tab = await context.new_page()
                    tab.on("console", console)
                    tab.on("pageerror", page_error)
                    return tab

                context.on("request", outside)
                page = await new_tab()
                while queue:
                    path = queue.pop(0)
                    record = records[path] = {"errors": [], "outside": []}
                    try:
                        await _visit(page, site, path, axe, record)
                    except Exception as err:  # reported by that page's test
                        record["crash"] = f"{type(err).__name__}: {err}"
                        await page.close()  # a fresh tab for the next page
                        page = await new_tab()
                await context.close()

            await asyncio.gather(lane(), lane())
            await browser.close()
    return records


# Every page opened and read in the background, two at a time, from the moment the site is
# served; the page tests, near the end of the suite, check what it read. The suite's own
# thread, which runs one thing at a time, was the last to finish when it opened the pages
# itself; beside it, they let both cores work until the end.
RUNS = BackgroundJob()


def start_runs(site: str, launch_options: dict) -> None:
    """Start opening every page (once); the ``site`` fixture calls this."""
    RUNS.start(lambda: _visit_all(site, launch_options))


@pytest.fixture(scope="module")
def page_runs(site, launch_options) -> dict[str, dict]:
    """What every page showed, keyed by its path (the background run, waited for)."""
    start_runs(site, launch_options)  # if the site fixture has not already
    records = RUNS.wait()
    axe = sum(t for k, t in TIMES.items() if k.startswith("axe "))
    print(f"axe on {sum(k.startswith('axe ') for k in TIMES)} pages: {axe:.1f} s")
    return records


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_in_chromium(page_runs, path):
    record = page_runs[path]
    assert "crash" not in record, f"{path}: {record.get('crash')}"
    errors, outside, report = record["errors"], record["outside"], record["report"]
    light, dark = record["light"], record["dark"]
    assert record["status"] == 200, f"{path}: HTTP status {record['status']}"
    assert not errors, f"{path}: JavaScript errors {errors}"
    assert not outside, f"{path}: requests that left the machine {outside}"
    assert not report["untypeset"], f"{path}: formulas MathJax did not typeset"
    assert report["containers"] >= report["math"]
    assert not report["noMathml"], f"{path}: formulas without assistive MathML"
    assert not report["unspoken"], f"{path}: formulas without a spoken label"
    assert not _failing(light), f"{path}: axe, light mode: " + "; ".join(_failing(light))
    assert not _failing(dark), f"{path}: axe, dark mode: " + "; ".join(_failing(dark))
    bad_alts = [(src, why) for src, alt in report["alts"] if (why := _bad_alt(alt))]
    assert not bad_alts, f"{path}: images without a text alternative {bad_alts}"
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


@pytest.mark.parametrize("chapter", lite_stage.notebook_chapters())
def test_run_in_browser_button_opens_this_chapter(page_runs, chapter):
    """The chapter's page, as the page runs loaded it, has its button."""
    buttons = page_runs.get(f"{chapter}.html", {}).get("buttons")
    assert buttons is not None, f"{chapter}: its page was not loaded (see its page test)"
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


# The chapter the keyboard test walks: it has solutions in dropdowns and hidden code cells.
KEYBOARD_CHAPTER = "book/overlap_and_ties.html"
# What the walk must reach, by the selector of the element Tab stops at.
KEYBOARD_TARGETS = {
    "run in your browser": "a.lite-launch-button",
    "solution toggle": ".solution.dropdown button.toggle-button",
    "code cell toggle": "details.hide > summary",
}
# One Tab: where focus is now, whether it shows, and which target it is (the first one of each
# kind is kept as window.kbTargets[kind]). A focus indicator is an outline, or a box shadow that
# is not transparent and not all zeros, read after the element's transitions have finished.
KEYBOARD_STOP = """(targets) => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  el.getAnimations().forEach(a => a.finish());
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow !== 'none' && s.boxShadow.split(/,(?![^(]*\\))/).some(layer => {
    const colour = layer.match(/rgba?\\([^)]*\\)/);
    const alpha = colour ? colour[0].split(',')[3] : undefined;
    const lengths = layer.replace(/rgba?\\([^)]*\\)/, '').match(/-?[\\d.]+px/g) || [];
    const transparent = alpha !== undefined && parseFloat(alpha) === 0;
    return !transparent && lengths.some(l => parseFloat(l) !== 0);
  });
  window.kbTargets = window.kbTargets || {};
  const kind = Object.keys(targets).find(k => el.matches(targets[k]));
  if (kind && !window.kbTargets[kind]) window.kbTargets[kind] = el;
  return {
    kind: kind || null, visible: outline || shadow,
    what: `${el.tagName.toLowerCase()}.${String(el.className.baseVal ?? el.className)
           .split(' ').join('.')} "${(el.textContent || '').trim().slice(0, 40)}"`,
  };
}"""
# Whether what a target toggles is shown.
KEYBOARD_SHOWN = """(kind) => {
  // sphinx-togglebutton hides a solution with visibility, opacity and height 0, in 0.3 s
  const shown = (e) => e.checkVisibility({visibilityProperty: true, opacityProperty: true})
                       && e.getBoundingClientRect().height > 0;
  const el = window.kbTargets[kind];
  el.closest('.admonition, details').getAnimations({subtree: true}).forEach(a => a.finish());
  if (kind === 'code cell toggle') {
    const details = el.closest('details');
    return details.open && shown(details.querySelector(':scope > :not(summary)'));
  }
  return shown(el.closest('.admonition').querySelector(':scope > :not(.admonition-title)'));
}"""


def test_keyboard_reaches_and_opens_the_chapter_controls(browser, site):
    """Tab alone reaches the button and the toggles, Enter/Space work them, focus shows."""
    started = time.perf_counter()
    targets = dict(KEYBOARD_TARGETS)
    if os.environ.get("POOLING_LAB_LITE") == "0":  # a build without the in-browser site
        del targets["run in your browser"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
    page.goto(site + KEYBOARD_CHAPTER, wait_until="load")
    page.evaluate("async () => { await MathJax.startup.promise; }")
    page.wait_for_selector(targets["solution toggle"], state="attached")  # togglebutton.js

    stops, first = [], None
    for _ in range(600):  # once round the page, back to where the walk began
        page.keyboard.press("Tab")
        stop = page.evaluate(KEYBOARD_STOP, targets)
        if stop is None:
            continue
        if stop["what"] == first:
            break
        first = first or stop["what"]
        stops.append(stop)
    else:
        pytest.fail(f"{KEYBOARD_CHAPTER}: Tab never came back round to {first!r}")
    reached = {stop["kind"] for stop in stops}
    missing = [kind for kind in targets if kind not in reached]
    assert not missing, f"{KEYBOARD_CHAPTER}: Tab never reaches the {missing}"
    unseen = sorted({stop["what"] for stop in stops if not stop["visible"]})
    assert not unseen, f"{KEYBOARD_CHAPTER}: focus is not visible on {unseen}"

    for kind in ("solution toggle", "code cell toggle"):
        page.evaluate("(kind) => window.kbTargets[kind].focus()", kind)
        assert not page.evaluate(KEYBOARD_SHOWN, kind), f"{kind}: open before Enter"
        page.keyboard.press("Enter")
        assert page.evaluate(KEYBOARD_SHOWN, kind), f"{kind}: Enter does not open it"
        page.keyboard.press("Space")
        assert not page.evaluate(KEYBOARD_SHOWN, kind), f"{kind}: Space does not close it"
        page.keyboard.press("Space")
        assert page.evaluate(KEYBOARD_SHOWN, kind), f"{kind}: Space does not open it"

    if "run in your browser" in targets:
        # Enter follows the link; the in-browser site itself is test_lite_browser.py's, so
        # its page is answered here with a stub rather than loaded.
        page.route(
            "**/lite/**", lambda r: r.fulfill(body="<title>lite</title>", content_type="text/html")
        )
        page.evaluate("() => window.kbTargets['run in your browser'].focus()")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        chapter = KEYBOARD_CHAPTER.removesuffix(".html")
        assert page.url.endswith(f"/lite/notebooks/index.html?path={chapter}.ipynb"), page.url
    page.close()
    TIMES["keyboard walk"] = time.perf_counter() - started
    print(f"keyboard walk: {len(stops)} Tab stops, {TIMES['keyboard walk']:.1f} s")
