"""Global pooling: one window covering the whole plane, as functions and as layers."""

from __future__ import annotations

import numpy as np

from . import functional as F
from ._params import check_array
from .layers import AvgPool2d, Layer, MaxPool2d


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
