"""Adaptive pooling: the caller fixes the output size, and each output gets a bin of inputs.

PyTorch's bin rule, per dimension: with ``L`` inputs and ``n`` outputs, output ``i`` pools the
inputs ``floor(i * L / n)`` up to (not including) ``ceil((i + 1) * L / n)``. Bins may differ
in size by one and may overlap by one element when ``n`` does not divide ``L``. Adaptive max
pooling keeps PyTorch's index rules (the first maximum in row-major order wins a tie; a NaN
wins, the last one if several); its backward is the same scatter-add as max pooling's.

Both work one dimension at a time. For max pooling that is exact, winners included: the first
maximum of a 2-D bin in row-major order is the first maximum of the first row that holds the
bin's maximum (and in 3-D, of the first plane that holds it). For average pooling each
dimension is a product with a 0/1 bin matrix.

The code lives in private modules (``_bins``, ``_max``, ``_avg``, ``_layers``) to keep each
short; everything public is imported here.
"""

from ._avg import (
    adaptive_avg_pool1d,
    adaptive_avg_pool1d_backward,
    adaptive_avg_pool2d,
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool3d,
    adaptive_avg_pool3d_backward,
)
from ._bins import adaptive_bins
from ._layers import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
)
from ._max import (
    adaptive_max_pool1d,
    adaptive_max_pool1d_backward,
    adaptive_max_pool2d,
    adaptive_max_pool2d_backward,
    adaptive_max_pool3d,
    adaptive_max_pool3d_backward,
)

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool1d_backward",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward",
    "adaptive_avg_pool3d",
    "adaptive_avg_pool3d_backward",
    "adaptive_bins",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_backward",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_backward",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_backward",
]
