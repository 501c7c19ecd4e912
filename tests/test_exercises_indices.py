"""The indices checker names the mistakes it claims to, with hints for indices."""

from __future__ import annotations

import numpy as np
import pytest

from pooling_lab.exercises import check_max_pool_indices


def max_pool_with_indices(x, k, s, p, *, slip=None):
    """The exercise's loop solution, with switchable slips."""
    h, w = x.shape
    padded = np.full((h + 2 * p, w + 2 * p), -np.inf, dtype=x.dtype)
    padded[p : p + h, p : p + w] = x
    out_h, out_w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.empty((out_h, out_w), dtype=x.dtype)
    idx = np.empty((out_h, out_w), dtype=np.int64)
    for i in range(out_h):
        for j in range(out_w):
            window = padded[i * s : i * s + k, j * s : j * s + k]
            best = None
            for u in range(k):
                for v in range(k):
                    value = window[u, v]
                    later = value >= best[0] if slip == "last_tie" and best else False
                    if best is None or value > best[0] or later:
                        best = (value, u, v)
            value, u, v = best
            r, c = i * s + u, j * s + v  # in the padded array
            out[i, j] = value
            idx[i, j] = {
                "padded": r * (w + 2 * p) + c,
                "padded_width": (r - p) * (w + 2 * p) + (c - p),
                "in_window": u * k + v,
            }.get(slip, (r - p) * w + (c - p))
    if slip == "pairs":
        return out, np.stack(np.divmod(idx, w))
    return out, idx


def test_the_solution_passes():
    report = check_max_pool_indices(max_pool_with_indices)
    assert report.passed, repr(report)


@pytest.mark.parametrize(
    ("slip", "key", "in_hint"),
    [
        ("padded", "index_in_padded", "(r - p) * W + (c - p)"),
        ("padded_width", "index_padded_width", "not W + 2p"),
        ("in_window", "index_in_window", "add the window's first row and column"),
        ("last_tie", "index_last_tie", "np.argmax"),
        ("pairs", "shape", "not a (row, column) pair"),
    ],
)
def test_each_slip_is_named_with_a_hint_for_indices(slip, key, in_hint):
    report = check_max_pool_indices(lambda *args: max_pool_with_indices(*args, slip=slip))
    assert report.misconception == key, repr(report)
    assert in_hint in report.hint
