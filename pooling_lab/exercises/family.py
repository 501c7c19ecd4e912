"""Checkers for beyond_max's exercises: the backward passes of average, log-sum-exp and adaptive
average pooling (Lp pooling's is in lp.py)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import functional as F
from ..adaptive import adaptive_avg_pool1d_backward, adaptive_bins
from ..generalized import lse_pool2d_backward
from ._checking import MISCONCEPTIONS, Report, _diagnose, _fail, _with_hints

# This module's own misconceptions, registered with the shared table (keys are what tests check).
MISCONCEPTIONS.update(
    {
        "args_swapped": (
            "your function takes grad_output first and x second, as pooling_lab's "
            "lse_pool2d_backward does; this exercise passes (x, grad_output, kernel_size, "
            "temperature)",
            "swap your function's first two parameters, (x, grad_output, kernel_size, "
            "temperature): with them in that order it passes every case",
        ),
        "lse_extra_factor": (
            "the softmax was divided by T",
            "the outer factor T of T log sum exp(x / T) and the chain rule's inner 1/T (from "
            "d(x/T)/dx) cancel: the gradient is exactly softmax(x / T), whose entries sum to 1; "
            "dividing by T keeps the inner factor but drops the outer one",
        ),
        "lse_times_t": (
            "the softmax was multiplied by T",
            "the outer factor T of T log sum exp(x / T) and the chain rule's inner 1/T (from "
            "d(x/T)/dx) cancel: the gradient is exactly softmax(x / T), whose entries sum to 1; "
            "multiplying by T keeps the outer factor but drops the inner one",
        ),
        "lse_plane_shift": (
            "the shift subtracted the whole plane's maximum, not each window's",
            "a window far below the plane's maximum then has exp(...) underflow to 0 for every "
            "element, and 0 / 0 is nan; subtract each window's own maximum inside the loop",
        ),
        "lse_abs_shift": (
            "the shift subtracted the largest magnitude, max |x / T|, not the largest value",
            "in a window of large negative values every exponent then lies far below 0, exp "
            "underflows to 0 for all of them, and 0 / 0 is nan; subtract max(x / T) itself, "
            "negative or not, so that the window's largest exponent is exactly 0",
        ),
        "lse_mean_shift": (
            "the shift did not make the window's largest exponent 0",
            "subtracting the window's mean (or another value below its maximum) only "
            "postpones the overflow: exp((max - shift) / T) still overflows once the window's "
            "spread is large, at about 88 in float32 (709 in float64); subtract the window's "
            "maximum, so that every exponent is <= 0",
        ),
        "lse_unscaled_shift": (
            "the shift subtracted max(x), not the maximum of x / T",
            "the exponents are x / T, so the shift that makes the largest of them 0 is "
            "max(x / T) = max(x) / T; after subtracting max(x) the largest exponent is still "
            "max(x) / T - max(x), which overflows exp once T is small and max(x) large "
            "(exp overflows above about 88 in float32): compute z = x / T first, then "
            "exp(z - z.max())",
        ),
        "lse_naive_output": (
            "the output y overflowed to inf, so exp((x - y) / T) gave 0 everywhere",
            "exp((x - y) / T) is the softmax only if y is finite; T log sum exp(x / T) computed "
            "as written overflows to inf for large x / T, and x - inf makes every weight 0. "
            "Compute y with the shift, y = m + T log sum exp((x - m) / T) with m the window's "
            "maximum, or take the softmax directly: z = x / T, exp(z - z.max()) / sum",
        ),
        "adaptive_nominal_divisor": (
            "each bin was divided by the nominal size L / n, not by its own length",
            "when n does not divide L the bins differ in length (5 -> 3 gives bins of 2, 3 "
            "and 2 elements); output i is the mean of its own bin, so its share is "
            "g[i] / (end - start)",
        ),
        "adaptive_floor_nominal": (
            "each bin was divided by L // n, the nominal size rounded down, not by its own length",
            "when n does not divide L the bins differ in length (5 -> 3 gives bins of 2, 3 "
            "and 2 elements); output i is the mean of its own bin, so its share is "
            "g[i] / (end - start)",
        ),
        "adaptive_fixed_stride": (
            "the bins were windows of one size at one stride (stride = L // n, kernel = "
            "L - (n - 1) * stride), as ordinary pooling's",
            "that shortcut turns adaptive pooling into ordinary pooling, which is exact for some "
            "sizes (whenever n divides L, and a few others such as 7 -> 3) but not in general "
            "(5 -> 3): adaptive pooling's bins vary in length, bin i running from "
            "floor(i * L / n) up to ceil((i + 1) * L / n), each divided by its own length",
        ),
        "adaptive_overwrite": (
            "overlapping bins overwrote each other's gradient",
            "neighbouring bins can share an element (5 -> 3 gives (0, 2), (1, 4), (3, 5)); "
            "that element is in both means, so it receives both shares: add (+=), do not "
            "assign (=)",
        ),
        "adaptive_floor_bins": (
            "the bins did not follow the rule start = floor(i L / n), end = ceil((i + 1) L / n)",
            "the end rounds up: when (i + 1) L / n is not a whole number the bin reaches one "
            "element further than floor gives, so bins can overlap; use start = (i * L) // n "
            "and end = -((-(i + 1) * L) // n)",
        ),
        "adaptive_round_bins": (
            "the bin edges were rounded to the nearest whole number",
            "PyTorch's bin i starts at floor(i L / n) and ends at ceil((i + 1) L / n): the "
            "start rounds down and the end up, so neighbouring bins can share an element (5 -> "
            "3 gives (0, 2), (1, 4), (3, 5)); rounding both to the nearest gives (0, 2), (2, 3), "
            "(3, 5) there. Use start = (i * L) // n and end = -((-(i + 1) * L) // n)",
        ),
        "divisor_no_end_clip": (
            "the divisor counted the bottom and right padding as real inputs",
            "with count_include_pad=False a window that reaches into the bottom or right "
            "padding divides by fewer inputs: clip its end as well as its start. In padded "
            "coordinates, with r = i * stride, the window holds min(r + k, p + H) - max(r, p) "
            "real rows (and likewise real columns, with W)",
        ),
        "divisor_no_start_clip": (
            "the divisor counted the top and left padding as real inputs",
            "with count_include_pad=False a window that starts in the top or left padding "
            "divides by fewer inputs: clip its start as well as its end. Window i starts at "
            "input position a = i * stride - p, which is negative in the padding, and holds "
            "min(a + k, H) - max(a, 0) real rows (and likewise real columns, with W)",
        ),
        "divisor_offset": (
            "the divisor counted the real inputs of a window starting at i*s, not at i*s - p",
            "with padding p, window i covers input positions i*s - p to i*s - p + k - 1 "
            "(padded positions i*s to i*s + k - 1), so it holds min(i*s - p + k, H) - "
            "max(i*s - p, 0) real rows (and likewise real columns, with W); in padded "
            "coordinates that is min(r + k, p + H) - max(r, p) with r = i*s",
        ),
        "adaptive_not_divided": (
            "each input received the bin's whole gradient",
            "the output is the bin's mean, so each input's share is g[i] divided by the bin's "
            "length",
        ),
    }
)

# stride_ignored's table entry speaks of counting the windows; this learner counts none (the
# number of windows is grad_output's shape), only places them.
_AVG_STRIDE_HINT = (
    "consecutive windows start stride apart, not kernel_size apart: window (row, col) starts "
    "at (row * stride, col * stride) of the padded input, and with stride < kernel_size the "
    "windows overlap, so their shares add up where they do"
)

# ---------------------------------------------------------------------------------------------
# Average pooling, backward


def _real_count(rule, r, k, p, n):
    """How many real inputs a divisor rule counts along one dimension of length ``n``.

    ``r`` is the window's start in the padded input; "exclude" is the right count, the others
    are mistakes: "no_end_clip" clips only the start, "no_start_clip" only the end, and
    "offset" counts a window starting at input position r instead of r - p.
    """
    return {
        "exclude": min(r + k, p + n) - max(r, p),
        "no_end_clip": r + k - max(r, p),
        "no_start_clip": min(r + k, p + n) - r,
        "offset": min(r + k, n) - r,
    }[rule]


def _avg_backward(shape, g, k, s, p, divisor_rule, accumulate=True, step=None):
    """Loop version of an average pool's backward for one plane, with a chosen divisor rule.

    ``divisor_rule`` is "include" (k*k), "exclude" (real inputs only), "one" (no division) or
    one of the wrong counts of :func:`_real_count`. ``accumulate=False`` assigns instead of
    adding: the overwrite mistake. ``step`` places window (i, j) at (i * step, j * step) of the
    padded input (the stride unless that mistake is modelled).
    """
    step = s if step is None else step
    padded = np.zeros((shape[0] + 2 * p, shape[1] + 2 * p), dtype=g.dtype)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            r, c = i * step, j * step
            window = slice(r, r + k), slice(c, c + k)
            if divisor_rule in ("include", "one"):
                divisor = {"include": k * k, "one": 1}[divisor_rule]
            else:
                rows = _real_count(divisor_rule, r, k, p, shape[0])
                cols = _real_count(divisor_rule, c, k, p, shape[1])
                if rows <= 0 or cols <= 0:
                    continue  # the window holds no real input: nothing reaches the result
                divisor = rows * cols
            share = g[i, j] / divisor
            if accumulate:
                padded[window] += share
            else:
                padded[window] = share
    return padded[p : p + shape[0], p : p + shape[1]]


def check_avg_pool_backward(fn: Callable) -> Report:
    """Check ``fn(grad_output, input_shape, kernel_size, stride, padding, count_include_pad)``.

    The function returns the input gradient of 2-D average pooling of one plane of shape
    ``input_shape`` (zero padding, ``ceil_mode=False``), as
    :func:`pooling_lab.functional.avg_pool2d_backward` does.

    Parameters
    ----------
    fn : callable
        Takes ``grad_output`` (H', W'), ``input_shape`` (H, W), int ``kernel_size``,
        ``stride``, ``padding`` and bool ``count_include_pad``.

    Returns
    -------
    Report

    Examples
    --------
    >>> import pooling_lab.functional as F
    >>> def backward(grad_output, input_shape, kernel_size, stride, padding, count_include_pad):
    ...     grad = F.avg_pool2d_backward(
    ...         grad_output[None], (1, *input_shape), kernel_size, stride, padding,
    ...         count_include_pad=count_include_pad)
    ...     return grad[0]
    >>> check_avg_pool_backward(backward)
    PASS check_avg_pool_backward: all 7 cases agree.
    """
    # The 5x7 windows reach into the padding on all four sides; the 4x4 windows only into the
    # top and left padding, where a divisor clipped at the start alone is right, and one
    # clipped at the end alone happens to give k*k. So the 5x7 cases come first.
    border = "5x7 input, kernel 3, stride 2, padding 1 (windows in the padding of all 4 sides)"
    plans = [
        ("4x4 input, kernel 2, stride 2", (4, 4), 2, 2, 0, True),
        ("a float32 6x6 input, kernel 3, stride 3", (6, 6), 3, 3, 0, True),
        ("overlapping windows, kernel 3, stride 1", (5, 5), 3, 1, 0, True),
        ("padding 1, count_include_pad=True", (4, 4), 3, 2, 1, True),
        (f"{border}, count_include_pad=True", (5, 7), 3, 2, 1, True),
        (f"{border}, count_include_pad=False", (5, 7), 3, 2, 1, False),
        ("padding 1, count_include_pad=False", (4, 4), 3, 2, 1, False),
    ]
    cases = []
    for description, shape, k, s, p, include in plans:
        out = [(n + 2 * p - k) // s + 1 for n in shape]
        dtype = np.float32 if "float32" in description else np.float64
        g = np.arange(1.0, out[0] * out[1] + 1, dtype=dtype).reshape(out)
        rule = "include" if include else "exclude"
        right = F.avg_pool2d_backward(g[None], (1, *shape), k, s, p, count_include_pad=include)[0]
        candidates = {
            "not_divided": _avg_backward(shape, g, k, s, p, "one"),
            "pad_divisor": _avg_backward(shape, g, k, s, p, "exclude" if include else "include"),
            "overwrite": _avg_backward(shape, g, k, s, p, rule, accumulate=False),
            "stride_ignored": _avg_backward(shape, g, k, s, p, rule, step=k),
        }
        if not include:
            for wrong_count in ("no_end_clip", "no_start_clip", "offset"):
                candidates[f"divisor_{wrong_count}"] = _avg_backward(shape, g, k, s, p, wrong_count)
        # A mistake is modelled only where it changes the answer, and only where no mistake
        # before it gives the same answer (without padding both divisors agree, say).
        mistakes = {}
        for key, wrong in candidates.items():
            seen = [right, *mistakes.values()]
            if not any(np.allclose(wrong, other, rtol=1e-5, atol=1e-6) for other in seen):
                mistakes[key] = wrong
        cases.append((description, (g, shape, k, s, p, include), right, mistakes))
    report = _diagnose("check_avg_pool_backward", fn, cases)
    return _with_hints(report, {"stride_ignored": _AVG_STRIDE_HINT})


# ---------------------------------------------------------------------------------------------
# Log-sum-exp pooling, backward


def _softmax_windows(x, g, k, temperature, mistake=None):
    """Each window's gradient times the window's softmax (or one specific mistake)."""
    grad = np.zeros_like(x)
    plane_top = (x / temperature).max()
    for i in range(x.shape[0] // k):
        for j in range(x.shape[1] // k):
            window = slice(i * k, i * k + k), slice(j * k, j * k + k)
            v = x[window]
            if mistake == "max_routing":
                weights = np.zeros_like(v)
                weights.flat[np.argmax(v)] = 1
            else:
                scaled = v if mistake == "lse_no_temperature" else v / temperature
                if mistake == "lse_plane_shift":
                    scaled = scaled - plane_top
                elif mistake == "lse_mean_shift":
                    scaled = scaled - scaled.mean()
                elif mistake == "lse_abs_shift":  # the largest magnitude, not the largest value
                    scaled = scaled - np.abs(scaled).max()
                elif mistake == "lse_unscaled_shift":
                    scaled = scaled - v.max()  # max(x), where max(x / T) was meant
                elif mistake not in ("lse_overflow", "lse_naive_output"):
                    scaled = scaled - scaled.max()
                with np.errstate(all="ignore"):
                    e = np.exp(scaled)
                    if mistake == "lse_naive_output":  # y as written, then exp((x - y) / T)
                        y = temperature * np.log(e.sum())
                        weights = np.exp((v - y) / temperature)
                    else:
                        weights = e / e.sum()
                if mistake == "lse_extra_factor":
                    weights = weights / temperature
                elif mistake == "lse_times_t":
                    weights = weights * temperature
            grad[window] = g[i, j] * weights
    return grad


def check_lse_pool_backward(fn: Callable) -> Report:
    """Check ``fn(x, grad_output, kernel_size, temperature) -> grad_x`` for log-sum-exp pooling.

    The forward is ``T * log(sum(exp(x / T)))`` over non-overlapping ``kernel_size`` windows
    (stride = kernel size, no padding) of one plane ``x``; the gradient of each window is its
    output gradient times the window's softmax at temperature ``T``.

    Parameters
    ----------
    fn : callable
        Takes ``x`` (H, W), ``grad_output`` (H // k, W // k), int ``kernel_size`` and float
        ``temperature``.

    Returns
    -------
    Report

    Examples
    --------
    >>> from pooling_lab.generalized import lse_pool2d_backward
    >>> def backward(x, grad_output, kernel_size, temperature):
    ...     return lse_pool2d_backward(grad_output[None], x[None], kernel_size,
    ...                                temperature=temperature)[0]
    >>> check_lse_pool_backward(backward).passed
    True
    """
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 4))
    mixed = x.copy()
    mixed[:2, :2] += 1000.0  # one window near 1000 beside three near 0
    sunken = x.copy()
    sunken[:2, :2] -= 1000.0  # one window near -1000: its largest value is far below 0
    spread = (3 * x).astype(np.float32)
    spread[:2, :2] += 50  # (x / T) near 100: exp overflows float32 unless shifted
    # the maximum 57.5 above the mean, and not first: a shift by the window's first element
    # would be one by its maximum
    spread[:2, 2:] = [[-60, 60], [0, 10]]
    plans = [
        ("4x4 input, kernel 2, T = 1", x, 2, 1.0),
        ("4x4 input, kernel 2, T = 0.5", x, 2, 0.5),
        ("4x4 input, kernel 2, T = 2", x, 2, 2.0),
        ("a float32 input, kernel 2, T = 2", (3 * x).astype(np.float32), 2, 2.0),
        ("large values (around 1000), T = 1", x + 1000.0, 2, 1.0),
        ("one window near 1000, the others near 0, T = 1", mixed, 2, 1.0),
        ("one window near -1000, the others near 0, T = 1", sunken, 2, 1.0),
        ("float32, one window near 50, one spanning -60 to 60, T = 0.5", spread, 2, 0.5),
        # x / T near 200: only the shift by max(x / T), not by max(x), keeps exp finite
        ("float32, the same plane at T = 0.25", spread, 2, 0.25),
    ]
    keys = [
        "max_routing",
        "lse_no_temperature",
        "lse_extra_factor",
        "lse_times_t",
        "lse_unscaled_shift",  # before lse_overflow: both give nan where max(x) > 0 is large
        "lse_naive_output",
        "lse_overflow",
        "lse_plane_shift",
        "lse_mean_shift",
        "lse_abs_shift",
    ]
    cases = []
    for description, v, k, t in plans:
        g = np.arange(1.0, 5.0, dtype=v.dtype).reshape(2, 2)
        # computed in float64 and rounded once, so float32 answers are held to the true value
        wide = lse_pool2d_backward(g[None], v[None].astype(np.float64), k, temperature=t)[0]
        right = wide.astype(v.dtype)
        mistakes = {key: _softmax_windows(v, g, k, t, key) for key in keys}
        if t == 1.0:  # at T = 1 these mistakes change nothing
            del mistakes["lse_no_temperature"], mistakes["lse_extra_factor"]
            del mistakes["lse_times_t"], mistakes["lse_unscaled_shift"]
        cases.append((description, (v, g, k, t), right, mistakes))
    report = _diagnose("check_lse_pool_backward", fn, cases)
    if not report.passed:
        # the library's argument order, (grad_output, x): named only if, swapped back, the
        # function passes every case (a swap and another mistake get the other mistake's name)
        swapped = _diagnose("check_lse_pool_backward", lambda x, g, *rest: fn(g, x, *rest), cases)
        if swapped.passed:
            report = _fail("check_lse_pool_backward", "args_swapped")
    return report


# ---------------------------------------------------------------------------------------------
# Adaptive average pooling, backward


def _adaptive_backward(g, length, bins, divisor="own", accumulate=True):
    """Spread ``g`` over ``bins`` of a length-``length`` signal, with one chosen mistake.

    ``divisor`` is "own" (the bin's length), "nominal" (L / n), "floor_nominal" (L // n) or
    "one" (no division);
    ``accumulate=False`` assigns instead of adding (the overwrite mistake).
    """
    grad = np.zeros(length, dtype=g.dtype)
    for value, (start, stop) in zip(g, bins):
        size = {
            "own": max(stop - start, 1),
            "nominal": length / len(g),
            "floor_nominal": length // len(g),
            "one": 1,
        }[divisor]
        if accumulate:
            grad[start:stop] += value / size
        else:
            grad[start:stop] = value / size
    return grad


def check_adaptive_avg_pool_backward(fn: Callable) -> Report:
    """Check ``fn(grad_output, input_length) -> grad_x`` for 1-D adaptive average pooling.

    The forward averages ``n = len(grad_output)`` bins of a signal of ``input_length``
    elements, bin ``i`` running from ``floor(i * L / n)`` up to (not including)
    ``ceil((i + 1) * L / n)``, as PyTorch's ``adaptive_avg_pool1d`` does. Each output's
    gradient is shared equally among its bin's elements, and an element in two bins gets both
    shares, as :func:`pooling_lab.adaptive.adaptive_avg_pool1d_backward` computes.

    Parameters
    ----------
    fn : callable
        Takes ``grad_output`` (n,) and the int ``input_length`` L; returns the gradient (L,).

    Returns
    -------
    Report

    Examples
    --------
    >>> from pooling_lab.adaptive import adaptive_avg_pool1d_backward
    >>> def backward(grad_output, input_length):
    ...     shape = (1, input_length)
    ...     return adaptive_avg_pool1d_backward(grad_output[None], shape, len(grad_output))[0]
    >>> check_adaptive_avg_pool_backward(backward)
    PASS check_adaptive_avg_pool_backward: all 5 cases agree.
    """
    plans = [
        ("L = 6, n = 3: bins of 2, no overlap", 6, 3, np.float64),
        ("L = 5, n = 3: bins (0, 2), (1, 4), (3, 5)", 5, 3, np.float64),
        ("L = 7, n = 3: bins (0, 3), (2, 5), (4, 7)", 7, 3, np.float64),
        ("float32, L = 10, n = 4", 10, 4, np.float32),
        ("more outputs than inputs, L = 3, n = 5", 3, 5, np.float64),
    ]
    cases = []
    for description, length, n, dtype in plans:
        g = np.arange(1.0, n + 1, dtype=dtype)
        right = adaptive_avg_pool1d_backward(g[None], (1, length), n)[0]
        bins = adaptive_bins(length, n)
        floor_bins = [((i * length) // n, ((i + 1) * length) // n) for i in range(n)]
        # round() rounds halves to even, int(x + 0.5) up; the cases below tell the two
        # apart only where an edge is a half, and the first failing case (L = 5) has none
        round_bins = [(round(i * length / n), round((i + 1) * length / n)) for i in range(n)]
        mistakes = {
            "adaptive_nominal_divisor": _adaptive_backward(g, length, bins, "nominal"),
            "adaptive_overwrite": _adaptive_backward(g, length, bins, accumulate=False),
            "adaptive_floor_bins": _adaptive_backward(g, length, floor_bins),
            "adaptive_round_bins": _adaptive_backward(g, length, round_bins),
            "adaptive_not_divided": _adaptive_backward(g, length, bins, "one"),
        }
        step = length // n  # the widely copied conversion to a fixed kernel and stride
        kernel = length - (n - 1) * step
        fixed_bins = [(i * step, i * step + kernel) for i in range(n)]
        mistakes["adaptive_fixed_stride"] = _adaptive_backward(g, length, fixed_bins)
        if length // n:  # L // n, which at 5 -> 3 is 1: the later cases tell it from no division
            floor_nominal = _adaptive_backward(g, length, bins, "floor_nominal")
            mistakes = {"adaptive_floor_nominal": floor_nominal} | mistakes
        cases.append((description, (g, length), right, mistakes))
    return _diagnose("check_adaptive_avg_pool_backward", fn, cases)
