"""Adaptive pooling: the caller fixes the output size, and each output gets a bin of inputs.

PyTorch's bin rule, per dimension: with ``L`` inputs and ``n`` outputs, output ``i`` pools the
inputs ``floor(i * L / n)`` up to (not including) ``ceil((i + 1) * L / n)``. Bins may differ
in size by one and may overlap by one element when ``n`` does not divide ``L``. Adaptive max
pooling keeps PyTorch's index rules (the first maximum in row-major order wins a tie; a NaN
wins, the last one if several); its backward is the same scatter-add as max pooling's.

Both work one dimension at a time. For max pooling that is exact, winners included: the first
maximum of a 2-D bin in row-major order is the first maximum of the first row that holds the
bin's maximum. For average pooling each dimension is a product with a 0/1 bin matrix.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from . import functional as F
from ._params import check_array, check_float, check_input_shape
from .layers import Layer

__all__ = [
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool1d_backward",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward",
    "adaptive_bins",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
]

SizeArg = int | None | Sequence[int | None]


def adaptive_bins(length: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's bins: ``[(start, stop), ...]`` of ``out`` bins over ``length`` inputs.

    Examples
    --------
    >>> adaptive_bins(5, 3)
    [(0, 2), (1, 4), (3, 5)]
    """
    return [((i * length) // out, -((-(i + 1) * length) // out)) for i in range(out)]


def _sizes(fn: str, output_size: SizeArg, spatial: tuple[int, ...]) -> tuple[int, ...]:
    """Normalise ``output_size``: an int or a tuple; None keeps that input size, as in PyTorch."""
    n = len(spatial)
    items = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
    if len(items) == 1:
        items = items * n
    if len(items) != n:
        raise ValueError(
            f"{fn}: output_size must be an int or a tuple of {n} ints, but got {output_size!r}"
        )
    sizes = []
    for item, size in zip(items, spatial):
        if item is None:
            sizes.append(size)
            continue
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise TypeError(
                f"{fn}: output_size must be an int or a tuple of {n} ints (or None), but got "
                f"{output_size!r}"
            )
        if item < 1:
            raise ValueError(f"{fn}: output_size must be positive, but got {output_size!r}")
        sizes.append(int(item))
    return tuple(sizes)


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
        :func:`pooling_lab.functional.max_pool2d_backward` takes to compute the gradient.

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
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


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
    """
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


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
    """
    return _adaptive_avg(
        "adaptive_avg_pool1d_backward", 1, None, output_size, grad_output, input_shape
    )


class AdaptiveMaxPool2d(Layer):
    """Layer form of :func:`adaptive_max_pool2d`; keeps the winners' indices for backward.

    Examples
    --------
    >>> import numpy as np
    >>> pool = AdaptiveMaxPool2d(1)
    >>> pool(np.array([[[1., 4.], [2., 3.]]]))
    array([[[4.]]])
    >>> pool.backward(np.ones((1, 1, 1)))
    array([[[0., 1.],
            [0., 0.]]])
    """

    def __init__(self, output_size: SizeArg, return_indices: bool = False) -> None:
        _sizes("AdaptiveMaxPool2d", output_size, (1, 1))  # fail where the layer is built
        self.output_size, self.return_indices = output_size, return_indices
        self._indices = None

    def forward(self, x):
        out, self._indices = adaptive_max_pool2d(x, self.output_size, return_indices=True)
        self._shape = np.shape(x)
        return (out, self._indices) if self.return_indices else out

    def backward(self, grad_output):
        indices = self._saved("_indices")
        return F.max_pool2d_backward(grad_output, indices, self._shape)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size!r}"


class AdaptiveAvgPool2d(Layer):
    """Layer form of :func:`adaptive_avg_pool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> pool = AdaptiveAvgPool2d((1, 1))
    >>> pool(np.array([[[1., 4.], [2., 3.]]]))
    array([[[2.5]]])
    >>> pool.backward(np.ones((1, 1, 1)))
    array([[[0.25, 0.25],
            [0.25, 0.25]]])
    """

    def __init__(self, output_size: SizeArg) -> None:
        _sizes("AdaptiveAvgPool2d", output_size, (1, 1))  # fail where the layer is built
        self.output_size = output_size
        self._shape = None

    def forward(self, x):
        out = adaptive_avg_pool2d(x, self.output_size)
        self._shape = np.shape(x)
        return out

    def backward(self, grad_output):
        shape = self._saved("_shape")
        return adaptive_avg_pool2d_backward(grad_output, shape, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size!r}"
