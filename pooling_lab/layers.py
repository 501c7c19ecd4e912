"""Layers with an explicit ``forward`` and ``backward``, in the style of Torch7's ``nn``.

``forward(x)`` computes the output and keeps exactly what ``backward`` will need (for max
pooling: the indices of the winners, nothing else). ``backward(grad_output)`` takes dL/d(output)
and returns dL/d(input). Calling a layer is the same as calling its ``forward``.

Examples
--------
>>> import numpy as np
>>> import pooling_lab as pl
>>> pool = pl.MaxPool2d(2)
>>> x = np.array([[[1., 2.], [4., 3.]]])
>>> pool(x)
array([[[4.]]])
>>> pool.backward(np.array([[[10.]]]))
array([[[ 0.,  0.],
        [10.,  0.]]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _channels_last
from . import functional as F
from ._layer import Layer, _show
from ._params import make_window
from ._unpool_layers import MaxUnpool1d, MaxUnpool2d, MaxUnpool3d, ReLU
from .functional._avg import _check_divisor
from .functional._avg_backward import _avg_pool_backward

IntOrTuple = int | Sequence[int]

__all__ = [
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "Layer",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "ReLU",
]


class _MaxPoolNd(Layer):
    _n = 0

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        # Check the arguments now, so a bad layer fails where it is built, not in training.
        make_window(type(self).__name__, self._n, kernel_size, stride, padding, dilation, ceil_mode)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode
        self._winners = None
        self.input_shape = None

    @property
    def indices(self) -> np.ndarray | None:
        """Flat input position of each window's winner, as ``return_indices`` gives them.

        The layer keeps them compactly, one byte per window for the usual sizes (each winner's
        place inside its window); the flat positions follow from the geometry.
        """
        if self._winners is None:
            return None
        return self._winners.indices().reshape(self._out_shape)

    def forward(self, x: np.ndarray):
        """Pool ``x`` and remember the winners and the input's shape: all backward needs."""
        fn = f"max_pool{self._n}d"
        out, self._winners = F._max_pool_result(
            fn,
            self._n,
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
        )
        self.input_shape, self._out_shape = np.shape(x), out.shape
        return (out, self.indices) if self.return_indices else out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Route ``grad_output`` to the winners: a scatter-add at their positions."""
        winners = self._saved("_winners")
        name = f"{type(self).__name__}.backward"
        g = np.asarray(grad_output)
        if g.dtype.kind != "f":
            raise TypeError(
                f"{name}: grad_output must have a floating-point dtype, but got dtype {g.dtype}"
            )
        if g.shape != self._out_shape:
            raise ValueError(
                f"{name}: grad_output must have the output's shape "
                f"{self._out_shape}, but got shape {g.shape}"
            )
        if isinstance(winners, _channels_last.MaxPoolChannelsLast):
            return winners.backward(g)  # channels-last, as the input was
        grad = winners.backward(g.reshape((-1,) + g.shape[-self._n :]))
        return grad.reshape(self.input_shape)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={_show(self.kernel_size)}, stride={_show(self.stride)}, "
            f"padding={_show(self.padding)}, dilation={_show(self.dilation)}, "
            f"ceil_mode={self.ceil_mode}"
        )


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling layer; arguments as in :func:`pooling_lab.functional.max_pool2d`.

    Parameters
    ----------
    kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`~pooling_lab.functional.max_pool2d`.
    return_indices : bool, default False
        Make ``forward`` return ``(output, indices)``.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab import MaxPool2d
    >>> pool = MaxPool2d(kernel_size=2, stride=1)
    >>> pool(np.array([[[1., 5., 2.], [0., 3., 4.]]]))
    array([[[5., 5.]]])
    >>> pool.backward(np.ones((1, 1, 2)))  # the 5 won both windows: gradients add
    array([[[0., 2., 0.],
            [0., 0., 0.]]])
    """

    _n = 2


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling layer; arguments as in :func:`pooling_lab.functional.max_pool1d`.

    Parameters
    ----------
    kernel_size, stride, padding, dilation, return_indices, ceil_mode
        As in :class:`MaxPool2d`, with one value per parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab import MaxPool1d
    >>> MaxPool1d(2)(np.array([[3., 1., 2., 4.]]))
    array([[3., 4.]])
    """

    _n = 1


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling layer; arguments as in :func:`pooling_lab.functional.max_pool3d`.

    Parameters
    ----------
    kernel_size, stride, padding, dilation, return_indices, ceil_mode
        As in :class:`MaxPool2d`, with three values (depth, height, width) per parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab import MaxPool3d
    >>> pool = MaxPool3d(2)
    >>> pool(np.arange(8.).reshape(1, 2, 2, 2))
    array([[[[7.]]]])
    >>> pool.backward(np.ones((1, 1, 1, 1)))[0, 1]
    array([[0., 0.],
           [0., 1.]])
    """

    _n = 3


class _AvgPoolNd(Layer):
    _n = 0
    _fn = None
    _backward = None

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        name = type(self).__name__
        make_window(name, self._n, kernel_size, stride, padding, 1, ceil_mode)
        _check_divisor(name, divisor_override)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override
        self.input_shape = None
        self._channels_last = False

    def _args(self):
        return (
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Average-pool ``x``; only its shape is needed later."""
        out = self._fn(x, *self._args())
        self.input_shape = np.shape(x)
        # The gradient takes the input's layout (channels-last or not), as in PyTorch.
        self._channels_last = _channels_last.is_channels_last(x, self._n)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Spread each output gradient evenly over its window."""
        shape = self._saved("input_shape")
        g = np.asarray(grad_output)
        if not self._channels_last and g.ndim in (self._n + 1, self._n + 2):
            if _channels_last.is_channels_last(g, self._n):
                g = np.ascontiguousarray(g)  # the gradient takes the input's layout
        return _avg_pool_backward(
            f"avg_pool{self._n}d_backward",
            self._n,
            g,
            shape,
            *self._args(),
            channels_last=self._channels_last,
        )

    def extra_repr(self) -> str:
        divisor = self.divisor_override
        return (
            f"kernel_size={_show(self.kernel_size)}, stride={_show(self.stride)}, "
            f"padding={_show(self.padding)}, ceil_mode={self.ceil_mode}, "
            f"count_include_pad={self.count_include_pad}"
            + ("" if divisor is None else f", divisor_override={divisor}")
        )


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling layer; arguments as in :func:`pooling_lab.functional.avg_pool2d`.

    Parameters
    ----------
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in :func:`~pooling_lab.functional.avg_pool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab import AvgPool2d
    >>> pool = AvgPool2d(2)
    >>> pool(np.array([[[1., 2.], [3., 6.]]]))
    array([[[3.]]])
    >>> pool.backward(np.array([[[1.]]]))
    array([[[0.25, 0.25],
            [0.25, 0.25]]])
    """

    _n = 2
    _fn = staticmethod(F.avg_pool2d)
    _backward = staticmethod(F.avg_pool2d_backward)


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling layer; arguments as in :func:`pooling_lab.functional.avg_pool1d`.

    Parameters
    ----------
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in :class:`AvgPool2d`, with one value per parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab import AvgPool1d
    >>> AvgPool1d(2)(np.array([[1., 3., 5., 7.]]))
    array([[2., 6.]])
    """

    _n = 1
    _fn = staticmethod(F.avg_pool1d)
    _backward = staticmethod(F.avg_pool1d_backward)


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling layer; arguments as in :func:`pooling_lab.functional.avg_pool3d`.

    Parameters
    ----------
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in :class:`AvgPool2d`, with three values per parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab import AvgPool3d
    >>> pool = AvgPool3d(2)
    >>> pool(np.arange(8.).reshape(1, 2, 2, 2))
    array([[[[3.5]]]])
    >>> pool.backward(np.array([[[[8.]]]]))[0, 0]
    array([[1., 1.],
           [1., 1.]])
    """

    _n = 3
    _fn = staticmethod(F.avg_pool3d)
    _backward = staticmethod(F.avg_pool3d_backward)
