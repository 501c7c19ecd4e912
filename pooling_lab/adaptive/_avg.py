"""Adaptive average pooling in 1, 2 and 3 dimensions: a 0/1 bin matrix per dimension."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._params import check_array, check_float, check_input_shape
from ._bins import SizeArg, _sizes, adaptive_bins


def _bin_matrix(length: int, out: int, dtype) -> np.ndarray:
    """(out, length) matrix with 1 where an input belongs to an output's bin."""
    matrix = np.zeros((out, length), dtype=dtype)
    for i, (start, stop) in enumerate(adaptive_bins(length, out)):
        matrix[i, start:stop] = 1
    return matrix


def _adaptive_avg(fn: str, n: int, input, output_size, grad_output=None, input_shape=None):
    if grad_output is None:
        x = check_array(fn, "input", input, n, integers=False)
        spatial, dtype = x.shape[-n:], x.dtype
    else:
        g = check_float(fn, "grad_output", grad_output)
        shape = check_input_shape(fn, input_shape, n, g.shape)
        spatial, dtype = shape[-n:], g.dtype
    sizes = _sizes(fn, output_size, spatial)
    mats = [_bin_matrix(size, out, dtype) for size, out in zip(spatial, sizes)]
    count = np.ones((), dtype=dtype)
    for mat in mats:
        count = np.multiply.outer(count, mat.sum(axis=1))
    if grad_output is None:
        result = x
        for dim, mat in enumerate(mats):  # contract each input dimension with its bin matrix
            axis = x.ndim - n + dim
            result = np.moveaxis(np.tensordot(result, mat, axes=([axis], [1])), -1, axis)
        return result / count
    expected = shape[:-n] + sizes
    if g.shape != expected:
        raise ValueError(f"{fn}: grad_output must have shape {expected}, but got {g.shape}")
    result = g / count
    for dim, mat in enumerate(mats):  # the transpose: spread each share over its bin
        axis = g.ndim - n + dim
        result = np.moveaxis(np.tensordot(result, mat, axes=([axis], [0])), -1, axis)
    return result


def adaptive_avg_pool2d(input: np.ndarray, output_size: SizeArg) -> np.ndarray:
    """2-D adaptive average pooling, PyTorch's ``adaptive_avg_pool2d``.

    Parameters
    ----------
    input : ndarray
        Float (N, C, H, W) or (C, H, W).
    output_size : int or tuple of 2 ints (or None)
        The output's (H', W'); None keeps that input size.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool2d(np.arange(5.).reshape(1, 1, 5), (1, 3))
    array([[[0.5, 2. , 3.5]]])
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool1d(input: np.ndarray, output_size: SizeArg) -> np.ndarray:
    """1-D version of :func:`adaptive_avg_pool2d`, for (N, C, L) or (C, L).

    Parameters
    ----------
    input : ndarray
        Float (N, C, L) or (C, L).
    output_size : int
        The output's length.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool1d(np.array([[3., 1., 4., 1., 5.]]), 3)
    array([[2., 2., 3.]])
    """
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool3d(input: np.ndarray, output_size: SizeArg) -> np.ndarray:
    """3-D version of :func:`adaptive_avg_pool2d`, for (N, C, D, H, W) or (C, D, H, W).

    Parameters
    ----------
    input : ndarray
        Float (N, C, D, H, W) or (C, D, H, W).
    output_size : int or tuple of 3 ints (or None)
        The output's (D', H', W'); None keeps that input size.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool3d(np.arange(8.).reshape(1, 2, 2, 2), (1, 1, None))
    array([[[[3., 4.]]]])
    """
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def adaptive_avg_pool2d_backward(
    grad_output: np.ndarray, input_shape: Sequence[int], output_size: SizeArg
) -> np.ndarray:
    """Input gradient of :func:`adaptive_avg_pool2d`: each share spread over its bin.

    Parameters
    ----------
    grad_output : ndarray
        Gradient with respect to the output.
    input_shape : tuple of int
        Shape of the forward's input.
    output_size : int or tuple of 2 ints (or None)
        The forward's ``output_size``.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool2d_backward(np.ones((1, 1, 3)), (1, 1, 5), (1, 3))
    array([[[0.5       , 0.83333333, 0.33333333, 0.83333333, 0.5       ]]])
    """
    return _adaptive_avg(
        "adaptive_avg_pool2d_backward", 2, None, output_size, grad_output, input_shape
    )


def adaptive_avg_pool1d_backward(
    grad_output: np.ndarray, input_shape: Sequence[int], output_size: SizeArg
) -> np.ndarray:
    """Input gradient of :func:`adaptive_avg_pool1d`.

    Parameters
    ----------
    grad_output, input_shape, output_size
        As in :func:`adaptive_avg_pool2d_backward`.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool1d_backward(np.array([[2., 4.]]), (1, 4), 2)
    array([[1., 1., 2., 2.]])
    """
    return _adaptive_avg(
        "adaptive_avg_pool1d_backward", 1, None, output_size, grad_output, input_shape
    )


def adaptive_avg_pool3d_backward(
    grad_output: np.ndarray, input_shape: Sequence[int], output_size: SizeArg
) -> np.ndarray:
    """Input gradient of :func:`adaptive_avg_pool3d`.

    Parameters
    ----------
    grad_output, input_shape, output_size
        As in :func:`adaptive_avg_pool2d_backward`, for (N, C, D, H, W) or (C, D, H, W).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool3d_backward(np.array([[[[8.]]]]), (1, 2, 2, 2), 1)[0, 0]
    array([[1., 1.],
           [1., 1.]])
    """
    return _adaptive_avg(
        "adaptive_avg_pool3d_backward", 3, None, output_size, grad_output, input_shape
    )
