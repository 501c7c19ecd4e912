"""Log-sum-exp (smooth maximum) pooling: the functions, their gradients and the layers (the
docstring of :mod:`pooling_lab.generalized` says what they compute)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from . import _core
from ._layer import _ValueLayer
from ._params import Window, check_array, check_float, make_window

IntOrTuple = int | Sequence[int]


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
