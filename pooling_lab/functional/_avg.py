"""Average pooling in 1, 2 and 3 dimensions with PyTorch's divisors (backward: _avg_backward)."""

from __future__ import annotations

import numbers

import numpy as np

from .. import _average, _channels_last, _core, _phases
from .._params import check_array, make_window
from ._common import IntOrTuple, fold


def _check_divisor(fn: str, divisor_override) -> int | None:
    """``None``, or a non-zero int that replaces every window's divisor (PyTorch's rule)."""
    if divisor_override is None:
        return None
    if isinstance(divisor_override, (bool, np.bool_)) or not isinstance(
        divisor_override, numbers.Integral
    ):
        raise TypeError(
            f"{fn}: divisor_override must be None or an int, but got {divisor_override!r}"
        )
    if divisor_override == 0:
        raise ValueError(f"{fn}: divisor_override must not be zero, but got 0")
    return int(divisor_override)


def _check_volume(fn: str, spatial: tuple[int, ...], win) -> None:
    """torch 2.13's avg_pool3d (alone among the average pools) wants input >= kernel."""
    if len(spatial) == 3 and any(s < k for s, k in zip(spatial, win.kernel)):
        raise ValueError(
            f"{fn}: the input's spatial size {tuple(spatial)} is smaller than kernel_size "
            f"{win.kernel}; as in PyTorch's avg_pool3d, every input size must be at least the "
            "kernel size, padding not counted"
        )


def _override(divisor_override: int, n: int) -> np.ndarray:
    """The override as a divisor array that broadcasts against (B, *out)."""
    return np.full((1,) * (n + 1), divisor_override, dtype=np.int64)


def _avg_pool(
    fn, n, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    win = make_window(fn, n, kernel_size, stride, padding, 1, ceil_mode)
    override = _check_divisor(fn, divisor_override)
    x = check_array(fn, "input", input, n, integers=False)
    _check_volume(fn, x.shape[-n:], win)
    xl = _channels_last.channels_last_view(x, n)
    if xl is not None:  # pooled in its own layout, and the result keeps it
        out = _channels_last.avg_pool(xl, win, bool(count_include_pad), override)
        out = _channels_last.to_channels_first(out)
        return out if x.ndim == n + 2 else out[0]
    xb = fold(x, n)
    if override is None:
        out = _core.avg_pool(xb, win, bool(count_include_pad))
    else:
        # The same window sums as _core.avg_pool, divided by the one given number instead.
        spatial, out_size = xb.shape[1:], win.output_size(xb.shape[1:])
        plan = _phases.plan_for(win, tuple(spatial), out_size)
        out = _average.avg_pool(xb, plan, _override(override, n))
    return out.reshape(x.shape[:-n] + out.shape[1:])


def avg_pool2d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
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
    divisor_override : int, optional
        If given (non-zero), every window's sum is divided by this number instead, and
        ``count_include_pad`` no longer matters.

    Returns
    -------
    ndarray
        The window averages, of the input's dtype.

    Raises
    ------
    ValueError
        As in :func:`max_pool2d`, or if ``divisor_override`` is zero.
    TypeError
        If the input is an integer array (cast it to float first) or not numeric, or
        ``divisor_override`` is not an int.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import avg_pool2d
    >>> x = np.arange(16.).reshape(1, 4, 4)
    >>> avg_pool2d(x, 2)
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    >>> avg_pool2d(x, 2, divisor_override=1)  # window sums
    array([[[10., 18.],
            [42., 50.]]])
    """
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool1d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """1-D average pooling over an (N, C, L) or (C, L) array.

    Parameters
    ----------
    input : ndarray
        Float array of shape (N, C, L) or (C, L).
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in :func:`avg_pool2d`, with one value per parameter. PyTorch's ``avg_pool1d`` has no
        ``divisor_override``; here it is accepted for symmetry and gives what ``avg_pool2d``
        gives on a height-1 input with a height-1 kernel.

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
        "avg_pool1d",
        1,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool3d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """3-D average pooling over an (N, C, D, H, W) or (C, D, H, W) array.

    Parameters
    ----------
    input : ndarray
        Float array of shape (N, C, D, H, W) or (C, D, H, W).
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in :func:`avg_pool2d`, with three values (depth, height, width) per parameter.

    Returns
    -------
    ndarray
        The window averages, of the input's dtype.

    Raises
    ------
    ValueError, TypeError
        As in :func:`avg_pool2d`; the input must be 4-D or 5-D and, as in PyTorch's
        ``avg_pool3d``, at least as large as the kernel in every spatial dimension (padding
        not counted).

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import avg_pool3d
    >>> x = np.arange(8.).reshape(1, 2, 2, 2)
    >>> avg_pool3d(x, 2)
    array([[[[3.5]]]])
    >>> avg_pool3d(x, 2, padding=1, count_include_pad=False)[0, 1]  # one real element each
    array([[4., 5.],
           [6., 7.]])
    """
    return _avg_pool(
        "avg_pool3d",
        3,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )
