"""Fractional max pooling (Graham, 2014): non-integer reduction ratios by pseudo-random windows.

Ordinary pooling shrinks each dimension by an integer factor (the stride). Fractional max
pooling picks the output size freely, for instance 0.7 times the input, and places ``out``
windows of ``kernel_size`` elements over the ``size`` inputs so that their starts grow by
``s_bar = (size - kernel_size) / (out - 1)`` on average, in integer steps of ``floor(s_bar)``
or ``ceil(s_bar)``. (Graham's own alpha is the ratio ``size / out``; the course writes
``s_bar`` for the mean step, which is what PyTorch computes.) One number ``u`` in [0, 1) per
plane and dimension decides which steps are short and which are long, as in PyTorch:

    start[i] = floor((i + u) * s_bar) - floor(u * s_bar)   for i < out - 1,
    start[out - 1] = size - kernel_size.

PyTorch computes this in the input's floating-point type, and so does this module, so that the
same samples give the same windows, outputs and indices. The samples are ordered as PyTorch
orders them: (W, H) for 2-D input (width first) and (D, H, W) for 3-D input.

Within a window the rules of max pooling hold: the first maximum in row-major order wins a
tie, a NaN wins (the last one if several). The backward pass routes each output gradient to
its window's winner, the same scatter-add as max pooling's, summing where windows overlap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._fractional import _fractional, _output_size, _samples, _starts
from ._layer import Layer
from ._params import as_tuple, check_array
from .functional._max import _max_pool_backward

__all__ = [
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
    "fractional_max_pool2d",
    "fractional_max_pool2d_backward",
    "fractional_max_pool3d",
    "fractional_max_pool3d_backward",
    "fractional_starts",
]

IntOrTuple = int | Sequence[int]


def fractional_starts(
    sample: float, input_size: int, output_size: int, kernel_size: int, dtype=np.float64
) -> np.ndarray:
    """First input position of each of the ``output_size`` windows along one dimension.

    Parameters
    ----------
    sample : float
        The pseudo-random number ``u`` in [0, 1) of this plane and dimension.
    input_size, output_size, kernel_size : int
        Sizes along the dimension; ``output_size + kernel_size - 1 <= input_size``.
    dtype : floating dtype, default float64
        The type the arithmetic is done in: PyTorch uses the input's dtype.

    Returns
    -------
    ndarray of int64
        The starts; consecutive starts differ by ``floor(s_bar)`` or ``ceil(s_bar)``, and the
        last window ends at the last input.

    Examples
    --------
    >>> fractional_starts(0.3, 10, 7, 2)  # s_bar = 8 / 6: steps of 1 and 2
    array([0, 1, 3, 4, 5, 7, 8]...)
    """
    u = np.asarray(sample, dtype=dtype).reshape(1, 1)
    return _starts(u, input_size, output_size, kernel_size)[0]


def fractional_max_pool2d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    output_size: IntOrTuple | None = None,
    output_ratio: float | Sequence[float] | None = None,
    return_indices: bool = False,
    random_samples: np.ndarray | None = None,
    *,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """2-D fractional max pooling, PyTorch's ``fractional_max_pool2d``.

    Parameters
    ----------
    input : ndarray
        (N, C, H, W) or (C, H, W); float, or int (pooled exactly).
    kernel_size : int or tuple of 2 ints
        The window's (height, width).
    output_size : int or tuple of 2 ints, optional
        The output's (H', W'). Give this or ``output_ratio``.
    output_ratio : float or tuple of 2 floats, optional
        Output size as a fraction of the input size, each in (0, 1); the size is
        ``int(H * ratio)``, as in PyTorch.
    return_indices : bool, default False
        Also return the flat position (``h * W + w``) of each maximum in its plane.
    random_samples : ndarray, optional
        PyTorch's ``_random_samples``: shape (N, C, 2) (N = 1 for 3-D input), values in
        [0, 1); column 0 places the windows along W, column 1 along H. Cast to the input's
        dtype, in which the window starts are computed. Drawn from ``rng`` if omitted.
    rng : numpy.random.Generator or int, optional
        Where to draw the samples from when ``random_samples`` is omitted (a seed is accepted).

    Returns
    -------
    output : ndarray
        The window maxima, of the input's dtype.
    indices : ndarray of int64
        Only if ``return_indices``.

    Raises
    ------
    ValueError
        If the input is not 3-D or 4-D, both or neither of ``output_size`` and
        ``output_ratio`` are given, a ratio is outside (0, 1), an output size is below 1,
        ``output_size + kernel_size - 1`` exceeds the input size, or the samples have the
        wrong shape or lie outside [0, 1).
    TypeError
        If an argument has the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(25.).reshape(1, 1, 5, 5)
    >>> u = np.array([[[0.5, 0.5]]])
    >>> out, idx = fractional_max_pool2d(x, 2, output_size=3, return_indices=True,
    ...                                  random_samples=u)
    >>> out  # s_bar = 1.5: windows start at rows (and columns) 0, 2, 3
    array([[[[ 6.,  8.,  9.],
             [16., 18., 19.],
             [21., 23., 24.]]]])
    """
    out, idx = _fractional(
        "fractional_max_pool2d",
        2,
        input,
        kernel_size,
        output_size,
        output_ratio,
        random_samples,
        rng,
    )
    return (out, idx) if return_indices else out


def fractional_max_pool3d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    output_size: IntOrTuple | None = None,
    output_ratio: float | Sequence[float] | None = None,
    return_indices: bool = False,
    random_samples: np.ndarray | None = None,
    *,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """3-D fractional max pooling, PyTorch's ``fractional_max_pool3d``.

    Parameters
    ----------
    input : ndarray
        (N, C, D, H, W) or (C, D, H, W); float, or int.
    kernel_size, output_size, output_ratio, return_indices
        As in :func:`fractional_max_pool2d`, with three values (depth, height, width). As in
        torch 2.13, ``output_size + kernel_size - 1`` must be less than the input size.
    random_samples : ndarray, optional
        Shape (N, C, 3), values in [0, 1); columns 0, 1, 2 place the windows along D, H, W
        (note: in this order, unlike the 2-D case).
    rng : numpy.random.Generator or int, optional
        Where to draw the samples from when ``random_samples`` is omitted.

    Returns
    -------
    output : ndarray
    indices : ndarray of int64
        Only if ``return_indices``: flat positions ``d * H * W + h * W + w``.

    Raises
    ------
    ValueError, TypeError
        As in :func:`fractional_max_pool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(64.).reshape(1, 4, 4, 4)
    >>> fractional_max_pool3d(x, 2, output_ratio=0.5, random_samples=np.zeros((1, 1, 3)))
    array([[[[21., 23.],
             [29., 31.]],
    <BLANKLINE>
            [[53., 55.],
             [61., 63.]]]])
    """
    out, idx = _fractional(
        "fractional_max_pool3d",
        3,
        input,
        kernel_size,
        output_size,
        output_ratio,
        random_samples,
        rng,
    )
    return (out, idx) if return_indices else out


def fractional_max_pool2d_backward(
    grad_output: np.ndarray, indices: np.ndarray, input_shape: Sequence[int]
) -> np.ndarray:
    """Input gradient of :func:`fractional_max_pool2d`: each gradient goes to its winner.

    Parameters
    ----------
    grad_output : ndarray
        Gradient with respect to the output, float.
    indices : ndarray of int
        The indices from ``fractional_max_pool2d(..., return_indices=True)``.
    input_shape : tuple of int
        Shape of the forward's input.

    Returns
    -------
    ndarray
        Zero except at the winners; a winner of several (overlapping) windows gets the sum.

    Examples
    --------
    >>> import numpy as np
    >>> g = fractional_max_pool2d_backward(np.ones((1, 1, 2)), np.array([[[1, 1]]]), (1, 1, 3))
    >>> g
    array([[[0., 2., 0.]]])
    """
    return _max_pool_backward(
        "fractional_max_pool2d_backward", 2, grad_output, indices, input_shape
    )


def fractional_max_pool3d_backward(
    grad_output: np.ndarray, indices: np.ndarray, input_shape: Sequence[int]
) -> np.ndarray:
    """Input gradient of :func:`fractional_max_pool3d`.

    Parameters
    ----------
    grad_output, indices, input_shape
        As in :func:`fractional_max_pool2d_backward`, for 4-D or 5-D shapes.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> fractional_max_pool3d_backward(np.array([[[[5.]]]]), np.array([[[[3]]]]), (1, 1, 2, 2))
    array([[[[0., 0.],
             [0., 5.]]]])
    """
    return _max_pool_backward(
        "fractional_max_pool3d_backward", 3, grad_output, indices, input_shape
    )


class _FractionalMaxPoolNd(Layer):
    _n = 0

    def __init__(
        self,
        kernel_size: IntOrTuple,
        output_size: IntOrTuple | None = None,
        output_ratio: float | Sequence[float] | None = None,
        return_indices: bool = False,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        name = type(self).__name__
        kernel = as_tuple(name, "kernel_size", kernel_size, self._n)
        if min(kernel) < 1:
            raise ValueError(f"{name}: kernel_size must be greater than zero, but got {kernel}")
        # Check the size arguments now (on a huge input, so only their own rules can fail).
        _output_size(name, self._n, (10**9,) * self._n, kernel, output_size, output_ratio)
        self.kernel_size = kernel_size
        self.output_size, self.output_ratio = output_size, output_ratio
        self.return_indices = return_indices
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.random_samples = self._indices = None

    def forward(self, x: np.ndarray):
        """Pool ``x`` with fresh samples from ``rng`` (kept in ``random_samples``)."""
        fn, n = f"fractional_max_pool{self._n}d", self._n
        arr = check_array(fn, "input", x, n, integers=True)
        self.random_samples = u = _samples(fn, n, arr, None, self.rng)
        args = (self.kernel_size, self.output_size, self.output_ratio, u, None)
        out, self._indices = _fractional(fn, n, arr, *args)
        self._shape = arr.shape
        return (out, self._indices) if self.return_indices else out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Route each gradient to its window's winner (a scatter-add)."""
        indices = self._saved("_indices")
        name = f"{type(self).__name__}.backward"
        return _max_pool_backward(name, self._n, grad_output, indices, self._shape)

    def extra_repr(self) -> str:
        size = "output_size" if self.output_size is not None else "output_ratio"
        value = self.output_size if self.output_size is not None else self.output_ratio
        return f"kernel_size={self.kernel_size!r}, {size}={value!r}"


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Layer form of :func:`fractional_max_pool2d`; each forward draws new samples.

    Parameters
    ----------
    kernel_size, output_size, output_ratio, return_indices
        As in :func:`fractional_max_pool2d`.
    rng : numpy.random.Generator or int, optional
        The source of the samples (a seed makes the layer reproducible). The samples of the
        last forward are kept in the attribute ``random_samples``.

    Examples
    --------
    >>> import numpy as np
    >>> pool = FractionalMaxPool2d(2, output_ratio=0.7, rng=0)
    >>> x = np.arange(100.).reshape(1, 1, 10, 10)
    >>> pool(x).shape
    (1, 1, 7, 7)
    >>> pool.random_samples.shape
    (1, 1, 2)
    >>> grad = pool.backward(np.ones((1, 1, 7, 7)))
    >>> float(grad.sum())  # every output's gradient lands on one winner
    49.0
    """

    _n = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Layer form of :func:`fractional_max_pool3d`; each forward draws new samples.

    Parameters
    ----------
    kernel_size, output_size, output_ratio, return_indices
        As in :class:`FractionalMaxPool2d`, with three values per size parameter.
    rng : numpy.random.Generator or int, optional
        The source of the samples; those of the last forward are kept in ``random_samples``.

    Examples
    --------
    >>> import numpy as np
    >>> pool = FractionalMaxPool3d(2, output_size=(2, 3, 3), rng=np.random.default_rng(1))
    >>> out = pool(np.random.default_rng(2).standard_normal((2, 4, 5, 5)))
    >>> out.shape, pool.random_samples.shape
    ((2, 2, 3, 3), (1, 2, 3))
    """

    _n = 3
