"""Lp pooling, PyTorch's ``LPPool``: the functions, their gradients and the layers (the docstring
of :mod:`pooling_lab.generalized` says what they compute)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import _core
from ._layer import _ValueLayer
from ._params import check_array, check_float, make_window

IntOrTuple = int | Sequence[int]


def _norm(fn: str, norm_type) -> float:
    p = float(norm_type)
    if not (np.isfinite(p) and p > 0):
        raise ValueError(f"{fn}: norm_type must be a finite number > 0, but got {norm_type!r}")
    return p


def _check_signs(fn: str, x: np.ndarray, p: float) -> None:
    """Negative inputs are pooled only where PyTorch's ``x**p`` is well defined and a pooling:
    p = 1 (a plain sum) and even integer p (where ``x**p = |x|**p``)."""
    if p == 1 or p % 2 == 0 or not (x < 0).any():
        return
    bad = x[x < 0].ravel()[0]
    raise ValueError(
        f"{fn}: input must be non-negative unless norm_type is 1 or an even integer, but got "
        f"norm_type={p:g} and an input element {float(bad)!r}; x**p of a negative x is NaN for "
        "a fractional p and negative for an odd p, so the window's result would be NaN or not "
        "a norm (PyTorch returns NaN or such a number there). Pool a non-negative input (e.g. "
        "after a ReLU, or np.abs(input)), or use an even norm_type, which pools |x|"
    )


def _lp(fn, n, input, norm_type, kernel_size, stride, ceil_mode, grad_output=None):
    """Lp pooling (``grad_output=None``) or its input gradient, for ``n`` spatial dimensions.

    PyTorch computes ``(avg_pool(x**p) * area) ** (1/p)``: with ``count`` the window's
    in-bounds elements (fewer than ``area`` only for a ceil_mode window clipped at the edge),
    that is ``(c * S) ** (1/p)`` with ``S = sum x**p`` and ``c = area / count``. Here it is
    computed scaled by ``m``, the window's largest ``|x|``: ``y = m * (c * sum (x/m)**p) ** (1/p)``.
    Every ``(x/m)**p`` lies in [-1, 1] and the largest is 1, so nothing overflows or underflows
    to a zero sum, whatever p and the dtype. The gradient is ``c * (x / y) ** (p - 1)``,
    computed as ``c * ((x/m) / (y/m)) ** (p - 1)``.
    """
    p = _norm(fn, norm_type)
    win = make_window(fn, n, kernel_size, stride, 0, 1, ceil_mode)
    x = check_array(fn, "input", input, n, integers=False)
    _check_signs(fn, x, p)
    xb = x.reshape((-1,) + x.shape[-n:])
    dtype = x.dtype.type
    out_shape = win.output_size(xb.shape[1:])
    peak = _core.max_pool(np.abs(xb), win).output  # m, the largest |x| of each window
    all_zero = peak == 0
    scale = np.where(all_zero, dtype(1), peak)  # an all-zero window: u = 0, S = 0, y = 0
    count = _core.avg_divisor(win, xb.shape[1:], out_shape, True)  # PyTorch's divisor
    c = (math.prod(win.kernel) / count).astype(x.dtype)
    buf = _core._padded(xb, win, out_shape, 0)  # zeros beyond a ceil_mode edge add 0**p = 0
    power = dtype(p)
    total = np.zeros(peak.shape, dtype=x.dtype)
    for sl in _core._offset_slices(win, out_shape):
        total += (buf[sl] / scale) ** power
    ratio = (c * total) ** dtype(1 / p)  # y / m, between c**(1/p) and (c * area)**(1/p)
    # A window holding +-inf has m = inf and u = inf/inf = nan; its y is inf, as in PyTorch
    # (x**p = inf), and its gradient 0 for the finite elements and nan for the infinite ones.
    ratio = np.where(np.isinf(peak), dtype(np.inf), ratio)
    if grad_output is None:
        return (peak * ratio).reshape(x.shape[:-n] + out_shape)
    g = check_float(fn, "grad_output", grad_output)
    if g.shape != x.shape[:-n] + out_shape:
        raise ValueError(
            f"{fn}: grad_output must have the output's shape {x.shape[:-n] + out_shape}, "
            f"but got {g.shape}"
        )
    # As PyTorch documents, the gradient of a window whose sum of x**p is zero is set to 0:
    # an all-zero window, or at p = 1 a window whose elements cancel.
    zero_sum = total == 0
    weight = np.where(zero_sum, 0, g.reshape(peak.shape) * c).astype(g.dtype)
    ratio = np.where(zero_sum, dtype(1), ratio)
    grad = np.zeros(buf.shape, dtype=g.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):  # p < 1 at a zero: an infinite slope
        for sl in _core._offset_slices(win, out_shape):
            share = ((buf[sl] / scale) / ratio) ** dtype(p - 1)
            grad[sl] += np.where(zero_sum, 0, weight * share)
    inner = (slice(None),) + tuple(slice(0, s) for s in x.shape[-n:])
    return grad[inner].reshape(x.shape)


def lp_pool2d(
    input: np.ndarray,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> np.ndarray:
    """2-D power-average pooling, PyTorch's ``lp_pool2d``: ``(sum x**p) ** (1/p)`` per window.

    Conventions (the chapter "Beyond max" explains them):

    - As in PyTorch, a ceil_mode window clipped at the input's edge is an average of ``x**p``
      over its in-bounds elements times the full kernel area, so its sum is scaled up by
      ``area / count``.
    - It is computed scaled by each window's largest ``|x|`` (``m * (sum (x/m)**p) ** (1/p)``),
      so float32 neither overflows to inf nor underflows to 0 for large p; PyTorch's direct
      ``x**p`` does.
    - Negative inputs are accepted for ``p = 1`` (a plain sum) and for an even integer ``p``,
      where ``x**p = |x|**p`` (the result is the window's p-norm, which may exceed its
      maximum); otherwise they raise ValueError, where PyTorch returns NaN or a signed sum
      that is not a norm.
    - The gradient ``(x / y) ** (p - 1)`` (times ``area / count``) is set to 0 for a window
      whose sum of ``x**p`` is zero, as PyTorch documents; for ``p < 1`` it is infinite at a
      zero element of a window that is not all zero (the slope of ``x**p`` at 0).

    Parameters
    ----------
    input : ndarray
        Float array (N, C, H, W) or (C, H, W).
    norm_type : float
        The power p > 0.
    kernel_size, stride, ceil_mode
        As in :func:`pooling_lab.functional.avg_pool2d` (no padding).

    Returns
    -------
    ndarray

    Raises
    ------
    ValueError
        If ``norm_type`` is not a finite number > 0, if ``input`` has a negative element and
        ``norm_type`` is neither 1 nor an even integer, or if the window arguments are invalid.
    TypeError
        If ``input`` is not a float array.

    Examples
    --------
    >>> import numpy as np
    >>> lp_pool2d(np.array([[[3., 4.], [0., 0.]]]), 2, 2)  # sqrt(9 + 16)
    array([[[5.]]])
    """
    return _lp("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool1d(
    input: np.ndarray,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> np.ndarray:
    """1-D version of :func:`lp_pool2d`.

    Parameters
    ----------
    input : ndarray
        Float array (N, C, L) or (C, L).
    norm_type, kernel_size, stride, ceil_mode
        As in :func:`lp_pool2d`.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> lp_pool1d(np.array([[1., 2., 2.]]), 1, 3)  # p = 1: a sum
    array([[5.]])
    """
    return _lp("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d_backward(
    grad_output, input, norm_type, kernel_size, stride=None, ceil_mode=False
) -> np.ndarray:
    """Input gradient of :func:`lp_pool2d` at ``input``.

    Parameters
    ----------
    grad_output : ndarray
        Gradient with respect to the output.
    input : ndarray
        The forward input.
    norm_type, kernel_size, stride, ceil_mode
        The forward's arguments.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> lp_pool2d_backward(np.array([[[1.]]]), np.array([[[3., 4.], [0., 0.]]]), 2, 2)
    array([[[0.6, 0.8],
            [0. , 0. ]]])
    """
    return _lp(
        "lp_pool2d_backward", 2, input, norm_type, kernel_size, stride, ceil_mode, grad_output
    )


def lp_pool1d_backward(
    grad_output, input, norm_type, kernel_size, stride=None, ceil_mode=False
) -> np.ndarray:
    """Input gradient of :func:`lp_pool1d` at ``input``.

    Parameters
    ----------
    grad_output, input, norm_type, kernel_size, stride, ceil_mode
        As in :func:`lp_pool2d_backward`.

    Returns
    -------
    ndarray
    """
    return _lp(
        "lp_pool1d_backward", 1, input, norm_type, kernel_size, stride, ceil_mode, grad_output
    )


def lp_pool3d(
    input: np.ndarray,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> np.ndarray:
    """3-D version of :func:`lp_pool2d`, for (N, C, D, H, W) or (C, D, H, W).

    Parameters
    ----------
    input : ndarray
        Float array (N, C, D, H, W) or (C, D, H, W).
    norm_type, kernel_size, stride, ceil_mode
        As in :func:`lp_pool2d`, with three values per size parameter.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((1, 2, 2, 2))
    >>> x[0, 0, 0, :] = 3., 4.
    >>> lp_pool3d(x, 2, 2)
    array([[[[5.]]]])
    """
    return _lp("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d_backward(
    grad_output, input, norm_type, kernel_size, stride=None, ceil_mode=False
) -> np.ndarray:
    """Input gradient of :func:`lp_pool3d` at ``input``.

    Parameters
    ----------
    grad_output, input, norm_type, kernel_size, stride, ceil_mode
        As in :func:`lp_pool2d_backward`.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((1, 2, 2, 2))
    >>> x[0, 0, 0, :] = 3., 4.
    >>> lp_pool3d_backward(np.array([[[[1.]]]]), x, 2, 2)[0, 0]
    array([[0.6, 0.8],
           [0. , 0. ]])
    """
    return _lp(
        "lp_pool3d_backward", 3, input, norm_type, kernel_size, stride, ceil_mode, grad_output
    )


class LPPool2d(_ValueLayer):
    """Layer form of :func:`lp_pool2d`.

    Parameters
    ----------
    norm_type, kernel_size, stride, ceil_mode
        As in :func:`lp_pool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> LPPool2d(2, 2)(np.array([[[3., 4.], [0., 0.]]]))
    array([[[5.]]])
    """

    _n, _fn = 2, staticmethod(lp_pool2d)
    _bw = staticmethod(lp_pool2d_backward)
    _arg_names = ("norm_type", "kernel_size", "stride", "ceil_mode")

    def __init__(
        self,
        norm_type: float,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        ceil_mode: bool = False,
    ) -> None:
        name = type(self).__name__
        _norm(name, norm_type)
        make_window(name, self._n, kernel_size, stride, 0, 1, ceil_mode)
        self.args = (norm_type, kernel_size, stride, ceil_mode)


class LPPool1d(LPPool2d):
    """Layer form of :func:`lp_pool1d`.

    Parameters
    ----------
    norm_type, kernel_size, stride, ceil_mode
        As in :func:`lp_pool1d`.
    """

    _n, _fn = 1, staticmethod(lp_pool1d)
    _bw = staticmethod(lp_pool1d_backward)


class LPPool3d(LPPool2d):
    """Layer form of :func:`lp_pool3d`.

    Parameters
    ----------
    norm_type, kernel_size, stride, ceil_mode
        As in :func:`lp_pool3d`.

    Examples
    --------
    >>> import numpy as np
    >>> pool = LPPool3d(1, 2)  # p = 1: the sum of each 2x2x2 box
    >>> pool(np.ones((1, 2, 2, 2)))
    array([[[[8.]]]])
    >>> pool.backward(np.array([[[[1.]]]]))[0, 0]
    array([[1., 1.],
           [1., 1.]])
    """

    _n, _fn = 3, staticmethod(lp_pool3d)
    _bw = staticmethod(lp_pool3d_backward)
