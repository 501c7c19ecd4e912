"""Adaptive pooling layers (1-D, 2-D, 3-D) with ``forward``/``backward``.

Each dimension count is a thin subclass of one N-dimensional layer, as in
:mod:`pooling_lab.layers`.
"""

from __future__ import annotations

import numpy as np

from .._layer import Layer
from ._avg import _adaptive_avg
from ._bins import SizeArg, _sizes
from ._max import _adaptive_max, _max_pool_backward


class _AdaptiveMaxPoolNd(Layer):
    _n = 0

    def __init__(self, output_size: SizeArg, return_indices: bool = False) -> None:
        _sizes(type(self).__name__, output_size, (1,) * self._n)  # fail where it is built
        self.output_size, self.return_indices = output_size, return_indices
        self._indices = None

    def forward(self, x: np.ndarray):
        """Pool ``x``, keeping the winners' indices and the input's shape for backward."""
        fn = f"adaptive_max_pool{self._n}d"
        out, self._indices = _adaptive_max(fn, self._n, x, self.output_size, True)
        self._shape = np.shape(x)
        return (out, self._indices) if self.return_indices else out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Route each gradient to its bin's winner (a scatter-add)."""
        indices = self._saved("_indices")
        name = f"{type(self).__name__}.backward"
        return _max_pool_backward(name, self._n, grad_output, indices, self._shape)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size!r}"


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Layer form of :func:`adaptive_max_pool2d`; keeps the winners' indices for backward.

    Parameters
    ----------
    output_size : int or tuple of 2 ints (or None)
        The output's (H', W'); None keeps that input size.
    return_indices : bool, default False
        Make ``forward`` return ``(output, indices)``.

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

    _n = 2


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Layer form of :func:`adaptive_max_pool1d`.

    Parameters
    ----------
    output_size : int
        The output's length.
    return_indices : bool, default False
        Make ``forward`` return ``(output, indices)``.

    Examples
    --------
    >>> import numpy as np
    >>> pool = AdaptiveMaxPool1d(2)
    >>> pool(np.array([[3., 1., 4., 1., 5.]]))
    array([[4., 5.]])
    >>> pool.backward(np.array([[1., 1.]]))
    array([[0., 0., 1., 0., 1.]])
    """

    _n = 1


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Layer form of :func:`adaptive_max_pool3d`.

    Parameters
    ----------
    output_size : int or tuple of 3 ints (or None)
        The output's (D', H', W'); None keeps that input size.
    return_indices : bool, default False
        Make ``forward`` return ``(output, indices)``.

    Examples
    --------
    >>> import numpy as np
    >>> pool = AdaptiveMaxPool3d((1, 1, None))
    >>> pool(np.arange(8.).reshape(1, 2, 2, 2))
    array([[[[6., 7.]]]])
    >>> pool.backward(np.ones((1, 1, 1, 2)))[0, 1]
    array([[0., 0.],
           [1., 1.]])
    """

    _n = 3


class _AdaptiveAvgPoolNd(Layer):
    _n = 0

    def __init__(self, output_size: SizeArg) -> None:
        _sizes(type(self).__name__, output_size, (1,) * self._n)  # fail where it is built
        self.output_size = output_size
        self._shape = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Average over each bin; only the input's shape is needed later."""
        out = _adaptive_avg(f"adaptive_avg_pool{self._n}d", self._n, x, self.output_size)
        self._shape = np.shape(x)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Spread each gradient evenly over its bin."""
        shape = self._saved("_shape")
        name = f"{type(self).__name__}.backward"
        return _adaptive_avg(name, self._n, None, self.output_size, grad_output, shape)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size!r}"


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Layer form of :func:`adaptive_avg_pool2d`.

    Parameters
    ----------
    output_size : int or tuple of 2 ints (or None)
        The output's (H', W'); None keeps that input size.

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

    _n = 2


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Layer form of :func:`adaptive_avg_pool1d`.

    Parameters
    ----------
    output_size : int
        The output's length.

    Examples
    --------
    >>> import numpy as np
    >>> pool = AdaptiveAvgPool1d(2)
    >>> pool(np.array([[1., 3., 5., 7.]]))
    array([[2., 6.]])
    >>> pool.backward(np.array([[2., 4.]]))
    array([[1., 1., 2., 2.]])
    """

    _n = 1


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Layer form of :func:`adaptive_avg_pool3d`.

    Parameters
    ----------
    output_size : int or tuple of 3 ints (or None)
        The output's (D', H', W'); None keeps that input size.

    Examples
    --------
    >>> import numpy as np
    >>> pool = AdaptiveAvgPool3d(1)  # global average pooling of each volume
    >>> pool(np.arange(8.).reshape(1, 2, 2, 2))
    array([[[[3.5]]]])
    >>> pool.backward(np.array([[[[8.]]]]))[0, 0]
    array([[1., 1.],
           [1., 1.]])
    """

    _n = 3
