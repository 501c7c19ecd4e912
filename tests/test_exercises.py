"""Each checker passes a correct solution and names each misconception in a wrong one.

The wrong solutions below are written the way a learner might write them, independently of
the checker's own models of the mistakes.
"""

from __future__ import annotations

import numpy as np
import pytest

import pooling_lab.functional as F
from pooling_lab import exercises as ex


def windows(x, k, s):
    for i in range((x.shape[0] - k) // s + 1):
        for j in range((x.shape[1] - k) // s + 1):
            yield i, j, i * s, j * s


def backward(x, g, k, s, *, pick="first", share="all", op="add", factor=None):
    """A learner-style loop backward with switchable mistakes."""
    grad = np.zeros(x.shape, dtype=x.dtype)
    for i, j, r0, c0 in windows(x, k, s):
        window = x[r0 : r0 + k, c0 : c0 + k]
        if share == "spread":
            grad[r0 : r0 + k, c0 : c0 + k] += g[i, j]
            continue
        if share == "mean":
            grad[r0 : r0 + k, c0 : c0 + k] += g[i, j] / window.size
            continue
        best = None
        for r in range(k):
            for c in range(k):
                v = window[r, c]
                if best is None or (v > best[0] if pick == "first" else v >= best[0]):
                    best = (v, r, c)
        winners = [(best[1], best[2])]
        if share == "ties":
            winners = [(r, c) for r in range(k) for c in range(k) if window[r, c] == best[0]]
        if share == "split":
            winners = [(r, c) for r in range(k) for c in range(k) if window[r, c] == best[0]]
        for r, c in winners:
            value = g[i, j] / (len(winners) if share == "split" else 1)
            if factor is not None:
                value = value * factor(x[r0 + r, c0 + c])
            if op == "add":
                grad[r0 + r, c0 + c] += value
            else:
                grad[r0 + r, c0 + c] = value
    return grad


def test_max_pool_backward_correct_passes():
    report = ex.check_max_pool_backward(lambda x, g, k, s: backward(x, g, k, s))
    assert report.passed and repr(report).startswith("PASS")


@pytest.mark.parametrize(
    "wrong, key",
    [
        (lambda x, g, k, s: backward(x, g, k, s, share="spread"), "spread"),
        (lambda x, g, k, s: backward(x, g, k, s, share="mean"), "averaged"),
        (lambda x, g, k, s: backward(x, g, k, s, share="ties"), "all_ties"),
        (lambda x, g, k, s: backward(x, g, k, s, pick="last"), "last_tie"),
        (lambda x, g, k, s: backward(x, g, k, s, op="assign"), "overwrite"),
        (lambda x, g, k, s: backward(x, g, k, s, factor=lambda v: float(v > 0)), "activation"),
        (lambda x, g, k, s: backward(x, g, k, s).astype(np.float64), "dtype"),
        (lambda x, g, k, s: g.copy(), "shape"),
    ],
)
def test_max_pool_backward_misconceptions_are_named(wrong, key):
    report = ex.check_max_pool_backward(wrong)
    assert not report.passed
    assert report.misconception == key, repr(report)
    assert "Hint:" in repr(report)


def test_max_pool_backward_mutation_and_crash_are_named():
    def mutating(x, g, k, s):
        out = backward(x, g, k, s)
        x[...] = 0
        return out

    def crashing(x, g, k, s):
        raise IndexError("index 4 is out of bounds")

    assert ex.check_max_pool_backward(mutating).misconception == "mutated"
    report = ex.check_max_pool_backward(crashing)
    assert report.misconception == "crashed" and "IndexError" in report.message


def test_split_ties_checker():
    assert ex.check_split_ties_backward(lambda x, g, k, s: backward(x, g, k, s, share="split"))
    first = ex.check_split_ties_backward(lambda x, g, k, s: backward(x, g, k, s))
    assert first.misconception == "not_split"
    ties = ex.check_split_ties_backward(lambda x, g, k, s: backward(x, g, k, s, share="ties"))
    assert ties.misconception == "all_ties"
    over = ex.check_split_ties_backward(
        lambda x, g, k, s: backward(x, g, k, s, share="split", op="assign")
    )
    assert over.misconception == "overwrite"


def forward(x, k, s, p, fill=-np.inf, extra=0, rows=None):
    """A learner's loop forward; ``rows`` overrides the number of output rows."""
    padded = np.full((x.shape[0] + 2 * p, x.shape[1] + 2 * p), fill, dtype=x.dtype)
    padded[p : p + x.shape[0], p : p + x.shape[1]] = x
    out_h = ((padded.shape[0] - k) // s + 1 if rows is None else rows) + extra
    out_w = (padded.shape[1] - k) // s + 1 + extra
    out = np.zeros((out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            window = padded[i * s : i * s + k, j * s : j * s + k]
            out[i, j] = window.max() if window.size else 0
    return out


def test_max_pool_forward_checker():
    assert ex.check_max_pool_forward(forward)
    assert (
        ex.check_max_pool_forward(lambda x, k, s, p: forward(x, k, s, p, fill=0.0)).misconception
        == "zero_padding"
    )
    assert (
        ex.check_max_pool_forward(lambda x, k, s, p: forward(x, k, s, p, extra=-1)).misconception
        == "off_by_one"
    )
    assert (
        ex.check_max_pool_forward(lambda x, k, s, p: forward(x, k, s, p)[None]).misconception
        == "shape"
    )


def test_output_size_checker():
    def right(L, k, s, p, d, ceil):
        span = L + 2 * p - d * (k - 1) - 1
        n = (-(-span // s) if ceil else span // s) + 1
        if ceil and (n - 1) * s >= L + p:
            n -= 1
        return n

    def no_plus_one(L, k, s, p, d, ceil):
        return right(L, k, s, p, d, ceil) - 1

    def no_dilation(L, k, s, p, d, ceil):
        return right(L, k, s, p, 1, ceil)

    def no_drop(L, k, s, p, d, ceil):
        span = L + 2 * p - d * (k - 1) - 1
        return (-(-span // s) if ceil else span // s) + 1

    assert ex.check_output_size(right)
    assert ex.check_output_size(no_plus_one).misconception == "off_by_one"
    assert ex.check_output_size(no_dilation).misconception == "no_dilation"
    assert ex.check_output_size(no_drop).misconception == "ceil_no_drop"


def test_relu_and_max2_checkers():
    assert ex.check_relu_backward(lambda x, g: np.where(x > 0, g, 0 * g))
    assert ex.check_relu_backward(lambda x, g: g.copy()).misconception == "relu_negative"
    assert ex.check_relu_backward(lambda x, g: g * np.maximum(x, 0)).misconception == ("relu_value")
    assert (
        ex.check_relu_backward(lambda x, g: (g * (x > 0)).astype(np.float64)).misconception
        == "dtype"
    )

    def max2(a, b, g):
        return g * (a >= b), g * (a < b)

    assert ex.check_max2_backward(max2)
    assert (
        ex.check_max2_backward(lambda a, b, g: (g * (a < b), g * (a >= b))).misconception
        == "to_loser"
    )
    assert (
        ex.check_max2_backward(lambda a, b, g: (g * (a >= b), g * (b >= a))).misconception
        == "all_ties"
    )
    assert (
        ex.check_max2_backward(lambda a, b, g: (g * (a > b), g * (b >= a))).misconception
        == "last_tie"
    )
    assert ex.check_max2_backward(lambda a, b, g: (g / 2, g / 2)).misconception == "averaged"


def test_dense_checker():
    assert ex.check_dense_backward(lambda x, W, g: (g @ W.T, x.T @ g, g.sum(axis=0)))
    assert (
        ex.check_dense_backward(lambda x, W, g: (g @ W.T, x.T @ g, g)).misconception
        == "no_batch_sum"
    )
    assert (
        ex.check_dense_backward(lambda x, W, g: (g @ W.T, g.T @ x, g.sum(axis=0))).misconception
        == "transposed"
    )
    assert ex.check_dense_backward(
        lambda x, W, g: (g @ W, x.T @ g, g.sum(axis=0))
    ).misconception in ("crashed", "shape")


# ---------------------------------------------------------------------------------------------
# Part 2: average pooling and log-sum-exp pooling


def avg_backward(g, shape, k, s, p, include, *, divide=True, op="add", wrong_divisor=False):
    """A learner-style loop average-pool backward with switchable mistakes."""
    grad = np.zeros((shape[0] + 2 * p, shape[1] + 2 * p), dtype=g.dtype)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            r0, c0 = i * s, j * s
            rows = range(max(r0, p), min(r0 + k, p + shape[0]))
            cols = range(max(c0, p), min(c0 + k, p + shape[1]))
            use_all = include != wrong_divisor
            count = k * k if use_all else len(rows) * len(cols)
            value = g[i, j] / count if divide else g[i, j]
            if op == "add":
                grad[r0 : r0 + k, c0 : c0 + k] += value
            else:
                grad[r0 : r0 + k, c0 : c0 + k] = value
    return grad[p : p + shape[0], p : p + shape[1]]


@pytest.mark.parametrize(
    "options, key",
    [
        ({}, None),
        ({"divide": False}, "not_divided"),
        ({"op": "assign"}, "overwrite"),
        ({"wrong_divisor": True}, "pad_divisor"),
    ],
)
def test_avg_pool_backward_checker(options, key):
    report = ex.check_avg_pool_backward(lambda *args: avg_backward(*args, **options))
    assert report.passed is (key is None)
    assert report.misconception == key


def lse_backward(x, g, k, t, *, stable=True, inside=True, scale=1.0, argmax=False):
    """A learner-style loop log-sum-exp pool backward with switchable mistakes."""
    grad = np.zeros_like(x)
    for i in range(x.shape[0] // k):
        for j in range(x.shape[1] // k):
            v = x[i * k : i * k + k, j * k : j * k + k]
            if argmax:
                w = (v == v.max()).astype(x.dtype)
            else:
                z = v / t if inside else v
                if stable:
                    z = z - z.max()
                with np.errstate(over="ignore", invalid="ignore"):
                    w = np.exp(z) / np.exp(z).sum()
            grad[i * k : i * k + k, j * k : j * k + k] = g[i, j] * w * scale
    return grad


@pytest.mark.parametrize(
    "options, key",
    [
        ({}, None),
        ({"stable": False}, "lse_overflow"),
        ({"inside": False}, "lse_no_temperature"),
        ({"argmax": True}, "max_routing"),
    ],
)
def test_lse_pool_backward_checker(options, key):
    report = ex.check_lse_pool_backward(lambda *args: lse_backward(*args, **options))
    assert report.passed is (key is None)
    assert report.misconception == key


def test_lse_pool_backward_checker_names_an_extra_factor():
    def divided_by_t(x, g, k, t):
        return lse_backward(x, g, k, t) / t

    report = ex.check_lse_pool_backward(divided_by_t)
    assert report.misconception == "lse_extra_factor"
    assert "cancel" in repr(report)


# ---------------------------------------------------------------------------------------------
# Hints that fit the code the learner wrote (issue 10, section 6)


def test_max2_last_tie_hint_fits_a_strict_comparison():
    def max2_strict(a, b, g):  # the learner wrote ">" where the exercise needs ">="
        a_wins = a > b
        return g * a_wins, g * ~a_wins

    report = ex.check_max2_backward(max2_strict)
    assert report.misconception == "last_tie"
    assert "a >= b" in report.hint
    assert "> rather than >=" not in report.hint and "not >=" not in report.hint


def test_pool_last_tie_hint_speaks_of_scanning():
    report = ex.check_max_pool_backward(lambda x, g, k, s: backward(x, g, k, s, pick="last"))
    assert report.misconception == "last_tie"
    assert "strictly larger" in report.hint and "np.argmax" in report.hint


@pytest.mark.parametrize(
    "relu",
    [
        lambda x, g: g * (x >= 0),
        lambda x, g: np.where(x >= 0, g, np.zeros_like(g)),
        lambda x, g: g * (x > 0) + g * (x == 0),
    ],
)
def test_relu_slope_one_at_zero_is_named_as_the_convention(relu):
    report = ex.check_relu_backward(relu)
    assert report.misconception == "relu_at_zero", repr(report)
    assert "x > 0" in report.hint and "x >= 0" in report.hint


def test_relu_checker_has_no_unreachable_misconception():
    # Multiplying ReLU's backward by its own derivative once more changes nothing (the mask is
    # 0/1), so the checker must accept it rather than pretend to name an "activation" mistake.
    report = ex.check_relu_backward(lambda x, g: g * (x > 0) * (x > 0))
    assert report.passed


def test_max_pool_backward_buffered_fancy_index_add_is_named():
    def vectorised(x, g, k, s, add_at=False):
        rows, cols = [], []
        for _, _, r0, c0 in windows(x, k, s):
            r, c = np.unravel_index(np.argmax(x[r0 : r0 + k, c0 : c0 + k]), (k, k))
            rows.append(r0 + r)
            cols.append(c0 + c)
        grad = np.zeros_like(x)
        if add_at:
            np.add.at(grad, (np.array(rows), np.array(cols)), g.ravel())
        else:
            grad[rows, cols] += g.ravel()  # buffered: a repeated (row, col) is written once
        return grad

    report = ex.check_max_pool_backward(vectorised)
    assert report.misconception == "overwrite"
    assert "np.add.at" in report.hint and "buffered" in report.hint
    assert ex.check_max_pool_backward(lambda *a: vectorised(*a, add_at=True)).passed


def test_all_ties_hint_counts_t_times():
    report = ex.check_max_pool_backward(lambda x, g, k, s: backward(x, g, k, s, share="ties"))
    assert "t times" in report.hint and "twice" not in report.hint


@pytest.mark.parametrize(
    "wrong, name",
    [
        (lambda x, W, g: (g @ W.T * 2, x.T @ g, g.sum(axis=0)), "grad_x"),
        # weight decay folded into the layer's gradient (dividing by N is named: batch_mean)
        (lambda x, W, g: (g @ W.T, x.T @ g + 0.01 * W, g.sum(axis=0)), "grad_W"),
        # the last row's gradient only, as a loop over the batch that assigns leaves it
        (lambda x, W, g: (g @ W.T, x.T @ g, g[-1]), "grad_b"),
    ],
)
def test_dense_checker_shows_the_wrong_result(wrong, name):
    report = ex.check_dense_backward(wrong)
    assert not report.passed and report.misconception is None
    assert report.message.startswith(f"wrong values in {name} ")


def test_output_size_drop_boundary_catches_the_padded_length():
    def drop_against_padded_length(L, k, s, p, d, ceil):  # L + 2p where PyTorch uses L + p
        span = L + 2 * p - d * (k - 1) - 1
        n = (-(-span // s) if ceil else span // s) + 1
        if ceil and (n - 1) * s >= L + 2 * p:
            n -= 1
        return n

    report = ex.check_output_size(drop_against_padded_length)
    assert report.misconception == "ceil_no_drop"
    assert "L=3" in report.message


def test_output_size_drop_boundary_against_the_unpadded_length_is_named():
    """A drop test against L drops a last window that starts on a real element (at padded
    position L, input element L - p): the hint must be about the drop test, not the '+ 1'."""

    def drop_against_unpadded_length(L, k, s, p, d, ceil):  # L where PyTorch uses L + p
        span = L + 2 * p - d * (k - 1) - 1
        n = (-(-span // s) if ceil else span // s) + 1
        if ceil and (n - 1) * s >= L:
            n -= 1
        return n

    report = ex.check_output_size(drop_against_unpadded_length)
    assert report.misconception == "ceil_drop_at_L"
    assert "L=6" in report.message and "L + p" in report.hint

    def ceil_without_plus_one(L, k, s, p, d, ceil):  # the "+ 1" forgotten in ceil_mode only
        span = L + 2 * p - d * (k - 1) - 1
        return -(-span // s) if ceil else span // s + 1

    assert ex.check_output_size(ceil_without_plus_one).misconception == "off_by_one"


def test_max_pool_forward_rounding_up_is_named():
    def rounded_up(x, k, s, p):
        padded = np.full((x.shape[0] + 2 * p, x.shape[1] + 2 * p), -np.inf, dtype=x.dtype)
        padded[p : p + x.shape[0], p : p + x.shape[1]] = x
        out_h = -(-(padded.shape[0] - k) // s) + 1  # ceil: keeps a partial last window
        out_w = -(-(padded.shape[1] - k) // s) + 1
        out = np.empty((out_h, out_w), dtype=x.dtype)
        for i in range(out_h):
            for j in range(out_w):
                out[i, j] = padded[i * s : i * s + k, j * s : j * s + k].max()
        return out

    report = ex.check_max_pool_forward(rounded_up)
    assert report.misconception == "rounded_up", repr(report)


def test_max_pool_forward_ignored_padding_is_named():
    report = ex.check_max_pool_forward(lambda x, k, s, p: forward(x, k, s, 0))
    assert report.misconception == "no_padding", repr(report)
    assert "-inf" in report.hint


def test_output_size_ignored_padding_is_named():
    def no_padding(L, k, s, p, d, ceil):
        return (L - d * (k - 1) - 1) // s + 1

    report = ex.check_output_size(no_padding)
    assert report.misconception == "no_padding", repr(report)


def test_max2_tie_given_to_nobody_is_named():
    report = ex.check_max2_backward(lambda a, b, g: (g * (a > b), g * (b > a)))
    assert report.misconception == "tie_dropped" and "a >= b" in report.hint


def test_relu_sign_is_named():
    assert ex.check_relu_backward(lambda x, g: g * np.sign(x)).misconception == "relu_sign"


# ---------------------------------------------------------------------------------------------
# Hints that fit the code the learner wrote (review of the Part 1 rewrite)


def test_split_without_division_gets_the_division_hint():
    def split_forgot_division(x, g, k, s):
        grad = np.zeros_like(x)
        for i, j, r0, c0 in windows(x, k, s):
            window = x[r0 : r0 + k, c0 : c0 + k]
            top = window == window.max()
            grad[r0 : r0 + k, c0 : c0 + k] += g[i, j] * top  # forgot: / top.sum()
        return grad

    report = ex.check_split_ties_backward(split_forgot_division)
    assert report.misconception == "all_ties"
    assert "divide" in report.hint and "number of tied maxima" in report.hint
    assert "first in row-major" not in report.hint


def test_max2_with_python_bool_not_is_named():
    def max2_tilde(a, b, g):
        a_wins = a >= b
        return g * a_wins, g * ~a_wins

    report = ex.check_max2_backward(max2_tilde)
    assert report.misconception == "python_bool_not" and "np.greater_equal" in report.hint


def test_max2_wrong_number_of_results_says_to_return_a_pair():
    report = ex.check_max2_backward(lambda a, b, g: g * (a >= b))
    assert "grad_a, grad_b" in report.hint and "number of results" in report.message


def test_relu_half_at_zero_is_named_as_valid_but_not_asked():
    report = ex.check_relu_backward(lambda x, g: g * ((x > 0) + 0.5 * (x == 0)).astype(g.dtype))
    assert report.misconception == "relu_half" and "central differences" in report.hint


def test_max2_split_tie_is_named_as_valid_but_not_asked():
    def max2_split(a, b, g):
        share = np.where(a == b, 0.5, 1.0)
        return g * (a >= b) * share, g * (b >= a) * share

    report = ex.check_max2_backward(max2_split)
    assert report.misconception == "split_tie", repr(report)
    assert "valid subgradient" in report.hint and "torch.maximum" in report.hint
    assert "work the case out by hand" not in report.hint


def test_max2_tie_hints_do_not_call_the_first_rule_pytorch_elementwise_max():
    last = ex.check_max2_backward(lambda a, b, g: (g * (a > b), g * (b >= a)))
    both = ex.check_max2_backward(lambda a, b, g: (g * (a >= b), g * (b >= a)))
    assert last.misconception == "last_tie" and both.misconception == "all_ties"
    assert "max pooling" in last.hint and "torch.maximum" in last.hint
    assert "like PyTorch's first-maximum rule" not in last.hint
    assert "row-major" not in both.hint and "a >= b" in both.hint


def test_relu_that_tests_the_gradient_is_told_to_test_x():
    report = ex.check_relu_backward(lambda x, g: np.maximum(g, 0))
    assert report.misconception == "relu_tests_grad", repr(report)
    assert "test x (the forward input), not grad_output" in report.hint


def test_dense_batch_mean_is_named():
    def dense_mean(x, W, g):
        n = x.shape[0]
        return g @ W.T, x.T @ g / n, g.sum(axis=0) / n

    report = ex.check_dense_backward(dense_mean)
    assert report.misconception == "batch_mean", repr(report)
    assert "batch size" in report.message


def test_dense_wrong_shape_hint_speaks_of_the_dense_layer():
    report = ex.check_dense_backward(lambda x, W, g: (g @ W.T, x.T @ g, g.sum()))
    assert report.misconception == "shape", repr(report)
    assert "grad_b" in report.hint and "window" not in report.hint


def test_dense_results_may_come_back_as_a_list():
    report = ex.check_dense_backward(lambda x, W, g: [g @ W.T, x.T @ g, g.sum(axis=0)])
    assert report.passed, repr(report)


def test_dense_wrong_shape_names_the_gradient_that_has_it():
    report = ex.check_dense_backward(lambda x, W, g: (g @ W.T, x.T @ g, g.sum(axis=1)))
    assert report.misconception == "shape" and "grad_b has shape (3,)" in report.message


def test_a_narrowed_dtype_gets_a_hint_for_that_direction():
    def narrowed(x, W, g):
        return g @ W.T, x.T @ g, g.sum(axis=0).astype(np.float32)

    report = ex.check_dense_backward(narrowed)
    assert report.misconception == "dtype" and "grad_b has dtype float32" in report.message
    assert "narrower" in report.hint and "float32 input must" not in report.hint


def test_dense_product_of_sums_and_minus_sign_are_named():
    outer = ex.check_dense_backward(
        lambda x, W, g: (g @ W.T, np.outer(x.sum(axis=0), g.sum(axis=0)), g.sum(axis=0))
    )
    assert outer.misconception == "outer_of_sums", repr(outer)
    assert "sum of products" in outer.hint
    # a minus sign taken from the update step, on one gradient or on all three
    one = ex.check_dense_backward(lambda x, W, g: (g @ W.T, -(x.T @ g), g.sum(axis=0)))
    every = ex.check_dense_backward(lambda x, W, g: (-(g @ W.T), -(x.T @ g), -g.sum(axis=0)))
    assert one.misconception == every.misconception == "opposite_sign", (one, every)
    assert "update step" in one.hint

    # a sign error in one entry only is not "the opposite sign"
    def one_entry(x, W, g):
        grad_W = x.T @ g
        grad_W[0, 0] *= -1
        return g @ W.T, grad_W, g.sum(axis=0)

    assert ex.check_dense_backward(one_entry).misconception is None


def test_dense_matmul_error_hint_speaks_of_the_shapes():
    report = ex.check_dense_backward(lambda x, W, g: (g @ W, x.T @ g, g.sum(axis=0)))
    assert report.misconception == "crashed", repr(report)
    assert "inner sizes must agree" in report.hint and "(N, M)" in report.hint
    assert "W.T" not in report.hint  # a question, not the answer


def test_generic_wrong_values_hint_does_not_point_at_inputs_it_never_showed():
    report = ex.check_dense_backward(lambda x, W, g: (g @ W.T, x.T @ g + 1, g.sum(axis=0)))
    assert report.misconception is None and "small enough to work out by hand" in report.hint


def test_dense_transposed_hint_says_where_the_habit_comes_from():
    report = ex.check_dense_backward(lambda x, W, g: (g @ W.T, g.T @ x, g.sum(axis=0)))
    assert report.misconception == "transposed" and "PyTorch" in report.hint


def test_one_result_returned_in_a_tuple_is_told_to_return_one_result():
    report = ex.check_relu_backward(lambda x, g: (g * (x > 0), x))
    assert report.misconception == "result_count"
    assert "number of results" in report.message and "not a tuple" in report.hint
    assert "gradient" not in report.hint  # the same hint serves checkers of counts and starts


def test_dense_backward_with_two_results_is_told_to_return_three():
    report = ex.check_dense_backward(lambda x, w, g: (g @ w.T, x.T @ g))
    assert report.misconception == "result_count" and "number of results" in report.message
    assert report.hint.startswith("return a tuple of 3: grad_x, grad_W, grad_b")


def test_max_pool_forward_with_indices_too_is_told_to_return_one_result():
    # a learner who also returned the indices (as max_pool2d(..., return_indices=True) does)
    report = ex.check_max_pool_forward(lambda x, k, s, p: (forward(x, k, s, p), None))
    assert "number of results" in report.message and "not a tuple" in report.hint
    assert "per window" not in report.hint  # the output-shape hint would send them elsewhere


def test_max_pool_forward_shape_hint_speaks_of_windows():
    report = ex.check_max_pool_forward(lambda x, k, s, p: forward(x, k, s, p)[None])
    assert report.misconception == "shape" and "per window" in report.hint


def test_max_pool_forward_ignored_stride_is_named():
    report = ex.check_max_pool_forward(lambda x, k, s, p: forward(x, k, k, p))
    assert report.misconception == "stride_ignored", repr(report)
    assert "count window starts" not in report.hint


def test_max_pool_forward_missing_padding_offset_is_named():
    def unshifted(x, k, s, p):
        out_h = (x.shape[0] + 2 * p - k) // s + 1
        out_w = (x.shape[1] + 2 * p - k) // s + 1
        out = np.empty((out_h, out_w), dtype=x.dtype)
        for i in range(out_h):
            for j in range(out_w):
                out[i, j] = x[i * s : i * s + k, j * s : j * s + k].max()  # forgot the -p
        return out

    report = ex.check_max_pool_forward(unshifted)
    assert report.misconception == "no_pad_offset", repr(report)


def test_output_size_ignored_stride_is_named():
    def by_kernel(L, k, s, p, d, ceil):
        return (L + 2 * p - d * (k - 1) - 1) // k + 1

    assert ex.check_output_size(by_kernel).misconception == "stride_ignored"


@pytest.mark.parametrize(
    "factor",
    [lambda v: 1 - np.tanh(v) ** 2, lambda v: np.exp(-v) / (1 + np.exp(-v)) ** 2],
    ids=["tanh", "sigmoid"],
)
def test_max_pool_backward_any_activation_factor_is_named(factor):
    report = ex.check_max_pool_backward(lambda x, g, k, s: backward(x, g, k, s, factor=factor))
    assert report.misconception == "activation", repr(report)
    assert "its own backward pass" in report.hint


def test_max_pool_backward_constant_scaling_is_not_called_an_activation():
    report = ex.check_max_pool_backward(lambda x, g, k, s: 2 * backward(x, g, k, s))
    assert not report.passed and report.misconception is None


def test_max_pool_backward_missing_window_offset_is_named():
    def no_offset(x, g, k, s):
        grad = np.zeros_like(x)
        for i in range(g.shape[0]):
            for j in range(g.shape[1]):
                window = x[i : i + k, j : j + k]  # forgot the * s
                r, c = np.unravel_index(np.argmax(window), window.shape)
                grad[i + r, j + c] += g[i, j]
        return grad

    report = ex.check_max_pool_backward(no_offset)
    assert report.misconception == "window_offset", repr(report)
    assert "i*s" in report.hint


def test_relu_arguments_swapped_by_calling_the_package_is_named():
    # pooling_lab.functional.relu_backward takes (grad_output, input): a learner who calls it
    # in the exercise's order gets x * (grad_output > 0), silently wrong.
    report = ex.check_relu_backward(lambda x, g: F.relu_backward(x, g))
    assert report.misconception == "relu_swapped", repr(report)
    assert "relu_backward(grad_output, x)" in report.hint
    assert ex.check_relu_backward(lambda x, g: F.relu_backward(g, x)).passed


def test_relu_float64_mask_gets_a_hint_about_the_cast():
    report = ex.check_relu_backward(lambda x, g: g * (x > 0).astype(float))
    assert report.misconception == "dtype", repr(report)
    assert ".astype(float)" in report.hint and "boolean mask" in report.hint


def test_mutated_hint_names_the_argument_that_changed():
    def clears_grad_output(x, grad_output):
        grad_output[x <= 0] = 0
        return grad_output

    def clears_x(x, grad_output):
        x[x < 0] = 0
        return grad_output * (x > 0)

    report = ex.check_relu_backward(clears_grad_output)
    assert report.misconception == "mutated", repr(report)
    assert "grad_output.copy()" in report.hint and "x.copy()" not in report.hint
    report = ex.check_relu_backward(clears_x)
    assert report.misconception == "mutated" and "x.copy()" in report.hint, repr(report)


# ---------------------------------------------------------------------------------------------
# Blind spots found by reviewers writing learner-style wrong solutions


def test_split_ties_slice_assignment_is_named_overwrite():
    def split_assigned(x, g, k, s):
        grad = np.zeros_like(x)
        for i, j, r0, c0 in windows(x, k, s):
            window = x[r0 : r0 + k, c0 : c0 + k]
            top = window == window.max()
            grad[r0 : r0 + k, c0 : c0 + k] = g[i, j] * top / top.sum()  # = where += is needed
        return grad

    report = ex.check_split_ties_backward(split_assigned)
    assert report.misconception == "overwrite", repr(report)
    assert "+=" in report.hint and "slice" in report.hint
    assert "np.add.at" not in report.hint  # the learner wrote no fancy index


def test_output_size_dilated_extent_d_times_k_is_named_no_dilation():
    def extent_d_times_k(L, k, s, p, d, ceil):
        span = L + 2 * p - d * k  # the dilated window taken as d * k elements
        n = (-(-span // s) if ceil else span // s) + 1
        if ceil and (n - 1) * s >= L + p:
            n -= 1
        return n

    report = ex.check_output_size(extent_d_times_k)
    assert report.misconception == "no_dilation", repr(report)
    assert "d*(k-1)+1" in report.hint and "not d*k" in report.hint
    assert "d*k" in report.message and "dilation=3" in report.message

    def no_plus_one(L, k, s, p, d, ceil):  # a genuine off-by-one is still named as one
        span = L + 2 * p - d * (k - 1) - 1
        return span // s

    assert ex.check_output_size(no_plus_one).misconception == "off_by_one"


def forward_windows_at(x, k, s, p, step):
    """The chapter's forward, with window (i, j) placed at (i * step, j * step)."""
    padded = np.full((x.shape[0] + 2 * p, x.shape[1] + 2 * p), -np.inf, dtype=x.dtype)
    padded[p : p + x.shape[0], p : p + x.shape[1]] = x
    out_h = (padded.shape[0] - k) // s + 1
    out_w = (padded.shape[1] - k) // s + 1
    out = np.empty((out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = padded[i * step : i * step + k, j * step : j * step + k].max()
    return out


def test_max_pool_forward_windows_at_i_j_are_named_window_offset():
    report = ex.check_max_pool_forward(lambda x, k, s, p: forward_windows_at(x, k, s, p, 1))
    assert report.misconception == "window_offset", repr(report)
    assert "i*s" in report.hint and "gradient" not in report.hint
    assert ex.check_max_pool_forward(lambda x, k, s, p: forward_windows_at(x, k, s, p, s)).passed


def test_max_pool_forward_windows_moved_by_kernel_are_named_stride_ignored():
    # the window count uses the stride, only the window start uses the kernel size
    report = ex.check_max_pool_forward(lambda x, k, s, p: forward_windows_at(x, k, s, p, k))
    assert report.misconception == "stride_ignored", repr(report)
    assert "i * s" in report.hint


@pytest.mark.parametrize(
    "wrong, name",
    [
        (lambda x, W, g: (g @ W.T, x.T @ g, g.mean(axis=0)), "grad_b"),
        (lambda x, W, g: (g @ W.T, x.T @ g / len(x), g.sum(axis=0)), "grad_W"),
    ],
)
def test_dense_batch_mean_of_one_gradient_is_named(wrong, name):
    report = ex.check_dense_backward(wrong)
    assert report.misconception == "batch_mean", repr(report)
    assert report.message.startswith(f"{name} was divided by the batch size"), repr(report)
    other = "grad_W" if name == "grad_b" else "grad_b"
    assert other not in report.message
    assert "already in grad_y" in report.hint


@pytest.mark.parametrize("returned", [None, "3"], ids=["None", "str"])
def test_a_result_that_is_not_numbers_is_named_not_crashed_on(returned):
    report = ex.check_output_size(lambda L, k, s, p, d, ceil: returned)
    assert report.misconception == "not_numbers", repr(report)
    assert "return statement" in report.hint


def test_two_mistakes_that_agree_at_a_case_are_told_apart_by_a_later_one():
    """The hint names the mistake the code makes, not the first in the table that fits."""
    from pooling_lab.exercises._checking import MISCONCEPTIONS, _diagnose

    first, second = "last_tie", "all_ties"  # any two keys of the table
    cases = [
        ("case 1", (1,), 1.0, {first: 2.0, second: 2.0}),  # both give 2 here
        ("case 2", (2,), 2.0, {first: 3.0}),  # the second gives the right answer here
        ("case 3", (3,), 3.0, {first: 5.0, second: 6.0}),
    ]

    def makes(answers):
        return lambda x: answers[x]

    # case 2 decides, but the code is right there: the report shows case 1, where it is wrong
    told = _diagnose("t", makes({1: 2.0, 2: 2.0, 3: 6.0}), cases)
    assert told.misconception == second and "case 1" in told.message
    told = _diagnose("t", makes({1: 2.0, 2: 3.0, 3: 5.0}), cases)
    assert told.misconception == first and "case 2" in told.message
    # code that makes neither later: the first that fits, at the first case
    told = _diagnose("t", makes({1: 2.0, 2: 7.0, 3: 7.0}), cases)
    assert told.misconception == first and "case 1" in told.message
    assert {first, second} <= set(MISCONCEPTIONS)


def _loop_backward(x, g, k, s, *, rows=None, cols=None, locate=None, weight=None):
    """A learner's first-maximum loop, with hooks for the slips the checkers must catch."""
    grad = np.zeros_like(x)
    for i in range(g.shape[0] if rows is None else rows(g)):
        for j in range(g.shape[1] if cols is None else cols(g)):
            window = x[i * s : i * s + k, j * s : j * s + k]
            if locate is None:
                r, c = np.unravel_index(np.argmax(window), window.shape)
                r, c = i * s + r, j * s + c
            else:
                r, c = locate(x, window)
            grad[r, c] += g[i, j] if weight is None else weight(g, i, j)
    return grad


def test_max_pool_backward_that_returns_the_winners_mask_is_told_to_use_grad_output():
    report = ex.check_max_pool_backward(
        lambda x, g, k, s: _loop_backward(x, g, k, s, weight=lambda *a: 1)
    )
    assert report.misconception == "no_grad_output", repr(report)
    assert "grad_output[i, j]" in report.hint


def test_max_pool_backward_reading_the_gradient_transposed_is_not_called_an_activation():
    # the ratio to the right answer is g.T / g: no derivative of x, so no activation hint
    def transposed(x, g, k, s):
        return _loop_backward(x, g, k, s, weight=lambda g, i, j: g[j, i])

    report = ex.check_max_pool_backward(transposed)
    assert not report.passed and report.misconception is None, repr(report)


@pytest.mark.parametrize(
    "slip",
    [
        {"rows": lambda g: g.shape[0], "cols": lambda g: g.shape[0]},  # square outputs only
        {"locate": lambda x, w: tuple(np.argwhere(x == w.max())[0])},  # the value, anywhere
    ],
    ids=["square_only", "value_searched_in_the_whole_plane"],
)
def test_max_pool_backward_slips_that_square_tie_free_cases_hide_are_caught(slip):
    report = ex.check_max_pool_backward(lambda x, g, k, s: _loop_backward(x, g, k, s, **slip))
    assert not report.passed, repr(report)
    assert "5x7 plane of zeros and repeated positives" in report.message


def test_split_ties_counted_over_the_whole_plane_are_caught():
    def whole_plane_count(x, g, k, s):
        grad = np.zeros_like(x)
        for i in range(g.shape[0]):
            for j in range(g.shape[1]):
                window = x[i * s : i * s + k, j * s : j * s + k]
                top = window == window.max()
                grad[i * s : i * s + k, j * s : j * s + k] += (
                    g[i, j] * top / (x == window.max()).sum()
                )
        return grad

    report = ex.check_split_ties_backward(whole_plane_count)
    assert not report.passed and "5x7 plane" in report.message, repr(report)


def test_max_pool_backward_windows_moved_by_the_kernel_are_named():
    def by_kernel(x, g, k, s):  # a loop that skips the windows that run off the plane
        grad = np.zeros_like(x)
        for i in range(g.shape[0]):
            for j in range(g.shape[1]):
                window = x[i * k : i * k + k, j * k : j * k + k]
                if window.size:
                    r, c = np.unravel_index(np.argmax(window), window.shape)
                    grad[i * k + r, j * k + c] += g[i, j]
        return grad

    report = ex.check_max_pool_backward(by_kernel)
    assert report.misconception == "stride_ignored", repr(report)
    assert "grad_output's shape" in report.hint and "floor(" not in report.hint


def _pytorch_drop(n, L, s, p):
    return (n - 1) * s >= L + p


def _windows_then(drop=_pytorch_drop, rounded=lambda span, s: -(-span // s)):
    """A learner's output size: ceil_mode counts ``rounded(span, s) + 1`` windows (rounding up,
    unless a slip says otherwise), then ``drop(n, L, s, p)`` may drop the last."""

    def output_size(L, k, s, p, d, ceil_mode):
        span = L + 2 * p - d * (k - 1) - 1
        n = (rounded(span, s) if ceil_mode else span // s) + 1
        return n - 1 if ceil_mode and drop(n, L, s, p) else n

    return output_size


def test_output_size_ceil_mode_as_one_more_window_is_named():
    # floor + 1, one more for ceil_mode, then the drop
    report = ex.check_output_size(_windows_then(rounded=lambda span, s: span // s + 1))
    assert report.misconception == "ceil_always_adds", repr(report)


def test_output_size_drop_test_that_drops_a_window_starting_inside_is_named():
    # drops the last window when it starts at the input's last element or later
    report = ex.check_output_size(_windows_then(lambda n, L, s, p: (n - 1) * s - p >= L - 1))
    assert report.misconception == "ceil_dropped_inside", repr(report)
    assert "count window *starts*" not in report.hint
    assert ex.check_output_size(_windows_then()).passed


def test_max_pool_forward_counting_both_sizes_from_one_dimension_is_named():
    def width_only(x, k, s, p):  # from the height, a tall plane's loop runs off its width
        return forward(x, k, s, p, rows=(x.shape[1] + 2 * p - k) // s + 1)

    report = ex.check_max_pool_forward(width_only)
    assert report.misconception == "same_dimension", repr(report)


def test_max_pool_forward_one_window_too_many_is_named():
    report = ex.check_max_pool_forward(lambda x, k, s, p: forward(x, k, s, p, extra=1))
    assert report.misconception == "extra_window", repr(report)


def test_max_pool_forward_an_empty_slice_gets_a_hint_for_it():
    def negative_start(x, k, s, p):  # slices x itself: at padding 1 the first start is -1
        n_rows, n_cols = ((n + 2 * p - k) // s + 1 for n in x.shape)
        out = np.empty((n_rows, n_cols), dtype=x.dtype)
        for i in range(n_rows):
            for j in range(n_cols):
                out[i, j] = x[i * s - p : i * s - p + k, j * s - p : j * s - p + k].max()
        return out

    report = ex.check_max_pool_forward(negative_start)
    assert report.misconception == "crashed", repr(report)
    assert "one window too many" in report.hint and "negative index" in report.hint


def test_output_size_ceil_mode_rounded_to_the_nearest_fails():
    assert not ex.check_output_size(_windows_then(rounded=lambda span, s: round(span / s))).passed


def test_split_ties_with_the_stride_ignored_is_named_with_the_stride_hint():
    def split_by_kernel(x, grad_output, k, s):
        grad = np.zeros_like(x)
        for i in range(grad_output.shape[0]):
            for j in range(grad_output.shape[1]):
                window = x[i * k : i * k + k, j * k : j * k + k]  # moved by k, not by s
                if window.size:
                    top = window == window.max()
                    grad[i * k : i * k + k, j * k : j * k + k] += (
                        grad_output[i, j] * top / top.sum()
                    )
        return grad

    report = ex.check_split_ties_backward(split_by_kernel)
    assert report.misconception == "stride_ignored", repr(report)
    assert "stride apart, not kernel_size apart" in report.hint


@pytest.mark.parametrize(
    ("check", "fn"),
    [
        (ex.check_relu_backward, lambda x, g: x > 0),
        (ex.check_max2_backward, lambda a, b, g: (np.greater_equal(a, b), np.less(a, b))),
    ],
)
def test_a_mask_returned_as_the_gradient_is_named_not_sent_to_the_dtype_hint(check, fn):
    report = check(fn)
    assert report.misconception == "mask_returned", repr(report)
    assert "multiply the mask by the gradient" in report.hint and "float32" not in report.hint


@pytest.mark.parametrize("rounding", ["ignored", "nearest"])
def test_output_size_with_ceil_mode_not_rounding_up_gets_the_rounding_hint(rounding):
    def count(L, k, s, p, d, ceil):
        span = L + 2 * p - d * (k - 1) - 1
        if not ceil or rounding == "ignored":
            return span // s + 1
        n = round(span / s) + 1
        return n - 1 if (n - 1) * s >= L + p else n

    report = ex.check_output_size(count)
    assert report.misconception == "ceil_dropped_inside", repr(report)
    assert "the count rounds up" in report.hint


def test_max_pool_backward_with_the_split_rule_is_told_the_exercise_wants_the_first():
    report = ex.check_max_pool_backward(lambda x, g, k, s: backward(x, g, k, s, share="split"))
    assert report.misconception == "split_in_window", repr(report)
    assert "first maximum" in report.hint


def test_max_pool_backward_without_the_window_start_is_named():
    def at_position_in_window(x, g, k, s):  # the winner's (r, c) inside the window, not in x
        grad = np.zeros_like(x)
        for i in range(g.shape[0]):
            for j in range(g.shape[1]):
                window = x[i * s : i * s + k, j * s : j * s + k]
                r, c = np.unravel_index(np.argmax(window), window.shape)
                grad[r, c] += g[i, j]
        return grad

    report = ex.check_max_pool_backward(at_position_in_window)
    assert report.misconception == "position_in_window", repr(report)
    assert "i*s + r" in report.hint


@pytest.mark.parametrize(
    ("division", "key"),
    [(lambda span, s: -(-span // s), "rounded_up"), (lambda span, s: span / s, "not_whole")],
)
def test_output_size_rounding_is_checked_where_the_stride_does_not_divide(division, key):
    def size(L, k, s, p, d, ceil_mode):
        span = L + 2 * p - d * (k - 1) - 1
        if not ceil_mode:
            return division(span, s) + 1
        n = -(-span // s) + 1
        return n - 1 if (n - 1) * s >= L + p else n

    report = ex.check_output_size(size)
    assert report.misconception == key, repr(report)
