"""Checker for maxpool_forward's indices exercise: each window's winner as a flat position."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import functional as F
from ._checking import MISCONCEPTIONS, Report, _diagnose, _with_hints

MISCONCEPTIONS.update(
    {
        "index_in_padded": (
            "the indices count positions in the padded array, not in x",
            "an index is a position in x itself: a winner at row r, column c of the padded "
            "array is at row r - p, column c - p of x, so its index is (r - p) * W + (c - p), "
            "with W the width of x",
        ),
        "index_padded_width": (
            "the rows and columns were shifted by the padding, but flattened with the padded "
            "array's width",
            "flatten with the width of x, W, not W + 2p: the index of row r, column c of x is "
            "r * W + c",
        ),
        "index_in_window": (
            "the indices count positions within each window, not within the plane",
            "an index says where in the whole plane the winner is: add the window's first row "
            "and column (i * s - p, j * s - p) to the winner's place in the window, then "
            "flatten as row * W + column",
        ),
        "index_last_tie": (
            "on a tie the index is the last maximum in the window, not the first",
            "PyTorch reports the first maximum in row-major window order: when you scan a "
            "window, replace the best so far only on a strictly larger value (>, not >=), or "
            "use np.argmax, which returns the first maximum",
        ),
    }
)


# The table's shape hint speaks of gradients.
_SHAPE_HINT = (
    "the output and the indices both have one entry per window, (H', W'): an index is one "
    "number, the flat position row * W + column, not a (row, column) pair"
)


def _indices(x, k, s, p, mistake=None):
    """Each window's winner (first maximum, row-major), as the exercise numbers it, or with one
    specific mistake."""
    h, w = x.shape
    padded = np.full((h + 2 * p, w + 2 * p), -np.inf)
    padded[p : p + h, p : p + w] = x
    out_h, out_w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    idx = np.empty((out_h, out_w), dtype=np.int64)
    for i in range(out_h):
        for j in range(out_w):
            window = padded[i * s : i * s + k, j * s : j * s + k].ravel()
            at = (
                len(window) - 1 - int(np.argmax(window[::-1]))
                if mistake == "index_last_tie"
                else int(np.argmax(window))
            )
            u, v = divmod(at, k)
            r, c = i * s + u, j * s + v  # in the padded array
            idx[i, j] = {
                "index_in_padded": r * (w + 2 * p) + c,
                "index_padded_width": (r - p) * (w + 2 * p) + (c - p),
                "index_in_window": at,
            }.get(mistake, (r - p) * w + (c - p))
    return idx


def check_max_pool_indices(fn: Callable) -> Report:
    """Check ``fn(x, kernel_size, stride, padding) -> (output, indices)`` for one plane.

    ``indices`` holds, for each window, the flat position ``r * W + c`` in ``x`` (W its width)
    of the window's first maximum in row-major order: what
    ``pooling_lab.functional.max_pool2d(..., return_indices=True)`` and PyTorch return.

    Parameters
    ----------
    fn : callable
        Takes ``x`` (H, W) and int ``kernel_size``, ``stride``, ``padding``; returns the pooled
        output and the indices, both (H', W').

    Returns
    -------
    Report

    Examples
    --------
    >>> import pooling_lab.functional as F
    >>> def max_pool_with_indices(x, kernel_size, stride, padding):
    ...     out, idx = F.max_pool2d(x[None], kernel_size, stride, padding, return_indices=True)
    ...     return out[0], idx[0]
    >>> check_max_pool_indices(max_pool_with_indices)
    PASS check_max_pool_indices: all 4 cases agree.
    """
    rng = np.random.default_rng(5)
    plans = [
        ("6x6, kernel 2, stride 2, no padding", rng.permutation(36).reshape(6, 6), 2, 2, 0),
        # all negative, so that padding (-inf) never wins and a padded index shows
        (
            "5x7 all negative, kernel 3, stride 2, padding 1",
            -1.0 - rng.permutation(35).reshape(5, 7),
            3,
            2,
            1,
        ),
        ("tied maxima, kernel 2, stride 2", np.array([[1, 4, 4, 0], [4, 2, 3, 3]]), 2, 2, 0),
        ("7x4, kernel 3, stride 1, padding 1", rng.permutation(28).reshape(7, 4), 3, 1, 1),
    ]
    keys = ("index_in_padded", "index_padded_width", "index_in_window", "index_last_tie")
    cases = []
    for description, values, k, s, p in plans:
        x = np.asarray(values, dtype=np.float64)
        out, idx = F.max_pool2d(x[None], k, s, p, return_indices=True)
        assert np.array_equal(idx[0], _indices(x, k, s, p))  # the model is PyTorch's rule
        mistakes = {}
        for key in keys:
            wrong = _indices(x, k, s, p, key)
            if not np.array_equal(wrong, idx[0]):
                mistakes[key] = (out[0], wrong)
        cases.append((description, (x, k, s, p), (out[0], idx[0]), mistakes))
    report = _diagnose("check_max_pool_indices", fn, cases, names=("output", "indices"))
    return _with_hints(report, {"shape": _SHAPE_HINT})
