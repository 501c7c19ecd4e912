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

__all__ = ["RULES", "max_pool2d_backward_ties"]

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

    count = np.zeros(best.shape, dtype=np.int64)
    for sl in _core._offset_slices(win, out_hw):
        count += tied(buf[sl])
    share = gb / count if rule == "split" else gb
    grad = np.zeros(buf.shape, dtype=g.dtype)
    for sl in _core._offset_slices(win, out_hw):
        grad[sl] += np.where(tied(buf[sl]), share, 0).astype(g.dtype)
    p_h, p_w = win.padding
    inner = grad[:, p_h : p_h + x.shape[-2], p_w : p_w + x.shape[-1]]
    return inner.reshape(x.shape).copy()
