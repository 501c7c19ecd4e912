"""Checkers for part 1 of the course: dense layers, ReLU, max, and max pooling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .. import functional as F
from ._checking import MISCONCEPTIONS, Report, _call, _diagnose, _fail, _opposite_sign

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
# In the split exercise the fix for all_ties is the division, not picking one winner.
_SPLIT_ALL_TIES_HINT = (
    "divide each window's gradient by t, the number of tied maxima (top.sum() for a boolean "
    "mask top of the window's maxima), so the t winners share it"
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
# no_dilation's table entry speaks of a window of k elements; this learner wrote d*k.
_DILATED_EXTENT_MESSAGE = "the dilated window's extent was taken as d*k elements"
_DILATED_EXTENT_HINT = (
    "a dilated window's k elements are d apart: k - 1 gaps of d, plus the first element, reach "
    "d*(k-1)+1 positions, not d*k, so the number of windows is "
    "floor((L + 2p - d(k-1) - 1) / s) + 1"
)
# window_offset's table entry speaks of the backward pass (where to add the gradient).
_FORWARD_WINDOW_OFFSET_HINT = (
    "output (i, j)'s window starts s*i rows and s*j columns into the (padded) input: take the "
    "maximum of padded[i*s : i*s + k, j*s : j*s + k], not of padded[i : i + k, j : j + k]"
)
# overwrite's table entry speaks of assigning to one winner, or of a fancy index; a split
# learner assigned a whole window's slice.
_SPLIT_SLICE_OVERWRITE_HINT = (
    "an input in two overlapping windows must receive its share from both, so add (+=) the "
    "window's shares into grad, do not assign them (=): assigning the window's slice, "
    "grad[i*s : i*s + k, j*s : j*s + k] = ..., replaces everything the earlier windows put "
    "there, even at inputs that do not win this window (they get 0)"
)
# The max of an empty slice: the loop runs past the padded input, or a slice starts below 0.
_FORWARD_EMPTY_WINDOW_HINT = (
    "a window's slice came out empty: either the loop makes one window too many (the count is "
    "floor((H + 2p - k) / s) + 1), or a slice of x starts at a negative index, which Python "
    "counts from the end: pad first (np.full with -inf), then take padded[i*s : i*s + k, ...]"
)
_FORWARD_SHAPE_HINT = (
    "the output has one value per window: floor((H + 2p - k) / s) + 1 rows and "
    "floor((W + 2p - k) / s) + 1 columns"
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
    if report.misconception == "shape":
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
    if report.misconception == "last_tie":
        report = replace(report, hint=_MAX2_LAST_TIE_HINT)
    if report.misconception == "all_ties":
        report = replace(report, hint=_MAX2_ALL_TIES_HINT)
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
        # Padding 2 early (with kernel 4: PyTorch allows at most half the kernel): ignoring
        # padding then gives a count that no other mistake gives.
        (8, 4, 1, 2, 1, False),
        (7, 3, 2, 1, 1, False),
        # Dilation 3 before dilation 2: a dilated extent taken as d*k (instead of d(k-1) + 1)
        # gives 5 here, no other mistake's count; at dilation 2 and stride 1 it is off by one.
        (10, 2, 1, 0, 3, False),
        (9, 3, 1, 0, 2, False),
        (5, 2, 2, 0, 1, True),
        # s divides the span: no partial window, so ceil_mode changes nothing (a "floor + 1
        # more" for ceil_mode gives 4, and at stride 1 too)
        (7, 3, 2, 0, 1, True),
        (5, 3, 1, 0, 1, True),
        # a partial window kept, whose remainder 1 is less than half the stride 3: rounding to
        # the nearest instead of up loses it
        (7, 3, 3, 0, 1, True),
        (6, 3, 3, 1, 1, True),
        (7, 2, 3, 1, 1, True),
        # On the drop boundary: the third window would start at padded position 4, the right
        # padding, so it is dropped. A drop test against L + 2p instead of L + p keeps it.
        (3, 2, 2, 1, 1, True),
    ]:
        L, k, s, p, d, ceil = args
        right = np.array(_size(*args))
        span = L + 2 * p - d * (k - 1) - 1  # from the first window's start to the last's
        mistakes = {}
        if ceil and p:
            # The drop test against L, not L + p: first, because at (6, 3, 3, 1) it gives the
            # count a ceil_mode answer without the "+ 1" gives, and a learner who reaches that
            # case has passed (5, 2, 2, 0), where that mistake would already have shown.
            mistakes["ceil_drop_at_L"] = np.array(_drop_last(-(-span // s) + 1, s, L))
        mistakes |= {
            "off_by_one": np.array(span // s),
            "no_dilation": np.array(_size(L, k, s, p, 1, ceil)),
        }
        if p:
            mistakes["no_padding"] = np.array(_size(L, k, s, 0, d, ceil))
        if ceil:
            mistakes["ceil_no_drop"] = np.array(-(-span // s) + 1)
            mistakes["off_by_one"] = np.array(-(-span // s))
            if right > span // s + 1:
                # The last window is a partial one, kept: one fewer is likelier a drop test
                # that drops it than a lost "+ 1" (the learner has passed the plain counts);
                # a case where s divides the span tells the two apart (_narrow).
                mistakes["ceil_dropped_inside"] = mistakes["off_by_one"]
                first = [
                    key for key in ("ceil_drop_at_L", "ceil_dropped_inside") if key in mistakes
                ]
                mistakes = {key: mistakes[key] for key in first} | mistakes
            # floor + 1, then one more for ceil_mode, then the drop rule
            mistakes["ceil_always_adds"] = np.array(_drop_last(span // s + 2, s, L + p))
        # Only where no other mistake gives the same count, so that one is named, not both.
        by_kernel = np.array(_size(L, k, k, p, d, ceil))
        if (
            s != k
            and by_kernel != _d_times_k(*args)
            and all(by_kernel != m for m in mistakes.values())
        ):
            mistakes["stride_ignored"] = by_kernel
        names = ("L", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
        description = ", ".join(f"{n}={v}" for n, v in zip(names, args))
        cases.append((description, args, right, mistakes))

    def d_times_k(args, got, want):
        """Name the extent d*k: no_dilation's hint fits, its words (a window of k) do not."""
        if args[4] > 1 and got[0] == _d_times_k(*args):
            return "no_dilation", _DILATED_EXTENT_MESSAGE, _DILATED_EXTENT_HINT
        return None

    return _diagnose("check_output_size", fn, cases, extra=d_times_k)


def _drop_last(n, s, bound):
    """ceil_mode's drop rule, with the bound a mistake may get wrong: of ``n`` windows ``s``
    apart, the last goes if its start in the padded input is at or after ``bound`` (PyTorch's
    is L + p, where the right padding begins)."""
    return n - 1 if (n - 1) * s >= bound else n


def _d_times_k(L, k, s, p, d, ceil):
    """The count with a dilated window's extent taken as d*k (PyTorch's rules otherwise)."""
    span = L + 2 * p - d * k
    return _drop_last(-(-span // s) + 1, s, L + p) if ceil else span // s + 1


def _zero_padded_max(x, k, s, p):
    padded = np.pad(x, p)
    return F.max_pool2d(padded[None], k, s)[0]


def _placed_max(x, k, p, step, shape):
    """A forward pass with window (i, j) at (i * step, j * step) of the input padded by ``p``.

    ``step`` 1 models windows at (i, j), ``step`` k windows that move by the kernel size, and
    ``p`` 0 with ``step`` s windows sliced at i*s of the unpadded input; None
    if a window falls outside the padded input (that code would raise).
    """
    padded = np.pad(x, p, constant_values=-np.inf)
    out = np.empty(shape, dtype=x.dtype)
    for i in range(shape[0]):
        for j in range(shape[1]):
            window = padded[i * step : i * step + k, j * step : j * step + k]
            if window.size == 0:
                return None
            out[i, j] = window.max()
    return out


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
    # 10x6: no output size of a mistake in this case is another's (8x6 made counting both
    # sizes from the width look like windows moved by k)
    odd = rng.standard_normal((10, 6)).astype(np.float32)
    cases = []
    for description, x, k, s, p in [
        ("6x6, kernel 2, stride 2", plain, 2, 2, 0),
        ("10x6 float32, kernel 3, stride 2 (sizes that do not divide)", odd, 3, 2, 0),
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
        # Windows that move by k: the count uses k where it needs s.
        by_kernel = tuple((n + 2 * p - k) // k + 1 for n in x.shape)
        if s != k and by_kernel != right.shape:
            mistakes["__shapes__"].setdefault(by_kernel, "stride_ignored")
        # Shapes that the mistakes above do not explain. Both sizes counted from one of the
        # input's dimensions:
        for n_out in set(right.shape) if right.shape[0] != right.shape[1] else ():
            mistakes["__shapes__"].setdefault((n_out, n_out), "same_dimension")
        # One window too many in a dimension: the loop runs past the padded input.
        for more in ((1, 0), (0, 1), (1, 1)):
            too_many = tuple(n + m for n, m in zip(right.shape, more))
            mistakes["__shapes__"].setdefault(too_many, "extra_window")
        # Windows placed at (i, j), or moved by k, with the window count right.
        for key, step in (("window_offset", 1), ("stride_ignored", k)):
            placed = _placed_max(x, k, p, step, right.shape) if step != s else None
            if placed is not None:
                mistakes[key] = placed
        if p:
            mistakes["zero_padding"] = _zero_padded_max(x, k, s, p)
            unshifted = _placed_max(x, k, 0, s, right.shape)  # at i*s, the -p forgotten
            if unshifted is not None:
                mistakes["no_pad_offset"] = unshifted
        cases.append((description, (x, k, s, p), right, mistakes))
    report = _diagnose("check_max_pool_forward", fn, cases)
    if report.misconception == "shape":
        report = replace(report, hint=_FORWARD_SHAPE_HINT)
    if report.misconception == "window_offset":
        report = replace(report, hint=_FORWARD_WINDOW_OFFSET_HINT)
    empty = ("zero-size array", "empty sequence")  # np.max and the built-in max of nothing
    if report.misconception == "crashed" and any(e in report.message for e in empty):
        report = replace(report, hint=_FORWARD_EMPTY_WINDOW_HINT)
    return report


# ---------------------------------------------------------------------------------------------
# Chapter 5 and 6: max pooling, backward


_BACKWARD_STRIDE_HINT = (
    "consecutive windows start stride apart, not kernel_size apart: window (i, j) covers "
    "x[i*s : i*s + k, j*s : j*s + k], and with stride < kernel_size the windows overlap (the "
    "number of windows is grad_output's shape)"
)


def _windows(shape, k, s, step=None):
    """Yield (output position, slice of the input) for every window of a plane.

    Window (i, j) starts at (i * step, j * step); ``step`` is the stride unless a mistake
    (windows placed at (i, j)) is being modelled.
    """
    step = s if step is None else step
    out_h = (shape[0] - k) // s + 1
    out_w = (shape[1] - k) // s + 1
    for i in range(out_h):
        for j in range(out_w):
            yield (i, j), (slice(i * step, i * step + k), slice(j * step, j * step + k))


def _wrong_backward(x, g, k, s, rule):
    """What a backward pass with one specific mistake (``rule``) returns."""
    grad = np.zeros_like(x, dtype=g.dtype)
    step = {"window_offset": 1, "stride_ignored": k, "split_stride_ignored": k}.get(rule, s)
    for (i, j), window in _windows(x.shape, k, s, step):
        values = x[window]
        if values.size == 0:  # windows moved by k can run off the plane
            continue
        top = values == values.max()
        if rule == "spread":
            grad[window] += g[i, j]
        elif rule == "averaged":
            grad[window] += g[i, j] / values.size
        elif rule == "all_ties":
            grad[window] += g[i, j] * top
        elif rule in ("split", "split_stride_ignored"):
            grad[window] += g[i, j] * top / top.sum()
        elif rule == "split_assigned":  # the split rule, assigning the window's slice
            grad[window] = g[i, j] * top / top.sum()
        elif rule in (
            "last_tie",
            "first",
            "overwrite",
            "activation",
            "window_offset",
            "stride_ignored",
        ):
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
    # As after a ReLU: zeros and repeated positives, a 2x3 output (loops over one size fail),
    # overlapping windows that share a winner, a window of tied 2s whose value also lies
    # outside it, and a window of zeros only (a search of the whole plane for a window's
    # maximum value, or a count of its ties there, gets these wrong).
    relu_like = np.array(
        [
            [0, 2, 0, 0, 1, 0, 0],
            [0, 0, 0, 0, 2, 2, 0],
            [1, 0, 3, 0, 0, 0, 0],
            [0, 0, 0, 3, 0, 0, 0],
            [2, 0, 1, 0, 0, 0, 0],
        ],
        dtype=np.float64,
    )
    plans = [
        ("4x4 distinct values, kernel 2, stride 2", distinct, 2, 2),
        ("a float32 6x6 input, kernel 3, stride 3", f32, 3, 3),
        ("all values negative, kernel 2, stride 2", negative, 2, 2),
        ("tied maxima, kernel 2, stride 2", ties, 2, 2),
        ("overlapping windows, kernel 3, stride 1", overlap, 3, 1),
        ("a 5x7 plane of zeros and repeated positives, kernel 3, stride 2", relu_like, 3, 2),
    ]
    cases = []
    for description, x, k, s in plans:
        out = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
        g = np.arange(1.0, out[0] * out[1] + 1).reshape(out).astype(x.dtype)
        right = _wrong_backward(x, g, k, s, right_rule)
        mistakes = {m: _wrong_backward(x, g, k, s, r) for m, r in mistakes_to_rules.items()}
        # the same routing of a gradient of ones: the mask, or the shares, without grad_output
        mistakes["no_grad_output"] = _wrong_backward(x, np.ones_like(g), k, s, right_rule)
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
    rules = {k: k for k in keys + ["window_offset", "stride_ignored"]}
    cases = _backward_cases(rules | {"split_in_window": "split"}, "first")
    report = _diagnose("check_max_pool_backward", fn, cases, extra=_extra_factor)
    if report.misconception == "stride_ignored":  # the table's hint speaks of the window count
        report = replace(report, hint=_BACKWARD_STRIDE_HINT)
    return report


def _extra_factor(args, got, want):
    """Name a backward pass that is right except for a factor, at the winners, of the input.

    The checker's own "activation" case models ReLU's mask; a learner may multiply by any
    activation's derivative (tanh'(x), say), so match the pattern instead: zero wherever the
    right answer is zero, and at the winners a ratio that is not constant (a constant would be
    a plain scaling) but is the same for equal inputs.
    """
    x, result, right = args[0], got[0], np.asarray(want[0])
    if result.shape != right.shape:
        return None
    winners = right != 0
    if not winners.any() or np.any(result[~winners] != 0):
        return None
    ratio = result[winners] / right[winners]
    if np.allclose(ratio, ratio[0], rtol=1e-5, atol=0):
        return None
    values = x[winners]
    for v in np.unique(values):
        same = ratio[values == v]
        if not np.allclose(same, same[0], rtol=1e-5, atol=0):
            return None
    # Where no two winners share a value, any ratio passes the test above (a gradient read
    # at the wrong output, say): name it only if it is a derivative a learner would multiply.
    if len(np.unique(values)) == len(values):
        with np.errstate(all="ignore"):
            sigmoid = 1 / (1 + np.exp(-values))
            derivatives = [
                values > 0,  # ReLU's mask
                1 - np.tanh(values) ** 2,  # tanh'(x)
                1 - values**2,  # tanh' from the activation a = tanh(x)
                sigmoid * (1 - sigmoid),  # sigmoid'(x)
                values * (1 - values),  # sigmoid' from the activation
            ]
        if not any(np.allclose(ratio, d, rtol=1e-5, atol=1e-12) for d in derivatives):
            return None
    return "activation"


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
        "stride_ignored": "split_stride_ignored",
    }

    def slice_assigned(args, got, want):
        """Name the split rule assigned (=) to the window's slice: overwrite, with its own hint.

        The "overwrite" model above assigns to one winner, which fits the first-maximum rule.
        """
        wrong = _wrong_backward(*args, "split_assigned")
        if np.allclose(got[0], wrong, rtol=1e-5, atol=1e-6):
            message = MISCONCEPTIONS["overwrite"][0]
            return "overwrite", message, _SPLIT_SLICE_OVERWRITE_HINT
        return None

    cases = _backward_cases(rules, "split")
    report = _diagnose("check_split_ties_backward", fn, cases, extra=slice_assigned)
    if report.misconception == "all_ties":
        report = replace(report, hint=_SPLIT_ALL_TIES_HINT)
    if report.misconception == "stride_ignored":  # the table's hint speaks of the window count
        report = replace(report, hint=_BACKWARD_STRIDE_HINT)
    return report
