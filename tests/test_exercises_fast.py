"""The checker of making_it_fast's average-pooling exercise passes the chapter's solution and
names each learner-style slip, including those a bare np.allclose missed or misreported.

``avg_pool_offsets`` is the solution printed in book/making_it_fast.ipynb (exercise
ex-fast-avg), so the chapter's solution is run and checked here.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pooling_lab.exercises import check_avg_pool_offsets


def avg_pool_offsets(x, k, s):
    ho, wo = (x.shape[-2] - k) // s + 1, (x.shape[-1] - k) // s + 1
    total = np.zeros(x.shape[:-2] + (ho, wo), dtype=x.dtype)
    for u, v in itertools.product(range(k), range(k)):
        total += x[..., u : u + s * ho : s, v : v + s * wo : s]
    return total / (k * k)


def slipped(x, k, s, *, slip):
    ho, wo = (x.shape[-2] - k) // s + 1, (x.shape[-1] - k) // s + 1
    if slip == "count_from_h":  # both counts from the height
        wo = ho
    total = None if slip == "view" else np.zeros(x.shape[:-2] + (ho, wo), dtype=x.dtype)
    for u, v in itertools.product(range(k), range(k)):
        if slip == "stride":
            values = x[..., u : u + ho, v : v + wo]
        elif slip == "step_k":
            values = x[..., u : u + k * ho : k, v : v + k * wo : k]
        elif slip == "uncut":
            values = x[..., u::s, v::s]
        else:
            values = x[..., u : u + s * ho : s, v : v + s * wo : s]
        if total is None:
            total = values  # a view into x: the += below writes into the input
        else:
            total += values
    divisor = {"by_k": k, "sum": 1}.get(slip, k * k)
    return total / divisor


def test_the_chapters_solution_passes():
    report = check_avg_pool_offsets(avg_pool_offsets)
    assert report.passed, repr(report)


@pytest.mark.parametrize(
    ("slip", "key", "in_hint"),
    [
        ("stride", "offsets_stride_one", "every s-th row and column"),
        ("by_k", "offsets_divided_by_k", "sum over k * k"),
        ("sum", "offsets_not_divided", "number of elements, k * k"),
        ("uncut", "crashed", "x[..., u::s, v::s], can hold a row or a column more"),
        ("view", "mutated", "copy"),
        ("step_k", "crashed", "(the stride, not k)"),
        ("count_from_h", "shape", "from the plane's own height H and width W"),
    ],
)
def test_each_slip_is_named_with_a_fitting_hint(slip, key, in_hint):
    report = check_avg_pool_offsets(lambda x, k, s: slipped(x, k, s, slip=slip))
    assert report.misconception == key, repr(report)
    assert in_hint in report.hint


def test_a_float64_result_for_float32_input_is_a_dtype_slip():
    report = check_avg_pool_offsets(lambda x, k, s: avg_pool_offsets(x.astype(np.float64), k, s))
    assert report.misconception == "dtype", repr(report)


def test_a_tuple_returned_keeps_the_one_result_hint():
    report = check_avg_pool_offsets(lambda x, k, s: (avg_pool_offsets(x, k, s), None))
    assert report.misconception == "result_count", repr(report)
    assert "return one result" in report.hint
