"""Max pooling's backward pass under three rules for tied maxima.

When several elements of a window share the maximum, max is not differentiable there, and a
backward pass must pick one element of the set of valid (Clarke) gradients, or not:

- ``"first"``: the whole gradient to the first maximum in row-major window order. PyTorch's
  rule, and :func:`pooling_lab.functional.max_pool2d_backward`'s.
- ``"split"``: each of the ``t`` tied maxima gets ``1/t`` of the gradient. Also valid.
- ``"all"``: every tied maximum gets the whole gradient. *Not* a valid gradient: the window's
  gradient is counted ``t`` times, so the total grows. Here to be studied, not used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _core
from . import functional as F
from ._params import check_array, check_float, make_window
from .layers import MaxPool2d

__all__ = ["RULES", "MaxPool2dTies", "count_maxima", "max_pool2d_backward_ties"]

#: The tie rules: the first maximum gets the gradient (PyTorch's), the tied maxima split it, or
#: every tied maximum gets all of it (not a valid gradient; for comparison).
RULES = ("first", "split", "all")


def max_pool2d_backward_ties(
    input: np.ndarray,
    grad_output: np.ndarray,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    rule: str = "first",
) -> np.ndarray:
    """Input gradient of ``max_pool2d(input, kernel_size, stride, padding)`` under a tie rule.

    Parameters
    ----------
    input : ndarray
        The pooled input, float, (N, C, H, W) or (C, H, W).
    grad_output : ndarray
        Gradient with respect to the pooled output.
    kernel_size, stride, padding
        As in :func:`pooling_lab.functional.max_pool2d`.
    rule : {"first", "split", "all"}, default "first"
        How tied maxima share a window's gradient (see the module description).

    Returns
    -------
    ndarray
        Gradient with respect to ``input``, of ``grad_output``'s dtype.

    Raises
    ------
    ValueError
        If ``rule`` is unknown or the shapes do not match.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[3., 3.], [1., 3.]]])
    >>> g = np.array([[[6.]]])
    >>> for rule in RULES:
    ...     print(rule, max_pool2d_backward_ties(x, g, 2, rule=rule).ravel())
    first [6. 0. 0. 0.]
    split [2. 2. 0. 2.]
    all [6. 6. 0. 6.]
    """
    fn = "max_pool2d_backward_ties"
    if rule not in RULES:
        raise ValueError(f"{fn}: rule must be one of {RULES}, but got {rule!r}")
    x = check_array(fn, "input", input, 2, integers=False)
    out, idx = F.max_pool2d(x, kernel_size, stride, padding, return_indices=True)
    g = check_float(fn, "grad_output", grad_output)
    if g.shape != out.shape:
        raise ValueError(
            f"{fn}: grad_output must have the pooled shape {out.shape}, but got {g.shape}"
        )
    if rule == "first":
        return F.max_pool2d_backward(g, idx, x.shape)
    win = make_window(fn, 2, kernel_size, stride, padding)
    xb, gb = x.reshape((-1,) + x.shape[-2:]), g.reshape((-1,) + g.shape[-2:])
    best = out.reshape(gb.shape)
    out_hw = best.shape[1:]
    buf = _core._padded(xb, win, out_hw, -np.inf)

    def tied(values):  # NaN is the maximum of a window holding one, and ties with other NaNs
        return (values == best) | (np.isnan(values) & np.isnan(best))

    count = _count(buf, best, win, tied)
    share = gb / count if rule == "split" else gb
    grad = np.zeros(buf.shape, dtype=g.dtype)
    for sl in _core._offset_slices(win, out_hw):
        grad[sl] += np.where(tied(buf[sl]), share, 0).astype(g.dtype)
    p_h, p_w = win.padding
    inner = grad[:, p_h : p_h + x.shape[-2], p_w : p_w + x.shape[-1]]
    return inner.reshape(x.shape).copy()


def _count(buf, best, win, tied):
    count = np.zeros(best.shape, dtype=np.int64)
    for sl in _core._offset_slices(win, best.shape[1:]):
        count += tied(buf[sl])
    return count


def count_maxima(
    input: np.ndarray,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
) -> np.ndarray:
    """How many elements of each max-pooling window equal the window's maximum.

    A count above 1 is a tie: the point where max is not differentiable and a tie rule
    decides who gets the gradient.

    Parameters
    ----------
    input : ndarray
        (N, C, H, W) or (C, H, W).
    kernel_size, stride, padding
        As in :func:`pooling_lab.functional.max_pool2d`.

    Returns
    -------
    ndarray of int64
        The pooled output's shape.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[0., 0., 1., 2.], [0., 0., 2., 2.]]])  # after a ReLU: zeros tie
    >>> count_maxima(x, 2)
    array([[[4, 3]]]...)
    """
    fn = "count_maxima"
    x = check_array(fn, "input", input, 2, integers=True)
    out = F.max_pool2d(x, kernel_size, stride, padding)
    win = make_window(fn, 2, kernel_size, stride, padding)
    xb = x.reshape((-1,) + x.shape[-2:])
    best = out.reshape((-1,) + out.shape[-2:])
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    buf = _core._padded(xb, win, best.shape[1:], fill)
    return _count(buf, best, win, lambda v: v == best).reshape(out.shape)


class MaxPool2dTies(MaxPool2d):
    """:class:`pooling_lab.layers.MaxPool2d` whose backward follows a chosen tie rule.

    ``rule="first"`` behaves exactly as ``MaxPool2d``; ``"split"`` shares a tied window's
    gradient equally; ``"all"`` (invalid, for study) copies it to every tied maximum.

    Examples
    --------
    >>> import numpy as np
    >>> pool = MaxPool2dTies(2, rule="split")
    >>> pool(np.zeros((1, 2, 2)))
    array([[[0.]]])
    >>> pool.backward(np.ones((1, 1, 1)))
    array([[[0.25, 0.25],
            [0.25, 0.25]]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, rule: str = "first") -> None:
        if rule not in RULES:
            raise ValueError(f"MaxPool2dTies: rule must be one of {RULES}, but got {rule!r}")
        super().__init__(kernel_size, stride, padding)
        self.rule = rule
        self._input = None

    def forward(self, x: np.ndarray):
        self._input = np.array(x, copy=True)  # the tie rules need the values, not only indices
        return super().forward(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x = self._saved("_input")
        return max_pool2d_backward_ties(
            x, grad_output, self.kernel_size, self.stride, self.padding, rule=self.rule
        )

    def extra_repr(self) -> str:
        return super().extra_repr() + f", rule={self.rule!r}"
