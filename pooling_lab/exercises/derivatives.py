"""Checkers for the chain-rule and max-derivative chapters: the backward passes of a dense layer,
of ReLU, and of max(a, b)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .. import functional as F
from ._checking import Report, _call, _diagnose, _fail, _opposite_sign, _with_hints

# The pooling checkers' last_tie hint speaks of scanning a window; a learner of max2_backward
# wrote a comparison of two arrays instead, so the hint must speak of that comparison.
_MAX2_LAST_TIE_HINT = (
    "that is a valid subgradient, but the exercise gives a tie to a, the first argument, as "
    "PyTorch's max pooling gives a tie to the first maximum (torch.maximum instead splits a "
    "tie 1/2 and 1/2, which is also valid): whatever decides that a wins must be true when "
    "a == b, that is a >= b (equivalently, not b > a), and b then gets the rest"
)
# The generic all_ties hint speaks of windows; a max2 learner compared two arrays.
_MAX2_ALL_TIES_HINT = (
    "at a == b both tests were true, so the gradient was counted twice (its total doubles): "
    "make exactly one of them true, a >= b for a and the opposite (a < b) for b, so that a "
    "tie goes to a as the exercise asks"
)

_DENSE_SHAPE_HINT = (
    "each gradient has the shape of its variable: grad_x like x (N, D), grad_W like W "
    "(D, M), grad_b like b (M,)"
)
_DENSE_PRODUCT_HINT = (
    "; in a matrix product the inner sizes must agree, and grad_y is (N, M): which of x, W and "
    "their transposes turns it into each gradient's shape?"
)
# batch_mean's table entry speaks of both gradients divided; a learner may divide only one.
_BATCH_MEAN_ONE = {
    "grad_W": "grad_W = x.T @ grad_y already sums the rows' contributions, one per example",
    "grad_b": "b is added to every row, so grad_b is the sum of grad_y's rows, "
    "grad_y.sum(axis=0), not their mean",
}
_BATCH_MEAN_REST = (
    "; if the loss is a mean over the batch, its 1/N is already in grad_y, so dividing again "
    "counts it twice"
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
        "batch_mean": (right[0], right[1] / len(x), right[2] / len(x)),
        "transposed": (right[0], g.T @ x, right[2]),
        # one outer product of the batch sums, where grad_W sums one per example
        "outer_of_sums": (right[0], np.outer(x.sum(axis=0), g.sum(axis=0)), right[2]),
    }
    cases = [("x of shape (3, 4), W of shape (4, 2)", (x, W, g), right, mistakes)]

    def one_divided(args, got, want):
        """Name grad_W or grad_b alone divided by the batch size (both is batch_mean's model),
        or gradients of the opposite sign."""
        if _opposite_sign(got, want):
            return "opposite_sign"
        for at, name in ((1, "grad_W"), (2, "grad_b")):
            fitted = list(want)
            fitted[at] = want[at] / len(x)
            if all(np.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(got, fitted)):
                message = f"{name} was divided by the batch size"
                return "batch_mean", message, _BATCH_MEAN_ONE[name] + _BATCH_MEAN_REST
        return None

    # The last case checks that the transposed grad_W is named even though its shape is wrong.
    report = _diagnose(
        "check_dense_backward", fn, cases, names=("grad_x", "grad_W", "grad_b"), extra=one_divided
    )
    if report.misconception == "crashed" and "matmul" in report.message:
        # a product whose inner sizes do not agree: the shapes decide which product is meant
        return replace(report, hint=_DENSE_SHAPE_HINT + _DENSE_PRODUCT_HINT)
    if report.misconception == "shape":  # a wrong array shape (a wrong count has its own key)
        result, _, _ = _call(fn, (x, W, g))
        three = isinstance(result, (tuple, list)) and len(result) == 3
        if three and np.shape(result[1]) == (2, 4):
            return _fail("check_dense_backward", "transposed", "grad_W has shape (2, 4)")
        if three and np.shape(result[2]) == (3, 2):
            return _fail("check_dense_backward", "no_batch_sum", "grad_b has shape (3, 2)")
        return replace(report, hint=_DENSE_SHAPE_HINT)
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
    # Negative gradients at positive x, so that testing grad_output's sign instead of x's is seen.
    g = np.array([1.0, 2.0, 3.0, -4.0])
    right = F.relu_backward(g, x)
    mistakes = {
        "relu_negative": g,
        "relu_value": g * F.relu(x),
        "relu_sign": g * np.sign(x),
        "relu_tests_grad": np.maximum(g, 0),
        # pooling_lab.functional.relu_backward(x, g): the package's order is (grad_output, input)
        "relu_swapped": x * (g > 0),
    }
    x32 = np.array([[1.5, -1.0], [0.0, 2.0]], dtype=np.float32)
    g32 = np.ones((2, 2), dtype=np.float32)
    # Every case that holds an x == 0 names slope 1 there ("x >= 0") first, whichever case a
    # learner's code meets first, before the broader "passes negatives" diagnosis.
    cases = [
        ("mixed signs", (x, g), right, mistakes),
        (
            "all positive, values far from 1",
            (x + 5, g),
            g,
            {"relu_value": g * (x + 5), "relu_tests_grad": np.maximum(g, 0)},
        ),
        (
            "a 2-D float32 array with a 0",
            (x32, g32),
            F.relu_backward(g32, x32),
            {"relu_at_zero": g32 * (x32 >= 0), "relu_half": g32 * ((x32 > 0) + 0.5 * (x32 == 0))},
        ),
        (
            "x exactly 0 (PyTorch gives 0)",
            (np.zeros(2), np.ones(2)),
            np.zeros(2),
            {"relu_at_zero": np.ones(2), "relu_half": np.full(2, 0.5)},
        ),
    ]
    return _diagnose("check_relu_backward", fn, cases)


def check_max2_backward(fn: Callable) -> Report:
    """Check ``fn(a, b, grad) -> (grad_a, grad_b)`` for ``y = max(a, b)`` elementwise.

    On a tie ``a == b`` the whole gradient goes to ``a`` (the first argument), as PyTorch's max
    pooling gives a tie to the first maximum (``torch.maximum`` splits it, also validly).

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
                "split_tie": (np.array([3.0]), np.array([3.0])),
            },
        ),
        # np.maximum takes plain numbers too; there a >= b is a Python bool, and ~True == -2
        (
            "plain Python floats, a tie: a == b == 0.0",
            (0.0, 0.0, 1.0),
            (1.0, 0.0),
            {
                "python_bool_not": (1.0, -2.0),
            },
        ),
    ]
    report = _diagnose("check_max2_backward", fn, cases, names=("grad_a", "grad_b"))
    return _with_hints(report, {"last_tie": _MAX2_LAST_TIE_HINT, "all_ties": _MAX2_ALL_TIES_HINT})
