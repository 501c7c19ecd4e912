"""Pooling functions with the names, defaults and semantics of ``torch.nn.functional``.

Each public function is a thin wrapper: it checks its arguments, folds the leading (batch,
channel) dimensions into one, and calls the N-dimensional core in ``pooling_lab._core``, so the
1-D, 2-D and 3-D versions differ only in how many trailing dimensions they pool.
Forward functions never modify their input and return arrays of the input's dtype.

Memory layout, as PyTorch's ``memory_format``: an input whose memory is channels-last (an
(N, C, H, W) array laid out as (N, H, W, C), such as
``x.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)``; the same for 1-D and 3-D) is pooled
in that layout, without a copy, and the outputs and indices keep it; the backward functions
return a channels-last gradient for a channels-last ``grad_output``. The results are
bit-identical to those of the ordinary layout. What counts as channels-last is in
``pooling_lab._channels_last``.

The code lives in private modules, one per kind of pooling (``_max``, ``_avg`` and
``_avg_backward``, ``_unpool``, ``_relu``), so that each stays short; everything public is
imported here.
"""

from __future__ import annotations

from ._avg import avg_pool1d, avg_pool2d, avg_pool3d
from ._avg_backward import avg_pool1d_backward, avg_pool2d_backward, avg_pool3d_backward
from ._common import IntOrTuple  # noqa: F401  (the type of size arguments)
from ._max import (
    _max_pool_result,  # noqa: F401  (the layers keep its record of the winners)
    max_pool1d,
    max_pool1d_backward,
    max_pool2d,
    max_pool2d_backward,
    max_pool3d,
    max_pool3d_backward,
)
from ._relu import relu, relu_backward
from ._unpool import max_unpool1d, max_unpool2d, max_unpool3d

__all__ = [
    "avg_pool1d",
    "avg_pool1d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "avg_pool3d",
    "avg_pool3d_backward",
    "max_pool1d",
    "max_pool1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_pool3d",
    "max_pool3d_backward",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "relu",
    "relu_backward",
]
