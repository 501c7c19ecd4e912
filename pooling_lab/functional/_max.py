"""Max pooling in 1, 2 and 3 dimensions, and its backward pass (a scatter-add to the winners)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import _channels_last, _core
from .._params import check_array, check_float, check_indices, check_input_shape, make_window
from ._common import IntOrTuple, fold


def _max_pool_result(fn, n, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Checked max pooling: the output and the core's record of the winners."""
    win = make_window(fn, n, kernel_size, stride, padding, dilation, ceil_mode)
    x = check_array(fn, "input", input, n, integers=True)
    xl = _channels_last.channels_last_view(x, n)
    if xl is not None:  # pooled in its own layout, and the results keep it
        result = _channels_last.max_pool(xl, win, batched=x.ndim == n + 2)
        return result.output, result
    result = _core.max_pool(fold(x, n), win)
    return result.output.reshape(x.shape[:-n] + result.output.shape[1:]), result


def _max_pool(fn, n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    out, result = _max_pool_result(fn, n, input, kernel_size, stride, padding, dilation, ceil_mode)
    if return_indices:
        return out, result.indices().reshape(out.shape)
    return out


def _max_pool_backward(fn, n, grad_output, indices, input_shape):
    g = check_float(fn, "grad_output", grad_output)
    shape = check_input_shape(fn, input_shape, n, g.shape)
    # the range of the indices is checked by the scatter, block by block
    idx = check_indices(fn, indices, g.shape, math.prod(shape[-n:]), check_range=False)
    gl = _channels_last.channels_last_view(g, n)
    if gl is not None:  # a channels-last gradient gives a channels-last gradient
        il = _channels_last.to_channels_last(idx if idx.ndim == n + 2 else idx[None])
        grad = _channels_last.scatter_add(gl, il, shape[-n:], fn)
        grad = _channels_last.to_channels_first(grad)
        return grad if len(shape) == n + 2 else grad[0]
    grad = _core.max_pool_backward(fold(g, n), fold(idx, n), shape[-n:], fn)
    return grad.reshape(shape)


def max_pool2d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """2-D max pooling over an (N, C, H, W) or (C, H, W) array.

    Each output element is the maximum of one window of the input. Padding is implicit
    negative infinity, so it never wins against a real element.

    Parameters
    ----------
    input : ndarray
        Array of shape (N, C, H, W) or (C, H, W); float, or int (pooled exactly).
    kernel_size : int or tuple of 2 ints
        Window height and width.
    stride : int or tuple of 2 ints, optional
        Step between windows; ``None`` (the default) means ``kernel_size``.
    padding : int or tuple of 2 ints, default 0
        Implicit -inf added on both sides; at most ``kernel_size // 2``.
    dilation : int or tuple of 2 ints, default 1
        Spacing between the elements of a window.
    ceil_mode : bool, default False
        Round the output size up, keeping a last partial window if it starts inside the input
        or the left padding.
    return_indices : bool, default False
        Also return where each maximum came from.

    Returns
    -------
    output : ndarray
        The window maxima, of the input's dtype.
    indices : ndarray of int64
        Only if ``return_indices``: the flat position (``h * W + w``) of each maximum within its
        (H, W) input plane. On ties the first maximum in row-major window order wins; a window
        holding NaN reports its last NaN, as PyTorch's CPU kernel does.

    Raises
    ------
    ValueError
        If the input is not 3-D or 4-D, a size is not positive, the padding exceeds half the
        kernel, the output would be empty, or a dilated window covers no input element.
    TypeError
        If an argument has the wrong type or the input is not real-valued.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import max_pool2d
    >>> x = np.array([[[1., 5., 2., 0.],
    ...                [3., 4., 8., 1.],
    ...                [0., 2., 1., 1.],
    ...                [7., 1., 3., 6.]]])
    >>> out, idx = max_pool2d(x, 2, return_indices=True)
    >>> out
    array([[[5., 8.],
            [7., 6.]]])
    >>> idx
    array([[[ 1,  6],
            [12, 15]]]...)
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool1d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """1-D max pooling over an (N, C, L) or (C, L) array.

    Parameters
    ----------
    input : ndarray
        Array of shape (N, C, L) or (C, L); float, or int (pooled exactly).
    kernel_size, stride, padding, dilation, ceil_mode, return_indices
        As in :func:`max_pool2d`, with one value per parameter.

    Returns
    -------
    output : ndarray
        The window maxima, of the input's dtype.
    indices : ndarray of int64
        Only if ``return_indices``: the position of each maximum along L.

    Raises
    ------
    ValueError, TypeError
        As in :func:`max_pool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import max_pool1d
    >>> max_pool1d(np.array([[1., 3., 2., 2., 0.]]), 3, stride=2, return_indices=True)
    (array([[3., 2.]]), array([[1, 2]]...))
    """
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d_backward(
    grad_output: np.ndarray, indices: np.ndarray, input_shape: Sequence[int]
) -> np.ndarray:
    """Gradient of :func:`max_pool2d` with respect to its input.

    Every output's gradient goes to the input element that won its window; all other inputs get
    zero. An input that won several (overlapping) windows receives the sum of their gradients.

    Parameters
    ----------
    grad_output : ndarray
        Gradient of the loss with respect to the pooled output, float.
    indices : ndarray of int
        The indices returned by ``max_pool2d(..., return_indices=True)``, same shape.
    input_shape : tuple of int
        Shape of the pooled input, (N, C, H, W) or (C, H, W).

    Returns
    -------
    ndarray
        Gradient with respect to the input, of shape ``input_shape`` and the dtype of
        ``grad_output``.

    Raises
    ------
    ValueError
        If the shapes disagree or an index lies outside its H*W plane.
    TypeError
        If ``grad_output`` is not float or ``indices`` is not integer.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import max_pool2d, max_pool2d_backward
    >>> x = np.array([[[1., 2.], [4., 3.]]])
    >>> out, idx = max_pool2d(x, 2, return_indices=True)
    >>> max_pool2d_backward(np.ones_like(out), idx, x.shape)
    array([[[0., 0.],
            [1., 0.]]])
    """
    return _max_pool_backward("max_pool2d_backward", 2, grad_output, indices, input_shape)


def max_pool1d_backward(
    grad_output: np.ndarray, indices: np.ndarray, input_shape: Sequence[int]
) -> np.ndarray:
    """Gradient of :func:`max_pool1d` with respect to its input.

    Parameters
    ----------
    grad_output : ndarray
        Gradient of the loss with respect to the pooled output, float.
    indices : ndarray of int
        The indices returned by ``max_pool1d(..., return_indices=True)``.
    input_shape : tuple of int
        Shape of the pooled input, (N, C, L) or (C, L).

    Returns
    -------
    ndarray
        Gradient with respect to the input; overlapping windows add up.

    Raises
    ------
    ValueError, TypeError
        As in :func:`max_pool2d_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import max_pool1d, max_pool1d_backward
    >>> x = np.array([[0., 5., 1., 2.]])
    >>> out, idx = max_pool1d(x, 3, stride=1, return_indices=True)  # 5 wins both windows
    >>> max_pool1d_backward(np.array([[1., 10.]]), idx, x.shape)
    array([[ 0., 11.,  0.,  0.]])
    """
    return _max_pool_backward("max_pool1d_backward", 1, grad_output, indices, input_shape)


def max_pool3d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """3-D max pooling over an (N, C, D, H, W) or (C, D, H, W) array (video, volumes).

    Nothing is new beside :func:`max_pool2d`: the windows are boxes instead of rectangles, and
    the same core pools any number of spatial dimensions.

    Parameters
    ----------
    input : ndarray
        Array of shape (N, C, D, H, W) or (C, D, H, W); float, or int (pooled exactly).
    kernel_size, stride, padding, dilation, ceil_mode, return_indices
        As in :func:`max_pool2d`, with three values (depth, height, width) per parameter.

    Returns
    -------
    output : ndarray
        The window maxima, of the input's dtype.
    indices : ndarray of int64
        Only if ``return_indices``: the flat position (``d * H * W + h * W + w``) of each
        maximum within its (D, H, W) volume, with PyTorch's rules for ties and NaN.

    Raises
    ------
    ValueError, TypeError
        As in :func:`max_pool2d`; the input must be 4-D or 5-D.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import max_pool3d
    >>> x = np.arange(8.).reshape(1, 2, 2, 2)  # one channel, a 2x2x2 volume
    >>> x[0, 0, 1, 0] = 9.
    >>> max_pool3d(x, 2, return_indices=True)
    (array([[[[9.]]]]), array([[[[2]]]]...))
    """
    return _max_pool(
        "max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool3d_backward(
    grad_output: np.ndarray, indices: np.ndarray, input_shape: Sequence[int]
) -> np.ndarray:
    """Gradient of :func:`max_pool3d` with respect to its input: the same scatter-add.

    Parameters
    ----------
    grad_output : ndarray
        Gradient of the loss with respect to the pooled output, float.
    indices : ndarray of int
        The indices returned by ``max_pool3d(..., return_indices=True)``.
    input_shape : tuple of int
        Shape of the pooled input, (N, C, D, H, W) or (C, D, H, W).

    Returns
    -------
    ndarray
        Gradient with respect to the input; overlapping windows add up.

    Raises
    ------
    ValueError, TypeError
        As in :func:`max_pool2d_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import max_pool3d, max_pool3d_backward
    >>> x = np.zeros((1, 1, 1, 3))
    >>> x[0, 0, 0, 1] = 1.  # the middle element wins both windows
    >>> out, idx = max_pool3d(x, (1, 1, 2), stride=1, return_indices=True)
    >>> max_pool3d_backward(np.array([[[[2., 3.]]]]), idx, x.shape)
    array([[[[0., 5., 0.]]]])
    """
    return _max_pool_backward("max_pool3d_backward", 3, grad_output, indices, input_shape)
