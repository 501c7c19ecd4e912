"""Checkers for the course's coding exercises: they name the misconception your code shows.

Each ``check_*`` function calls your function on a series of small cases, each aimed at one
mistake people often make, and returns a :class:`Report`. When an answer is wrong, the checker
compares it with what each known mistake would produce and names the first one that matches,
with a hint. A correct solution gets a clear pass.

The pooling exercises work on a single 2-D plane ``x`` of shape (H, W), so that loops stay
simple; ``stride`` defaults to ``kernel_size`` as in PyTorch.

Examples
--------
>>> import numpy as np
>>> from pooling_lab import exercises
>>> def relu_backward(x, grad_output):
...     return grad_output * (x > 0)
>>> exercises.check_relu_backward(relu_backward)
PASS check_relu_backward: all 4 cases agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import functional as F

__all__ = [
    "Report",
    "check_dense_backward",
    "check_max2_backward",
    "check_max_pool_backward",
    "check_max_pool_forward",
    "check_output_size",
    "check_relu_backward",
    "check_split_ties_backward",
]


@dataclass(frozen=True)
class Report:
    """What a checker found: a pass, or the first misconception and a hint."""

    exercise: str
    passed: bool
    message: str
    misconception: str | None = None
    hint: str = ""

    def __repr__(self) -> str:
        if self.passed:
            return f"PASS {self.exercise}: {self.message}"
        text = f"FAIL {self.exercise}: {self.message}"
        return text + (f"\nHint: {self.hint}" if self.hint else "")

    def __bool__(self) -> bool:
        return self.passed


# Misconceptions: a key, how to say it, and a hint. Tests and notebooks refer to the keys.
MISCONCEPTIONS = {
    "crashed": (
        "your function raised an exception",
        "run it on the case shown and read the traceback",
    ),
    "shape": (
        "the result has the wrong shape",
        "a gradient always has the shape of the thing it "
        "is the gradient of; a pooled output has one value per window",
    ),
    "dtype": (
        "the result has the wrong dtype",
        "build results with np.zeros_like(x) or "
        "np.zeros(shape, dtype=x.dtype), so float32 stays float32",
    ),
    "mutated": (
        "your function changed its input array",
        "work on a copy (x.copy()) or a new array; the caller still needs its data",
    ),
    "off_by_one": (
        "the output size is off by one",
        "the number of windows is "
        "floor((L + 2p - d(k-1) - 1) / s) + 1: count window *starts*, not ends",
    ),
    "no_dilation": (
        "the output size ignores dilation",
        "a dilated window reaches d*(k-1)+1 elements, not k",
    ),
    "ceil_no_drop": (
        "ceil_mode keeps a window that starts in the right padding",
        "PyTorch drops the last window unless it starts inside the input or the left padding",
    ),
    "zero_padding": (
        "padding was filled with zeros",
        "max pooling pads with -inf: with zeros, a "
        "window of negative numbers would report 0, a value that is not in the input",
    ),
    "spread": (
        "every element of the window received gradient",
        "only the maximum influences the output; the other elements' partial derivatives are 0",
    ),
    "averaged": (
        "the gradient was shared equally over the window",
        "that is average pooling's backward; max pooling sends the whole gradient to the winner",
    ),
    "all_ties": (
        "every tied maximum received the full gradient",
        "that counts the gradient twice "
        "(its total grows); pick one winner, the first in row-major order, as PyTorch "
        "does",
    ),
    "last_tie": (
        "ties went to the last maximum instead of the first",
        "that is a valid "
        "subgradient, but PyTorch's convention (and ours) is the first maximum in "
        "row-major window order; compare with > rather than >=",
    ),
    "overwrite": (
        "overlapping windows overwrote each other's gradient",
        "an input that wins two "
        "windows influences both outputs: add the gradients (+=), do not assign (=)",
    ),
    "activation": (
        "the gradient was multiplied by an extra activation derivative",
        "max "
        "pooling's derivative already is the 0/1 routing; a nonlinearity before the "
        "pool applies its own derivative in its own backward pass",
    ),
    "to_loser": (
        "the gradient went to the smaller input",
        "the derivative of max(a, b) with respect to a is 1 when a wins and 0 when it loses",
    ),
    "relu_negative": (
        "gradient passed through inputs that are not positive",
        "ReLU's output does not change when a negative input moves a little: its slope there is 0",
    ),
    "relu_value": (
        "the result is scaled by the input or output value",
        "ReLU's slope is 1 for "
        "positive inputs, whatever their size: pass grad_output through unchanged",
    ),
    "not_split": (
        "tied maxima did not share the gradient",
        "in the split rule each of the t tied winners gets grad / t",
    ),
    "no_batch_sum": (
        "grad_b was not summed over the batch",
        "b is added to every row, so its gradient is the sum of grad_y over rows",
    ),
    "transposed": ("grad_W is transposed", "grad_W must have W's shape (D, M): x.T @ grad_y"),
}


def _fail(exercise, key, where=""):
    message, hint = MISCONCEPTIONS[key]
    return Report(exercise, False, message + (f" ({where})" if where else ""), key, hint)


def _call(fn, args):
    """Call the learner's function on copies, so a mutation is seen and not propagated."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        result = fn(*copies)
    except Exception as err:  # the learner's code may raise anything
        return None, f"{type(err).__name__}: {err}", False
    mutated = any(
        isinstance(a, np.ndarray) and not np.array_equal(a, c, equal_nan=True)
        for a, c in zip(args, copies)
    )
    return result, None, mutated


def _diagnose(exercise, fn, cases):
    """Run every case; on the first wrong answer, name the matching misconception.

    ``cases`` holds (description, args, expected, {misconception key: what that mistake gives}).
    """
    for description, args, expected, mistakes in cases:
        result, error, mutated = _call(fn, args)
        if error:
            report = _fail(exercise, "crashed", f"{description}: {error}")
            return report
        if mutated:
            return _fail(exercise, "mutated", description)
        got = result if isinstance(result, tuple) else (result,)
        want = expected if isinstance(expected, tuple) else (expected,)
        if len(got) != len(want):
            return _fail(exercise, "shape", f"{description}: expected {len(want)} results")
        got = tuple(np.asarray(g) for g in got)
        for g, w in zip(got, want):
            if g.shape != np.shape(w):
                near = g.ndim == np.ndim(w) and all(
                    abs(a - b) <= 1 for a, b in zip(g.shape, np.shape(w))
                )
                key = mistakes.get("__shape__", "shape") if near else "shape"
                return _fail(
                    exercise, key, f"{description}: got shape {g.shape}, expected {np.shape(w)}"
                )
            if np.asarray(w).dtype.kind == "f" and g.dtype != np.asarray(w).dtype:
                return _fail(
                    exercise,
                    "dtype",
                    f"{description}: got {g.dtype}, expected {np.asarray(w).dtype}",
                )
        if all(np.allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True) for g, w in zip(got, want)):
            continue
        for key, wrong in mistakes.items():
            if key.startswith("__"):
                continue
            wrong = wrong if isinstance(wrong, tuple) else (wrong,)
            if all(
                g.shape == np.shape(b) and np.allclose(g, b, rtol=1e-5, atol=1e-6, equal_nan=True)
                for g, b in zip(got, wrong)
            ):
                return _fail(exercise, key, description)
        return Report(
            exercise,
            False,
            f"wrong values ({description}); expected\n{want[0]!r}\nbut got\n{got[0]!r}",
            None,
            "work the case out by hand and compare",
        )
    return Report(exercise, True, f"all {len(cases)} cases agree.")


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
        "transposed": (right[0], g.T @ x, right[2]),
    }
    cases = [("x of shape (3, 4), W of shape (4, 2)", (x, W, g), right, mistakes)]
    # The last case checks that the transposed grad_W is named even though its shape is wrong.
    report = _diagnose("check_dense_backward", fn, cases)
    if report.misconception == "shape":
        result, _, _ = _call(fn, (x, W, g))
        if isinstance(result, tuple) and len(result) == 3 and np.shape(result[1]) == (2, 4):
            return _fail("check_dense_backward", "transposed", "grad_W has shape (2, 4)")
        if isinstance(result, tuple) and len(result) == 3 and np.shape(result[2]) == (3, 2):
            return _fail("check_dense_backward", "no_batch_sum", "grad_b has shape (3, 2)")
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
    g = np.array([1.0, 2.0, 3.0, 4.0])
    right = F.relu_backward(g, x)
    mistakes = {"relu_negative": g, "relu_value": g * F.relu(x), "activation": g * (x > 0) * x}
    x32 = np.array([[1.5, -1.0], [0.0, 2.0]], dtype=np.float32)
    g32 = np.ones((2, 2), dtype=np.float32)
    cases = [
        ("mixed signs", (x, g), right, mistakes),
        ("all positive, values far from 1", (x + 5, g), g, {"relu_value": g * (x + 5)}),
        ("a 2-D float32 array", (x32, g32), F.relu_backward(g32, x32), {}),
        (
            "x exactly 0 (PyTorch gives 0)",
            (np.zeros(2), np.ones(2)),
            np.zeros(2),
            {"relu_negative": np.ones(2)},
        ),
    ]
    return _diagnose("check_relu_backward", fn, cases)


def check_max2_backward(fn: Callable) -> Report:
    """Check ``fn(a, b, grad) -> (grad_a, grad_b)`` for ``y = max(a, b)`` elementwise.

    On a tie ``a == b`` the whole gradient goes to ``a`` (the first argument), as PyTorch's
    first-maximum rule does.

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
            },
        ),
    ]
    return _diagnose("check_max2_backward", fn, cases)


# ---------------------------------------------------------------------------------------------
# Chapter 4: max pooling, forward


def _size(L, k, s, p, d, ceil):
    from .reference import output_length

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
        (7, 3, 2, 1, 1, False),
        (9, 3, 1, 0, 2, False),
        (5, 2, 2, 0, 1, True),
        (6, 3, 3, 1, 1, True),
        (7, 2, 3, 1, 1, True),
    ]:
        L, k, s, p, d, ceil = args
        right = np.array(_size(*args))
        mistakes = {
            "off_by_one": np.array((L + 2 * p - d * (k - 1) - 1) // s),
            "no_dilation": np.array(_size(L, k, s, p, 1, ceil)),
        }
        if ceil:
            mistakes["ceil_no_drop"] = np.array(-(-(L + 2 * p - d * (k - 1) - 1) // s) + 1)
            mistakes["off_by_one"] = np.array(-(-(L + 2 * p - d * (k - 1) - 1) // s))
        names = ("L", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
        description = ", ".join(f"{n}={v}" for n, v in zip(names, args))
        cases.append((description, args, right, mistakes))
    return _diagnose("check_output_size", fn, cases)


def _zero_padded_max(x, k, s, p):
    padded = np.pad(x, p)
    return F.max_pool2d(padded[None], k, s)[0]


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
    odd = rng.standard_normal((7, 5)).astype(np.float32)
    cases = []
    for description, x, k, s, p in [
        ("6x6, kernel 2, stride 2", plain, 2, 2, 0),
        ("7x5 float32, kernel 3, stride 2 (sizes that do not divide)", odd, 3, 2, 0),
        ("5x5 all negative, kernel 3, stride 2, padding 1", negative, 3, 2, 1),
    ]:
        right = F.max_pool2d(x[None], k, s, p)[0]
        mistakes = {"__shape__": "off_by_one"}
        if p:
            mistakes["zero_padding"] = _zero_padded_max(x, k, s, p)
        cases.append((description, (x, k, s, p), right, mistakes))
    return _diagnose("check_max_pool_forward", fn, cases)


# ---------------------------------------------------------------------------------------------
# Chapter 5 and 6: max pooling, backward


def _windows(shape, k, s):
    """Yield (output position, slice of the input) for every window of a plane."""
    out_h = (shape[0] - k) // s + 1
    out_w = (shape[1] - k) // s + 1
    for i in range(out_h):
        for j in range(out_w):
            yield (i, j), (slice(i * s, i * s + k), slice(j * s, j * s + k))


def _wrong_backward(x, g, k, s, rule):
    """What a backward pass with one specific mistake (``rule``) returns."""
    grad = np.zeros_like(x, dtype=g.dtype)
    for (i, j), window in _windows(x.shape, k, s):
        values = x[window]
        top = values == values.max()
        if rule == "spread":
            grad[window] += g[i, j]
        elif rule == "averaged":
            grad[window] += g[i, j] / values.size
        elif rule == "all_ties":
            grad[window] += g[i, j] * top
        elif rule == "split":
            grad[window] += g[i, j] * top / top.sum()
        elif rule in ("last_tie", "first", "overwrite", "activation"):
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
    plans = [
        ("4x4 distinct values, kernel 2, stride 2", distinct, 2, 2),
        ("a float32 6x6 input, kernel 3, stride 3", f32, 3, 3),
        ("all values negative, kernel 2, stride 2", negative, 2, 2),
        ("tied maxima, kernel 2, stride 2", ties, 2, 2),
        ("overlapping windows, kernel 3, stride 1", overlap, 3, 1),
    ]
    cases = []
    for description, x, k, s in plans:
        out = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
        g = np.arange(1.0, out[0] * out[1] + 1).reshape(out).astype(x.dtype)
        right = _wrong_backward(x, g, k, s, right_rule)
        mistakes = {m: _wrong_backward(x, g, k, s, r) for m, r in mistakes_to_rules.items()}
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
    cases = _backward_cases({k: k for k in keys}, "first")
    return _diagnose("check_max_pool_backward", fn, cases)


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
    }
    return _diagnose("check_split_ties_backward", fn, _backward_cases(rules, "split"))
