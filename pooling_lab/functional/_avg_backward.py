"""The backward pass of average pooling: each window's share spread over its elements."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _average, _channels_last, _core, _phases
from .._params import check_float, check_input_shape, make_window
from ._avg import _check_divisor, _check_volume, _override
from ._common import IntOrTuple, fold


def _avg_pool_backward(
    fn,
    n,
    grad_output,
    input_shape,
    kernel_size,
    stride,
    padding,
    ceil_mode,
    count_include_pad,
    divisor_override,
    channels_last=None,
):
    """``channels_last``: None follows ``grad_output``'s layout; True gives a channels-last
    gradient whatever it is (the layers ask for the input's layout, which a gradient of one
    output position or one channel cannot show)."""
    win = make_window(fn, n, kernel_size, stride, padding, 1, ceil_mode)
    override = _check_divisor(fn, divisor_override)
    g = check_float(fn, "grad_output", grad_output)
    shape = check_input_shape(fn, input_shape, n, g.shape)
    _check_volume(fn, shape[-n:], win)
    out_size = win.output_size(shape[-n:])
    expected = shape[:-n] + out_size
    if g.shape != expected:
        raise ValueError(
            f"{fn}: grad_output must have the pooled shape {expected} for input_shape {shape}, "
            f"but got shape {g.shape}"
        )
    gl = _channels_last.channels_last_view(g, n)
    if gl is None and channels_last:
        gl = _channels_last.to_channels_last(g if g.ndim == n + 2 else g[None])
    if gl is not None:  # a channels-last gradient gives a channels-last gradient
        grad = _channels_last.avg_pool_backward(
            gl, shape[-n:], win, bool(count_include_pad), override
        )
        grad = _channels_last.to_channels_first(grad)
        return grad if len(shape) == n + 2 else grad[0]
    if override is None:
        grad = _core.avg_pool_backward(fold(g, n), shape[-n:], win, bool(count_include_pad))
    else:
        plan = _phases.plan_for(win, tuple(shape[-n:]), out_size)
        grad = _average.avg_pool_backward(fold(g, n), plan, _override(override, n))
    return grad.reshape(shape)


def avg_pool2d_backward(
    grad_output: np.ndarray,
    input_shape: Sequence[int],
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Gradient of :func:`avg_pool2d` with respect to its input.

    Each output's gradient is divided by that window's divisor and added to every input element
    of the window; padded positions take their share and drop it.

    Parameters
    ----------
    grad_output : ndarray
        Gradient of the loss with respect to the pooled output, float.
    input_shape : tuple of int
        Shape of the pooled input, (N, C, H, W) or (C, H, W).
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        The arguments the forward pass was called with.

    Returns
    -------
    ndarray
        Gradient with respect to the input, of shape ``input_shape``.

    Raises
    ------
    ValueError
        If ``grad_output`` does not have the pooled shape, or a parameter is invalid.
    TypeError
        If ``grad_output`` is not float.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import avg_pool2d_backward
    >>> avg_pool2d_backward(np.array([[[4.]]]), (1, 2, 2), 2)
    array([[[1., 1.],
            [1., 1.]]])
    """
    return _avg_pool_backward(
        "avg_pool2d_backward",
        2,
        grad_output,
        input_shape,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool1d_backward(
    grad_output: np.ndarray,
    input_shape: Sequence[int],
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Gradient of :func:`avg_pool1d` with respect to its input.

    Parameters
    ----------
    grad_output : ndarray
        Gradient of the loss with respect to the pooled output, float.
    input_shape : tuple of int
        Shape of the pooled input, (N, C, L) or (C, L).
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        The arguments the forward pass was called with.

    Returns
    -------
    ndarray
        Gradient with respect to the input, of shape ``input_shape``.

    Raises
    ------
    ValueError, TypeError
        As in :func:`avg_pool2d_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import avg_pool1d_backward
    >>> avg_pool1d_backward(np.array([[1., 1.]]), (1, 3), 2, stride=1)
    array([[0.5, 1. , 0.5]])
    """
    return _avg_pool_backward(
        "avg_pool1d_backward",
        1,
        grad_output,
        input_shape,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool3d_backward(
    grad_output: np.ndarray,
    input_shape: Sequence[int],
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Gradient of :func:`avg_pool3d` with respect to its input.

    Parameters
    ----------
    grad_output : ndarray
        Gradient of the loss with respect to the pooled output, float.
    input_shape : tuple of int
        Shape of the pooled input, (N, C, D, H, W) or (C, D, H, W).
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        The arguments the forward pass was called with.

    Returns
    -------
    ndarray
        Gradient with respect to the input, of shape ``input_shape``.

    Raises
    ------
    ValueError, TypeError
        As in :func:`avg_pool2d_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import avg_pool3d_backward
    >>> avg_pool3d_backward(np.array([[[[8.]]]]), (1, 2, 2, 2), 2)[0, 1]
    array([[1., 1.],
           [1., 1.]])
    """
    return _avg_pool_backward(
        "avg_pool3d_backward",
        3,
        grad_output,
        input_shape,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )
