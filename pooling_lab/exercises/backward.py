"""Checkers for the max-pool backward exercises: maxpool_backward's, and overlap_and_ties'
gradient split between tied maxima."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._checking import MISCONCEPTIONS, Report, _diagnose, _with_hints

# In the split exercise the fix for all_ties is the division, not picking one winner.
_SPLIT_ALL_TIES_HINT = (
    "divide each window's gradient by t, the number of tied maxima (top.sum() for a boolean "
    "mask top of the window's maxima), so the t winners share it"
)

# overwrite's table entry speaks of assigning to one winner, or of a fancy index; a split
# learner assigned a whole window's slice.
_SPLIT_SLICE_OVERWRITE_HINT = (
    "an input in two overlapping windows must receive its share from both, so add (+=) the "
    "window's shares into grad, do not assign them (=): assigning the window's slice, "
    "grad[i*s : i*s + k, j*s : j*s + k] = ..., replaces everything the earlier windows put "
    "there, even at inputs that do not win this window (they get 0)"
)

# ---------------------------------------------------------------------------------------------
# Chapter 5 and 6: max pooling, backward


# The winner found in the right window, but its gradient added at its position inside the
# window, as if every window started at (0, 0).
MISCONCEPTIONS.update(
    {
        "position_in_window": (
            "each window's gradient was added at the winner's position inside its window, "
            "without the window's start (i*s, j*s)",
            "the winner's position (r, c) inside window (i, j) is row i*s + r, column j*s + c of "
            "x: add the window's start before you add the gradient there",
        ),
    }
)

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
            "position_in_window",
        ):
            flat = np.flatnonzero(top.ravel())
            pick = flat[-1] if rule == "last_tie" else flat[0]
            r, c = divmod(int(pick), values.shape[1])
            target = (window[0].start + r, window[1].start + c)
            if rule == "position_in_window":  # the window's start (i*s, j*s) left out
                target = (r, c)
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
    rules = {k: k for k in keys + ["window_offset", "stride_ignored", "position_in_window"]}
    cases = _backward_cases(rules | {"split_in_window": "split"}, "first")
    report = _diagnose("check_max_pool_backward", fn, cases, extra=_extra_factor)
    # the table's stride_ignored hint speaks of the window count
    return _with_hints(report, {"stride_ignored": _BACKWARD_STRIDE_HINT})


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
    hints = {"all_ties": _SPLIT_ALL_TIES_HINT, "stride_ignored": _BACKWARD_STRIDE_HINT}
    return _with_hints(report, hints)
