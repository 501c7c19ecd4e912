"""Adaptive max pooling in 1, 2 and 3 dimensions, one dimension at a time, and its backward."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._params import check_array
from ..functional._max import _max_pool_backward
from ._bins import SizeArg, _sizes, adaptive_bins


def _gather(length: int, out: int) -> np.ndarray:
    """(out, K) input positions of each bin, padded by repeating the bin's last position.

    A repeat of the last element never changes a maximum, nor which element is the first
    maximum (a later equal value does not take over) or the last NaN.
    """
    bins = adaptive_bins(length, out)
    width = max(stop - start for start, stop in bins)
    return np.array([[min(start + k, stop - 1) for k in range(width)] for start, stop in bins])


def _max_along(values: np.ndarray, positions: np.ndarray, axis: int, out: int):
    """Maximum and argmax (an input position) over bins along ``axis``, PyTorch's rules."""
    where = _gather(values.shape[axis], out)
    moved = np.moveaxis(values, axis, -1)
    pos = np.moveaxis(positions, axis, -1)
    best = moved[..., where[:, 0]]
    arg = pos[..., where[:, 0]]
    for k in range(1, where.shape[1]):
        candidate = moved[..., where[:, k]]
        # the update rule of PyTorch's CPU kernel: larger, or NaN
        take = candidate > best
        if values.dtype.kind == "f":
            take |= np.isnan(candidate)
        best = np.where(take, candidate, best)
        arg = np.where(take, pos[..., where[:, k]], arg)
    return np.moveaxis(best, -1, axis), np.moveaxis(arg, -1, axis)


def _adaptive_max(fn: str, n: int, input, output_size, return_indices: bool):
    x = check_array(fn, "input", input, n, integers=True)
    spatial = x.shape[-n:]
    sizes = _sizes(fn, output_size, spatial)
    # flat position of every input element within its plane, carried along with the values
    positions = np.broadcast_to(np.arange(np.prod(spatial)).reshape(spatial), x.shape)
    best, arg = x, positions
    for dim in reversed(range(n)):  # the last dimension first: see the module docstring
        best, arg = _max_along(best, arg, x.ndim - n + dim, sizes[dim])
    best = np.ascontiguousarray(best)
    return (best, np.ascontiguousarray(arg, dtype=np.int64)) if return_indices else best


def adaptive_max_pool2d(input: np.ndarray, output_size: SizeArg, return_indices: bool = False):
    """2-D adaptive max pooling, PyTorch's ``adaptive_max_pool2d``.

    Parameters
    ----------
    input : ndarray
        (N, C, H, W) or (C, H, W), float or integer.
    output_size : int or tuple of 2 ints (or None)
        The output's (H', W'); None keeps that input size.
    return_indices : bool, default False
        Also return the flat position (within each H*W plane) of every maximum, which
        :func:`adaptive_max_pool2d_backward` takes to compute the gradient.

    Returns
    -------
    ndarray, or (ndarray, ndarray of int64)

    Raises
    ------
    ValueError, TypeError
        For a bad ``input`` or ``output_size``, naming the rule.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(15.).reshape(1, 3, 5)
    >>> adaptive_max_pool2d(x, (1, 3), return_indices=True)  # bins of columns 0-1, 1-3, 3-4
    (array([[[11., 13., 14.]]]), array([[[11, 13, 14]]]...))
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d(input: np.ndarray, output_size: SizeArg, return_indices: bool = False):
    """1-D version of :func:`adaptive_max_pool2d`, for (N, C, L) or (C, L).

    Parameters
    ----------
    input : ndarray
        (N, C, L) or (C, L).
    output_size : int
        The output's length.
    return_indices : bool, default False
        Also return the position of every maximum.

    Returns
    -------
    ndarray, or (ndarray, ndarray of int64)

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_max_pool1d(np.array([[3., 1., 4., 1., 5.]]), 2, return_indices=True)
    (array([[4., 5.]]), array([[2, 4]]...))
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool3d(input: np.ndarray, output_size: SizeArg, return_indices: bool = False):
    """3-D version of :func:`adaptive_max_pool2d`, for (N, C, D, H, W) or (C, D, H, W).

    Parameters
    ----------
    input : ndarray
        (N, C, D, H, W) or (C, D, H, W), float or integer.
    output_size : int or tuple of 3 ints (or None)
        The output's (D', H', W'); None keeps that input size.
    return_indices : bool, default False
        Also return the flat position (within each D*H*W volume) of every maximum.

    Returns
    -------
    ndarray, or (ndarray, ndarray of int64)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(12.).reshape(1, 3, 2, 2)
    >>> out, idx = adaptive_max_pool3d(x, (2, 1, None), return_indices=True)
    >>> out  # depth bins 0-1 and 1-2; all rows; each column kept
    array([[[[ 6.,  7.]],
    <BLANKLINE>
            [[10., 11.]]]])
    >>> idx
    array([[[[ 6,  7]],
    <BLANKLINE>
            [[10, 11]]]]...)
    """
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool2d_backward(
    grad_output: np.ndarray, indices: np.ndarray, input_shape: Sequence[int]
) -> np.ndarray:
    """Input gradient of :func:`adaptive_max_pool2d`: each gradient goes to its bin's winner.

    The same scatter-add as :func:`pooling_lab.functional.max_pool2d_backward`; winners of
    overlapping bins add up.

    Parameters
    ----------
    grad_output : ndarray
        Gradient with respect to the output, float.
    indices : ndarray of int
        The indices from ``adaptive_max_pool2d(..., return_indices=True)``.
    input_shape : tuple of int
        Shape of the forward's input.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1., 5., 2.]]])
    >>> out, idx = adaptive_max_pool2d(x, (1, 2), return_indices=True)  # bins 0-1 and 1-2
    >>> adaptive_max_pool2d_backward(np.ones_like(out), idx, x.shape)
    array([[[0., 2., 0.]]])
    """
    return _max_pool_backward("adaptive_max_pool2d_backward", 2, grad_output, indices, input_shape)


def adaptive_max_pool1d_backward(
    grad_output: np.ndarray, indices: np.ndarray, input_shape: Sequence[int]
) -> np.ndarray:
    """Input gradient of :func:`adaptive_max_pool1d`.

    Parameters
    ----------
    grad_output, indices, input_shape
        As in :func:`adaptive_max_pool2d_backward`, for (N, C, L) or (C, L).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_max_pool1d_backward(np.array([[1., 2.]]), np.array([[2, 4]]), (1, 5))
    array([[0., 0., 1., 0., 2.]])
    """
    return _max_pool_backward("adaptive_max_pool1d_backward", 1, grad_output, indices, input_shape)


def adaptive_max_pool3d_backward(
    grad_output: np.ndarray, indices: np.ndarray, input_shape: Sequence[int]
) -> np.ndarray:
    """Input gradient of :func:`adaptive_max_pool3d`.

    Parameters
    ----------
    grad_output, indices, input_shape
        As in :func:`adaptive_max_pool2d_backward`, for (N, C, D, H, W) or (C, D, H, W).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_max_pool3d_backward(np.array([[[[3.]]]]), np.array([[[[1]]]]), (1, 1, 1, 2))
    array([[[[0., 3.]]]])
    """
    return _max_pool_backward("adaptive_max_pool3d_backward", 3, grad_output, indices, input_shape)
