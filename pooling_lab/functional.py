"""Pooling functions with the names, defaults and semantics of ``torch.nn.functional``.

Each public function is a thin wrapper: it checks its arguments, folds the leading (batch,
channel) dimensions into one, and calls the N-dimensional core in ``pooling_lab._core``.
Forward functions never modify their input and return arrays of the input's dtype.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import _core
from ._params import (
    as_tuple,
    check_array,
    check_float,
    check_indices,
    check_input_shape,
    make_window,
)

IntOrTuple = int | Sequence[int]

__all__ = [
    "avg_pool1d",
    "avg_pool1d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "max_pool1d",
    "max_pool1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_unpool1d",
    "max_unpool2d",
    "relu",
    "relu_backward",
]


def _fold(x: np.ndarray, n: int) -> np.ndarray:
    """View (…, *spatial) as (B, *spatial)."""
    return x.reshape((-1,) + x.shape[-n:])


# ---------------------------------------------------------------------------------------------
# Max pooling


def _max_pool_result(fn, n, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Checked max pooling: the output and the core's record of the winners."""
    win = make_window(fn, n, kernel_size, stride, padding, dilation, ceil_mode)
    x = check_array(fn, "input", input, n, integers=True)
    result = _core.max_pool(_fold(x, n), win)
    return result.output.reshape(x.shape[:-n] + result.output.shape[1:]), result


def _max_pool(fn, n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    out, result = _max_pool_result(fn, n, input, kernel_size, stride, padding, dilation, ceil_mode)
    if return_indices:
        return out, result.indices().reshape(out.shape)
    return out


def _max_pool_backward(fn, n, grad_output, indices, input_shape):
    g = check_float(fn, "grad_output", grad_output)
    shape = check_input_shape(fn, input_shape, n, g.shape)
    idx = check_indices(fn, indices, g.shape, math.prod(shape[-n:]))
    grad = _core.max_pool_backward(_fold(g, n), _fold(idx, n), shape[-n:])
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


# ---------------------------------------------------------------------------------------------
# Average pooling


def _avg_pool(fn, n, input, kernel_size, stride, padding, ceil_mode, count_include_pad):
    win = make_window(fn, n, kernel_size, stride, padding, 1, ceil_mode)
    x = check_array(fn, "input", input, n, integers=False)
    out = _core.avg_pool(_fold(x, n), win, bool(count_include_pad))
    return out.reshape(x.shape[:-n] + out.shape[1:])


def _avg_pool_backward(
    fn, n, grad_output, input_shape, kernel_size, stride, padding, ceil_mode, count_include_pad
):
    win = make_window(fn, n, kernel_size, stride, padding, 1, ceil_mode)
    g = check_float(fn, "grad_output", grad_output)
    shape = check_input_shape(fn, input_shape, n, g.shape)
    expected = shape[:-n] + win.output_size(shape[-n:])
    if g.shape != expected:
        raise ValueError(
            f"{fn}: grad_output must have the pooled shape {expected} for input_shape {shape}, "
            f"but got shape {g.shape}"
        )
    grad = _core.avg_pool_backward(_fold(g, n), shape[-n:], win, bool(count_include_pad))
    return grad.reshape(shape)


def avg_pool2d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """2-D average pooling over an (N, C, H, W) or (C, H, W) array.

    Parameters
    ----------
    input : ndarray
        Float array of shape (N, C, H, W) or (C, H, W).
    kernel_size : int or tuple of 2 ints
        Window height and width.
    stride : int or tuple of 2 ints, optional
        Step between windows; ``None`` means ``kernel_size``.
    padding : int or tuple of 2 ints, default 0
        Implicit zeros on both sides; at most ``kernel_size // 2``.
    ceil_mode : bool, default False
        Round the output size up (see :func:`max_pool2d`).
    count_include_pad : bool, default True
        Divide by the window size including padded zeros; if False, divide by the number of
        real input elements in the window. A window cut short by ``ceil_mode`` divides by the
        part of it that lies within the padded input, as PyTorch does.

    Returns
    -------
    ndarray
        The window averages, of the input's dtype.

    Raises
    ------
    ValueError
        As in :func:`max_pool2d`.
    TypeError
        If the input is an integer array (cast it to float first) or not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import avg_pool2d
    >>> x = np.arange(16.).reshape(1, 4, 4)
    >>> avg_pool2d(x, 2)
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    """
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad
    )


def avg_pool1d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """1-D average pooling over an (N, C, L) or (C, L) array.

    Parameters
    ----------
    input : ndarray
        Float array of shape (N, C, L) or (C, L).
    kernel_size, stride, padding, ceil_mode, count_include_pad
        As in :func:`avg_pool2d`, with one value per parameter.

    Returns
    -------
    ndarray
        The window averages, of the input's dtype.

    Raises
    ------
    ValueError, TypeError
        As in :func:`avg_pool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import avg_pool1d
    >>> avg_pool1d(np.array([[2., 4., 6.]]), 2, stride=1, padding=1, count_include_pad=False)
    array([[2., 3., 5., 6.]])
    """
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad
    )


def avg_pool2d_backward(
    grad_output: np.ndarray,
    input_shape: Sequence[int],
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
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
    kernel_size, stride, padding, ceil_mode, count_include_pad
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
    )


def avg_pool1d_backward(
    grad_output: np.ndarray,
    input_shape: Sequence[int],
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Gradient of :func:`avg_pool1d` with respect to its input.

    Parameters
    ----------
    grad_output : ndarray
        Gradient of the loss with respect to the pooled output, float.
    input_shape : tuple of int
        Shape of the pooled input, (N, C, L) or (C, L).
    kernel_size, stride, padding, ceil_mode, count_include_pad
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
    )


# ---------------------------------------------------------------------------------------------
# Max unpooling


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
    out = _core.max_unpool(_fold(x, n), _fold(idx, n), sizes)
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


# ---------------------------------------------------------------------------------------------
# ReLU, the smallest max-pool: max over {0, x}


def relu(input: np.ndarray) -> np.ndarray:
    """Rectified linear unit, ``max(0, x)`` elementwise; NaN stays NaN.

    Parameters
    ----------
    input : ndarray
        Real array of any shape.

    Returns
    -------
    ndarray
        ``max(0, input)``, of the input's dtype.

    Raises
    ------
    TypeError
        If the input is not real-valued.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import relu
    >>> relu(np.array([-2., 0., 3.]))
    array([0., 0., 3.])
    """
    x = np.asarray(input)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"relu: input must have a real numeric dtype, but got dtype {x.dtype}")
    # np.maximum propagates NaN, as torch.relu does.
    return np.maximum(x, np.zeros((), dtype=x.dtype))


def relu_backward(grad_output: np.ndarray, input: np.ndarray) -> np.ndarray:
    """Gradient of :func:`relu`: ``grad_output`` where ``input > 0``, else 0.

    At the kink ``x == 0`` the gradient is 0, PyTorch's convention (any value in [0, 1] is a
    valid subgradient there). Like PyTorch, a NaN input lets the gradient through.

    Parameters
    ----------
    grad_output : ndarray
        Gradient with respect to the output, float.
    input : ndarray
        The forward input, same shape.

    Returns
    -------
    ndarray
        Gradient with respect to the input, of ``grad_output``'s dtype.

    Raises
    ------
    ValueError
        If the shapes differ.
    TypeError
        If ``grad_output`` is not float.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import relu_backward
    >>> relu_backward(np.array([5., 5., 5.]), np.array([-1., 0., 2.]))
    array([0., 0., 5.])
    """
    g = check_float("relu_backward", "grad_output", grad_output)
    x = np.asarray(input)
    if x.shape != g.shape:
        raise ValueError(
            f"relu_backward: grad_output of shape {g.shape} must have the input's shape {x.shape}"
        )
    # "x <= 0 gives 0" rather than "x > 0 passes" so that NaN passes, matching PyTorch.
    return np.where(x <= 0, np.zeros((), dtype=g.dtype), g)
