"""Part 2 checkers against learner-style solutions: each wrong one is named, with a fitting hint.

The solutions below are written the way a learner would write them (plain loops), each with one
mistake, independently of the checker's own models of those mistakes. ``avg_right``,
``lse_right`` and ``adaptive_right`` are the solutions printed in book/beyond_max.ipynb, so
the chapter's solutions are run and checked here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pooling_lab import exercises as ex

# ---------------------------------------------------------------------------------------------
# Average pooling: the chapter's solution


def avg_right(grad_output, input_shape, kernel_size, stride, padding, count_include_pad):
    k, pad = kernel_size, padding
    h, w = input_shape
    grad = np.zeros((h + 2 * pad, w + 2 * pad), dtype=grad_output.dtype)
    for row in range(grad_output.shape[0]):
        for col in range(grad_output.shape[1]):
            r, c = row * stride, col * stride
            if count_include_pad:
                divisor = k * k
            else:
                rows = min(r + k, pad + h) - max(r, pad)
                cols = min(c + k, pad + w) - max(c, pad)
                divisor = rows * cols
            grad[r : r + k, c : c + k] += grad_output[row, col] / divisor
    return grad[pad : pad + h, pad : pad + w]


def test_the_chapters_avg_solution_passes():
    assert ex.check_avg_pool_backward(avg_right).passed


# ---------------------------------------------------------------------------------------------
# Log-sum-exp pooling


def lse_right(x, grad_output, kernel_size, temperature):
    k = kernel_size
    grad = np.zeros_like(x)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            z = x[i * k : i * k + k, j * k : j * k + k] / temperature
            e = np.exp(z - z.max())
            grad[i * k : i * k + k, j * k : j * k + k] += grad_output[i, j] * e / e.sum()
    return grad


def lse_plane_shift(x, grad_output, kernel_size, temperature):
    k = kernel_size
    z = x / temperature
    z = z - z.max()  # shift once, for the whole plane
    grad = np.zeros_like(x)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            e = np.exp(z[i * k : i * k + k, j * k : j * k + k])
            grad[i * k : i * k + k, j * k : j * k + k] = grad_output[i, j] * e / e.sum()
    return grad


def lse_shifted_by(shift):
    """The chapter's loop with the shift a learner chose in place of the window's maximum."""

    def backward(x, grad_output, kernel_size, temperature):
        k = kernel_size
        grad = np.zeros_like(x)
        for i in range(grad_output.shape[0]):
            for j in range(grad_output.shape[1]):
                z = x[i * k : i * k + k, j * k : j * k + k] / temperature
                with np.errstate(all="ignore"):
                    e = np.exp(z - shift(z))
                    grad[i * k : i * k + k, j * k : j * k + k] += grad_output[i, j] * e / e.sum()
        return grad

    return backward


# centre the exponents instead of capping them
lse_mean_shift = lse_shifted_by(np.mean)


def lse_unshifted(x, grad_output, kernel_size, temperature):
    k = kernel_size
    grad = np.zeros_like(x)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            e = np.exp(x[i * k : i * k + k, j * k : j * k + k] / temperature)
            grad[i * k : i * k + k, j * k : j * k + k] = grad_output[i, j] * e / e.sum()
    return grad


def lse_shift_by_max_x(x, grad_output, kernel_size, temperature):
    k = kernel_size
    grad = np.zeros_like(x)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            v = x[i * k : i * k + k, j * k : j * k + k]
            e = np.exp(v / temperature - v.max())  # shifted by max(x), not by max(x / T)
            grad[i * k : i * k + k, j * k : j * k + k] = grad_output[i, j] * e / e.sum()
    return grad


def lse_through_naive_output(x, grad_output, kernel_size, temperature):
    k = kernel_size
    grad = np.zeros_like(x)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            v = x[i * k : i * k + k, j * k : j * k + k]
            y = temperature * np.log(np.exp(v / temperature).sum())  # the output, as written
            weights = np.exp((v - y) / temperature)  # dy/dx = exp((x - y) / T)
            grad[i * k : i * k + k, j * k : j * k + k] = grad_output[i, j] * weights
    return grad


def lse_through_stable_output(x, grad_output, kernel_size, temperature):
    # the same idea with y computed stably is a right answer
    k = kernel_size
    grad = np.zeros_like(x)
    for i in range(grad_output.shape[0]):
        for j in range(grad_output.shape[1]):
            v = x[i * k : i * k + k, j * k : j * k + k]
            m = v.max()
            y = m + temperature * np.log(np.exp((v - m) / temperature).sum())
            weights = np.exp((v - y) / temperature)
            grad[i * k : i * k + k, j * k : j * k + k] = grad_output[i, j] * weights
    return grad


def lse_times_t(x, grad_output, kernel_size, temperature):
    # "y = T * log(...)", so the learner keeps the outer T and forgets the inner 1/T
    return temperature * lse_right(x, grad_output, kernel_size, temperature)


def lse_divided_by_t(x, grad_output, kernel_size, temperature):
    # the learner keeps the inner 1/T from d(x/T)/dx and forgets the outer T
    return lse_right(x, grad_output, kernel_size, temperature) / temperature


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    "solution, key, words",
    [
        (lse_right, None, ""),
        (lse_through_stable_output, None, ""),
        (lse_shift_by_max_x, "lse_unscaled_shift", "z = x / T first"),
        (lse_through_naive_output, "lse_naive_output", "Compute y with the shift"),
        (lse_plane_shift, "lse_plane_shift", "each window's own maximum"),
        (lse_mean_shift, "lse_mean_shift", "mean"),
        (lse_unshifted, "lse_overflow", "subtract the window's maximum"),
        (lse_times_t, "lse_times_t", "multiplying by T"),
        (lse_divided_by_t, "lse_extra_factor", "dividing by T"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_lse_checker_names_each_learner_mistake(solution, key, words):
    report = ex.check_lse_pool_backward(solution)
    assert report.passed is (key is None), repr(report)
    assert report.misconception == key
    assert words in repr(report)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_lse_checker_cases_are_where_the_mistakes_show():
    # the plane-shift mistake passes every case until the mixed-magnitude one
    report = ex.check_lse_pool_backward(lse_plane_shift)
    assert "one window near 1000, the others near 0" in report.message
    # the mean shift survives values near 1000 and only breaks on a wide float32 window
    report = ex.check_lse_pool_backward(lse_mean_shift)
    assert "float32" in report.message and "spanning -60 to 60" in report.message
    # shifting by max(x) instead of max(x / T) survives T >= 0.5 and breaks at T = 0.25
    report = ex.check_lse_pool_backward(lse_shift_by_max_x)
    assert "T = 0.25" in report.message and "max(x), not" in report.message
    # the naive output overflows (to inf, weights 0, not nan) first on values near 1000
    report = ex.check_lse_pool_backward(lse_through_naive_output)
    assert "around 1000" in report.message and "0 everywhere" in report.message
    # both factor mistakes show at the first T != 1, with the misconception named
    assert "multiplied by T" in repr(ex.check_lse_pool_backward(lse_times_t))
    assert "divided by T" in repr(ex.check_lse_pool_backward(lse_divided_by_t))


def test_lse_checker_holds_float32_answers_to_the_true_value():
    def float64_inside(x, grad_output, kernel_size, temperature):  # right, cast back at the end
        return lse_right(x.astype(np.float64), grad_output, kernel_size, temperature).astype(
            x.dtype
        )

    assert ex.check_lse_pool_backward(float64_inside).passed


# ---------------------------------------------------------------------------------------------
# Adaptive average pooling


def adaptive_right(grad_output, input_length):
    n, length = len(grad_output), input_length
    grad = np.zeros(length, dtype=grad_output.dtype)
    for i in range(n):
        start = (i * length) // n
        end = math.ceil((i + 1) * length / n)
        grad[start:end] += grad_output[i] / (end - start)
    return grad


def adaptive_nominal(grad_output, input_length):
    n, length = len(grad_output), input_length
    grad = np.zeros(length, dtype=grad_output.dtype)
    for i in range(n):
        start = (i * length) // n
        end = math.ceil((i + 1) * length / n)
        grad[start:end] += grad_output[i] / (length / n)  # the average bin size
    return grad


def adaptive_assign(grad_output, input_length):
    n, length = len(grad_output), input_length
    grad = np.zeros(length, dtype=grad_output.dtype)
    for i in range(n):
        start = (i * length) // n
        end = math.ceil((i + 1) * length / n)
        grad[start:end] = grad_output[i] / (end - start)
    return grad


def adaptive_floor(grad_output, input_length):
    n, length = len(grad_output), input_length
    grad = np.zeros(length, dtype=grad_output.dtype)
    for i in range(n):
        start = (i * length) // n
        end = ((i + 1) * length) // n  # rounds the end down: a partition, no overlap
        grad[start:end] += grad_output[i] / max(end - start, 1)
    return grad


def adaptive_round(grad_output, input_length):
    n, length = len(grad_output), input_length
    grad = np.zeros(length, dtype=grad_output.dtype)
    for i in range(n):
        start, end = round(i * length / n), round((i + 1) * length / n)  # nearest, not floor/ceil
        grad[start:end] += grad_output[i] / max(end - start, 1)
    return grad


def adaptive_round_half_up(grad_output, input_length):
    n, length = len(grad_output), input_length
    grad = np.zeros(length, dtype=grad_output.dtype)
    for i in range(n):
        start, end = int(i * length / n + 0.5), int((i + 1) * length / n + 0.5)
        end = max(end, start + 1)  # a guard a learner might add against empty bins
        grad[start:end] += grad_output[i] / (end - start)
    return grad


def adaptive_whole(grad_output, input_length):
    n, length = len(grad_output), input_length
    grad = np.zeros(length, dtype=grad_output.dtype)
    for i in range(n):
        start = (i * length) // n
        end = math.ceil((i + 1) * length / n)
        grad[start:end] += grad_output[i]
    return grad


@pytest.mark.parametrize(
    "solution, key, words",
    [
        (adaptive_right, None, ""),
        (adaptive_nominal, "adaptive_nominal_divisor", "g[i] / (end - start)"),
        (adaptive_assign, "adaptive_overwrite", "add (+=)"),
        (adaptive_floor, "adaptive_floor_bins", "end rounds up"),
        (adaptive_round, "adaptive_round_bins", "the start rounds down and the end up"),
        (adaptive_round_half_up, "adaptive_round_bins", "rounded to the nearest"),
        (adaptive_whole, "adaptive_not_divided", "divided by the bin's length"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_adaptive_checker_names_each_learner_mistake(solution, key, words):
    report = ex.check_adaptive_avg_pool_backward(solution)
    assert report.passed is (key is None), repr(report)
    assert report.misconception == key
    assert words in repr(report)


def test_adaptive_checker_reports_dtype_and_mutation():
    def as_float64(grad_output, input_length):
        return adaptive_right(grad_output.astype(np.float64), input_length)

    assert ex.check_adaptive_avg_pool_backward(as_float64).misconception == "dtype"

    def mutates(grad_output, input_length):
        n, length = len(grad_output), input_length
        bins = [((i * length) // n, math.ceil((i + 1) * length / n)) for i in range(n)]
        grad_output /= [end - start for start, end in bins]  # divides the caller's array
        grad = np.zeros(length, dtype=grad_output.dtype)
        for share, (start, end) in zip(grad_output, bins):
            grad[start:end] += share
        return grad

    assert ex.check_adaptive_avg_pool_backward(mutates).misconception == "mutated"


# ---------------------------------------------------------------------------------------------
# Average pooling: blind spots found by reviewers writing learner-style wrong solutions


def avg_with(grad_output, input_shape, kernel_size, stride, padding, count_include_pad, rows):
    """The chapter's solution with its real-rows count (and its columns') replaced by ``rows``.

    ``rows(r, k, pad, h, i, stride)`` is the learner's count of real rows in the window that
    starts at padded position r = i * stride.
    """
    k, pad = kernel_size, padding
    h, w = input_shape
    grad = np.zeros((h + 2 * pad, w + 2 * pad), dtype=grad_output.dtype)
    for row in range(grad_output.shape[0]):
        for col in range(grad_output.shape[1]):
            r, c = row * stride, col * stride
            if count_include_pad:
                divisor = k * k
            else:
                divisor = rows(r, k, pad, h, row, stride) * rows(c, k, pad, w, col, stride)
            grad[r : r + k, c : c + k] += grad_output[row, col] / divisor
    return grad[pad : pad + h, pad : pad + w]


def clipped_at_the_start_only(r, k, pad, n, i, stride):
    return r + k - max(r, pad)  # forgot min(r + k, pad + n): the end runs into the padding


def clipped_at_the_end_only(r, k, pad, n, i, stride):
    start = i * stride - pad  # in input coordinates; negative in the top/left padding
    return min(start + k, n) - start  # forgot max(start, 0)


def started_at_i_times_s(r, k, pad, n, i, stride):
    start = i * stride  # forgot the - pad: counts as if the window started at i * s
    return min(start + k, n) - max(start, 0)


@pytest.mark.parametrize(
    "rows, key, words",
    [
        (lambda r, k, pad, n, i, s: min(r + k, pad + n) - max(r, pad), None, ""),
        (clipped_at_the_start_only, "divisor_no_end_clip", "clip its end"),
        (clipped_at_the_end_only, "divisor_no_start_clip", "max(a, 0)"),
        (started_at_i_times_s, "divisor_offset", "i*s - p"),
    ],
    ids=["right", "start_only", "end_only", "offset"],
)
def test_avg_divisor_mistakes_are_named(rows, key, words):
    report = ex.check_avg_pool_backward(lambda *args: avg_with(*args, rows=rows))
    assert report.passed is (key is None), repr(report)
    assert report.misconception == key
    assert words in report.hint
    assert "count_include_pad=True every full window" not in report.hint  # not pad_divisor's


def test_avg_divisor_clipped_at_the_start_only_fails_on_the_bottom_right_padding():
    report = ex.check_avg_pool_backward(
        lambda *args: avg_with(*args, rows=clipped_at_the_start_only)
    )
    assert "5x7 input" in report.message and "count_include_pad=False" in report.message


def test_avg_windows_moved_by_kernel_are_named_stride_ignored():
    def by_kernel(grad_output, input_shape, kernel_size, stride, padding, count_include_pad):
        return avg_right(grad_output, input_shape, kernel_size, kernel_size, padding,
                         count_include_pad)  # fmt: skip

    report = ex.check_avg_pool_backward(by_kernel)
    assert report.misconception == "stride_ignored", repr(report)
    assert "row * stride" in report.hint and "window count" not in report.hint


# ---------------------------------------------------------------------------------------------
# Fractional max pooling's window starts (book/pooling_3d_fractional.ipynb)


def starts_right(u, size, out, k):  # the chapter's solution
    if out == 1:  # no steps at all, and s_bar would divide by zero
        return [size - k]
    s_bar = (size - k) / (out - 1)
    result = []
    for i in range(out - 1):
        result.append(int((i + u) * s_bar) - int(u * s_bar))  # int() floors: all are >= 0
    result.append(size - k)  # the formula gives this too; set it against rounding
    return result


def test_fractional_starts_in_a_tuple_are_told_to_return_one_result():
    report = ex.check_fractional_starts(lambda u, size, out, k: (starts_right(u, size, out, k), k))
    assert "number of results" in report.message and "not a tuple" in report.hint
    assert report.hint != ex.MISCONCEPTIONS["shape"][1]


def starts_without_the_term(u, size, out, k):  # the chapter's own wrong solution
    s_bar = (size - k) / (out - 1) if out > 1 else 0.0
    return [int((i + u) * s_bar) for i in range(out - 1)] + [size - k]


def starts_ceil(u, size, out, k):
    if out == 1:
        return [size - k]
    s_bar = (size - k) / (out - 1)
    return [math.ceil((i + u) * s_bar) - math.ceil(u * s_bar) for i in range(out - 1)] + [size - k]


def starts_without_the_guard(u, size, out, k):
    s_bar = (size - k) / (out - 1)  # ZeroDivisionError at out = 1
    return [math.floor((i + u) * s_bar) - math.floor(u * s_bar) for i in range(out - 1)] + [
        size - k
    ]


def starts_papers_alpha(u, size, out, k):
    if out == 1:
        return [size - k]
    alpha = size / out  # the paper's reduction factor, not (size - k) / (out - 1)
    return [math.floor((i + u) * alpha) - math.floor(u * alpha) for i in range(out - 1)] + [
        size - k
    ]


def starts_formula_to_the_end(u, size, out, k):
    if out == 1:
        return [size - k]
    s_bar = (size - k) / (out - 1)
    return [math.floor((i + u) * s_bar) - math.floor(u * s_bar) for i in range(out)]


@pytest.mark.parametrize(
    "solution, key, words",
    [
        (starts_right, None, ""),
        (starts_without_the_term, "frac_first_start", "floor(u * s_bar)"),
        (starts_ceil, "frac_ceil", "floor"),
        (starts_without_the_guard, "crashed", "out = 1"),
        (starts_papers_alpha, "frac_step", "size / out"),
        (starts_formula_to_the_end, "frac_last_formula", "outright"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_fractional_starts_checker_names_each_learner_mistake(solution, key, words):
    report = ex.check_fractional_starts(solution)
    assert report.passed is (key is None), repr(report)
    assert report.misconception == key
    assert words in repr(report)


def test_fractional_starts_ceil_fails_on_the_chapters_example():
    # random u never lands where ceil and floor differ; the chapter's 10 -> 7 at u = 0 does
    report = ex.check_fractional_starts(starts_ceil)
    assert "u = 0.0, size = 10, out = 7, k = 2" in report.message, repr(report)


def test_fractional_starts_a_crash_is_reported_with_its_case():
    report = ex.check_fractional_starts(starts_without_the_guard)
    assert "ZeroDivisionError" in report.message and "out = 1" in report.message
    assert "return [size - k]" in report.hint

    def raises_elsewhere(u, size, out, k):
        raise IndexError("list index out of range")

    report = ex.check_fractional_starts(raises_elsewhere)
    assert report.misconception == "crashed" and "IndexError" in report.message
    assert "out = 1" not in report.hint  # the hint about the guard fits only that crash


@pytest.mark.parametrize(
    "returned, key",
    [
        (None, "not_numbers"),  # no return statement
        (["0", "2", "4", "5"], "not_numbers"),
        (3, "shape"),
        ([], "shape"),
        ([0.0, float("nan")], "shape"),
    ],
    ids=["None", "strings", "int", "empty", "short"],
)
def test_fractional_starts_checker_never_crashes(returned, key):
    report = ex.check_fractional_starts(lambda u, size, out, k: returned)
    assert not report.passed and report.misconception == key, repr(report)
    if key == "shape":
        assert "one start per window" in report.hint and "gradient" not in report.hint


def test_fractional_starts_in_the_wrong_order_of_operations_is_named():
    import math

    def expanded(u, size, out, k):  # i * s_bar + u * s_bar where PyTorch has (i + u) * s_bar
        if out == 1:
            return [size - k]
        s_bar = (size - k) / (out - 1)
        starts = [math.floor(i * s_bar + u * s_bar) - math.floor(u * s_bar) for i in range(out - 1)]
        return [*starts, size - k]

    report = ex.check_fractional_starts(expanded)
    assert report.misconception == "frac_order", repr(report)
    assert "(i + u) * s_bar" in report.hint


def test_lse_shift_by_the_largest_magnitude_is_named():
    # the Lp section's "factor out the largest magnitude" carried over to log-sum-exp: a window
    # of large negative values then underflows to 0 / 0
    report = ex.check_lse_pool_backward(lse_shifted_by(lambda z: np.abs(z).max()))
    assert report.misconception == "lse_abs_shift", repr(report)
    assert "-1000" in report.message and "max(x / T) itself" in report.hint


def test_lse_shift_by_the_window_s_first_element_fails():
    assert not ex.check_lse_pool_backward(lse_shifted_by(lambda z: z.flat[0])).passed
    assert ex.check_lse_pool_backward(lse_shifted_by(np.max)).passed  # the helper itself is right


def test_adaptive_divided_by_the_floored_nominal_size_is_named():
    # at 5 -> 3, L // n = 1 looks like no division at all; 7 -> 3 (L // n = 2) tells them apart
    def floored(grad_output, length):
        n = len(grad_output)
        grad = np.zeros(length, dtype=grad_output.dtype)
        for i in range(n):
            start, end = (i * length) // n, -((-(i + 1) * length) // n)
            grad[start:end] += grad_output[i] / (length // n)
        return grad

    report = ex.check_adaptive_avg_pool_backward(floored)
    assert report.misconception == "adaptive_floor_nominal", repr(report)
    assert "L = 7" in report.message  # the case that tells it from no division, wrong too


def test_avg_crop_that_is_empty_at_padding_0_is_named():
    def minus_p_crop(grad_output, input_shape, kernel_size, stride, padding, count_include_pad):
        args = (grad_output, input_shape, kernel_size, stride, padding, count_include_pad)
        padded = np.pad(avg_right(*args), padding)  # the padded gradient, as a loop builds it
        return padded[padding:-padding, padding:-padding]  # empty when padding is 0

    report = ex.check_avg_pool_backward(minus_p_crop)
    assert report.misconception == "empty_crop", repr(report)


def test_lse_backward_with_the_library_s_argument_order_is_told_to_swap():
    from pooling_lab.generalized import lse_pool2d_backward

    def grad_first(grad_output, x, kernel_size, temperature):
        return lse_pool2d_backward(
            grad_output[None], x[None], kernel_size, temperature=temperature
        )[0]

    report = ex.check_lse_pool_backward(grad_first)
    assert report.misconception == "args_swapped", repr(report)
    assert "swap your function's first two parameters" in report.hint


def test_adaptive_bins_as_one_kernel_at_one_stride_are_named():
    def fixed_kernel(grad_output, length):  # stride = L // n, kernel = L - (n - 1) * stride
        n = len(grad_output)
        step = length // n
        kernel = length - (n - 1) * step
        grad = np.zeros(length, dtype=grad_output.dtype)
        for i, g in enumerate(grad_output):
            grad[i * step : i * step + kernel] += g / kernel
        return grad

    report = ex.check_adaptive_avg_pool_backward(fixed_kernel)
    assert report.misconception == "adaptive_fixed_stride", repr(report)
    assert "not in general (5 -> 3)" in report.hint


def test_lse_backward_swapped_and_wrong_is_not_told_that_a_swap_fixes_it():
    from pooling_lab.generalized import lse_pool2d_backward

    def swapped_and_no_temperature(grad_output, x, kernel_size, temperature):
        return lse_pool2d_backward(grad_output[None], x[None], kernel_size, temperature=1.0)[0]

    report = ex.check_lse_pool_backward(swapped_and_no_temperature)
    assert not report.passed and report.misconception != "args_swapped", repr(report)
