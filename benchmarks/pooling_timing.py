"""Timing helpers for ``bench_pooling.py``: interleaved rounds, thread blocks, machine load.

Kept apart from the script so that the rules of the measurement can be read on their own:

- every contender runs once per round, and the rounds interleave the contenders, so that a slow
  moment of a shared machine hits them all;
- PyTorch's thread count is a process-wide setting, so it is never changed inside a timed call:
  the contenders are grouped by the thread count they need, and the groups take turns in blocks
  of rounds, the count set once before each block (with one untimed call per PyTorch contender
  after the switch, which may wake or start its threads).
"""

from __future__ import annotations

import math
import os
import statistics
import time
import timeit
import tracemalloc
from collections.abc import Callable

import numpy as np


class Step:
    """One contender: a call to time, and the PyTorch thread count it needs (None: any)."""

    def __init__(self, run: Callable[[], object], threads: int | None = None) -> None:
        self.run, self.threads = run, threads


def interleaved_medians(
    steps: dict[str, Step],
    set_threads: Callable[[int], None] | None,
    repeats: int,
    budget: float,
    min_time: float = 0.0,
    block: int = 3,
) -> dict[str, float]:
    """Median seconds per step over interleaved rounds, grouped by thread count.

    Steps needing no particular thread count run in the first group (one thread, when PyTorch
    is there), beside single-threaded PyTorch. Rounds continue until every step has ``repeats``
    of them and ``min_time`` seconds have passed, or the ``budget`` is spent.
    """
    counts = sorted({s.threads for s in steps.values() if s.threads is not None})
    groups: dict[int | None, list[str]] = {t: [] for t in counts} or {None: []}
    first = next(iter(groups))
    for name, step in steps.items():
        groups[first if step.threads is None else step.threads].append(name)

    def switch(threads):
        if set_threads is not None and threads is not None:
            set_threads(threads)
            for name in groups[threads]:  # untimed: the first call after a switch
                if steps[name].threads is not None:
                    steps[name].run()

    for threads, names in groups.items():  # warm up: imports, page faults, cached plans
        switch(threads)
        for name in names:
            steps[name].run()
    times: dict[str, list[float]] = {name: [] for name in steps}
    start = time.perf_counter()
    while True:
        for threads, names in groups.items():
            switch(threads)
            for _ in range(block):
                for name in names:
                    t0 = time.perf_counter()
                    steps[name].run()
                    times[name].append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        rounds = min(len(ts) for ts in times.values())
        if elapsed > budget or (rounds >= repeats and elapsed >= min_time):
            break
    return {name: statistics.median(ts) for name, ts in times.items()}


def peak_extra_memory(run: Callable[[], object], nbytes: int) -> float:
    """Peak memory NumPy allocates during ``run()``, as a multiple of ``nbytes``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / nbytes


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (runnable processes), where the OS reports them."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def scalar_costs_ns(repeats: int = 5, number: int = 20_000) -> dict[str, float]:
    """What one step of the loop reference costs, operation by operation, in nanoseconds.

    The reference's inner loop reads ``plane[c]`` (a NumPy scalar indexed by a tuple), compares
    it with ``>`` and tests it with ``np.isnan``; a comparison of two Python floats is the
    floor a pure-Python loop could reach.
    """
    plane = np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32)
    value, best, coord = plane[3, 4], -math.inf, (3, 4)
    env = {"plane": plane, "value": value, "best": best, "coord": coord, "np": np}
    env["a"], env["b"] = 0.5, -0.25
    statements = {
        "numpy_scalar_index": "plane[coord]",
        "numpy_scalar_compare": "value > best",
        "numpy_isnan_on_scalar": "np.isnan(value)",
        "python_float_compare": "a > b",
    }
    return {
        name: round(
            min(timeit.repeat(stmt, globals=env, repeat=repeats, number=number)) / number * 1e9, 1
        )
        for name, stmt in statements.items()
    }
