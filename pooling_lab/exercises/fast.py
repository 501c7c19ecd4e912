"""Checker for making_it_fast's exercise: average pooling with one operation per kernel offset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .. import functional as F
from ._checking import MISCONCEPTIONS, Report, _call, _diagnose, _fail, _with_hints

MISCONCEPTIONS.update(
    {
        "offsets_stride_one": (
            "the slices step by 1, not by the stride",
            "offset (u, v) of window (a, b) is input element (a * s + u, b * s + v), so the "
            "offset's values for every window are every s-th row and column from (u, v): "
            "x[..., u : u + s * ho : s, v : v + s * wo : s]",
        ),
        "offsets_divided_by_k": (
            "the windows' sums were divided by k, not by k * k",
            "a k x k window holds k * k elements, and their average is their sum over k * k",
        ),
        "offsets_not_divided": (
            "the windows' sums were not divided: that is sum pooling",
            "average pooling divides each window's sum by its number of elements, k * k",
        ),
    }
)

_UNCUT_HINT = (
    "the arrays your function adds have different shapes: every offset's slice, and the total, "
    "must have the output's shape (..., ho, wo), with ho = (H - k) // s + 1 and "
    "wo = (W - k) // s + 1. Take every s-th row and column (the stride, not k) and stop after "
    "ho and wo of them: x[..., u : u + s * ho : s, v : v + s * wo : s] for kernel offset (u, v); "
    "a slice that runs to the end of the plane, x[..., u::s, v::s], can hold a row or a column "
    "more"
)
_SHAPE_HINT = (
    "the output keeps x's leading axes and has one value per window: ho = (H - k) // s + 1 rows "
    "and wo = (W - k) // s + 1 columns, counted with the stride s, from the plane's own height H "
    "and width W"
)
_SPECIAL_SHAPE_HINT = (
    "the output and the indices have one entry per window: (H + 2p - k) // s + 1 rows and "
    "(W + 2p - k) // s + 1 columns, counted on the padded plane"
)


def _offsets_mean(x, k, s, mistake=None):
    """Average pooling by kernel offsets, or one specific mistake."""
    ho, wo = (x.shape[-2] - k) // s + 1, (x.shape[-1] - k) // s + 1
    step = 1 if mistake == "offsets_stride_one" else s
    total = np.zeros(x.shape[:-2] + (ho, wo), dtype=x.dtype)
    for u in range(k):
        for v in range(k):
            total += x[..., u : u + step * ho : step, v : v + step * wo : step]
    divisor = {"offsets_divided_by_k": k, "offsets_not_divided": 1}.get(mistake, k * k)
    return total / x.dtype.type(divisor)


def check_avg_pool_offsets(fn: Callable) -> Report:
    """Check ``fn(x, k, s) -> output`` for average pooling without padding, one array
    operation per kernel offset (any correct method passes).

    Parameters
    ----------
    fn : callable
        Takes ``x`` (N, C, H, W), int ``k`` (the kernel size) and int ``s`` (the stride);
        returns the pooled array, in ``x``'s dtype.

    Returns
    -------
    Report

    Examples
    --------
    >>> import pooling_lab.functional as F
    >>> check_avg_pool_offsets(lambda x, k, s: F.avg_pool2d(x, k, s))
    PASS check_avg_pool_offsets: all 5 cases agree.
    """
    rng = np.random.default_rng(21)
    x = rng.integers(-4, 5, (2, 3, 9, 11)).astype(np.float64)
    plans = [
        ("(2, 3, 9, 11) input, kernel 2, stride 2", x, 2, 2),
        ("the same input, kernel 3, stride 2 (windows overlap)", x, 3, 2),
        ("the same input, kernel 2, stride 3 (gaps between windows)", x, 2, 3),
        ("the same input, kernel 3, stride 1", x, 3, 1),
        ("a float32 input, kernel 3, stride 2", x.astype(np.float32), 3, 2),
    ]
    keys = ("offsets_stride_one", "offsets_divided_by_k", "offsets_not_divided")
    cases = []
    for description, v, k, s in plans:
        right = F.avg_pool2d(v, k, s)
        assert np.allclose(right, _offsets_mean(v, k, s))  # the model is PyTorch's
        mistakes = {}
        for key in keys:
            wrong = _offsets_mean(v, k, s, key)
            if not np.allclose(wrong, right):  # at stride 1 the first slip is no slip
                mistakes[key] = wrong
        cases.append((description, (v, k, s), right, mistakes))
    report = _diagnose("check_avg_pool_offsets", fn, cases)
    if report.misconception == "crashed" and "could not be broadcast" in report.message:
        return replace(report, hint=_UNCUT_HINT)
    return _with_hints(report, {"shape": _SHAPE_HINT})  # the table's words speak of gradients


# ---------------------------------------------------------------------------------------------
# Step 1 made right for NaN, windows of -inf and zeros of both signs

_NAN_LOSES = (
    "a NaN did not win its window",
    "values > best is False whenever either side is NaN, so a NaN never takes over and, once "
    "the running maximum is NaN, nothing else does either: take a value when it is larger or "
    "NaN, (values > best) | np.isnan(values), and keep it as it is (np.where, not np.fmax, "
    "which skips NaN); PyTorch's maximum is then the NaN, at the NaN's index",
)
MISCONCEPTIONS.update(
    {
        "special_nan_loses": _NAN_LOSES,
        "special_nan_ignored": _NAN_LOSES,  # the same slip, with the value chosen by np.where
        "special_nan_replaced": (
            "a number after the NaN replaced it",
            "once a window's maximum is NaN it must stay NaN: take a later value only if it is "
            "NaN too. values > best is already False against a NaN, so take = ... | "
            "np.isnan(values) is enough; do not also take where best is NaN",
        ),
        "special_first_nan": (
            "in a window with two NaNs the first one won; in PyTorch the last one does",
            "PyTorch takes a new maximum on a larger value or on any NaN, also when the "
            "maximum so far is a NaN, so a window's last NaN wins: if you take a NaN only where "
            "best is not NaN, drop that condition; np.argmax returns the first NaN, so it cannot "
            "give this rule",
        ),
        "special_padding_wins": (
            "a window whose real elements are all -inf reported a position in the padding",
            "padding -inf ties with a real -inf and, at the top or left edge, comes first, so it "
            "must never be taken: take each window's first real element whatever its value "
            "(keep, per window, whether it has taken a real element yet), and after that only "
            "larger values or NaN; PyTorch reports the window's first element inside the input",
        ),
        "special_zero_sign": (
            "the maximum of a window holding -0 before +0 came out as +0",
            "-0 and +0 are equal, so the first one should stay, but np.maximum may return "
            "either of two equal values, depending on the processor, the NumPy build and the "
            "dtype: select the value where you take it, best = np.where(take, values, best)",
        ),
    }
)


def _special_pool(x, k, s, p, mistake=None):
    """Max pooling of one plane with PyTorch's rules for NaN, -inf and signed zeros (the
    exercise's solution), or with one specific mistake. Returns maxima and flat indices."""
    pad = [(p, p), (p, p)]
    xp = np.pad(x, pad, constant_values=-np.inf)
    real = np.pad(np.ones(x.shape, dtype=bool), pad)
    ho, wo = (xp.shape[0] - k) // s + 1, (xp.shape[1] - k) // s + 1
    best = np.full((ho, wo), -np.inf, dtype=x.dtype)
    winner = np.zeros((ho, wo), dtype=np.int64)
    have = np.zeros((ho, wo), dtype=bool)
    for number in range(k * k):
        u, v = divmod(number, k)
        cut = (slice(u, u + s * ho, s), slice(v, v + s * wo, s))
        values = xp[cut]
        with np.errstate(invalid="ignore"):
            larger = values >= best if mistake == "index_last_tie" else values > best
        if mistake == "special_nan_loses":
            take = larger
            np.maximum(best, values, out=best)  # Step 1 as the chapter wrote it
        else:
            nan = np.isnan(values)
            if mistake == "special_first_nan":
                nan &= ~np.isnan(best)
            elif mistake == "special_nan_ignored":
                nan[:] = False
            elif mistake == "special_nan_replaced":
                nan |= np.isnan(best)
            if mistake == "special_padding_wins":
                take = larger | nan
            else:
                take = real[cut] & (~have | larger | nan)
            best = np.where(take, values, best)
        winner = np.where(take, number, winner)
        have |= take
    row = np.arange(ho)[:, None] * s + winner // k - p
    col = np.arange(wo)[None, :] * s + winner % k - p
    return best, row * x.shape[1] + col


def check_max_pool_special(fn: Callable) -> Report:
    """Check ``fn(x, k, s, p) -> (output, indices)``: max pooling of a plane with PyTorch's
    rules for NaN (the window's last NaN wins), windows whose real elements are all -inf (the
    first real element is reported, never the padding) and zeros of both signs (the first
    zero's sign).

    Parameters
    ----------
    fn : callable
        Takes ``x`` (H, W), int ``k`` (kernel size), ``s`` (stride) and ``p`` (padding, filled
        with -inf); returns the maxima and their flat int64 positions in ``x``, both (H', W').

    Returns
    -------
    Report

    Examples
    --------
    >>> import pooling_lab.functional as F
    >>> def max_pool_special(x, k, s, p):
    ...     out, idx = F.max_pool2d(x[None], k, s, p, return_indices=True)
    ...     return out[0], idx[0]
    >>> check_max_pool_special(max_pool_special)
    PASS check_max_pool_special: all 9 cases agree.
    """
    nan, inf = np.nan, np.inf
    rng = np.random.default_rng(23)
    plain = rng.integers(-3, 4, (7, 9)).astype(np.float64)
    one_nan = plain[:4, :6].copy()
    one_nan[0, 1] = nan  # after a number and before two more: every NaN rule shows
    two_nans = plain[:4, :4].copy()
    two_nans[0, 1] = two_nans[1, 1] = nan  # after a number: each rule picks another element
    minus_inf = plain[:5, :5].copy()
    minus_inf[:2, :2] = -inf  # the corner window's four real elements, behind padding
    zeros = np.array([[-0.0, 0.0, 1.0, 2.0], [-1.0, -2.0, 2.0, 1.0]])  # -0, then +0
    plans = [
        ("ordinary values with ties, kernel 3, stride 2, padding 1", plain, 3, 2, 1),
        ("the same plane in float16", plain.astype(np.float16), 3, 2, 1),
        ("a NaN after a number in its window, kernel 2, stride 2", one_nan, 2, 2, 0),
        ("two NaNs in one window, kernel 2, stride 2", two_nans, 2, 2, 0),
        ("a window of -inf behind padding, kernel 3, stride 2, padding 1", minus_inf, 3, 2, 1),
        ("the same plane in float32", minus_inf.astype(np.float32), 3, 2, 1),
    ]
    zero_plans = [
        (f"-0 before +0 in a window, {np.dtype(t).name}", zeros.astype(t), 2, 2, 0)
        for t in (np.float16, np.float32, np.float64)
    ]
    plans += zero_plans
    keys = (
        "special_nan_loses",
        "special_nan_ignored",
        "special_nan_replaced",
        "special_first_nan",
        "special_padding_wins",
        "index_last_tie",
    )
    cases = []
    for description, x, k, s, p in plans:
        out, idx = F.max_pool2d(x[None], k, s, p, return_indices=True)
        right = (out[0], idx[0])
        model = _special_pool(x, k, s, p)
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(right, model))
        mistakes = {}
        for key in keys:
            if "nan" in key and not np.isnan(x).any():
                continue  # a plane without NaN cannot show a NaN mistake
            wrong = _special_pool(x, k, s, p, key)
            if not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(wrong, right)):
                mistakes[key] = wrong
        cases.append((description, (x, k, s, p), right, mistakes))
    report = _diagnose("check_max_pool_special", fn, cases, names=("output", "indices"))
    if not report.passed:  # the table's shape words speak of gradients
        return _with_hints(report, {"shape": _SPECIAL_SHAPE_HINT})
    # equal values compare equal: the sign of a zero maximum needs its own look
    for description, args, (want, _), _ in cases[-len(zero_plans) :]:
        result, _, _ = _call(fn, args)
        if not np.array_equal(np.signbit(np.asarray(result[0])), np.signbit(want)):
            where = f"{description}: got {np.asarray(result[0]).tolist()}, expected {want.tolist()}"
            return _fail("check_max_pool_special", "special_zero_sign", where)
    return report
