"""Checker for beyond_max's Lp-pooling exercise: the backward pass of one plane, by loops."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..generalized import lp_pool2d_backward
from ._checking import MISCONCEPTIONS, Report, _diagnose, _with_hints

MISCONCEPTIONS.update(
    {
        "lp_not_divided": (
            "each element got g x_i^(p-1): the factor y^(1-p) of the chain rule is missing",
            "y = S^(1/p) with S the window's sum of x^p, so dy/dx_i = (1/p) S^(1/p - 1) "
            "p x_i^(p-1); the p and 1/p cancel and S^(1/p - 1) = y^(1-p), so the gradient is "
            "(x_i / y)^(p-1)",
        ),
        "lp_power_p": (
            "each element got (x_i / y)^p = x_i^p / S, its share of the window's sum S of x^p: "
            "the exponent is p, where it should be p - 1",
            "differentiating x_i^p brings the p down and leaves x_i^(p-1): the gradient is "
            "(x_i / y)^(p-1), the share raised to the power 1 - 1/p. The shares sum to 1 like "
            "a softmax, but at p = 1 every element's gradient is 1, not its share",
        ),
        "lp_times_p": (
            "each element got p (x_i / y)^(p-1): a factor p too many",
            "the p that differentiating x_i^p brings down cancels the 1/p of the outer "
            "derivative, d(S^(1/p))/dS = (1/p) S^(1/p - 1): the gradient is (x_i / y)^(p-1)",
        ),
        "lp_zero_nan": (
            "a window of zeros got nan (0 / 0), where PyTorch's gradient is 0",
            "when the window's sum of x^p is 0, y is 0 and (x_i / y)^(p-1) is 0 / 0: skip such "
            "a window (its gradient stays 0), as PyTorch and pooling_lab do",
        ),
        "lp_overflow": (
            "the p-th powers of the window (or their sum) overflowed to inf in float32, and the "
            "window's gradient with them (0, inf or nan)",
            "float32 overflows above about 3.4e38, and 8^64 = 2^192 is far beyond it: divide "
            "the window by its maximum M first, r = x / M, so that every r^p lies in [0, 1]; "
            "then y / M = (sum r^p)^(1/p) and the gradient is (r_i / (y / M))^(p-1)",
        ),
    }
)


def _lp_windows(x, g, p, k, s, mistake=None):
    """Lp pooling's gradient window by window, in ``x``'s dtype (or one specific mistake)."""
    grad = np.zeros_like(x)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            window = slice(i * s, i * s + k), slice(j * s, j * s + k)
            v = x[window]
            with np.errstate(all="ignore"):
                # the direct form, without the shift, and the shifted form without the zero rule
                m = v.dtype.type(1) if mistake == "lp_overflow" else v.max()
                zero_sum = (v**p).sum() == 0 if mistake == "lp_overflow" else m == 0
                if zero_sum and mistake != "lp_zero_nan":
                    continue  # PyTorch's rule: a zero sum gives a zero gradient
                r = v / m
                total = (r**p).sum()
                y = total ** (1 / p)
                weights = {
                    "lp_not_divided": v ** (p - 1),
                    "lp_power_p": (r / y) ** p,
                    "lp_times_p": p * (r / y) ** (p - 1),
                }.get(mistake, (r / y) ** (p - 1))
            if mistake == "overwrite":
                grad[window] = g[i, j] * weights
            else:
                grad[window] += g[i, j] * weights
    return grad


def check_lp_pool_backward(fn: Callable) -> Report:
    """Check ``fn(x, grad_output, norm_type, kernel_size, stride) -> grad_x`` for Lp pooling.

    The forward is ``y = (sum of x**p over the window) ** (1 / p)`` over ``kernel_size``
    windows of one plane ``x`` of non-negative values, at ``stride`` (windows may overlap), no
    padding; a window whose sum of ``x**p`` is 0 gets gradient 0, as in PyTorch's ``LPPool2d``.

    Parameters
    ----------
    fn : callable
        Takes ``x`` (H, W), ``grad_output`` (H', W'), ``norm_type`` p, int ``kernel_size`` and
        int ``stride``; returns the gradient with respect to ``x``, in ``x``'s dtype.

    Returns
    -------
    Report

    Examples
    --------
    >>> from pooling_lab.generalized import lp_pool2d_backward
    >>> def backward(x, grad_output, norm_type, kernel_size, stride):
    ...     return lp_pool2d_backward(grad_output[None], x[None], norm_type, kernel_size,
    ...                               stride)[0]
    >>> check_lp_pool_backward(backward)
    PASS check_lp_pool_backward: all 6 cases agree.
    """
    rng = np.random.default_rng(11)
    x = rng.uniform(0.5, 3.0, (5, 5))
    zeros = x[:4, :4].copy()
    zeros[:2, 2:] = 0.0  # one window of zeros, common after a ReLU
    # float32 values up to 8 at p = 64: their p-th powers overflow unless shifted. One value
    # per window is 8 or close to it, so that the window's gradient is not all tiny
    big = rng.uniform(1.0, 8.0, (4, 4)).astype(np.float32)
    big[::2, ::2] = [[8.0, 7.5], [7.9, 8.0]]
    plans = [
        ("4x4 input, kernel 2, stride 2, p = 3", x[:4, :4], 3.0, 2, 2),
        ("the same at p = 1, where every element of a window gets 1", x[:4, :4], 1.0, 2, 2),
        ("5x5 input, kernel 3, stride 2 (windows share a row or column), p = 2", x, 2.0, 3, 2),
        ("3x3 input, kernel 2, stride 1 (overlapping windows), p = 4", x[:3, :3], 4.0, 2, 1),
        ("a 4x4 input with one window of zeros, kernel 2, p = 2", zeros, 2.0, 2, 2),
        ("float32 values up to 8, kernel 2, p = 64", big, 64.0, 2, 2),
    ]
    keys = (
        "max_routing",
        "lp_not_divided",
        "lp_power_p",
        "lp_times_p",
        "lp_zero_nan",
        "lp_overflow",
        "overwrite",
    )
    cases = []
    for description, v, p, k, s in plans:
        out = ((v.shape[0] - k) // s + 1, (v.shape[1] - k) // s + 1)
        g = np.arange(1.0, 1.0 + out[0] * out[1], dtype=v.dtype).reshape(out)
        # computed in float64 and rounded once, so float32 answers are held to the true value
        wide = lp_pool2d_backward(g[None].astype(np.float64), v[None].astype(np.float64), p, k, s)
        right = wide[0].astype(v.dtype)
        mistakes = {}
        for key in keys:
            if key == "max_routing":
                wrong = _max_routing(v, g, k, s)
            else:
                wrong = _lp_windows(v, g, p, k, s, key)
            # a mistake that gives the right answer here is not one this case can show
            if not np.allclose(wrong, right, rtol=1e-5, atol=1e-6, equal_nan=True):
                mistakes[key] = wrong
        cases.append((description, (v, g, p, k, s), right, mistakes))
    report = _diagnose("check_lp_pool_backward", fn, cases, extra=_overflowed)
    # the table's hints for these two speak of log-sum-exp and of max and average pooling
    return _with_hints(report, _HINTS)


_HINTS = {
    "max_routing": (
        "that is max pooling's one-hot routing, the limit as p grows; at a finite p every "
        "element of the window gets (x_i / y)^(p-1), the largest about 1 and the others less"
    ),
    "overwrite": (
        "an input that two windows share lies in both sums, so it receives both windows' "
        "gradients: add (+=) each window's g (x_i / y)^(p-1), do not assign (=)"
    ),
}


def _overflowed(args, got, want):
    """Name the overflow of a direct form the fixed models do not give: in float32 at a large
    p, any inf or NaN where the right gradient is finite (S^(1/p - 1) x^(p-1) gives 0 * inf)."""
    x, p = args[0], args[2]
    if x.dtype == np.float32 and p > 32 and not np.all(np.isfinite(got[0])):
        return "lp_overflow"
    return None


def _max_routing(x, g, k, s):
    """Max pooling's gradient: each window's g to its first maximum, added where windows
    overlap."""
    grad = np.zeros_like(x)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            v = x[i * s : i * s + k, j * s : j * s + k]
            u, w = divmod(int(np.argmax(v)), k)
            grad[i * s + u, j * s + w] += g[i, j]
    return grad
