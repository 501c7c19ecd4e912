"""The Lp-pooling checker passes the chapter's solution and names each learner-style slip.

``lp_right`` is the solution printed in book/beyond_max.ipynb (exercise ex-lp-backward), so the
chapter's solution is run and checked here; the slips are written the way a learner might
write them, each one change away from it.
"""

from __future__ import annotations

import numpy as np
import pytest

from pooling_lab.exercises import MISCONCEPTIONS, check_lp_pool_backward


def lp_right(x, grad_output, norm_type, kernel_size, stride):
    p, k, s = norm_type, kernel_size, stride
    grad = np.zeros_like(x)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            rows, cols = slice(i * s, i * s + k), slice(j * s, j * s + k)
            m = x[rows, cols].max()
            if m == 0:  # the sum of x^p is 0: PyTorch's gradient is 0
                continue
            r = x[rows, cols] / m  # in [0, 1]: r**p cannot overflow
            y_over_m = (r**p).sum() ** (1 / p)
            grad[rows, cols] += grad_output[i, j] * (r / y_over_m) ** (p - 1)
    return grad


def lp_slip(x, grad_output, norm_type, kernel_size, stride, *, slip):
    """The solution with one slip; the direct form (no shift) where the slip is about it."""
    p, k, s = norm_type, kernel_size, stride
    grad = np.zeros_like(x)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            rows, cols = slice(i * s, i * s + k), slice(j * s, j * s + k)
            window = x[rows, cols]
            if slip == "max":
                share = np.zeros_like(window)
                share.flat[np.argmax(window)] = 1
            elif slip in ("direct", "no_zero_check"):
                with np.errstate(all="ignore"):
                    y = (window**p).sum() ** (1 / p)
                    share = (window / y) ** (p - 1)
            else:
                m = window.max()
                if m == 0:
                    continue
                r = window / m
                total = (r**p).sum()
                y_over_m = total ** (1 / p)
                share = {
                    "no_divide": window ** (p - 1),
                    "power_p": (r / y_over_m) ** p,
                    "times_p": p * (r / y_over_m) ** (p - 1),
                    "softmax_like": r**p / total,
                }.get(slip, (r / y_over_m) ** (p - 1))
            if slip == "assign":
                grad[rows, cols] = grad_output[i, j] * share
            else:
                grad[rows, cols] += grad_output[i, j] * share
    return grad


def test_the_chapters_solution_passes():
    report = check_lp_pool_backward(lp_right)
    assert report.passed, repr(report)


@pytest.mark.parametrize(
    ("slip", "key", "in_hint"),
    [
        ("no_divide", "lp_not_divided", "(x_i / y)^(p-1)"),
        ("power_p", "lp_power_p", "leaves x_i^(p-1)"),
        # (x / y)^p is x^p / S: the same answer, and the same name
        ("softmax_like", "lp_power_p", "not its share"),
        ("times_p", "lp_times_p", "cancels the 1/p"),
        ("no_zero_check", "lp_zero_nan", "skip such a window"),
        ("direct", "lp_zero_nan", "skip such a window"),  # its first failure is the zero window
        ("max", "max_routing", "the limit as p grows"),
        ("assign", "overwrite", "add (+=)"),
    ],
)
def test_each_slip_is_named_with_a_hint_for_lp(slip, key, in_hint):
    report = check_lp_pool_backward(lambda *args: lp_slip(*args, slip=slip))
    assert report.misconception == key, repr(report)
    assert in_hint in report.hint


def test_the_overflow_is_named_once_the_zero_window_is_handled():
    def direct_with_zero_check(x, grad_output, p, k, s):
        grad = np.zeros_like(x)
        for i in range(grad_output.shape[0]):
            for j in range(grad_output.shape[1]):
                window = x[i * s : i * s + k, j * s : j * s + k]
                y = (window**p).sum() ** (1 / p)  # overflows to inf in float32 at p = 64
                if y == 0:
                    continue
                grad[i * s : i * s + k, j * s : j * s + k] += grad_output[i, j] * (window / y) ** (
                    p - 1
                )
        return grad

    with np.errstate(all="ignore"):
        report = check_lp_pool_backward(direct_with_zero_check)
    assert report.misconception == "lp_overflow", repr(report)
    assert "divide the window by its maximum" in report.hint
    assert "float32" in report.message


def test_a_float64_result_for_float32_input_is_a_dtype_slip():
    def widened(*args):
        return lp_right(*args).astype(np.float64)

    report = check_lp_pool_backward(widened)
    assert report.misconception == "dtype", repr(report)


def test_every_key_the_checker_names_has_words():
    for key in ("lp_not_divided", "lp_power_p", "lp_times_p", "lp_zero_nan", "lp_overflow"):
        message, hint = MISCONCEPTIONS[key]
        assert message and hint


@pytest.mark.parametrize("form", ["chain_rule", "ratio_of_powers"])
def test_other_direct_forms_that_overflow_are_named_too(form):
    def direct(x, grad_output, p, k, s):
        grad = np.zeros_like(x)
        for i in range(grad_output.shape[0]):
            for j in range(grad_output.shape[1]):
                rows, cols = slice(i * s, i * s + k), slice(j * s, j * s + k)
                w = x[rows, cols]
                total = (w**p).sum()  # inf in float32 at p = 64
                if total == 0:
                    continue
                if form == "chain_rule":  # S^(1/p - 1) x^(p-1): 0 * inf is nan
                    share = total ** (1 / p - 1) * w ** (p - 1)
                else:  # x^(p-1) / y^(p-1): inf / inf is nan
                    share = w ** (p - 1) / (total ** (1 / p)) ** (p - 1)
                grad[rows, cols] += grad_output[i, j] * share
        return grad

    with np.errstate(all="ignore"):
        report = check_lp_pool_backward(direct)
    assert report.misconception == "lp_overflow", repr(report)
    assert "divide the window by its maximum" in report.hint
