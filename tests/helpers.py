"""Input generators, a measure of peak memory and a way to start the browser in the
background, shared by the pooling_lab tests."""

from __future__ import annotations

import asyncio
import shlex
import shutil
import threading
import time
import tracemalloc
from collections.abc import Callable, Coroutine
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np


def random_config(
    rng: np.random.Generator,
    n: int,
    *,
    dilation: bool = True,
    tie_heavy: bool | None = None,
    specials: bool = False,
    dtype=None,
) -> dict:
    """A random valid pooling problem: the input and the keyword arguments of a pool call.

    The spatial sizes are drawn so that the output has at least one element; with dilation a
    window may still miss the input, which callers handle.
    """
    kernel = tuple(int(k) for k in rng.integers(1, 5, n))
    stride = tuple(int(s) for s in rng.integers(1, 5, n))
    dil = tuple(int(d) for d in rng.integers(1, 4, n)) if dilation else (1,) * n
    pad = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    ceil_mode = bool(rng.integers(0, 2))
    spatial = []
    for k, p, d in zip(kernel, pad, dil):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        spatial.append(int(rng.integers(smallest, smallest + 7)))
    lead = [(int(rng.integers(1, 3)), int(rng.integers(1, 4))), (int(rng.integers(1, 4)),)][
        int(rng.integers(0, 2))
    ]
    shape = tuple(lead) + tuple(spatial)
    if tie_heavy is None:
        tie_heavy = bool(rng.integers(0, 2))
    if tie_heavy:  # small integers: many exact ties
        x = rng.integers(-2, 3, shape).astype(np.float64)
    else:
        x = rng.standard_normal(shape)
    if specials:
        for value in (np.nan, np.inf, -np.inf):
            mask = rng.random(shape) < 0.05
            x[mask] = value
    if dtype is None:
        dtype = (np.float32, np.float64)[int(rng.integers(0, 2))]
    return {
        "x": x.astype(dtype),
        "kernel_size": kernel,
        "stride": stride,
        "padding": pad,
        "dilation": dil,
        "ceil_mode": ceil_mode,
    }


def first_call_peak(run: Callable[[], object], limit: int, trials: int = 3) -> int:
    """Peak bytes traced while ``run()`` works on a fresh plan (the plan cache cleared first).

    tracemalloc counts the allocations of every thread, and in the suite the browser jobs work
    on threads of their own meanwhile (``BackgroundJob``): another thread can only add to a
    peak. So a trial over ``limit`` is run again, up to ``trials`` times in all,
    and the least peak counts.
    """
    from pooling_lab import _phases

    least = None
    for _ in range(trials):
        _phases.plan_for.cache_clear()  # a new plan: its reused buffers count too
        tracemalloc.start()
        try:
            run()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        least = peak if least is None else min(least, peak)
        if least <= limit:
            break
    return least


# The prefix that starts a background job's process at a lower priority, so that it yields the
# CPU to the suite's own thread, which runs one thing at a time and, when it was the last to
# finish, left one core idle for the last minute (root conftest.py); the jobs take what it
# leaves, and both cores once it is done. Empty where there is no ``nice``.
NICENESS = 10
LOWER_PRIORITY = [nice, "-n", str(NICENESS)] if (nice := shutil.which("nice")) else []
# ``nice`` alone is not enough where Linux groups processes by session (autogroup, on by
# default): each session shares the CPU with the others as an equal whatever its processes'
# nice values, and both Chromium (started by Playwright) and every Jupyter kernel start a
# session of their own. So each of them also lowers its session's own priority: it writes its
# nice value to /proc/self/autogroup (a kernel without autogroup has no such file).


def lower_session_priority() -> None:
    """Give this process's session (its autogroup) the priority of LOWER_PRIORITY, if it can."""
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(NICENESS))
    except OSError:
        pass


def leaves_the_machine(url: str) -> bool:
    """Whether a request for ``url`` would go to a network: an http(s) or websocket address
    not on 127.0.0.1 (blob: and data: URLs never reach one). The browser tests record every
    such request; the launch options' proxy stops them."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1"


def in_background(launch_options: dict, folder: Path) -> dict:
    """Playwright's launch options with Chromium started at LOWER_PRIORITY (the page runs of
    test_book_browser.py, the in-browser runs of test_lite_browser.py). The wrapper script
    goes in ``folder``."""
    if not LOWER_PRIORITY:
        return launch_options
    wrapper = folder / "chromium-nice"
    command = shlex.join([*LOWER_PRIORITY, launch_options["executable_path"]])
    # Playwright starts the browser in a session of its own: lower that session's priority too
    # (lower_session_priority, in the shell)
    group = f"echo {NICENESS} > /proc/self/autogroup 2>/dev/null"
    wrapper.write_text(f'#!/bin/sh\n{group}\nexec {command} "$@"\n')
    wrapper.chmod(0o755)
    return {**launch_options, "executable_path": str(wrapper)}


class BackgroundJob:
    """An asyncio job (Playwright's async API) run once, in a thread off pytest's.

    The ``site`` fixture (tests/conftest.py) starts the browser jobs as soon as the site is
    served, and the tests that use them come last in the suite (conftest.py at the root orders
    them), so the rest of the suite runs beside them instead of after them. A daemon thread,
    so that a suite stopped early does not wait for it; ``wait`` raises its error on pytest's
    thread.
    """

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.result = None
        self.error: BaseException | None = None
        self.started = 0.0

    def start(self, job: Callable[[], Coroutine]) -> None:
        """Run ``job()`` to completion in the background, unless it has been started."""
        if self.thread is not None:
            return

        def target():
            try:
                self.result = asyncio.run(job())
            except BaseException as err:  # raised again by wait(), on pytest's thread
                self.error = err

        self.started = time.monotonic()
        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def wait(self):
        """The job's result, once it has finished."""
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.result
