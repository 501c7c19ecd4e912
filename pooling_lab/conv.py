"""2-D convolution (PyTorch's cross-correlation) as a layer, by im2col.

Forward lays every receptive field of an image out as one column of a matrix (``im2col``), so
the convolution is one matrix product per image with the weights. Backward is two more
products and ``col2im``, which adds each column back onto the positions it was copied from: one
strided ``+=`` per kernel offset. That addition is the same "sum over every output an input
touched" as in pooling.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._params import as_tuple
from .layers import Layer
from .training import check_sizes, default_parameters

__all__ = ["Conv2d", "col2im", "im2col"]


def im2col(xp: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Receptive fields of a padded (N, C, Hp, Wp) array as columns: (N, C*kh*kw, Ho*Wo).

    Column ``o`` of image ``n`` holds the field of output position ``o`` (row-major), with
    the channel varying slowest, then the kernel row, then the kernel column: the order of a
    weight tensor (out, C, kh, kw) flattened to (out, C*kh*kw), so the convolution of image
    ``n`` is ``weight_matrix @ cols[n]``.

    Examples
    --------
    >>> import numpy as np
    >>> im2col(np.arange(9.).reshape(1, 1, 3, 3), (2, 2), (1, 1))
    array([[[0., 1., 3., 4.],
            [1., 2., 4., 5.],
            [3., 4., 6., 7.],
            [4., 5., 7., 8.]]])
    """
    n, c, hp, wp = xp.shape
    (kh, kw), (sh, sw) = kernel, stride
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    s = xp.strides
    # A read-only view, no copy: fields[n, c, i, j] is kernel offset (i, j) at every output.
    fields = as_strided(
        xp, (n, c, kh, kw, ho, wo), (s[0], s[1], s[2], s[3], s[2] * sh, s[3] * sw), writeable=False
    )
    return fields.reshape(n, c * kh * kw, ho * wo)


def col2im(
    cols: np.ndarray,
    padded_shape: tuple[int, ...],
    kernel: tuple[int, int],
    stride: tuple[int, int],
) -> np.ndarray:
    """Inverse bookkeeping of :func:`im2col`: add every column entry back where it came from.

    Examples
    --------
    >>> import numpy as np
    >>> col2im(np.ones((1, 4, 4)), (1, 1, 3, 3), (2, 2), (1, 1))[0, 0]  # overlaps add up
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    n, c, hp, wp = padded_shape
    (kh, kw), (sh, sw) = kernel, stride
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    fields = cols.reshape(n, c, kh, kw, ho, wo)
    result = np.zeros(padded_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            # one kernel offset never hits a position twice, so += is a true sum
            result[:, :, i : i + sh * ho : sh, j : j + sw * wo : sw] += fields[:, :, i, j]
    return result


class Conv2d(Layer):
    """2-D convolution layer with PyTorch's parameter layout, defaults and initialisation.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size : int or tuple of 2 ints
        Height and width of the filters.
    stride : int or tuple of 2 ints, default 1
        Step between receptive fields.
    padding : int or tuple of 2 ints, default 0
        Zeros added on each side.
    bias : bool, default True
        Whether to add a learned bias per output channel.
    seed : int, default 0
        Seed of the initialisation: weights and bias uniform in
        ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]``, PyTorch's default.
    dtype : dtype, default float32
        Dtype of the parameters.

    Attributes
    ----------
    params : dict
        ``"weight"`` of shape (out_channels, in_channels, kh, kw) and ``"bias"``.
    grads : dict
        Their gradients, filled by :meth:`backward`.

    Examples
    --------
    >>> import numpy as np
    >>> conv = Conv2d(1, 2, 3, padding=1)
    >>> y = conv(np.ones((4, 1, 8, 8), dtype=np.float32))
    >>> y.shape, conv.params["weight"].shape
    ((4, 2, 8, 8), (2, 1, 3, 3))
    >>> conv.backward(np.ones_like(y)).shape
    (4, 1, 8, 8)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        bias: bool = True,
        seed: int = 0,
        dtype=np.float32,
    ) -> None:
        name = "Conv2d"
        check_sizes(name, in_channels=in_channels, out_channels=out_channels)
        self.kernel = as_tuple(name, "kernel_size", kernel_size, 2)
        self.stride = as_tuple(name, "stride", stride, 2)
        self.padding = as_tuple(name, "padding", padding, 2)
        if min(self.kernel) < 1 or min(self.stride) < 1:
            raise ValueError(
                f"{name}: kernel_size and stride must be greater than zero, but got "
                f"kernel_size={self.kernel}, stride={self.stride}"
            )
        if min(self.padding) < 0:
            raise ValueError(f"{name}: padding must be non-negative, but got {self.padding}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        fan_in = self.in_channels * self.kernel[0] * self.kernel[1]
        shape = (self.out_channels, self.in_channels) + self.kernel
        self.params = default_parameters(shape, fan_in, bias, seed, dtype)
        self.grads = {}
        self._cols = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Convolve ``x`` (N, C, H, W); keep its im2col matrix for backward."""
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2d: input must have shape (N, {self.in_channels}, H, W), but "
                f"got shape {x.shape}"
            )
        if x.dtype.kind != "f":
            raise TypeError(f"Conv2d: input must have a floating-point dtype, got {x.dtype}")
        (ph, pw), weight = self.padding, self.params["weight"]
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
        if xp.shape[2] < self.kernel[0] or xp.shape[3] < self.kernel[1]:
            raise ValueError(
                f"Conv2d: the padded input {xp.shape[2:]} is smaller than the kernel {self.kernel}"
            )
        cols = im2col(xp, self.kernel, self.stride)
        n, ho = x.shape[0], (xp.shape[2] - self.kernel[0]) // self.stride[0] + 1
        wo = (xp.shape[3] - self.kernel[1]) // self.stride[1] + 1
        # (out, C*kh*kw) @ (N, C*kh*kw, Ho*Wo): one product per image, already channel-first
        out = weight.reshape(self.out_channels, -1).astype(cols.dtype, copy=False) @ cols
        if "bias" in self.params:
            out += self.params["bias"][:, None]
        self._cols, self._shapes = cols, (x.shape, xp.shape, ho, wo)
        return out.reshape(n, self.out_channels, ho, wo)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Fill ``grads`` and return the input gradient."""
        cols = self._saved("_cols")
        in_shape, padded_shape, ho, wo = self._shapes
        g = np.asarray(grad_output)
        expected = (in_shape[0], self.out_channels, ho, wo)
        if g.shape != expected:
            raise ValueError(
                f"Conv2d.backward: grad_output must have shape {expected}, but got {g.shape}"
            )
        weight = self.params["weight"]
        g = g.reshape(g.shape[0], self.out_channels, -1)
        # dL/dW sums, over images and positions, grad_output times the receptive field
        grad_w = np.tensordot(g, cols, axes=([0, 2], [0, 2]))
        self.grads["weight"] = grad_w.reshape(weight.shape).astype(weight.dtype)
        if "bias" in self.params:
            self.grads["bias"] = g.sum(axis=(0, 2)).astype(weight.dtype)
        grad_cols = weight.reshape(self.out_channels, -1).T.astype(g.dtype, copy=False) @ g
        grad_padded = col2im(grad_cols, padded_shape, self.kernel, self.stride)
        (ph, pw), (_, _, h, w) = self.padding, in_shape
        return grad_padded[:, :, ph : ph + h, pw : pw + w].copy()

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel}, "
            f"stride={self.stride}, padding={self.padding}"
        )
