"""Max unpooling layers and ReLU, re-exported by :mod:`pooling_lab.layers`.

They live apart from the pooling layers only to keep each module short.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import functional as F
from ._core import max_unpool_backward
from ._layer import Layer, _show
from ._params import make_window

IntOrTuple = int | Sequence[int]


class _MaxUnpoolNd(Layer):
    _n = 0
    _fn = None

    def __init__(
        self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0
    ) -> None:
        make_window(type(self).__name__, self._n, kernel_size, stride, padding, check_padding=False)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.indices = None

    def forward(
        self, x: np.ndarray, indices: np.ndarray, output_size: Sequence[int] | None = None
    ) -> np.ndarray:
        """Scatter ``x`` to ``indices`` in zero planes; remember the indices for backward."""
        out = self._fn(x, indices, self.kernel_size, self.stride, self.padding, output_size)
        self.indices, self.output_shape = np.asarray(indices), out.shape
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Gather ``grad_output`` at the saved indices (the gradient with respect to ``x``)."""
        indices = self._saved("indices")
        g = np.asarray(grad_output)
        if g.dtype.kind != "f":
            raise TypeError(
                f"{type(self).__name__}.backward: grad_output must have a "
                f"floating-point dtype, but got dtype {g.dtype}"
            )
        if g.shape != self.output_shape:
            raise ValueError(
                f"{type(self).__name__}.backward: grad_output must have the "
                f"unpooled shape {self.output_shape}, but got shape {g.shape}"
            )
        n = self._n
        batch = g.reshape((-1,) + g.shape[-n:])
        flat = indices.reshape((-1,) + indices.shape[-n:])
        return max_unpool_backward(batch, flat).reshape(indices.shape)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={_show(self.kernel_size)}, stride={_show(self.stride)}, "
            f"padding={_show(self.padding)}"
        )


class MaxUnpool2d(_MaxUnpoolNd):
    """Layer form of :func:`pooling_lab.functional.max_unpool2d`.

    Parameters
    ----------
    kernel_size, stride, padding
        The parameters of the max pooling being undone.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab import MaxPool2d, MaxUnpool2d
    >>> pool, unpool = MaxPool2d(2, return_indices=True), MaxUnpool2d(2)
    >>> out, idx = pool(np.array([[[1., 2.], [4., 3.]]]))
    >>> unpool(out, idx)
    array([[[0., 0.],
            [4., 0.]]])
    """

    _n = 2
    _fn = staticmethod(F.max_unpool2d)


class MaxUnpool1d(_MaxUnpoolNd):
    """Layer form of :func:`pooling_lab.functional.max_unpool1d`.

    Parameters
    ----------
    kernel_size, stride, padding
        The parameters of the max pooling being undone.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab import MaxUnpool1d
    >>> MaxUnpool1d(2)(np.array([[5.]]), np.array([[1]]))
    array([[0., 5.]])
    """

    _n = 1
    _fn = staticmethod(F.max_unpool1d)


class MaxUnpool3d(_MaxUnpoolNd):
    """Layer form of :func:`pooling_lab.functional.max_unpool3d`.

    Parameters
    ----------
    kernel_size, stride, padding
        The parameters of the max pooling being undone.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab import MaxUnpool3d
    >>> unpool = MaxUnpool3d(2)
    >>> unpool(np.array([[[[5.]]]]), np.array([[[[7]]]]))[0, 1]
    array([[0., 0.],
           [0., 5.]])
    >>> unpool.backward(np.arange(8.).reshape(1, 2, 2, 2))  # the gradient at index 7
    array([[[[7.]]]])
    """

    _n = 3
    _fn = staticmethod(F.max_unpool3d)


class ReLU(Layer):
    """``max(0, x)`` elementwise: max pooling over the pair {0, x}.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab import ReLU
    >>> relu = ReLU()
    >>> relu(np.array([-1., 2.]))
    array([0., 2.])
    >>> relu.backward(np.array([7., 7.]))
    array([0., 7.])
    """

    def __init__(self) -> None:
        self.input = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply ReLU and keep the input: its sign decides where the gradient passes."""
        out = F.relu(x)
        self.input = np.array(x)  # a copy: a later change to x must not change the gradient
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Pass ``grad_output`` where the input was positive; block it elsewhere."""
        return F.relu_backward(grad_output, self._saved("input"))
