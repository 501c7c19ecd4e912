"""Checkers for part 2 of the course: average pooling and log-sum-exp pooling."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import functional as F
from ..generalized import lse_pool2d_backward
from ._checking import Report, _diagnose

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
    for i in range(x.shape[0] // k):
        for j in range(x.shape[1] // k):
            window = slice(i * k, i * k + k), slice(j * k, j * k + k)
            v = x[window]
            if mistake == "max_routing":
                weights = np.zeros_like(v)
                weights.flat[np.argmax(v)] = 1
            else:
                scaled = v if mistake == "lse_no_temperature" else v / temperature
                if mistake != "lse_overflow":
                    scaled = scaled - scaled.max()
                with np.errstate(over="ignore", invalid="ignore"):
                    e = np.exp(scaled)
                    weights = e / e.sum()
                if mistake == "lse_extra_factor":
                    weights = weights / temperature
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
    plans = [
        ("4x4 input, kernel 2, T = 1", x, 2, 1.0),
        ("4x4 input, kernel 2, T = 0.5", x, 2, 0.5),
        ("a float32 input, kernel 2, T = 2", (3 * x).astype(np.float32), 2, 2.0),
        ("large values (around 1000), T = 1", x + 1000.0, 2, 1.0),
    ]
    cases = []
    for description, v, k, t in plans:
        g = np.arange(1.0, 5.0, dtype=v.dtype).reshape(2, 2)
        right = lse_pool2d_backward(g[None], v[None], k, temperature=t)[0]
        keys = ["max_routing", "lse_no_temperature", "lse_extra_factor", "lse_overflow"]
        mistakes = {key: _softmax_windows(v, g, k, t, key) for key in keys}
        if t == 1.0:  # at T = 1 these mistakes change nothing
            del mistakes["lse_no_temperature"], mistakes["lse_extra_factor"]
        cases.append((description, (v, g, k, t), right, mistakes))
    return _diagnose("check_lse_pool_backward", fn, cases)
