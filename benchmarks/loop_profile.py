"""What one window of the loop reference costs, part by part (``bench_pooling.py``'s reference).

``pooling_lab.reference.max_pool`` (2-D) runs, per plane of the input::

    for out_pos in np.ndindex(*out_shape):                                  # per window
        coords = [c for c in _window(out_pos, ...) if _inside(c, spatial)]  # k*k generated
        if not coords: ...
        best_value, best_coord = -math.inf, coords[0]
        for c in coords:                                                    # per element visit
            value = plane[c]
            if value > best_value or np.isnan(value):  # isnan only where ">" is False
                best_value, best_coord = value, c                           # per takeover
        output[lead + out_pos] = plane[best_coord]
        indices[lead + out_pos] = np.ravel_multi_index(best_coord, spatial)

:data:`PARTS` lists each part as a statement written as the reference writes it, and what it is
paid per (a plane, a window, a generated coordinate, an element visit, ...). :func:`part_costs`
times each statement on its own with ``timeit`` and the calling thread's CPU time
(``time.thread_time``; the reference is single-threaded Python), names bound as locals as in the
reference's function body and modules as globals, and subtracts the cost of timeit's own loop
(an empty statement timed the same way). :func:`visit_counts` counts how often each part runs on
a given input, by running the reference's own loop (its ``_window`` and ``_inside``) on plain
Python floats with counters, and checks that it finds the reference's maxima.
:func:`model` multiplies the two and compares their sum with the reference's measured CPU time,
per call, per window and per element visit; it also splits the sum into the parts paid on each
element's value (:data:`ELEMENT_PARTS`) and the loop's bookkeeping (all the others).

What the sum leaves out: the call's own setup (argument checks, output allocation: once per
call, microseconds), and the effect of running the parts together rather than one at a time in
a tight loop (caches, branch predictors, the interpreter's specialisation of each line). Two
parts overlap a little: a step of the loop over the window's generated coordinates is in
``window_coordinates`` and again in ``keep_inside_step``.
"""

from __future__ import annotations

import math
import time
import timeit

import numpy as np
from pooling_timing import quartiles, sig

from pooling_lab.reference import _inside, _window, max_pool

# name, statement, what it is counted per, divide by the length of `coords` (a loop statement)
PARTS = [
    (
        "plane_setup",
        "next(positions)\nplane_ = x[lead]\npositions_ = np.ndindex(*out_shape)",
        "planes",
        False,
    ),
    ("next_window_position", "next(positions)", "windows", False),
    (
        "window_coordinates",
        "for c_ in _window(out_pos, kernel, stride, padding, dilation): pass",
        "windows",
        False,
    ),
    ("inside_check", "_inside(c, spatial)", "generated_coordinates", False),
    ("keep_inside_step", "[c_ for c_ in coords if c_]", "generated_coordinates", True),
    (
        "window_start",
        "if not coords: pass\nbest_value_, best_coord_ = -math.inf, coords[0]",
        "windows",
        False,
    ),
    ("visit_loop_step", "for c_ in coords: pass", "element_visits", True),
    ("read_scalar", "value_ = plane[c]", "element_visits", False),
    ("compare_with_minus_inf", "value > minus_inf", "comparisons_with_minus_inf", False),
    ("compare_scalars", "value > best_value", "comparisons_of_scalars", False),
    ("truth_test", "if falsy: pass", "truth_tests", False),
    ("isnan", "np.isnan(value)", "isnan_calls", False),
    ("takeover", "best_value_, best_coord_ = value, c", "takeovers", False),
    ("write_output", "output[lead + out_pos] = plane[best_coord]", "windows", False),
    (
        "write_index",
        "indices[lead + out_pos] = np.ravel_multi_index(best_coord, spatial)",
        "windows",
        False,
    ),
]


# The parts paid on every element visited, on its value; the rest is the loop's bookkeeping
# (window positions and coordinates, bounds checks, start values, writing the winner out).
ELEMENT_PARTS = (
    "visit_loop_step",
    "read_scalar",
    "compare_with_minus_inf",
    "compare_scalars",
    "truth_test",
    "isnan",
    "takeover",
)


def _environment(k: int, s: int, p: int) -> tuple[dict, dict]:
    """Locals and globals for the statements: one interior window of a 2-D float32 plane."""
    x = np.random.default_rng(0).standard_normal((1, 2, 24, 24)).astype(np.float32)
    lead, spatial = (0, 0), x.shape[-2:]
    kernel, stride, padding, dilation = (k, k), (s, s), (p, p), (1, 1)
    out_pos = (2, 3)
    coords = [c for c in _window(out_pos, kernel, stride, padding, dilation) if _inside(c, spatial)]
    plane = x[lead]
    out_shape = tuple((n + 2 * p - k) // s + 1 for n in spatial)
    local = {
        "x": x,
        "lead": lead,
        "plane": plane,
        "spatial": spatial,
        "out_shape": out_shape,
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "out_pos": out_pos,
        "coords": coords,
        "c": coords[-1],
        "value": plane[coords[-1]],
        "best_value": plane[coords[0]],
        "best_coord": coords[0],
        "minus_inf": -math.inf,
        "falsy": np.False_,  # what a False comparison of NumPy scalars returns
        "output": np.zeros(x.shape[:-2] + out_shape, dtype=x.dtype),
        "indices": np.zeros(x.shape[:-2] + out_shape, dtype=np.int64),
    }
    return local, {"np": np, "math": math, "_window": _window, "_inside": _inside}


def _ns(stmt: str, local: dict, glob: dict, repeats: int, target: float) -> list[float]:
    """CPU ns per execution of ``stmt``, one figure per repeat (each ~``target`` s long)."""
    setup = "\n".join(f"{name} = _locals[{name!r}]" for name in local)
    setup += "\npositions = iter(np.ndindex(1 << 12, 1 << 12))"  # does not run out
    timer = timeit.Timer(stmt, setup, timer=time.thread_time, globals={**glob, "_locals": local})
    once = max(min(timer.repeat(3, 50)) / 50, 1e-9)
    number = max(50, int(target / once))
    return [t / number * 1e9 for t in timer.repeat(repeats, number)]


def part_costs(k: int, s: int, p: int, repeats: int = 7, target: float = 0.02) -> dict:
    """CPU ns of each part of :data:`PARTS`, net of timeit's loop: quartiles over repeats."""
    local, glob = _environment(k, s, p)
    empty = _ns("pass", local, glob, repeats, target)
    base = sorted(empty)[len(empty) // 2]
    parts = {}
    for name, stmt, per, per_item in PARTS:
        ns = [v - base for v in _ns(stmt, local, glob, repeats, target)]
        if per_item:
            ns = [v / len(local["coords"]) for v in ns]
        parts[name] = {"statement": stmt, "per": per, "ns": quartiles(ns)}
    return {
        "clock": "time.thread_time",
        "window": {"kernel": k, "stride": s, "padding": p, "elements": len(local["coords"])},
        "timeit_loop_ns": round(base, 2),
        "parts": parts,
    }


def visit_counts(x: np.ndarray, k: int, s: int, p: int) -> dict:
    """How often the reference's forward on ``x`` runs each part (see :data:`PARTS`)."""
    spatial = x.shape[-2:]
    kernel, stride, padding, dilation = (k, k), (s, s), (p, p), (1, 1)
    out_shape = tuple((n + 2 * p - k) // s + 1 for n in spatial)
    n = dict.fromkeys(
        (
            "planes",
            "windows",
            "generated_coordinates",
            "element_visits",
            "comparisons_with_minus_inf",
            "comparisons_of_scalars",
            "truth_tests",
            "isnan_calls",
            "takeovers",
        ),
        0,
    )
    maxima = []
    for lead in np.ndindex(*x.shape[:-2]):
        plane = x[lead].tolist()  # Python floats: float32 values, compared exactly as before
        n["planes"] += 1
        for out_pos in np.ndindex(*out_shape):
            generated = list(_window(out_pos, kernel, stride, padding, dilation))
            coords = [c for c in generated if _inside(c, spatial)]
            n["windows"] += 1
            n["generated_coordinates"] += len(generated)
            best, from_python = -math.inf, True  # the start value is a Python float
            for i, j in coords:
                value = plane[i][j]
                n["element_visits"] += 1
                n["truth_tests"] += 1
                n["comparisons_with_minus_inf" if from_python else "comparisons_of_scalars"] += 1
                larger = value > best
                if not larger:
                    n["isnan_calls"] += 1
                    n["truth_tests"] += 1
                if larger or math.isnan(value):
                    best, from_python = value, False
                    n["takeovers"] += 1
            maxima.append(best)
    if x.size <= 1 << 16:  # a check that these are the reference's own visits
        expected = max_pool(x, k, s, p)[0].ravel().tolist()
        assert maxima == expected, "visit_counts no longer follows pooling_lab.reference"
    return n


def model(costs: dict, counts: dict, measured_cpu_ms: float) -> dict:
    """Each part's CPU (its median ns times its count), their sum, and the measured time."""
    parts_ms = {
        name: sig(part["ns"]["median"] * counts[part["per"]] / 1e6)
        for name, part in costs["parts"].items()
    }
    total = sum(parts_ms.values())
    element = sum(v for name, v in parts_ms.items() if name in ELEMENT_PARTS)
    visits = counts["element_visits"]
    return {
        "parts_ms": parts_ms,
        "element_parts_ms": sig(element),  # ELEMENT_PARTS
        "bookkeeping_parts_ms": sig(total - element),  # all the others
        "sum_of_parts_ms": sig(total),
        "measured_forward_cpu_ms": measured_cpu_ms,
        "sum_over_measured": sig(total / measured_cpu_ms),
        "sum_of_parts_ns_per_window": sig(total * 1e6 / counts["windows"]),
        "measured_ns_per_window": sig(measured_cpu_ms * 1e6 / counts["windows"]),
        "sum_of_parts_ns_per_element_visit": sig(total * 1e6 / visits),
        "measured_ns_per_element_visit": sig(measured_cpu_ms * 1e6 / visits),
    }
