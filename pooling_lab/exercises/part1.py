"""Checkers for part 1 of the course: dense layers, ReLU, max, and max pooling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .. import functional as F
from ._checking import Report, _call, _diagnose, _fail

# The pooling checkers' last_tie hint speaks of scanning a window; a learner of max2_backward
# wrote a comparison of two arrays instead, so the hint must speak of that comparison.
_MAX2_LAST_TIE_HINT = (
    "that is a valid subgradient, but the exercise (like PyTorch's first-maximum rule) gives "
    "a tie to a, the first argument: whatever decides that a wins must be true when a == b, "
    "that is a >= b (equivalently, not b > a), and b then gets the rest"
)

# ---------------------------------------------------------------------------------------------
# Chapter 2: a dense layer


def check_dense_backward(fn: Callable) -> Report:
    """Check ``fn(x, W, grad_y) -> (grad_x, grad_W, grad_b)`` for ``y = x @ W + b``.

    Parameters
    ----------
    fn : callable
        Takes ``x`` (N, D), ``W`` (D, M) and ``grad_y`` (N, M).

    Returns
    -------
    Report
    """
    rng = np.random.default_rng(2)
    x, W, g = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    right = (g @ W.T, x.T @ g, g.sum(axis=0))
    mistakes = {
        "no_batch_sum": (right[0], right[1], g),
        "transposed": (right[0], g.T @ x, right[2]),
    }
    cases = [("x of shape (3, 4), W of shape (4, 2)", (x, W, g), right, mistakes)]
    # The last case checks that the transposed grad_W is named even though its shape is wrong.
    report = _diagnose("check_dense_backward", fn, cases, names=("grad_x", "grad_W", "grad_b"))
    if report.misconception == "shape":
        result, _, _ = _call(fn, (x, W, g))
        if isinstance(result, tuple) and len(result) == 3 and np.shape(result[1]) == (2, 4):
            return _fail("check_dense_backward", "transposed", "grad_W has shape (2, 4)")
        if isinstance(result, tuple) and len(result) == 3 and np.shape(result[2]) == (3, 2):
            return _fail("check_dense_backward", "no_batch_sum", "grad_b has shape (3, 2)")
    return report


# ---------------------------------------------------------------------------------------------
# Chapter 3: the derivative of max and of ReLU


def check_relu_backward(fn: Callable) -> Report:
    """Check ``fn(x, grad_output) -> grad_x`` for ReLU (0 at x == 0, PyTorch's convention).

    Parameters
    ----------
    fn : callable
        Takes ``x`` and ``grad_output`` of the same shape.

    Returns
    -------
    Report
    """
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    g = np.array([1.0, 2.0, 3.0, 4.0])
    right = F.relu_backward(g, x)
    mistakes = {"relu_negative": g, "relu_value": g * F.relu(x), "relu_sign": g * np.sign(x)}
    x32 = np.array([[1.5, -1.0], [0.0, 2.0]], dtype=np.float32)
    g32 = np.ones((2, 2), dtype=np.float32)
    # Every case that holds an x == 0 names slope 1 there ("x >= 0") first, whichever case a
    # learner's code meets first, before the broader "passes negatives" diagnosis.
    cases = [
        ("mixed signs", (x, g), right, mistakes),
        ("all positive, values far from 1", (x + 5, g), g, {"relu_value": g * (x + 5)}),
        (
            "a 2-D float32 array with a 0",
            (x32, g32),
            F.relu_backward(g32, x32),
            {"relu_at_zero": g32 * (x32 >= 0)},
        ),
        (
            "x exactly 0 (PyTorch gives 0)",
            (np.zeros(2), np.ones(2)),
            np.zeros(2),
            {"relu_at_zero": np.ones(2)},
        ),
    ]
    return _diagnose("check_relu_backward", fn, cases)


def check_max2_backward(fn: Callable) -> Report:
    """Check ``fn(a, b, grad) -> (grad_a, grad_b)`` for ``y = max(a, b)`` elementwise.

    On a tie ``a == b`` the whole gradient goes to ``a`` (the first argument), as PyTorch's
    first-maximum rule does.

    Parameters
    ----------
    fn : callable
        Takes arrays ``a``, ``b`` and ``grad`` of one shape.

    Returns
    -------
    Report
    """
    a = np.array([3.0, -1.0, 2.0])
    b = np.array([1.0, 4.0, -5.0])
    g = np.array([10.0, 20.0, 30.0])
    win = a >= b
    right = (g * win, g * ~win)
    cases = [
        (
            "no ties",
            (a, b, g),
            right,
            {"to_loser": (g * ~win, g * win), "spread": (g, g), "averaged": (g / 2, g / 2)},
        ),
        (
            "a tie: a == b == 2",
            (np.array([2.0]), np.array([2.0]), np.array([6.0])),
            (np.array([6.0]), np.array([0.0])),
            {
                "all_ties": (np.array([6.0]), np.array([6.0])),
                "last_tie": (np.array([0.0]), np.array([6.0])),
                "tie_dropped": (np.array([0.0]), np.array([0.0])),
            },
        ),
    ]
    report = _diagnose("check_max2_backward", fn, cases)
    if report.misconception == "last_tie":
        report = replace(report, hint=_MAX2_LAST_TIE_HINT)
    return report


# ---------------------------------------------------------------------------------------------
# Chapter 4: max pooling, forward


def _size(L, k, s, p, d, ceil):
    from ..reference import output_length

    return output_length(L, k, s, p, d, ceil)


def check_output_size(fn: Callable) -> Report:
    """Check ``fn(L, kernel_size, stride, padding, dilation, ceil_mode) -> int``.

    Parameters
    ----------
    fn : callable
        Returns the number of windows along one dimension of length ``L``.

    Returns
    -------
    Report
    """
    cases = []
    for args in [
        (6, 2, 2, 0, 1, False),
        # Padding 2 early: ignoring padding then gives a count that no other mistake gives.
        (8, 3, 1, 2, 1, False),
        (7, 3, 2, 1, 1, False),
        (9, 3, 1, 0, 2, False),
        (5, 2, 2, 0, 1, True),
        (6, 3, 3, 1, 1, True),
        (7, 2, 3, 1, 1, True),
        # On the drop boundary: the third window would start at padded position 4, the right
        # padding, so it is dropped. A drop test against L + 2p instead of L + p keeps it.
        (3, 2, 2, 1, 1, True),
    ]:
        L, k, s, p, d, ceil = args
        right = np.array(_size(*args))
        mistakes = {
            "off_by_one": np.array((L + 2 * p - d * (k - 1) - 1) // s),
            "no_dilation": np.array(_size(L, k, s, p, 1, ceil)),
        }
        if p:
            mistakes["no_padding"] = np.array(_size(L, k, s, 0, d, ceil))
        if ceil:
            mistakes["ceil_no_drop"] = np.array(-(-(L + 2 * p - d * (k - 1) - 1) // s) + 1)
            mistakes["off_by_one"] = np.array(-(-(L + 2 * p - d * (k - 1) - 1) // s))
        names = ("L", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
        description = ", ".join(f"{n}={v}" for n, v in zip(names, args))
        cases.append((description, args, right, mistakes))
    return _diagnose("check_output_size", fn, cases)


def _zero_padded_max(x, k, s, p):
    padded = np.pad(x, p)
    return F.max_pool2d(padded[None], k, s)[0]


def check_max_pool_forward(fn: Callable) -> Report:
    """Check ``fn(x, kernel_size, stride, padding) -> output`` for 2-D max pooling of one plane.

    Parameters
    ----------
    fn : callable
        Takes ``x`` (H, W) and int ``kernel_size``, ``stride``, ``padding``.

    Returns
    -------
    Report
    """
    rng = np.random.default_rng(4)
    plain = rng.permutation(36).reshape(6, 6).astype(np.float64)
    negative = -1.0 - rng.permutation(25).reshape(5, 5).astype(np.float64)
    odd = rng.standard_normal((8, 6)).astype(np.float32)
    cases = []
    for description, x, k, s, p in [
        ("6x6, kernel 2, stride 2", plain, 2, 2, 0),
        ("8x6 float32, kernel 3, stride 2 (sizes that do not divide)", odd, 3, 2, 0),
        ("5x5 all negative, kernel 3, stride 2, padding 1", negative, 3, 2, 1),
    ]:
        right = F.max_pool2d(x[None], k, s, p)[0]
        # Rounding (H + 2p - k) / s up instead of down adds a partial window at the end.
        ceil = tuple(-(-(n + 2 * p - k) // s) + 1 for n in x.shape)
        unpadded = tuple((n - k) // s + 1 for n in x.shape)
        mistakes = {"__shape__": "off_by_one", "__shapes__": {}}
        if ceil != right.shape:
            mistakes["__shapes__"][ceil] = "rounded_up"
        if p and unpadded != right.shape:
            mistakes["__shapes__"][unpadded] = "no_padding"
        if p:
            mistakes["zero_padding"] = _zero_padded_max(x, k, s, p)
        cases.append((description, (x, k, s, p), right, mistakes))
    return _diagnose("check_max_pool_forward", fn, cases)


# ---------------------------------------------------------------------------------------------
# Chapter 5 and 6: max pooling, backward


def _windows(shape, k, s):
    """Yield (output position, slice of the input) for every window of a plane."""
    out_h = (shape[0] - k) // s + 1
    out_w = (shape[1] - k) // s + 1
    for i in range(out_h):
        for j in range(out_w):
            yield (i, j), (slice(i * s, i * s + k), slice(j * s, j * s + k))


def _wrong_backward(x, g, k, s, rule):
    """What a backward pass with one specific mistake (``rule``) returns."""
    grad = np.zeros_like(x, dtype=g.dtype)
    for (i, j), window in _windows(x.shape, k, s):
        values = x[window]
        top = values == values.max()
        if rule == "spread":
            grad[window] += g[i, j]
        elif rule == "averaged":
            grad[window] += g[i, j] / values.size
        elif rule == "all_ties":
            grad[window] += g[i, j] * top
        elif rule == "split":
            grad[window] += g[i, j] * top / top.sum()
        elif rule in ("last_tie", "first", "overwrite", "activation"):
            flat = np.flatnonzero(top.ravel())
            pick = flat[-1] if rule == "last_tie" else flat[0]
            r, c = divmod(int(pick), values.shape[1])
            target = (window[0].start + r, window[1].start + c)
            factor = float(x[target] > 0) if rule == "activation" else 1.0
            if rule == "overwrite":
                grad[target] = g[i, j]
            else:
                grad[target] += g[i, j] * factor
    return grad


def _backward_cases(mistakes_to_rules, right_rule):
    """Cases for a backward checker; ``mistakes_to_rules`` maps misconception keys to rules."""
    rng = np.random.default_rng(6)
    distinct = rng.permutation(16).reshape(4, 4).astype(np.float64) + 1
    negative = -distinct
    ties = np.array([[1, 3, 2, 2], [3, 0, 2, 1], [5, 5, 0, 4], [5, 1, 4, 1]], dtype=np.float64)
    overlap = np.array(
        [[0, 1, 2, 0, 1], [1, 9, 0, 2, 0], [0, 2, 1, 8, 1], [2, 0, 1, 0, 3], [1, 0, 7, 1, 0]],
        dtype=np.float64,
    )
    f32 = rng.permutation(36).reshape(6, 6).astype(np.float32)
    plans = [
        ("4x4 distinct values, kernel 2, stride 2", distinct, 2, 2),
        ("a float32 6x6 input, kernel 3, stride 3", f32, 3, 3),
        ("all values negative, kernel 2, stride 2", negative, 2, 2),
        ("tied maxima, kernel 2, stride 2", ties, 2, 2),
        ("overlapping windows, kernel 3, stride 1", overlap, 3, 1),
    ]
    cases = []
    for description, x, k, s in plans:
        out = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
        g = np.arange(1.0, out[0] * out[1] + 1).reshape(out).astype(x.dtype)
        right = _wrong_backward(x, g, k, s, right_rule)
        mistakes = {m: _wrong_backward(x, g, k, s, r) for m, r in mistakes_to_rules.items()}
        cases.append((description, (x, g, k, s), right, mistakes))
    return cases


def check_max_pool_backward(fn: Callable) -> Report:
    """Check ``fn(x, grad_output, kernel_size, stride) -> grad_x`` for max pooling of a plane.

    The function gets the input ``x`` (not indices): it must find each window's winner itself
    (the first maximum in row-major order) and route that window's gradient to it.

    Parameters
    ----------
    fn : callable
        Takes ``x`` (H, W), ``grad_output`` (H', W') and int ``kernel_size``, ``stride``.

    Returns
    -------
    Report

    Examples
    --------
    >>> import numpy as np
    >>> import pooling_lab.functional as F
    >>> def backward(x, grad_output, kernel_size, stride):
    ...     _, idx = F.max_pool2d(x[None], kernel_size, stride, return_indices=True)
    ...     return F.max_pool2d_backward(grad_output[None], idx, (1,) + x.shape)[0]
    >>> check_max_pool_backward(backward).passed
    True
    """
    keys = ["spread", "averaged", "activation", "all_ties", "last_tie", "overwrite"]
    cases = _backward_cases({k: k for k in keys}, "first")
    return _diagnose("check_max_pool_backward", fn, cases)


def check_split_ties_backward(fn: Callable) -> Report:
    """Check ``fn(x, grad_output, kernel_size, stride)`` for the *split-equally* tie rule.

    Each window's gradient is shared equally by its tied maxima (t winners get grad / t each);
    overlapping windows still add up.

    Parameters
    ----------
    fn : callable
        Same signature as for :func:`check_max_pool_backward`.

    Returns
    -------
    Report
    """
    rules = {
        "all_ties": "all_ties",
        "not_split": "first",
        "spread": "spread",
        "averaged": "averaged",
        "overwrite": "overwrite",
    }
    return _diagnose("check_split_ties_backward", fn, _backward_cases(rules, "split"))
