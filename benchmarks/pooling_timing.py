"""Timing helpers for ``bench_pooling.py``: interleaved rounds, two clocks, paired ratios.

Kept apart from the script so that the rules of the measurement can be read on their own.

**Rounds.** Every contender runs once per round, and the rounds interleave the contenders, so
that a slow moment of the machine hits them all. Within a round the contenders run one after
the other, in an order that rotates by one from round to round (so no contender always runs
right after the same other one). PyTorch's thread count is a process-wide setting, so it is
never changed inside a timed call: the contenders are grouped by the thread count they need,
and the groups take turns in *blocks* of ``block`` rounds (3), the count set once before each
block, with one untimed call per PyTorch contender after the switch (which may wake or start
its threads). One *cycle* is one block of every group. Contenders that need no particular
thread count run in the first group's rounds; a contender marked ``every_block`` (pooling_lab's
layer, which every PyTorch contender is compared with) runs in every round of every group.

**Two clocks.** Every call is timed by wall time (``time.perf_counter``) and by CPU time:

- ``"process"`` (``time.process_time``, the CPU of all the process's threads) for PyTorch: with
  more than one thread it computes on several threads at once, and the wall time then shows
  only the longest of them; process CPU time is the compute all of them did.
- ``"thread"`` (``time.thread_time``, the calling thread's CPU) for NumPy code, pooling_lab
  included: it runs on the calling thread only, and thread CPU time leaves out what other
  threads of the process do meanwhile, such as PyTorch's OpenMP workers, which spin for a while
  after a parallel call before they sleep and would otherwise be charged to whatever runs next.

On a quiet machine a single-threaded contender's CPU time is its wall time less any time it was
descheduled or waiting for page faults to be served; the gap between the two clocks is itself a
sign of interference.

**Paired ratios.** A claim "A takes x times as long as B" is the per-round ratio of A's time to
B's, summarised by its quartiles (first, median, third), for each clock separately. Pairs are
made only between times measured close together:

- ``"same round"``: A and B both ran in round r; the ratio is A_r / B_r. This covers every pair
  inside one thread group, and pooling_lab's layer against every PyTorch contender (the layer
  runs in every block).
- ``"adjacent blocks"``, used only when A and B never share a round (two PyTorch contenders that
  need different thread counts): A's time in round j of its block of cycle c over B's time in
  round j of B's block of the same cycle c, the block that ran right before or after.

A term may be a sum of contenders measured in the same round (``"repeat_check+scatter_assign"``),
or the fastest of several in the same round (``"min(pooling_lab,pooling_lab_channels_last)"``:
the best layout, chosen round by round).
The raw times are in the report (:meth:`Rounds.to_json`), so every ratio can be re-derived:
``round_threads``, ``round_cycle`` and ``round_position`` say which block and cycle each round
belongs to, and ``wall_us`` / ``cpu_us`` hold every contender's time in each round (null where
it did not run), in microseconds rounded to 0.1. Every figure in the report is computed from
those rounded values.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

CLOCKS = {"thread": time.thread_time, "process": time.process_time}
CLOCK_NAMES = {"thread": "time.thread_time", "process": "time.process_time"}


class Step:
    """One contender: a call to time, the PyTorch thread count it needs (None: any), the CPU
    clock it is timed with (``"thread"`` or ``"process"``, see the module docstring), and
    whether it runs in every block (``every_block``) rather than in its group's only."""

    def __init__(
        self,
        run: Callable[[], object],
        threads: int | None = None,
        clock: str = "thread",
        every_block: bool = False,
    ) -> None:
        if clock not in CLOCKS:
            raise ValueError(f"clock must be one of {sorted(CLOCKS)}, not {clock!r}")
        self.run, self.threads, self.clock, self.every_block = run, threads, clock, every_block


@dataclass
class Rounds:
    """Every round's metadata and every contender's wall and CPU time in it (µs, or None)."""

    clocks: dict[str, str]
    threads: list[int | None] = field(default_factory=list)
    cycle: list[int] = field(default_factory=list)
    position: list[int] = field(default_factory=list)
    wall_us: dict[str, list[float | None]] = field(default_factory=dict)
    cpu_us: dict[str, list[float | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.clocks:
            self.wall_us.setdefault(name, [])
            self.cpu_us.setdefault(name, [])

    def start(self, threads: int | None, cycle: int, position: int) -> None:
        self.threads.append(threads)
        self.cycle.append(cycle)
        self.position.append(position)
        for name in self.clocks:
            self.wall_us[name].append(None)
            self.cpu_us[name].append(None)

    def record(self, name: str, wall: float, cpu: float) -> None:
        self.wall_us[name][-1] = round(wall * 1e6, 1)
        self.cpu_us[name][-1] = round(cpu * 1e6, 1)

    def count(self, name: str) -> int:
        return sum(v is not None for v in self.wall_us[name])

    def values(self, kind: str) -> dict[str, list[float | None]]:
        return {"wall": self.wall_us, "cpu": self.cpu_us}[kind]

    def to_json(self) -> dict:
        return {
            "round_threads": self.threads,
            "round_cycle": self.cycle,
            "round_position": self.position,
            "wall_us": self.wall_us,
            "cpu_us": self.cpu_us,
        }


def interleaved_rounds(
    steps: dict[str, Step],
    set_threads: Callable[[int], None] | None,
    repeats: int,
    budget: float,
    min_time: float = 0.0,
    block: int = 3,
) -> Rounds:
    """Time the steps in interleaved rounds, grouped by thread count (module docstring).

    Steps needing no particular thread count run in the first group (one thread, when PyTorch
    is there), beside single-threaded PyTorch. Cycles continue until every step has ``repeats``
    rounds and ``min_time`` seconds have passed, or the ``budget`` (seconds) is spent.
    """
    counts = sorted({s.threads for s in steps.values() if s.threads is not None})
    groups: dict[int | None, list[str]] = {t: [] for t in counts} or {None: []}
    first = next(iter(groups))
    for name, step in steps.items():
        if step.every_block:
            for names in groups.values():
                names.append(name)
        else:
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
    rounds = Rounds({name: step.clock for name, step in steps.items()})
    start, cycle = time.perf_counter(), 0
    while True:
        for threads, names in groups.items():
            switch(threads)
            for position in range(block):
                shift = len(rounds.threads) % len(names)
                rounds.start(threads, cycle, position)
                for name in names[shift:] + names[:shift]:
                    step = steps[name]
                    clock = CLOCKS[step.clock]
                    w0 = time.perf_counter()
                    c0 = clock()
                    step.run()
                    c1 = clock()
                    w1 = time.perf_counter()
                    rounds.record(name, w1 - w0, c1 - c0)
        cycle += 1
        elapsed = time.perf_counter() - start
        fewest = min(rounds.count(name) for name in steps)
        if elapsed > budget or (fewest >= repeats and elapsed >= min_time):
            return rounds


# ---------------------------------------------------------------------------- summaries


def sig(x: float, digits: int = 4) -> float:
    """``x`` rounded to ``digits`` significant digits."""
    return float(f"{x:.{digits}g}")


def quartiles(values: list[float], digits: int = 4) -> dict[str, float] | None:
    """First quartile, median and third quartile (statistics.quantiles, inclusive method)."""
    if not values:
        return None
    if len(values) == 1:
        q1 = q2 = q3 = values[0]
    else:
        q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {"q1": sig(q1, digits), "median": sig(q2, digits), "q3": sig(q3, digits)}


def paired_ratios(a: list[float | None], b: list[float | None]) -> list[float]:
    """The ratio a[r] / b[r] for every position r where both were measured (and b[r] > 0)."""
    return [x / y for x, y in zip(a, b) if x is not None and y is not None and y > 0]


def term_names(key: str) -> set[str]:
    """The contenders a comparison key or term names: "A/B", "A+B", "min(A,B)"."""
    for sep in ("/", "+", ",", "min(", ")"):
        key = key.replace(sep, " ")
    return set(key.split())


def column(rounds: Rounds, term: str, kind: str) -> list[float | None]:
    """Per round, the time of ``term`` in µs, by clock ``kind`` ("wall" or "cpu"): a
    contender; contenders joined by "+", summed when all of them ran in that round; or
    "min(A,B,...)", the fastest of them in a round where all of them ran (the best of several
    ways to do one thing, such as a layout)."""
    values = rounds.values(kind)
    if term.startswith("min(") and term.endswith(")"):
        names, combine = term[4:-1].split(","), min
    else:
        names, combine = term.split("+"), sum
    return [
        None if any(v is None for v in vs) else combine(vs)
        for vs in zip(*(values[name] for name in names))
    ]


def pair_columns(
    rounds: Rounds, a: list[float | None], b: list[float | None]
) -> tuple[list[float | None], list[float | None], str]:
    """Align two per-round columns for pairing (module docstring): the same rounds where they
    share any, else round j of A's block with round j of B's block of the same cycle."""
    if any(x is not None and y is not None for x, y in zip(a, b)):
        return a, b, "same round"
    where_b = {(c, p): y for c, p, y in zip(rounds.cycle, rounds.position, b) if y is not None}
    left, right = [], []
    for c, p, x in zip(rounds.cycle, rounds.position, a):
        if x is not None and (c, p) in where_b:
            left.append(x)
            right.append(where_b[(c, p)])
    return left, right, "adjacent blocks"


def comparison(rounds: Rounds, key: str) -> dict:
    """The paired ratio ``key`` = "A/B" (each side a term of :func:`column`), both clocks."""
    top, bottom = key.split("/")
    summary: dict = {}
    for kind in ("wall", "cpu"):
        a, b, pairing = pair_columns(
            rounds, column(rounds, top, kind), column(rounds, bottom, kind)
        )
        ratios = paired_ratios(a, b)
        summary[kind] = quartiles(ratios)
    return {"pairing": pairing, "pairs": len(ratios), **summary}


def per_round(rounds: Rounds, terms: list[str], fn: Callable[..., float]) -> dict:
    """Quartiles of ``fn(*times in µs)`` over the rounds where every term ran, both clocks."""
    result: dict = {}
    for kind in ("wall", "cpu"):
        cols = [column(rounds, t, kind) for t in terms]
        values = [fn(*vs) for vs in zip(*cols) if all(v is not None for v in vs)]
        result["rounds"] = len(values)
        result[kind] = quartiles(values)
    return result


def contender_summaries(rounds: Rounds, threads: dict[str, int | None]) -> dict:
    """Per contender: its thread count, CPU clock, rounds, and quartiles of both times in ms."""
    out = {}
    for name, clock in rounds.clocks.items():
        wall = [v / 1e3 for v in rounds.wall_us[name] if v is not None]
        cpu = [v / 1e3 for v in rounds.cpu_us[name] if v is not None]
        out[name] = {
            "threads": threads.get(name),
            "cpu_clock": CLOCK_NAMES[clock],
            "rounds": len(wall),
            "wall_ms": quartiles(wall),
            "cpu_ms": quartiles(cpu),
        }
    return out


def peak_extra_memory(run: Callable[[], object], nbytes: int) -> float:
    """Peak memory NumPy allocates during ``run()``, as a multiple of ``nbytes``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / nbytes
