"""Repository-wide pytest setup."""

import importlib.util
import os
import sys
from pathlib import Path

# One BLAS thread and one OpenMP thread (PyTorch's) for the suite, its notebooks' kernels and
# its subprocesses (they inherit the environment; NumPy and PyTorch read it when they load,
# which is after this file). The suite keeps both cores busy on its own (the notebooks at each
# SIMD level run beside the rest, the in-browser runs two at a time), so a second thread finds
# no free core and only spins. Measured: the CNN chapter ran in the same wall time with one
# BLAS thread as with two, on 45% less CPU; and the PyTorch parity tests, which took 6 s alone,
# took about 110 s inside the suite with PyTorch's two threads, each of its calls waiting at a
# barrier for a thread that had no core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# The figures need matplotlib (the `book` extra); without it their doctests cannot run.
collect_ignore = [] if importlib.util.find_spec("matplotlib") else ["pooling_lab/plots"]


# The order of the suite's own thread. The book's site is built first (its cheapest test asks
# for it), so that the background jobs that need it start from the beginning. The tests that
# check the background jobs come last: the pages', the in-browser runs', the SIMD levels'.
FIRST = "tests/test_book_browser.py::test_every_built_page_is_tested"
LAST = (
    "tests/test_book_browser.py",
    "tests/test_lite_browser.py",
    "tests/test_simd_levels.py",
)
# Tests in those files that check no background job and do work of their own (a browser of
# their own, a kernel of their own): with the rest of the thread's tests, while the cores are
# busy anyway, not at the end, where they ran with one core idle.
OWN_WORK = (
    "tests/test_book_browser.py::test_keyboard_reaches_and_opens_the_chapter_controls",
    "tests/test_simd_levels.py::test_skipping_figures_drops_only_what_nbval_does_not_compare",
)


def pytest_collection_modifyitems(session, config, items):
    """Order the suite's own thread (see FIRST and LAST).

    Three jobs run in the background, beside it, at a lower priority: the SIMD-level runs
    from the end of collection (tests/simd_levels.py); the pages opened and read, and the
    in-browser runs, from the moment the book's site is served (tests/test_book_browser.py,
    tests/test_lite_browser.py). The thread's own work goes first, and the jobs take the CPU it
    leaves, then both cores. When the thread ran the page tests itself and was the last to
    finish, one core was idle for the last minute (in-tree pytest: 348 s, against 323 s once
    the page tests ran in the background).
    """
    rank = {
        item: -1
        if item.nodeid == FIRST
        else 0
        if item.nodeid in OWN_WORK
        else next((i for i, f in enumerate(LAST) if item.nodeid.startswith(f)), -1) + 1
        for item in items
    }
    items.sort(key=rank.__getitem__)  # stable: each group keeps its order


def pytest_collection_finish(session):
    """Start the notebooks' runs at the lower SIMD levels in the background, if selected.

    They take a core for a few minutes; started now, they overlap with the rest of the suite
    instead of running after it (tests/simd_levels.py, tests/test_simd_levels.py).
    """
    if session.config.option.collectonly:
        return
    if any(item.nodeid.startswith("tests/test_simd_levels.py") for item in session.items):
        sys.path.insert(0, str(Path(__file__).parent / "tests"))
        import simd_levels

        simd_levels.runs().start()


def pytest_sessionfinish(session, exitstatus):
    simd_levels = sys.modules.get("simd_levels")
    if simd_levels is not None and simd_levels.RUNS is not None:
        simd_levels.RUNS.stop()
