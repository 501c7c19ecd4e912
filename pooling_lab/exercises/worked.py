"""Checker for the worked example's coding exercise: the deltas of the units below a max-pool."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ._checking import MISCONCEPTIONS, Report, _call, _diagnose, _with_hints

MISCONCEPTIONS.update(
    {
        "window_not_winner": (
            "window j's delta went to unit j, not to the unit that won window j",
            "window j's delta goes to its winner, unit winners[j]: index the result with "
            "winners, not with the window's number",
        ),
        "theta_forgotten": (
            "a unit's delta was not multiplied by its own ReLU slope",
            "what the pool sends a winner is dE/da, not yet dE/dz: multiply it by the slope "
            "theta'(z) of the unit that receives it, (z > 0) for a ReLU. A unit with z <= 0 can "
            "still win a window (a tie of zeros) and must then get 0",
        ),
        "theta_at_window": (
            "window j's delta was multiplied by the slope of unit j, not of its winner",
            "the slope belongs to the unit that receives the delta: multiply window j's delta "
            "by theta'(z[winners[j]]), or route first and then multiply every unit's sum by "
            "its own slope, (z > 0)",
        ),
        "theta_of_value": (
            "a delta was multiplied by the unit's activation max(0, z), not by its slope",
            "ReLU's slope is 1 wherever z > 0, whatever the size of z: multiply by (z > 0), not "
            "by max(0, z)",
        ),
        "theta_at_zero": (
            "a unit with z == 0 that won a window kept its delta (slope 1 at z == 0)",
            "z == 0 is ReLU's kink; the course takes PyTorch's slope there, 0: test z > 0, "
            "not z >= 0",
        ),
    }
)

# The table's words for "overwrite" speak of grad[r, c] and of windows in a plane.
_OVERWRITE_HINT = (
    "a unit that wins two windows receives both windows' deltas, added. An assignment "
    "d[winners] = delta_pool keeps only one of them, and so does d[winners] += delta_pool: "
    "NumPy's fancy-indexed += is buffered, so each repeated index reads the old value and only "
    "one write survives (in practice the last). Use np.add.at(d, winners, delta_pool), or a "
    "loop with +="
)


# The table's dtype hint does not name np.bincount, which returns float64 whatever its weights.
_DTYPE_HINT = (
    "a float32 z must give a float32 result, but something in your computation is float64: an "
    "array made without a dtype (np.zeros(len(z)); use np.zeros_like(z)), a mask cast with "
    ".astype(float), or np.bincount, which always returns float64 (cast its result with "
    ".astype(z.dtype))"
)


def _pool_deltas(z, winners, delta_pool, mistake=None):
    """The boxed formula for a ReLU layer, or what one specific mistake gives."""
    routed = np.zeros_like(z)
    if mistake == "overwrite":
        routed[winners] = delta_pool
    elif mistake == "window_not_winner":
        routed[: len(delta_pool)] = delta_pool
    elif mistake == "theta_at_window":
        np.add.at(routed, winners, delta_pool * (z[: len(delta_pool)] > 0))
        return routed
    else:
        np.add.at(routed, winners, delta_pool)
    slope = {
        "theta_forgotten": np.ones_like(z),
        "theta_of_value": np.maximum(z, 0),
        "theta_at_zero": z >= 0,
    }.get(mistake, z > 0)
    return np.where(slope != 0, routed * slope, 0.0).astype(z.dtype)


_SHORT_HINT = (
    "the result is shorter than z: one delta per unit below the pool, len(z) of them, also for "
    "the units after the last winner. np.bincount(winners, weights=delta_pool) stops at the "
    "largest winner unless told the length: minlength=len(z)"
)


_BROADCAST_HINT = (
    "two arrays your code combines have different lengths: z has one entry per unit below the "
    "pool, and an array built from the winners can be shorter, ending at the largest winner "
    "(np.bincount(winners, weights=delta_pool) does, unless told minlength=len(z))"
)


def _shorter(fn, args) -> bool:
    """Whether ``fn`` returns a 1-D result shorter than z on ``args`` (a bincount without
    minlength, say)."""
    result, error, _ = _call(fn, args)
    shape = np.shape(result) if error is None else None
    return shape is not None and len(shape) == 1 and shape[0] < len(args[0])


def check_pool_deltas(fn: Callable) -> Report:
    """Check ``fn(z, winners, delta_pool) -> delta`` for ReLU units that feed a max-pool.

    The boxed formula of the worked example: unit i gets ``theta'(z[i])`` times the sum of the
    deltas of the windows it won, ``delta_pool[j]`` for every j with ``winners[j] == i``, and 0
    if it won none; ``theta'(z) = (z > 0)``, 0 at z == 0 as in PyTorch.

    Parameters
    ----------
    fn : callable
        Takes ``z`` (L,), the pre-activations of the units below the pool, ``winners`` (P,),
        int, the unit that won each window, and ``delta_pool`` (P,), the pool's deltas.

    Returns
    -------
    Report

    Examples
    --------
    >>> import numpy as np
    >>> def pool_deltas(z, winners, delta_pool):
    ...     routed = np.zeros_like(z)
    ...     np.add.at(routed, winners, delta_pool)
    ...     return np.where(z > 0, routed, 0.0)
    >>> check_pool_deltas(pool_deltas)
    PASS check_pool_deltas: all 5 cases agree.
    """
    plans = [
        (
            "each unit wins at most one window, every winner positive",
            [2.0, -1.0, 3.0, 0.5, 4.0],
            [0, 2, 4],
            [1.0, -2.0, 3.0],
            ["window_not_winner", "theta_at_window", "theta_of_value"],
            np.float64,
        ),
        (
            "unit 1 wins two overlapping windows",
            [0.5, 2.5, 1.5, -1.0, 2.0],
            [1, 1, 4],
            [2.0, -5.0, 4.0],
            ["overwrite", "window_not_winner", "theta_of_value"],
            np.float64,
        ),
        (
            "a window of zeros won by unit 2, whose z is negative",
            [-1.5, 2.0, -0.5, -2.0],
            [1, 2],
            [3.0, 7.0],
            ["theta_forgotten", "window_not_winner"],
            np.float64,
        ),
        (
            "unit 0 wins a window with z exactly 0",
            [0.0, 1.0, -1.0],
            [0, 1],
            [5.0, 2.0],
            ["theta_at_zero", "window_not_winner"],
            np.float64,
        ),
        (
            "float32, unit 3 wins three windows",
            [-1.0, 0.25, 2.0, 1.5, -0.5, 3.0],
            [3, 3, 3, 5],
            [1.5, -4.0, 0.5, 2.0],
            ["overwrite", "theta_of_value"],
            np.float32,
        ),
    ]
    cases = []
    for description, z, winners, delta_pool, keys, dtype in plans:
        args = (np.array(z, dtype), np.array(winners), np.array(delta_pool, dtype))
        mistakes = {key: _pool_deltas(*args, mistake=key) for key in keys}
        cases.append((description, args, _pool_deltas(*args), mistakes))
    report = _diagnose("check_pool_deltas", fn, cases)
    if report.misconception == "shape" and any(_shorter(fn, args) for _, args, _, _ in cases):
        # np.bincount(winners, weights=...) stops at the largest winner unless told the length
        return replace(report, hint=_SHORT_HINT)
    if report.misconception == "crashed" and "could not be broadcast" in report.message:
        return replace(report, hint=_BROADCAST_HINT)  # the same short array, combined with z
    return _with_hints(report, {"overwrite": _OVERWRITE_HINT, "dtype": _DTYPE_HINT})
