"""Every notebook's stored outputs hold at every SIMD level NumPy can dispatch to here.

The suite's own nbval run covers the machine's top level; this file covers each level below it
(tests/simd_levels.py says how, and runs them in the background while the suite goes on).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import simd_levels

LEVELS = simd_levels.levels()
TIMEOUT = 20 * 60  # per level, from the start of the suite, under the worst load expected


def test_this_machine_has_levels_below_its_top():
    # On x86-64 and ARM64 NumPy always has dispatch targets; an empty list would mean this
    # file silently checks nothing.
    assert simd_levels.supported_targets(), "NumPy reports no dispatch target on this CPU"


def test_every_notebook_runs_at_a_lower_level():
    # the baseline runs them all; only the CNN chapter is left out of the levels between
    assert simd_levels.notebooks("baseline") == sorted(simd_levels.ROOT.glob("book/*.ipynb"))
    for level in LEVELS:
        left_out = set(simd_levels.notebooks("baseline")) - set(simd_levels.notebooks(level))
        assert {p.name for p in left_out} <= set(simd_levels.ONE_LEVEL_ONLY)


def test_skipping_figures_drops_only_what_nbval_does_not_compare(tmp_path):
    """The runs draw no PNGs (simd_levels.PNG_OFF). That is sound only while nbval does not
    compare image/png and a figure keeps its compared text/plain output: a notebook stored
    with a drawn figure must pass nbval in such a run, and its figure output must be there."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"
    nb.cells = [nbformat.v4.new_code_cell(code)]
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    (figure,) = nb.cells[0].outputs
    assert {"image/png", "text/plain"} <= set(figure.data)  # stored as the book stores them
    path = tmp_path / "figure.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, "IPYTHONDIR": str(simd_levels.ipython_dir())}
    run = subprocess.run(
        simd_levels.nbval_command("baseline", [path]),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    # and in such a run the figure is not drawn: its output is the text part alone
    keys = subprocess.run(
        [sys.executable, "-c", SHOW_FIGURE_KEYS, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert keys.stdout.split() == ["text/plain"], keys.stdout + keys.stderr


SHOW_FIGURE_KEYS = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="python3", timeout=120).execute()
print(*sorted(nb.cells[0].outputs[0].data))
"""


@pytest.mark.parametrize("level", list(LEVELS))
def test_disabling_targets_reaches_the_level(level):
    disabled = LEVELS[level]
    enabled = simd_levels.enabled_targets(disabled)
    assert not set(enabled) & set(disabled), f"{level}: still enabled {enabled}"
    expected = [t for t in simd_levels.supported_targets() if t not in disabled]
    assert enabled == expected


@pytest.mark.parametrize("level", list(LEVELS))
def test_notebooks_match_stored_outputs_at_level(level):
    code, log = simd_levels.runs().result(level, TIMEOUT)
    summary = log.strip().splitlines()[-1] if log.strip() else "(no output)"
    failed = re.findall(r"^FAILED (.*)$", log, re.M)
    assert code == 0, (
        f"nbval with NPY_DISABLE_CPU_FEATURES={' '.join(LEVELS[level])!r}: {summary}\n"
        + "\n".join(failed)
        + f"\n(full log: _build/simd-levels/{level}.log)\n"
        + log[-4000:]
    )
    assert re.search(r"\d+ passed", summary), summary
