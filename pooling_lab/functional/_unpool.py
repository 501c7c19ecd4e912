"""Max unpooling in 1, 2 and 3 dimensions: each pooled value put back where its maximum was."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import _core
from .._params import as_tuple, check_array, check_indices, make_window
from ._common import IntOrTuple, fold


def _unpool_output_size(fn: str, in_spatial, kernel, stride, padding, output_size):
    """PyTorch's default unpooled size, or ``output_size`` checked against the allowed range."""
    n = len(kernel)
    default = tuple(
        (i - 1) * s + k - 2 * p for i, k, s, p in zip(in_spatial, kernel, stride, padding)
    )
    if output_size is None:
        sizes = default
    else:
        if not isinstance(output_size, (tuple, list)) or len(output_size) not in (n, n + 1, n + 2):
            raise ValueError(
                f"{fn}: output_size must be a tuple of {n} ints (optionally preceded by the "
                f"batch and channel sizes), but got {output_size!r}"
            )
        # Leading (batch, channel) sizes are accepted, as in PyTorch, and ignored.
        sizes = as_tuple(fn, "output_size", tuple(output_size)[-n:], n)
        for size, d, s in zip(sizes, default, stride):
            if not d - s < size < d + s:
                raise ValueError(
                    f"{fn}: output_size {sizes} is invalid: each size must lie strictly between "
                    f"default - stride and default + stride, here {tuple(default)} -/+ {stride}"
                )
    if min(sizes) < 1:
        raise ValueError(f"{fn}: the unpooled output would have size {sizes}; it must be >= 1")
    return sizes


def _max_unpool(fn, n, input, indices, kernel_size, stride, padding, output_size):
    win = make_window(fn, n, kernel_size, stride, padding, check_padding=False)
    x = check_array(fn, "input", input, n, integers=False)
    sizes = _unpool_output_size(fn, x.shape[-n:], win.kernel, win.stride, win.padding, output_size)
    idx = check_indices(fn, indices, x.shape, math.prod(sizes))
    out = _core.max_unpool(fold(x, n), fold(idx, n), sizes)
    return out.reshape(x.shape[:-n] + sizes)


def max_unpool2d(
    input: np.ndarray,
    indices: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> np.ndarray:
    """Partial inverse of :func:`max_pool2d`: put each value back where its maximum came from.

    Every other position is zero. This is the same scatter as :func:`max_pool2d_backward`,
    except that a position named twice keeps the last value written instead of the sum (as
    PyTorch does).

    Parameters
    ----------
    input : ndarray
        Pooled values, float, (N, C, H', W') or (C, H', W').
    indices : ndarray of int
        Flat positions within each output plane, as returned by ``max_pool2d``.
    kernel_size, stride, padding
        The pooling parameters; they fix the default output size
        ``(H' - 1) * stride - 2 * padding + kernel_size``.
    output_size : tuple of int, optional
        The exact (H, W) wanted (leading dimensions may be included), within ``stride`` of the
        default size, to undo a pooling that dropped rows or columns.

    Returns
    -------
    ndarray
        Zeros with ``input`` scattered in, of ``input``'s dtype.

    Raises
    ------
    ValueError
        If an index lies outside the output plane or ``output_size`` is out of range.
    TypeError
        If ``input`` is not float or ``indices`` not integer.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import max_pool2d, max_unpool2d
    >>> x = np.array([[[1., 2.], [4., 3.]]])
    >>> out, idx = max_pool2d(x, 2, return_indices=True)
    >>> max_unpool2d(out, idx, 2)
    array([[[0., 0.],
            [4., 0.]]])
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool1d(
    input: np.ndarray,
    indices: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> np.ndarray:
    """Partial inverse of :func:`max_pool1d`; see :func:`max_unpool2d`.

    Parameters
    ----------
    input : ndarray
        Pooled values, float, (N, C, L') or (C, L').
    indices : ndarray of int
        Positions along L, as returned by ``max_pool1d``.
    kernel_size, stride, padding, output_size
        As in :func:`max_unpool2d`, with one value per parameter.

    Returns
    -------
    ndarray
        Zeros with ``input`` scattered in.

    Raises
    ------
    ValueError, TypeError
        As in :func:`max_unpool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import max_unpool1d
    >>> max_unpool1d(np.array([[5., 7.]]), np.array([[1, 2]]), 2)
    array([[0., 5., 7., 0.]])
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(
    input: np.ndarray,
    indices: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> np.ndarray:
    """Partial inverse of :func:`max_pool3d`; see :func:`max_unpool2d`.

    Parameters
    ----------
    input : ndarray
        Pooled values, float, (N, C, D', H', W') or (C, D', H', W').
    indices : ndarray of int
        Flat positions within each (D, H, W) output volume, as returned by ``max_pool3d``.
    kernel_size, stride, padding, output_size
        As in :func:`max_unpool2d`, with three values per parameter.

    Returns
    -------
    ndarray
        Zeros with ``input`` scattered in.

    Raises
    ------
    ValueError, TypeError
        As in :func:`max_unpool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import max_pool3d, max_unpool3d
    >>> x = np.arange(8.).reshape(1, 2, 2, 2)
    >>> out, idx = max_pool3d(x, 2, return_indices=True)
    >>> max_unpool3d(out, idx, 2)[0, 1]  # the 7 goes back to the last corner
    array([[0., 0.],
           [0., 7.]])
    """
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)
