"""Checker for making_it_fast's exercise: average pooling with one operation per kernel offset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .. import functional as F
from ._checking import MISCONCEPTIONS, Report, _diagnose

MISCONCEPTIONS.update(
    {
        "offsets_stride_one": (
            "the slices step by 1, not by the stride",
            "offset (i, j) of window (a, b) is input element (a * s + i, b * s + j), so the "
            "offset's values for every window are every s-th row and column from (i, j): "
            "x[..., i : i + s * ho : s, j : j + s * wo : s]",
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
    "wo = (W - k) // s + 1. A slice x[..., i::s, j::s] runs to the end of the plane and can "
    "hold a row or a column more: cut it to x[..., i : i + s * ho : s, j : j + s * wo : s]"
)


def _offsets_mean(x, k, s, mistake=None):
    """Average pooling by kernel offsets, or one specific mistake."""
    ho, wo = (x.shape[-2] - k) // s + 1, (x.shape[-1] - k) // s + 1
    step = 1 if mistake == "offsets_stride_one" else s
    total = np.zeros(x.shape[:-2] + (ho, wo), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            total += x[..., i : i + step * ho : step, j : j + step * wo : step]
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
        report = replace(report, hint=_UNCUT_HINT)
    return report
