"""Open every chapter's notebook in the in-browser site (JupyterLite, Pyodide) and run it.

The site is the one the book build puts in ``_build/html/lite`` (fixture ``site`` in
conftest.py, shared with test_book_browser.py), served on 127.0.0.1 to headless Chromium that
cannot reach anything else. For each notebook chapter of ``_toc.yml``:

- the notebook opens with the ``python`` (Pyodide) kernel, and no dialog asks for a kernel;
- "Run all" runs every cell, top to bottom, without an error (the chapter's own asserts check
  its claims);
- every code cell's output is the one stored in ``book/<chapter>.ipynb``, compared as nbval
  compares it in ``make test`` (see ``nbval_view``): so the stored outputs hold on a 32-bit,
  non-x86 platform too. Cells nbval does not compare are not compared here either: those
  tagged ``nbval-ignore-output`` (the cells of tests/output_rules.py) or ``nbval-skip``. Cells
  the staging adds (``lite-setup``, ``lite-stub-*``) have no stored output; the few cells it
  changes on purpose (``lite_stage.BROWSER_CHANGES``: the CNN chapter trains fewer epochs in
  the browser) must print the stored output with the declared change applied;
- no rendered Markdown cell shows raw MyST (directives, roles, labels, options);
- every coding exercise has its stub cell, which ran and reported through its checker; and the
  exercise's own solution, run in that kernel, passes the checker;
- no request left the machine, and the console shows no error.

One more test runs the package's docstring examples in the browser, in the kernel of one short
chapter (DOCTEST_CHAPTER) after its own cells: Pyodide is a 32-bit (wasm32) platform, where
NumPy's default integer is int32.

The chapters run two at a time (POOLING_LAB_LITE_PARALLEL), longest first
(MEASURED_SECONDS), each in a new page of its lane's browser profile, the site's storage
cleared first (``CLEARED``): a fresh kernel, nothing an earlier chapter stored, only the
browser's caches kept.
``pytest -s`` prints where the time went. Screenshots go to ``_build/screenshots/lite__*.png``.
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import html
import json
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest
from helpers import BackgroundJob, in_background, leaves_the_machine
from nbval.plugin import (
    coalesce_streams,
    find_comment_markers,
    find_metadata_tags,
    transform_streams_for_comparison,
)
from output_rules import MACHINE_DEPENDENT

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "screenshots"
sys.path.insert(0, str(ROOT / "scripts"))
import lite_stage  # noqa: E402

# POOLING_LAB_LITE_CHAPTERS=book/a,book/b runs only those (while writing a chapter).
CHAPTERS = [
    c
    for c in lite_stage.notebook_chapters()
    if c in os.environ.get("POOLING_LAB_LITE_CHAPTERS", c).split(",")
]
# Two at a time: on the 2-core machine, one at a time took 1.28 times as long, three at a time
# as long as two (the browser's compile threads and renderer keep a second core busy).
PARALLEL = int(os.environ.get("POOLING_LAB_LITE_PARALLEL", "2"))
# Seconds each run took, two at a time, on this project's idle 2-core machine (pytest -s prints
# them; the first run of each lane also fills its browser caches): the runs start longest
# first, so that the lanes end together. A notebook not listed counts as 30 s. The whole is
# CPU-bound, and each run starts a fresh Pyodide kernel, 7-10 s of it. The lane's caches
# (see ``lane``) took about 2 s off every later run: 151 s for all, against 183 s with a fresh
# incognito context per run. (An earlier try at one context per lane had kept request
# interception on, which turns the HTTP cache off, and measured no gain.)
MEASURED_SECONDS = {
    "book/cnn_digits": 76,
    "book/worked_example": 37,  # with the package's doctests (DOCTEST_CHAPTER)
    "book/beyond_max": 26,
    "book/pooling_3d_fractional": 21,
    "book/maxpool_forward": 21,
    "book/making_it_fast": 21,
    "book/network_backward": 19,
    "book/maxpool_backward": 18,
    "book/overlap_and_ties": 18,
    "book/max_derivative": 17,
    "book/chain_rule": 14,
}
# The package's docstring examples run in the kernel of this short chapter, after its own
# cells: a kernel of its own would spend 10-15 s of CPU starting Pyodide again.
DOCTEST_CHAPTER = "book/worked_example"
TIMEOUT_MS = 30 * 60 * 1000  # one chapter, under the worst load seen on a shared machine

# Console messages that are not the site's fault, and why.
KNOWN_CONSOLE_ERRORS: dict[str, str] = {}

OPENED = "() => { const p = window.jupyterapp && jupyterapp.shell.currentWidget;"
OPENED += " return !!(p && p.sessionContext && p.context); }"

READY = """async () => {
  const panel = jupyterapp.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  return {
    kernel: panel.sessionContext.session?.kernel?.name ?? null,
    dialogs: [...document.querySelectorAll('.jp-Dialog')].map(d => d.innerText),
  };
}"""

# Runs every cell; returns each execution's seconds (execution count -> seconds, from the
# kernel's execute_input message to its idle status), and the seconds until the first cell
# started (the kernel loads Pyodide and its own packages first).
RUN_ALL = """async () => {
  const panel = jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  const count = {}, began = {}, seconds = {}, start = performance.now();
  const clock = (_, msg) => {
    const parent = msg.parent_header && msg.parent_header.msg_id;
    if (msg.header.msg_type === 'execute_input') {
      if (!('boot' in seconds)) seconds.boot = (performance.now() - start) / 1000;
      count[parent] = msg.content.execution_count;
      began[parent] = performance.now();
    } else if (msg.header.msg_type === 'status' && msg.content.execution_state === 'idle'
               && parent in began) {
      seconds[count[parent]] = (performance.now() - began[parent]) / 1000;
    }
  };
  kernel.iopubMessage.connect(clock);
  await jupyterapp.commands.execute('notebook:run-all-cells');
  while (kernel.status !== 'idle') { await new Promise(done => setTimeout(done, 250)); }
  kernel.iopubMessage.disconnect(clock);
  return seconds;
}"""

REPORT = """() => jupyterapp.shell.currentWidget.content.widgets.map(cell => {
  const m = cell.model;
  const outputs = m.type === 'code' ? m.outputs.toJSON() : [];
  const rendered = cell.node.querySelector('.jp-RenderedMarkdown');
  return {
    id: m.id, type: m.type, count: m.type === 'code' ? m.executionCount : null,
    source: m.sharedModel.getSource(), outputs,
    errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
    text: outputs.map(o => [].concat(o.text || (o.data && o.data['text/plain']) || []).join(''))
                 .join(''),
    images: outputs.filter(o => o.data && o.data['image/png']).length,
    markdown: m.type === 'markdown' ? (rendered ? rendered.innerText : null) : null,
  };
})"""

EXECUTE = """async (code) => {
  const kernel = jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, store_history: false});
  let out = '';
  future.onIOPub = msg => {
    const kind = msg.header.msg_type;
    if (kind === 'stream') out += msg.content.text;
    if (kind === 'execute_result') out += msg.content.data['text/plain'] + '\\n';
    if (kind === 'error') out += 'ERROR ' + msg.content.ename + ': ' + msg.content.evalue + '\\n';
  };
  await future.done;
  return out;
}"""

SHOW_EXERCISE = """() => {
  const cells = jupyterapp.shell.currentWidget.content.widgets;
  const stub = cells.find(c => c.model.id.startsWith('lite-stub-')) || cells[cells.length - 1];
  stub.node.scrollIntoView({block: 'center'});
}"""

DOCTESTS = """
import doctest, importlib, pkgutil
import numpy as np
import pooling_lab
failed, tried, report = 0, 0, []
for info in pkgutil.walk_packages(pooling_lab.__path__, "pooling_lab."):
    module = importlib.import_module(info.name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False
    )
    for test in finder.find(module):
        runner.run(test, out=report.append)
    failed += runner.failures
    tried += runner.tries
print("platform int:", np.dtype(np.intp), "default int:", np.array([1]).dtype)
print(f"doctests: {tried} examples, {failed} failed")
print("".join(report))
"""


@functools.cache
def _exercises() -> dict[str, list[lite_stage.Exercise]]:
    """Every chapter's coding exercises, read once (the fixture does it as the runs begin)."""
    return lite_stage.coding_exercises()


def _checks(chapter: str) -> list[lite_stage.Exercise]:
    return _exercises()[chapter]


# What is cleared for the site's origin before each chapter: everything a page can store. The
# HTTP cache and V8's compiled-code cache are not storage of the origin, and stay.
CLEARED = "indexeddb,local_storage,service_workers,cache_storage,websql,file_systems"


async def _open(context, site: str, chapter: str, record: dict):
    """A new page of the lane's profile showing the chapter's notebook, its kernel ready."""
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    # a clean start: no notebook, workspace or setting an earlier chapter left behind
    await cdp.send(
        "Storage.clearDataForOrigin", {"origin": site.rstrip("/"), "storageTypes": CLEARED}
    )
    await cdp.detach()
    page.set_default_timeout(TIMEOUT_MS)
    guess = f"{site}favicon.ico"

    def console(message):
        # A browser profile on disk (not an incognito one) also asks the server's root for a
        # favicon no page names, and logs its 404; a file the site does name and lacks is
        # still caught, as a console error and by the response listener.
        if message.type == "error" and message.location.get("url") != guess:
            record["console"].append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda e: record["console"].append(str(e)))
    page.on(
        "response",
        lambda r: record["missing"].append(r.url) if r.status >= 400 else None,
    )
    started = time.monotonic()
    await page.goto(f"{site}lite/notebooks/index.html?path={chapter}.ipynb")
    await page.wait_for_function(OPENED, timeout=TIMEOUT_MS)
    record.update(await page.evaluate(READY))
    record["kernel_seconds"] = time.monotonic() - started
    return page


async def _run_chapter(context, site: str, record: dict, *, chapter: str) -> None:
    """Run ``chapter`` in a new page of ``context``, filling ``record`` as it goes (so that
    what was read before a crash is kept, and the lane's request listener can add to it)."""
    record.update({"outside": [], "console": [], "missing": [], "solutions": {}})
    page = await _open(context, site, chapter, record)
    try:
        started = time.monotonic()
        seconds = await page.evaluate(RUN_ALL)
        record["run_seconds"] = time.monotonic() - started
        record["cells"] = await page.evaluate(REPORT)
        record["boot_seconds"] = seconds.get("boot", 0.0)
        for cell in record["cells"]:
            cell["seconds"] = seconds.get(str(cell["count"]))
        for ex in _checks(chapter):
            code = lite_stage.solution_code(ex.solution)
            if not re.search(rf"^def {ex.function}\(", code, re.M):
                record["solutions"][ex.label] = None  # the solution is prose, not code
                continue
            run = f"from pooling_lab.exercises import {ex.checker}\n{code}\n"
            run += f"print(repr({ex.checker}({ex.function})))"
            record["solutions"][ex.label] = await page.evaluate(EXECUTE, run)
        if chapter == DOCTEST_CHAPTER:
            started = time.monotonic()
            # pooling-lab is installed already, so name scikit-learn (its `lite` extra) too
            await page.evaluate(EXECUTE, "%pip install pooling-lab[lite] scikit-learn")
            record["doctests"] = await page.evaluate(EXECUTE, DOCTESTS)
            record["doctest_seconds"] = time.monotonic() - started
        for doc, cell_id in lite_stage.LIVE_IN_BROWSER:
            if doc == chapter:
                record.setdefault("live", {})[cell_id] = await _operate_explorer(page, cell_id)
        await page.evaluate(SHOW_EXERCISE)  # the picture shows the first exercise, or the end
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / f"lite__{chapter.replace('/', '__')}.png"))
    finally:
        await page.close()


# The pooling explorer (pooling_lab.plots.explorer) operated as a reader would: choices with the
# mouse, and the ceil_mode checkbox with the keyboard (Space on the focused box). After each
# move, what it shows: the summary lines and the drawing's description (its SVG <title>), which
# test_the_explorer_responds_in_the_browser holds to pooling_lab.plots.explorer_state for the
# same settings.
EXPLORER_MOVES = (
    ("kernel size", "3", {"kernel_size": 3}),
    ("ceil_mode", "Space", {"ceil_mode": True}),
    ("stride", "1", {"stride": 1}),
    ("input", "ties", {"preset": "ties"}),
)
MARK_CELL = """(id) => {
  const cell = jupyterapp.shell.currentWidget.content.widgets.find(c => c.model.id === id);
  cell.node.setAttribute('data-pl-cell', id);
  cell.node.scrollIntoView({block: 'start'});
}"""
EXPLORER_SHOWS = """(node) => ({
  summary: [...node.querySelectorAll('.widget-html-content p')].map(p => p.innerText),
  title: (node.querySelector('.widget-html-content svg title') || {}).textContent || null,
})"""


async def _operate_explorer(page, cell_id: str) -> list[dict]:
    await page.evaluate(MARK_CELL, cell_id)
    cell = page.locator(f'[data-pl-cell="{cell_id}"]')
    # the widgets' frontend renders them once the kernel's comm messages arrive
    await cell.locator(".widget-html-content svg").wait_for(timeout=60_000)
    shown = [await cell.evaluate(EXPLORER_SHOWS)]
    for label, key, _ in EXPLORER_MOVES:
        before = shown[-1]["summary"]
        if key == "Space":  # a checkbox, found by its accessible name
            box = cell.get_by_role("checkbox", name=label)
            await box.focus()
            await box.press(key)
        else:
            control = cell.locator(f".jupyter-widgets:has(> label:text-is('{label}'))")
            await control.locator("select").select_option(key)
        await page.wait_for_function(
            """([node, before]) => [...node.querySelectorAll('.widget-html-content p')]
                 .map(p => p.innerText).join('\\n') !== before.join('\\n')""",
            arg=[await cell.element_handle(), before],
            timeout=30_000,
        )
        shown.append(await cell.evaluate(EXPLORER_SHOWS))
    return shown


async def _run_everything(site: str, launch_options: dict) -> dict:
    from playwright.async_api import async_playwright

    results: dict[str, dict] = {}
    jobs = {c: functools.partial(_run_chapter, chapter=c) for c in CHAPTERS}
    # Longest first (longest-processing-time scheduling): each lane takes the next run when it
    # is free, so the long ones do not run alone at the end.
    queue = sorted(jobs, key=lambda name: -MEASURED_SECONDS.get(name, 30))
    origin = time.monotonic()
    async with async_playwright() as p:

        async def lane():
            # One browser profile per lane, on disk: a chapter after the first loads the site's
            # files from its HTTP cache and their compiled code from V8's cache, about 2 s less
            # per chapter than a fresh (incognito) context. No request interception: it would
            # turn that cache off. The launch options' proxy already stops every request that
            # is not for 127.0.0.1; the listener records them.
            with tempfile.TemporaryDirectory(prefix="pooling-lab-lite-") as profile:
                context = await p.chromium.launch_persistent_context(
                    profile,
                    viewport={"width": 1280, "height": 900},
                    **in_background(launch_options, Path(profile)),
                )
                current: dict = {}

                def outside(request):
                    # every request of the lane's pages and their workers
                    if leaves_the_machine(request.url):
                        current.setdefault("outside", []).append(request.url)

                context.on("request", outside)
                try:
                    while queue:
                        name = queue.pop(0)
                        began = time.monotonic() - origin
                        current = results[name] = {}
                        try:
                            await jobs[name](context, site, current)
                        except Exception as err:  # reported by the test of that chapter
                            current["crash"] = f"{type(err).__name__}: {err}"
                        current["span"] = (began, time.monotonic() - origin)
                finally:
                    await context.close()

        await asyncio.gather(*(lane() for _ in range(PARALLEL)))
    return results


# The in-browser runs of every chapter: minutes of both cores, in the background.
RUNS = BackgroundJob()
# Each chapter's notebook as it was when the runs began (the site was built from it just
# before), for the comparison of outputs.
STORED: dict[str, nbformat.NotebookNode] = {}


def start_runs(site: str, launch_options: dict) -> None:
    """Start every chapter's in-browser run (once); the ``site`` fixture calls this."""
    if RUNS.thread is None:
        STORED.update({c: _read_stored(c) for c in CHAPTERS})
        _exercises()
    RUNS.start(lambda: _run_everything(site, launch_options))


@pytest.fixture(scope="module")
def lite_runs(site, launch_options):
    """Every chapter run in the browser (two at a time), keyed by chapter.

    ``results["_stored"]`` holds each chapter's notebook as it was when the runs began.
    """
    start_runs(site, launch_options)  # if the site fixture has not already
    results = RUNS.wait()
    results["_stored"] = STORED
    results["_seconds"] = time.monotonic() - RUNS.started
    print(f"[lite] ran {len(CHAPTERS)} notebooks in the browser in {results['_seconds']:.0f} s")
    _print_timings(results)
    return results


def _print_timings(results: dict) -> None:
    """Where the time went (pytest -s shows it): per notebook, in the order they started."""
    print("[lite] notebook                  start   end  page  boot setup  cells  slowest cell")
    runs = [(name, r) for name, r in results.items() if isinstance(r, dict) and "span" in r]
    for name, r in sorted(runs, key=lambda item: item[1]["span"][0]):
        cells = [c for c in r.get("cells", []) if c["type"] == "code" and c["seconds"]]
        setup = sum(c["seconds"] for c in cells if c["id"] == "lite-setup")
        rest = sum(c["seconds"] for c in cells if c["id"] != "lite-setup")
        if "doctest_seconds" in r:  # the chapter, then the doctests in its kernel
            rest += r["doctest_seconds"]
        slow = max(cells, key=lambda c: c["seconds"], default=None)
        print(
            f"[lite] {name:25} {r['span'][0]:5.0f} {r['span'][1]:5.0f} "
            f"{r.get('kernel_seconds', 0):5.1f} {r.get('boot_seconds', 0):5.1f} "
            f"{setup:5.1f} {rest:6.1f}  "
            + (f"{slow['id']} {slow['seconds']:.1f} s" if slow else r.get("crash", ""))
        )
        slow_cells = [f"{c['id']} {c['seconds']:.1f}" for c in cells if c["seconds"] >= 3]
        if len(slow_cells) > 1:
            print(f"[lite]   cells of 3 s or more: {', '.join(slow_cells)}")


# ---------------------------------------------------------------------------------------------
# Outputs compared as nbval compares them (nbval/plugin.py, version 0.11): per code cell, the
# outputs' streams are merged by name (coalesce_streams, which also applies \r and \b), then
# every key of every output, with the MIME types of ``data`` flattened into keys, except these
# (IPyNbFile.skip_compare without --nbdime) ...
NBVAL_NOT_COMPARED = (
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
)
# ... is compared value by value, in order, with the same set of keys on both sides. The
# project runs nbval strict (--nbval) with no sanitizer file, so every code cell is compared
# unless a tag or comment marker says otherwise, or the stored cell never ran.
STAGING_ADDED = re.compile(r"^lite-setup$|^lite-stub-")  # cells lite_stage.py adds


def _read_stored(chapter: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)


def nbval_compares(cell: nbformat.NotebookNode) -> bool:
    """Whether ``pytest --nbval`` compares this stored code cell's outputs."""
    options = defaultdict(bool, find_metadata_tags(cell.metadata))
    options.update(dict(find_comment_markers(cell.source)))
    options.setdefault("check", True)  # strict mode: unmarked cells are checked
    return bool(options["check"]) and not options["skip"] and cell.execution_count is not None


def nbval_view(outputs: list[dict]) -> dict[str, list]:
    """The outputs as nbval compares them: key -> its values, in order."""
    nodes = []
    for out in outputs:
        out = json.loads(json.dumps(out))  # a copy: coalescing edits the texts
        if isinstance(out.get("text"), list):
            out["text"] = "".join(out["text"])
        for key, value in out.get("data", {}).items():
            if isinstance(value, list) and not key.endswith("json"):
                out["data"][key] = "".join(value)
        nodes.append(nbformat.from_dict(out))
    view: dict[str, list] = defaultdict(list)
    for out in transform_streams_for_comparison(coalesce_streams(nodes)):
        for key, value in out.items():
            if key == "data":
                for mime, data in value.items():
                    if mime not in NBVAL_NOT_COMPARED:
                        view[mime].append(data)
            elif key not in NBVAL_NOT_COMPARED:
                view[key].append(value)
    return dict(view)


def _as_lines(view: dict[str, list]) -> list[str]:
    lines = []
    for key in sorted(view):
        for value in view[key]:
            lines.append(f"[{key}]")
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            lines.extend(text.splitlines())
    return lines


def output_diff(stored: dict[str, list], browser: dict[str, list], limit: int = 40) -> str:
    """A short unified diff of two nbval views ("[key]" heads each value)."""
    diff = list(
        difflib.unified_diff(
            _as_lines(stored), _as_lines(browser), "stored", "browser", n=1, lineterm=""
        )
    )
    if len(diff) > limit:
        diff = [*diff[:limit], f"... ({len(diff) - limit} more lines)"]
    return "\n".join(diff)


def output_mismatches(chapter: str, stored: nbformat.NotebookNode, cells: list[dict]) -> list:
    """(cell id, diff) for every compared code cell whose browser output is not the stored one.

    Stored and browser cells are matched by id; the browser's code cells must be the stored
    ones, with the same source and order, plus the cells the staging adds. A cell the staging
    changes on purpose (lite_stage.BROWSER_CHANGES) must have exactly the declared source, and
    the stored output with the declared replacements applied.
    """
    path = f"{chapter}.ipynb"
    ran = [c for c in cells if c["type"] == "code" and not STAGING_ADDED.search(c["id"])]
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert [c["id"] for c in ran] == [c.id for c in code], f"{chapter}: code cells differ"
    found = []
    for cell, got in zip(code, ran):
        change = lite_stage.BROWSER_CHANGES.get((chapter, cell.id))
        where = f"{chapter} {cell.id}"
        source = cell.source
        if change is not None:
            source = lite_stage.replace_once(source, change.source, where)
        assert got["source"] == source, f"{where}: source changed since staging"
        if not nbval_compares(cell) or (path, cell.id) in MACHINE_DEPENDENT:
            continue
        if (chapter, cell.id) in lite_stage.LIVE_IN_BROWSER:  # widgets there, a drawing here
            continue
        want, have = nbval_view(cell.outputs), nbval_view(got["outputs"])
        if change is not None:
            want = _changed_view(want, change.output, where)
        if want != have:
            found.append((cell.id, output_diff(want, have)))
    return found


def _changed_view(view: dict[str, list], replacements, where: str) -> dict[str, list]:
    """A stored output as the browser prints it, after a declared BrowserChange."""
    for old, new in replacements:
        hits = sum(v.count(old) for values in view.values() for v in values if isinstance(v, str))
        assert hits == 1, f"{where}: the browser change expects {old!r} once in its output"
        view = {
            key: [v.replace(old, new) if isinstance(v, str) else v for v in values]
            for key, values in view.items()
        }
    return view


def _no_outside_and_no_errors(name: str, record: dict) -> None:
    assert not record["outside"], f"{name}: requests that left the machine {record['outside']}"
    assert not record["missing"], f"{name}: requests the site could not answer {record['missing']}"
    unexpected = [
        e for e in record["console"] if not any(re.search(k, e) for k in KNOWN_CONSOLE_ERRORS)
    ]
    assert not unexpected, f"{name}: console errors {unexpected}"


def test_every_chapter_is_staged(site):
    """The toc's notebook chapters are the ones the site holds (nothing else, nothing less)."""
    staged = ROOT / "_build" / "html" / "lite" / "files"
    found = sorted(str(p.relative_to(staged).with_suffix("")) for p in staged.rglob("*.ipynb"))
    assert found == sorted(lite_stage.notebook_chapters())


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_in_the_browser(lite_runs, chapter):
    record = lite_runs[chapter]
    assert "crash" not in record, f"{chapter}: {record.get('crash')}"
    print(
        f"{chapter}: notebook open in {record['kernel_seconds']:.0f} s, all cells run in "
        f"{record['run_seconds']:.0f} s (the kernel starts in {record['boot_seconds']:.0f} s)"
    )
    assert record["kernel"] == "python", f"{chapter}: kernel {record['kernel']!r}"
    assert not record["dialogs"], f"{chapter}: a dialog opened: {record['dialogs']}"
    cells = record["cells"]
    code = [c for c in cells if c["type"] == "code"]
    errors = [(c["id"], c["errors"]) for c in code if c["errors"]]
    assert not errors, f"{chapter}: cells that raised {errors}"
    not_run = [c["id"] for c in code if c["count"] is None]
    assert not not_run, f"{chapter}: cells that did not run {not_run}"
    assert [c["count"] for c in code] == list(range(1, len(code) + 1)), "not top to bottom"
    for cell in cells:
        if cell["type"] != "markdown":
            continue
        assert cell["markdown"] is not None, f"{chapter}: markdown cell {cell['id']} not rendered"
        raw = lite_stage.RAW_MYST.search(cell["markdown"])
        assert raw is None, f"{chapter}: raw MyST {raw and raw[0]!r} shown in cell {cell['id']}"
    _no_outside_and_no_errors(chapter, record)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_outputs_are_the_stored_ones(lite_runs, chapter):
    """Each code cell prints in the browser what book/<chapter>.ipynb stores (as nbval compares)."""
    record = lite_runs[chapter]
    assert "crash" not in record, f"{chapter}: {record.get('crash')}"
    stored = lite_runs["_stored"][chapter]
    found = output_mismatches(chapter, stored, record["cells"])
    code = [c for c in stored.cells if c.cell_type == "code"]
    exempt = [c.id for c in code if not nbval_compares(c)]
    changed = [i for d, i in lite_stage.BROWSER_CHANGES if d == chapter]
    print(
        f"{chapter}: {len(code) - len(exempt)} of {len(code)} code cells compared "
        f"(not compared: {exempt}; changed on purpose in the browser: {changed})"
    )
    report = "\n\n".join(f"{chapter} cell {cell_id}:\n{diff}" for cell_id, diff in found)
    assert not found, f"outputs in the browser differ from the stored ones\n{report}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercises_can_be_done_in_the_browser(lite_runs, chapter):
    record = lite_runs[chapter]
    assert "crash" not in record, f"{chapter}: {record.get('crash')}"
    by_id = {c["id"]: c for c in record["cells"]}
    for ex in _checks(chapter):
        stub = by_id.get(f"lite-stub-{ex.label}")
        assert stub is not None, f"{chapter}: no stub cell for exercise {ex.label}"
        # the untouched stub ran, and its checker answered (it reports the missing code)
        assert f"FAIL {ex.checker}" in stub["text"], stub["text"]
        assert "NotImplementedError" in stub["text"], stub["text"]
        solved = record["solutions"][ex.label]
        if solved is not None:  # the exercise's own solution passes its checker here
            assert f"PASS {ex.checker}" in solved, f"{chapter} {ex.label}: {solved}"


@pytest.mark.parametrize("chapter, cell_id", sorted(lite_stage.LIVE_IN_BROWSER))
def test_the_explorer_responds_in_the_browser(lite_runs, chapter, cell_id):
    """Moved by keyboard and mouse, the explorer shows what explorer_state computes."""
    from pooling_lab.plots import explorer_state

    if chapter not in CHAPTERS:
        pytest.skip(f"{chapter} not run (POOLING_LAB_LITE_CHAPTERS)")
    record = lite_runs[chapter]
    assert "crash" not in record, f"{chapter}: {record.get('crash')}"
    shown = record["live"][cell_id]
    settings: dict = {}
    for step, seen in enumerate(shown):
        if step:
            settings.update(EXPLORER_MOVES[step - 1][2])
        want = explorer_state(**settings)
        assert seen["summary"][: len(want["summary"])] == want["summary"], (step, settings)
        assert seen["summary"][len(want["summary"]) :] == want["formula"], (step, settings)
        title = want["svg"].split("<title", 1)[1].split(">", 1)[1].split("</title>", 1)[0]
        assert seen["title"] == html.unescape(title), (step, settings)
    assert shown[0]["summary"][0] == "output size: 3 x 3"  # kernel 2, stride 2 on 6x6
    assert shown[2]["summary"][0] == "output size: 3 x 3"  # kernel 3, stride 2, ceil_mode
    assert shown[-1]["summary"][0] == "output size: 4 x 4"  # kernel 3, stride 1
    _no_outside_and_no_errors(chapter, record)


def test_package_doctests_pass_on_wasm32(lite_runs):
    if DOCTEST_CHAPTER not in CHAPTERS:
        pytest.skip(f"{DOCTEST_CHAPTER} not run (POOLING_LAB_LITE_CHAPTERS)")
    record = lite_runs[DOCTEST_CHAPTER]
    assert "crash" not in record, record.get("crash")
    output = record["doctests"]
    assert "platform int: int32" in output, output  # it really ran on a 32-bit platform
    found = re.search(r"doctests: (\d+) examples, (\d+) failed", output)
    assert found and int(found[1]) > 100 and found[2] == "0", output
    _no_outside_and_no_errors(DOCTEST_CHAPTER, record)
