"""Pooling beyond max: Lp pooling, log-sum-exp (smooth maximum) pooling, global pooling.

- ``lp_pool1d/2d`` follow PyTorch's ``LPPool``: ``(sum over the window of x**p) ** (1/p)``
  (a ceil_mode edge window's sum scaled by ``area / count``, as PyTorch's average-times-area
  does), computed scaled by the window's largest ``|x|`` so that large p does not overflow.
  p = 1 is a sum pool; as p grows it approaches max pooling on non-negative inputs. Negative
  inputs are accepted only for p = 1 and even integer p (see :func:`lp_pool2d`).
- ``lse_pool1d/2d``: ``T * log(sum(exp(x / T)))`` per window, a smooth maximum whose gradient
  is the softmax of the window at temperature ``T``; as ``T -> 0`` it tends to max pooling
  and its gradient to max pooling's one-hot routing. Padding is implicit -inf (it adds
  ``exp(-inf) = 0``). With ``mean=True`` the sum becomes a mean (log-mean-exp,
  ``T * log(mean(exp(x / T)))``, the form of Pinheiro & Collobert): the same gradient, but
  the output runs from the window's maximum (``T -> 0``) to its average (``T -> inf``)
  instead of growing by up to ``T log |window|``. Not in PyTorch.
- ``global_max_pool2d`` / ``global_avg_pool2d``: one window covering the whole plane, output
  (N, C, 1, 1), like PyTorch's adaptive pooling to size 1.

Each function has a ``*_backward`` that needs the forward's input (these gradients depend on
the values, not only on positions), and a layer with ``forward``/``backward``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from . import _core
from . import functional as F
from ._params import Window, check_array, check_float, make_window
from .layers import AvgPool2d, Layer, MaxPool2d

__all__ = [
    "GlobalAvgPool2d",
    "GlobalMaxPool2d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "LSEPool1d",
    "LSEPool2d",
    "global_avg_pool2d",
    "global_max_pool2d",
    "lp_pool1d",
    "lp_pool1d_backward",
    "lp_pool2d",
    "lp_pool2d_backward",
    "lp_pool3d",
    "lp_pool3d_backward",
    "lse_pool1d",
    "lse_pool1d_backward",
    "lse_pool2d",
    "lse_pool2d_backward",
]

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


def _temperature(fn: str, temperature) -> float:
    t = float(temperature)
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"{fn}: temperature must be a finite number > 0, but got {temperature!r}")
    return t


class _LSESaved(NamedTuple):
    """What the gradient of log-sum-exp pooling needs from its forward."""

    buf: np.ndarray  # the input, folded to (B, *spatial) and padded with -inf
    plain: np.ndarray  # the plain log-sum-exp per window (B, *out), before any mean offset
    win: Window
    temp: np.floating
    input_shape: tuple[int, ...]


def _lse_forward(fn, n, input, kernel_size, stride, padding, temperature, ceil_mode, mean):
    """Checked log-sum-exp pooling: the output, and what its gradient needs (``_LSESaved``)."""
    t = _temperature(fn, temperature)
    if not isinstance(mean, bool | np.bool_):
        raise TypeError(f"{fn}: mean must be a bool, but got {type(mean).__name__}")
    win = make_window(fn, n, kernel_size, stride, padding, 1, ceil_mode)
    x = check_array(fn, "input", input, n, integers=False)
    xb = x.reshape((-1,) + x.shape[-n:])
    out_size = win.output_size(xb.shape[1:])
    buf = _core._padded(xb, win, out_size, -np.inf)
    slices = list(_core._offset_slices(win, out_size))
    # The window's maximum, subtracted so that exp cannot overflow. A running maximum over the
    # window offsets is all it takes: only the value is needed, not where it came from.
    peak = buf[slices[0]].copy()
    for sl in slices[1:]:
        np.maximum(peak, buf[sl], out=peak)
    temp = x.dtype.type(t)
    total = np.zeros(peak.shape, dtype=x.dtype)
    for sl in slices:
        total += np.exp((buf[sl] - peak) / temp)
    plain = peak + temp * np.log(total)
    out = plain
    if mean:
        # log-mean-exp: subtract T log(count), count = the window's input elements (padding
        # adds exp(-inf) = 0 to the sum, so it is not counted in the mean either).
        count = _core.avg_divisor(win, xb.shape[1:], out_size, False)
        out = plain - temp * np.log(count).astype(x.dtype)
    saved = _LSESaved(buf, plain, win, temp, x.shape)
    return out.reshape(x.shape[:-n] + out_size), saved


def _lse_backward(fn, grad_output, saved: _LSESaved) -> np.ndarray:
    """The input gradient from the forward's ``saved``: each window's softmax times its
    gradient. No exponential of the forward is computed again."""
    n = len(saved.win.kernel)
    g = check_float(fn, "grad_output", grad_output)
    plain = saved.plain
    if g.shape != saved.input_shape[:-n] + plain.shape[1:]:
        raise ValueError(f"{fn}: grad_output must have the output's shape, but got {g.shape}")
    g = g.reshape(plain.shape)
    grad = np.zeros(saved.buf.shape, dtype=g.dtype)
    for sl in _core._offset_slices(saved.win, plain.shape[1:]):
        # the window's softmax weight of this element: exp((x - out) / T), with ``out`` the plain
        # log-sum-exp; the mean form's constant offset changes nothing here.
        grad[sl] += g * np.exp((saved.buf[sl] - plain) / saved.temp)
    spatial = saved.input_shape[-n:]
    inner = (slice(None),) + tuple(slice(p, p + s) for p, s in zip(saved.win.padding, spatial))
    return grad[inner].reshape(saved.input_shape)


def _lse(
    fn, n, input, kernel_size, stride, padding, temperature, ceil_mode, mean, grad_output=None
):
    args = (input, kernel_size, stride, padding, temperature, ceil_mode, mean)
    out, saved = _lse_forward(fn, n, *args)
    if grad_output is None:
        return out
    return _lse_backward(fn, grad_output, saved)


def lse_pool2d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    temperature: float = 1.0,
    ceil_mode: bool = False,
    mean: bool = False,
) -> np.ndarray:
    """2-D log-sum-exp pooling: ``T * log(sum(exp(x / T)))`` per window, a smooth maximum.

    It is at least the window's maximum and at most ``T * log(k*k)`` above it, so it tends to
    max pooling as ``T -> 0``, and grows without bound as ``T`` grows. With ``mean=True`` it
    is log-mean-exp, ``T * log(mean(exp(x / T)))``: between the window's average and its
    maximum, tending to the maximum as ``T -> 0`` and to the average as ``T -> inf``. Both
    are computed stably as ``m + T log sum exp((x - m) / T)`` with ``m`` the window's maximum.

    Parameters
    ----------
    input : ndarray
        Float array (N, C, H, W) or (C, H, W).
    kernel_size, stride, padding, ceil_mode
        As in :func:`pooling_lab.functional.max_pool2d`; padding is -inf.
    temperature : float, default 1.0
        ``T > 0``.
    mean : bool, default False
        Average the exponentials instead of summing them (log-mean-exp): the output is
        ``T * log(count)`` lower, with ``count`` the window's input elements (padding is not
        counted); the gradient is the same.

    Returns
    -------
    ndarray

    Raises
    ------
    ValueError
        If ``temperature`` is not a finite number > 0, or the window arguments are invalid.
    TypeError
        If ``mean`` is not a bool, or ``input`` is not a float array.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[0., 1.], [2., 3.]]])
    >>> lse_pool2d(x, 2, temperature=0.01).round(6)  # close to the max
    array([[[3.]]])
    >>> lse_pool2d(x, 2).round(4)
    array([[[3.4402]]])
    >>> lse_pool2d(x, 2, temperature=1000.0, mean=True).round(3)  # close to the mean
    array([[[1.501]]])
    """
    return _lse("lse_pool2d", 2, input, kernel_size, stride, padding, temperature, ceil_mode, mean)


def lse_pool1d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    temperature: float = 1.0,
    ceil_mode: bool = False,
    mean: bool = False,
) -> np.ndarray:
    """1-D version of :func:`lse_pool2d`.

    Parameters
    ----------
    input : ndarray
        Float array (N, C, L) or (C, L).
    kernel_size, stride, padding, temperature, ceil_mode, mean
        As in :func:`lse_pool2d`.

    Returns
    -------
    ndarray
    """
    return _lse("lse_pool1d", 1, input, kernel_size, stride, padding, temperature, ceil_mode, mean)


def lse_pool2d_backward(
    grad_output,
    input,
    kernel_size,
    stride=None,
    padding=0,
    temperature=1.0,
    ceil_mode=False,
    mean=False,
) -> np.ndarray:
    """Input gradient of :func:`lse_pool2d`: each window's gradient times its softmax.

    Parameters
    ----------
    grad_output : ndarray
        Gradient with respect to the output.
    input : ndarray
        The forward input.
    kernel_size, stride, padding, temperature, ceil_mode, mean
        The forward's arguments (``mean`` does not change the gradient).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> g = lse_pool2d_backward(np.ones((1, 1, 1)), np.zeros((1, 2, 2)), 2)
    >>> g  # equal inputs: the softmax is uniform
    array([[[0.25, 0.25],
            [0.25, 0.25]]])
    """
    return _lse(
        "lse_pool2d_backward",
        2,
        input,
        kernel_size,
        stride,
        padding,
        temperature,
        ceil_mode,
        mean,
        grad_output,
    )


def lse_pool1d_backward(
    grad_output,
    input,
    kernel_size,
    stride=None,
    padding=0,
    temperature=1.0,
    ceil_mode=False,
    mean=False,
) -> np.ndarray:
    """Input gradient of :func:`lse_pool1d`.

    Parameters
    ----------
    grad_output, input, kernel_size, stride, padding, temperature, ceil_mode, mean
        As in :func:`lse_pool2d_backward`.

    Returns
    -------
    ndarray
    """
    return _lse(
        "lse_pool1d_backward",
        1,
        input,
        kernel_size,
        stride,
        padding,
        temperature,
        ceil_mode,
        mean,
        grad_output,
    )


def global_max_pool2d(input: np.ndarray, return_indices: bool = False):
    """Maximum of each whole (H, W) plane, shape (N, C, 1, 1): ``max_pool2d`` with the plane
    as its window, so ties, NaN and indices follow the same rules.

    Parameters
    ----------
    input : ndarray
        (N, C, H, W) or (C, H, W).
    return_indices : bool, default False
        Also return the flat position of each maximum.

    Returns
    -------
    ndarray, or (ndarray, ndarray)

    Examples
    --------
    >>> import numpy as np
    >>> global_max_pool2d(np.arange(8.).reshape(2, 2, 2))
    array([[[3.]],
    <BLANKLINE>
           [[7.]]])
    """
    x = check_array("global_max_pool2d", "input", input, 2, integers=True)
    return F.max_pool2d(x, x.shape[-2:], return_indices=return_indices)


def global_avg_pool2d(input: np.ndarray) -> np.ndarray:
    """Mean of each whole (H, W) plane, shape (N, C, 1, 1).

    Parameters
    ----------
    input : ndarray
        Float (N, C, H, W) or (C, H, W).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> global_avg_pool2d(np.arange(8.).reshape(2, 2, 2))
    array([[[1.5]],
    <BLANKLINE>
           [[5.5]]])
    """
    x = check_array("global_avg_pool2d", "input", input, 2, integers=False)
    return F.avg_pool2d(x, x.shape[-2:])


class _ValueLayer(Layer):
    """A layer around a function pair ``_fn(x, *args)`` / ``_bw(g, x, *args)`` whose backward
    needs the forward's input values (kept as a copy)."""

    _input = None
    args: tuple = ()
    _arg_names: tuple[str, ...] = ()

    def forward(self, x):
        out = self._fn(x, *self.args)
        self._input = np.array(x)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self._bw(grad_output, self._saved("_input"), *self.args)

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={value!r}" for name, value in zip(self._arg_names, self.args))


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


class LSEPool2d(_ValueLayer):
    """Layer form of :func:`lse_pool2d`.

    Parameters
    ----------
    kernel_size, stride, padding, temperature, ceil_mode, mean
        As in :func:`lse_pool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> pool = LSEPool2d(2, temperature=0.5)
    >>> pool(np.zeros((1, 2, 2))).round(4)  # 0.5 * log 4
    array([[[0.6931]]])
    >>> LSEPool2d(2, temperature=0.5, mean=True)(np.zeros((1, 2, 2)))  # the mean of equals
    array([[[0.]]])
    """

    # forward and backward are its own (they keep the forward's work), so no _fn / _bw
    _n = 2
    _arg_names = ("kernel_size", "stride", "padding", "temperature", "ceil_mode", "mean")

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        temperature: float = 1.0,
        ceil_mode: bool = False,
        mean: bool = False,
    ) -> None:
        name = type(self).__name__
        _temperature(name, temperature)
        if not isinstance(mean, bool | np.bool_):
            raise TypeError(f"{name}: mean must be a bool, but got {type(mean).__name__}")
        make_window(name, self._n, kernel_size, stride, padding, 1, ceil_mode)
        self.args = (kernel_size, stride, padding, temperature, ceil_mode, mean)
        self._lse_saved = None

    def forward(self, x):
        # Keeps the padded input and the plain log-sum-exp, so that backward computes only the
        # softmax weights, not the whole forward again (as the functional backward must).
        out, self._lse_saved = _lse_forward(type(self).__name__, self._n, x, *self.args)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        saved = self._saved("_lse_saved")
        return _lse_backward(f"{type(self).__name__}.backward", grad_output, saved)


class LSEPool1d(LSEPool2d):
    """Layer form of :func:`lse_pool1d`.

    Parameters
    ----------
    kernel_size, stride, padding, temperature, ceil_mode, mean
        As in :func:`lse_pool1d`.
    """

    _n = 1


class _GlobalPool2d(Layer):
    """A pooling layer whose window is built, at each forward, to cover the whole plane."""

    _layer: type[Layer]
    _integers = True

    def __init__(self) -> None:
        self._pool = None

    def forward(self, x):
        name = type(self).__name__
        x = check_array(name, "input", x, 2, integers=self._integers)
        self._pool = self._layer(x.shape[-2:])
        return self._pool.forward(x)

    def backward(self, grad_output):
        return self._saved("_pool").backward(grad_output)


class GlobalMaxPool2d(_GlobalPool2d):
    """Layer form of :func:`global_max_pool2d`; backward routes to each plane's maximum.

    Examples
    --------
    >>> import numpy as np
    >>> pool = GlobalMaxPool2d()
    >>> pool(np.array([[[1., 4.], [2., 3.]]]))
    array([[[4.]]])
    >>> pool.backward(np.ones((1, 1, 1)))
    array([[[0., 1.],
            [0., 0.]]])
    """

    _layer = MaxPool2d


class GlobalAvgPool2d(_GlobalPool2d):
    """Layer form of :func:`global_avg_pool2d`; backward spreads each gradient evenly.

    Examples
    --------
    >>> import numpy as np
    >>> pool = GlobalAvgPool2d()
    >>> pool(np.array([[[1., 4.], [2., 3.]]]))
    array([[[2.5]]])
    >>> pool.backward(np.ones((1, 1, 1)))
    array([[[0.25, 0.25],
            [0.25, 0.25]]])
    """

    _layer = AvgPool2d
    _integers = False
