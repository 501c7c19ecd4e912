"""Shared settings and input generators for the pooling_lab tests."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=int(os.environ.get("POOLING_LAB_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("default")

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = Path(os.environ.get("POOLING_LAB_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("POOLING_LAB_REQUIRE_BROWSER") == "1"
# Chromium as the browser tests run it: headless, and unable to reach anything but this
# machine (every request goes to a proxy at a closed local port, except 127.0.0.1's). The tests
# also refuse and record any such request themselves.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
]


def missing_browser_tools() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright; never `playwright install`)"
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) is None:
        return "jupyter-book is not installed (pip install -e '.[book]')"
    return None


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A browser that closes a connection before a reply is written (it navigated on, or
        # the page was closed) makes the write fail with BrokenPipeError: no test's concern,
        # and its traceback in the output looked like one. Every other error is still shown.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def site(request, launch_options):
    """Build the book (and its in-browser site) once with -W, serve it on 127.0.0.1.

    Yields the base URL. The browser tests of the pages and of the in-browser notebooks share
    this one build.
    """
    reason = missing_browser_tools()
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
    for line in build.stdout.splitlines():
        if line.startswith("[lite]"):
            print(line)  # how long the in-browser site took (pytest -s shows it)
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    # The background jobs (the chapters' in-browser runs, minutes of both cores; the pages
    # opened and read): for each that a test of this session needs, start it now, so that the
    # tests before those (which come last) run beside it (tests/test_lite_browser.py,
    # tests/test_book_browser.py).
    for fixture in ("lite_runs", "page_runs"):
        module = next(
            (
                item.module
                for item in request.session.items
                if fixture in getattr(item, "fixturenames", ())
            ),
            None,
        )
        if module is not None:
            module.start_runs(url, launch_options)
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def launch_options() -> dict:
    """Keyword arguments for Playwright's chromium.launch."""
    return {"executable_path": str(CHROMIUM), "headless": True, "args": CHROMIUM_ARGS}
