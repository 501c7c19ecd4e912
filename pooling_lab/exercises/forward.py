"""Checkers for maxpool_forward's exercises: the output size, and the max-pool forward pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .. import functional as F
from ._checking import MISCONCEPTIONS, Report, _diagnose, _with_hints

MISCONCEPTIONS.update(
    {
        "rounded_up": (
            "the count was rounded up, although ceil_mode is False",
            "without ceil_mode the division rounds down, floor((L + 2p - d(k-1) - 1) / s) + 1: "
            "a window that would reach past the padded input is not made",
        ),
        "not_whole": (
            "the count is not a whole number: the division was not rounded",
            "the number of windows is floor((L + 2p - d(k-1) - 1) / s) + 1: use floor division "
            "(// in Python), or math.ceil where ceil_mode is True",
        ),
    }
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
        # s does not divide the span: the count is rounded down (rounding up, or not at all,
        # passes every case above)
        (7, 2, 2, 0, 1, False),
        (8, 3, 2, 0, 1, False),
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
        if not ceil and span % s:
            mistakes["rounded_up"] = np.array(_drop_last(-(-span // s) + 1, s, L + p))
            mistakes["not_whole"] = np.array(span / s + 1)
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
    hints = {"shape": _FORWARD_SHAPE_HINT, "window_offset": _FORWARD_WINDOW_OFFSET_HINT}
    report = _with_hints(report, hints)
    empty = ("zero-size array", "empty sequence")  # np.max and the built-in max of nothing
    if report.misconception == "crashed" and any(e in report.message for e in empty):
        report = replace(report, hint=_FORWARD_EMPTY_WINDOW_HINT)
    return report
