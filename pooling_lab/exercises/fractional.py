"""Checker for pooling_3d_fractional's exercise: the starts of fractional max pooling's windows."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ._checking import MISCONCEPTIONS, Report, _diagnose, _with_hints

# The fractional exercise's own misconceptions, registered with the shared table (keys are
# what tests check).
MISCONCEPTIONS.update(
    {
        "frac_first_start": (
            "the first start is not 0",
            "every start subtracts floor(u * s_bar), which is what floor((i + u) * s_bar) "
            "gives at i = 0, so the first window starts at 0 whatever u is",
        ),
        "frac_step": (
            "a step between consecutive starts is neither floor(s_bar) nor ceil(s_bar)",
            "the starts climb from 0 to size - k in out - 1 steps, so s_bar = "
            "(size - k) / (out - 1), a true division (/, not //), and not the paper's factor "
            "size / out, which is another number. In exact arithmetic a difference of two "
            "floors of numbers s_bar apart is floor(s_bar) or ceil(s_bar), so every step, the "
            "last one included, is one of those two",
        ),
        "frac_order": (
            "a rearrangement of (i + u) * s_bar (such as i * s_bar + u * s_bar) was computed, "
            "which rounds differently",
            "the two are equal in exact arithmetic but can round differently in floating "
            "point, and a floor then moves a start by one: add u to i first, then multiply, "
            "(i + u) * s_bar",
        ),
        "frac_ceil": (
            "the starts were rounded up (ceil), not down",
            "the formula floors: start_i = floor((i + u) * s_bar) - floor(u * s_bar) (int() "
            "floors too, as every value here is >= 0). Ceil gives the same starts except where "
            "(i + u) * s_bar or u * s_bar is a whole number, as at u = 0, which is why random "
            "values of u rarely show the difference",
        ),
        "frac_last_formula": (
            "the last start came from the formula, and rounding moved it off size - k",
            "set the last start to size - k outright, as PyTorch does: the formula gives "
            "size - k at i = out - 1 only in exact arithmetic; in floating point "
            "(out - 1 + u) * s_bar or u * s_bar can land just off a whole number, which moves "
            "the last window by one (past the input's end, or short of it)",
        ),
    }
)

# ---------------------------------------------------------------------------------------------
# Fractional max pooling: where the windows start

# A learner's starts() without the out = 1 guard divides by out - 1 = 0.
_FRAC_GUARD_HINT = (
    "with out = 1 there is a single window and no step, and s_bar = (size - k) / (out - 1) "
    "divides by zero: return [size - k] before computing s_bar"
)
_FRAC_SHAPE_HINT = (
    "return one start per window: out integers, the first out - 1 from the formula "
    "(i = 0, ..., out - 2) and the last one size - k"
)


def _frac_starts(u, size, out, k, rule):
    """The starts with one specific mistake: "ceil", "formula_last" (the formula at every i),
    or "expanded" (i * s_bar + u * s_bar in place of PyTorch's (i + u) * s_bar).

    Computed as the exercise's loop computes them, in Python floats.
    """
    if out == 1:
        return np.array([size - k])
    s_bar = (size - k) / (out - 1)
    rnd = math.ceil if rule == "ceil" else math.floor
    count = out if rule == "formula_last" else out - 1
    if rule == "expanded":
        starts = [rnd(i * s_bar + u * s_bar) - rnd(u * s_bar) for i in range(count)]
    else:
        starts = [rnd((i + u) * s_bar) - rnd(u * s_bar) for i in range(count)]
    return np.array(starts if rule == "formula_last" else [*starts, size - k])


def _frac_shape(args, got, want):
    """Name a wrong first start, then a wrong step, before comparing the starts themselves."""
    _, size, out, k = args
    starts = np.asarray(got[0])
    if out == 1:
        return None
    if starts[0] != 0:
        return "frac_first_start"
    s_bar = (size - k) / (out - 1)
    if not set(np.diff(starts).tolist()) <= {math.floor(s_bar), math.ceil(s_bar)}:
        return "frac_step"
    return None


def check_fractional_starts(fn: Callable) -> Report:
    """Check ``fn(u, size, out, k) -> starts`` for fractional max pooling's window starts.

    Along one dimension of ``size`` inputs, ``out`` windows of ``k`` elements start at
    ``floor((i + u) * s_bar) - floor(u * s_bar)`` for ``i < out - 1``, with
    ``s_bar = (size - k) / (out - 1)``, and the last at ``size - k``, as
    :func:`pooling_lab.fractional.fractional_starts` (and PyTorch) computes them; ``out = 1``
    gives the single start ``size - k``.

    Fixed cases come first: the chapter's examples, values of ``u`` where ``(i + u) * s_bar``
    or ``u * s_bar`` is a whole number (random values of ``u`` never are, so rounding up there
    goes unseen), a case where the paper's factor ``size / out`` and ``s_bar`` give different
    steps, sizes where the formula's last start is off ``size - k`` by rounding, ``out = 1``,
    and a value of ``u`` where ``i * s_bar + u * s_bar`` rounds differently from PyTorch's
    ``(i + u) * s_bar``. Then 500 random cases.

    Parameters
    ----------
    fn : callable
        Takes the float ``u`` in [0, 1) and the ints ``size``, ``out`` and ``k``; returns the
        ``out`` starts (a list or an array of ints).

    Returns
    -------
    Report

    Examples
    --------
    >>> from pooling_lab.fractional import fractional_starts
    >>> check_fractional_starts(fractional_starts)
    PASS check_fractional_starts: all 509 cases agree.
    """
    from ..fractional import fractional_starts

    plans = [
        # (description, u, size, out, k)
        ("the chapter's exercise (a)", 0.5, 7, 4, 2),
        ("the chapter's exercise (b), where floor(u * s_bar) = 1", 0.7, 7, 4, 2),
        # Before 10 -> 7, where size / out in place of s_bar gives wrong starts in steps of 1
        # and 2, as s_bar does: here its last step is 6, neither floor(4.5) nor ceil(4.5).
        ("where s_bar = 4.5 and the paper's size / out is 4", 0.5, 20, 5, 2),
        ("the chapter's example, where i * s_bar is whole at i = 3", 0.0, 10, 7, 2),
        ("the chapter's example, where u * s_bar = 1", 0.75, 10, 7, 2),
        ("where (out - 1) * s_bar rounds to just below 15", 0.0, 16, 12, 1),
        ("where u * s_bar rounds to just below 3", 0.7, 31, 8, 1),
        ("a single window", 0.3, 5, 1, 2),
        # (i + u) * s_bar and i * s_bar + u * s_bar round apart here (start 4 is 6, not 7)
        ("where the order of operations decides a start", 0.6666666666666665, 10, 7, 1),
    ]
    rng = np.random.default_rng(0)
    for _ in range(500):
        k = int(rng.integers(1, 4))
        out = int(rng.integers(1, 20))
        size = out + k - 1 + int(rng.integers(0, 30))
        plans.append(("", float(rng.random()), size, out, k))
    cases = []
    for description, u, size, out, k in plans:
        args = (u, size, out, k)
        right = fractional_starts(u, size, out, k)
        mistakes = {"__shape__": "shape"}
        rules = (("frac_ceil", "ceil"), ("frac_last_formula", "formula_last"))
        for key, rule in (*rules, ("frac_order", "expanded")):
            wrong = _frac_starts(u, size, out, k, rule)
            if not np.array_equal(wrong, right):
                mistakes[key] = wrong
        where = f"u = {u!r}, size = {size}, out = {out}, k = {k}" + (
            f", {description}" if description else ""
        )
        cases.append((where, args, right, mistakes))
    report = _diagnose("check_fractional_starts", fn, cases, extra=_frac_shape)
    if report.misconception == "crashed" and "ZeroDivisionError" in report.message:
        if ", out = 1, " in report.message:
            report = replace(report, hint=_FRAC_GUARD_HINT)
    return _with_hints(report, {"shape": _FRAC_SHAPE_HINT})
