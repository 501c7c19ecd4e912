"""Checkers for part 2 of the course: average, log-sum-exp and adaptive average pooling."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import functional as F
from ..adaptive import adaptive_avg_pool1d_backward, adaptive_bins
from ..generalized import lse_pool2d_backward
from ._checking import MISCONCEPTIONS, Report, _diagnose

# Part 2's own misconceptions, registered with the shared table (keys are what tests check).
MISCONCEPTIONS.update(
    {
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
        "adaptive_not_divided": (
            "each input received the bin's whole gradient",
            "the output is the bin's mean, so each input's share is g[i] divided by the bin's "
            "length",
        ),
    }
)

# ---------------------------------------------------------------------------------------------
# Average pooling, backward


def _avg_backward(shape, g, k, s, p, divisor_rule, accumulate=True):
    """Loop version of an average pool's backward for one plane, with a chosen divisor rule.

    ``divisor_rule`` is "include" (k*k), "exclude" (real inputs only) or "one" (no division).
    ``accumulate=False`` assigns instead of adding: the overwrite mistake.
    """
    padded = np.zeros((shape[0] + 2 * p, shape[1] + 2 * p), dtype=g.dtype)
    real = np.zeros_like(padded)
    real[p : p + shape[0], p : p + shape[1]] = 1
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            window = slice(i * s, i * s + k), slice(j * s, j * s + k)
            divisor = {"include": k * k, "exclude": real[window].sum(), "one": 1}[divisor_rule]
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
    PASS check_avg_pool_backward: all 5 cases agree.
    """
    plans = [
        ("4x4 input, kernel 2, stride 2", (4, 4), 2, 2, 0, True),
        ("a float32 6x6 input, kernel 3, stride 3", (6, 6), 3, 3, 0, True),
        ("overlapping windows, kernel 3, stride 1", (5, 5), 3, 1, 0, True),
        ("padding 1, count_include_pad=True", (4, 4), 3, 2, 1, True),
        ("padding 1, count_include_pad=False", (4, 4), 3, 2, 1, False),
    ]
    cases = []
    for description, shape, k, s, p, include in plans:
        out = [(n + 2 * p - k) // s + 1 for n in shape]
        dtype = np.float32 if "float32" in description else np.float64
        g = np.arange(1.0, out[0] * out[1] + 1, dtype=dtype).reshape(out)
        rule = "include" if include else "exclude"
        right = F.avg_pool2d_backward(g[None], (1, *shape), k, s, p, count_include_pad=include)[0]
        mistakes = {
            "not_divided": _avg_backward(shape, g, k, s, p, "one"),
            "pad_divisor": _avg_backward(shape, g, k, s, p, "exclude" if include else "include"),
            "overwrite": _avg_backward(shape, g, k, s, p, rule, accumulate=False),
        }
        if not p:
            del mistakes["pad_divisor"]  # without padding both divisors agree
        cases.append((description, (g, shape, k, s, p, include), right, mistakes))
    return _diagnose("check_avg_pool_backward", fn, cases)


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
                elif mistake == "lse_unscaled_shift":
                    scaled = scaled - v.max()  # max(x), where max(x / T) was meant
                elif mistake not in ("lse_overflow", "lse_naive_output"):
                    scaled = scaled - scaled.max()
                with np.errstate(over="ignore", under="ignore", invalid="ignore"):
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
    spread = (3 * x).astype(np.float32)
    spread[:2, :2] += 50  # (x / T) near 100: exp overflows float32 unless shifted
    spread[:2, 2:] = [[60, -60], [0, 10]]  # the maximum 57.5 above the mean
    plans = [
        ("4x4 input, kernel 2, T = 1", x, 2, 1.0),
        ("4x4 input, kernel 2, T = 0.5", x, 2, 0.5),
        ("4x4 input, kernel 2, T = 2", x, 2, 2.0),
        ("a float32 input, kernel 2, T = 2", (3 * x).astype(np.float32), 2, 2.0),
        ("large values (around 1000), T = 1", x + 1000.0, 2, 1.0),
        ("one window near 1000, the others near 0, T = 1", mixed, 2, 1.0),
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
    return _diagnose("check_lse_pool_backward", fn, cases)


# ---------------------------------------------------------------------------------------------
# Adaptive average pooling, backward


def _adaptive_backward(g, length, bins, divisor="own", accumulate=True):
    """Spread ``g`` over ``bins`` of a length-``length`` signal, with one chosen mistake.

    ``divisor`` is "own" (the bin's length), "nominal" (L / n) or "one" (no division);
    ``accumulate=False`` assigns instead of adding (the overwrite mistake).
    """
    grad = np.zeros(length, dtype=g.dtype)
    for value, (start, stop) in zip(g, bins):
        size = {"own": max(stop - start, 1), "nominal": length / len(g), "one": 1}[divisor]
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
        mistakes = {
            "adaptive_nominal_divisor": _adaptive_backward(g, length, bins, "nominal"),
            "adaptive_overwrite": _adaptive_backward(g, length, bins, accumulate=False),
            "adaptive_floor_bins": _adaptive_backward(g, length, floor_bins),
            "adaptive_not_divided": _adaptive_backward(g, length, bins, "one"),
        }
        cases.append((description, (g, length), right, mistakes))
    return _diagnose("check_adaptive_avg_pool_backward", fn, cases)
