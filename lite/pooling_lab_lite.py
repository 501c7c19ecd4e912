"""Sphinx extension: every notebook chapter also runs in the reader's browser (JupyterLite).

At the start of an HTML build it stages the notebook chapters of ``_toc.yml``
(``scripts/lite_stage.py``), makes sure the pinned Pyodide is there and verified
(``scripts/lite_pyodide.py``), and builds the ``pooling_lab`` wheel; each chapter page gets a
"Run in your browser" button under its title; when the book is written, ``jupyter lite build``
turns all of it into ``_build/html/lite/``, a static site that needs no server and no network.

POOLING_LAB_LITE=0 builds the book without it (faster while writing; no buttons then).
PYODIDE_SOURCE=pypi|cdn|PATH chooses where Pyodide's files come from (see the README).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util.osutil import relative_uri

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import lite_pyodide  # noqa: E402
import lite_stage  # noqa: E402

LITE = ROOT / "lite"
SRC = ROOT / "_build" / "lite-src"  # the JupyterLite project the build assembles
OUT = "lite"  # below the book's HTML output
APP = "notebooks/index.html"  # the one-notebook interface
BUTTON = (
    '<div class="lite-launch"><a class="lite-launch-button" href="{href}">'
    "&#9654; Run in your browser</a> "
    '<span class="lite-launch-note">this chapter as a live notebook (JupyterLite): Python '
    "runs in your browser, nothing to install, no account</span></div>"
)


def enabled() -> bool:
    return os.environ.get("POOLING_LAB_LITE", "1") != "0"


def lite_url(notebook: str) -> str:
    """The site-relative address of a chapter's live notebook, e.g. for 'book/chain_rule'."""
    return f"{OUT}/{APP}?path={notebook}.ipynb"


def _prepare(app) -> None:
    app.lite_chapters = set()
    if app.builder.format != "html" or not enabled():
        return
    started = time.monotonic()
    try:
        staged = lite_stage.stage(SRC / "contents")
    except lite_stage.StageError as err:
        raise ExtensionError(f"staging the notebooks for the browser failed: {err}") from err
    app.lite_chapters = set(lite_stage.notebook_chapters())
    try:
        lite_pyodide.fetch(os.environ.get("PYODIDE_SOURCE") or "pypi", SRC / "static" / "pyodide")
    except lite_pyodide.FetchError as err:
        raise ExtensionError(f"the in-browser site needs Pyodide: {err}") from err
    _wheels(SRC / "pypi")
    for name in ("jupyter-lite.json", "jupyter_lite_config.json", "overrides.json"):
        shutil.copyfile(LITE / name, SRC / name)
    print(f"[lite] staged {len(staged)} notebooks in {time.monotonic() - started:.1f} s")


def _wheels(folder: Path) -> None:
    """pooling_lab's wheel, built from this checkout, and the pinned extra wheels."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("pooling_lab-*.whl"):
        old.unlink()
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder)]
    try:
        import setuptools

        if int(setuptools.__version__.split(".")[0]) >= 77:
            build.append("--no-build-isolation")  # offline once installed
    except ImportError:
        pass
    run = subprocess.run([*build, str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    if run.returncode != 0:
        raise ExtensionError(f"building the pooling_lab wheel failed:\n{run.stderr[-3000:]}")
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' scratch folder
    pins = LITE / "wheels.txt"
    have = {hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.whl")}
    wanted = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", pins.read_text()))
    if wanted <= have:
        return
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    cmd += ["--require-hashes", "-d", str(folder), "-r", str(pins)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise ExtensionError(
            f"pip could not download the wheels pinned in lite/wheels.txt:\n{run.stderr[-3000:]}"
        )


def _button(app, doctree, docname: str) -> None:
    """Put the chapter's "Run in your browser" button right under its title."""
    if docname not in getattr(app, "lite_chapters", ()):
        return
    href = relative_uri(app.builder.get_target_uri(docname), lite_url(docname))
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    title = next(iter(section.findall(nodes.title)), None)
    at = section.index(title) + 1 if title is not None else 0
    section.insert(at, nodes.raw("", BUTTON.format(href=href), format="html"))


def _build(app, error) -> None:
    if error is not None or not getattr(app, "lite_chapters", None):
        return
    started = time.monotonic()
    out = Path(app.outdir) / OUT
    # jupyter lite's task cache can skip the step that points the site at the bundled Pyodide
    # when only other files changed, leaving the CDN's address: always build from scratch.
    for db in SRC.glob(".jupyterlite.doit.db*"):
        db.unlink()
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "jupyter", "lite", "build", "--lite-dir", str(SRC)]
    cmd += ["--config", str(SRC / "jupyter_lite_config.json")]
    cmd += ["--contents", str(SRC / "contents"), "--output-dir", str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=SRC)
    if run.returncode != 0:
        raise ExtensionError(f"jupyter lite build failed:\n{(run.stdout + run.stderr)[-5000:]}")
    config = json.loads((out / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    if kernel.get("pyodideUrl") != "./static/pyodide/pyodide.js":
        raise ExtensionError(f"the lite site does not use the bundled Pyodide: {kernel}")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(
        f"[lite] JupyterLite site in {out} ({size / 1e6:.0f} MB) "
        f"built in {time.monotonic() - started:.0f} s"
    )


def setup(app):
    app.connect("builder-inited", _prepare)
    app.connect("doctree-resolved", _button)
    app.connect("build-finished", _build)
    app.add_css_file("lite.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
