"""Checkers for the course's coding exercises: they name the misconception your code shows.

Each ``check_*`` function calls your function on a series of small cases, each aimed at one
mistake people often make, and returns a :class:`Report`. When an answer is wrong, the checker
compares it with what each known mistake would produce and names the first one that matches,
with a hint. A correct solution gets a clear pass.

The pooling exercises work on a single 2-D plane ``x`` of shape (H, W), so that loops stay
simple; ``stride`` defaults to ``kernel_size`` as in PyTorch.

Examples
--------
>>> import numpy as np
>>> from pooling_lab import exercises
>>> def relu_backward(x, grad_output):
...     return grad_output * (x > 0)
>>> exercises.check_relu_backward(relu_backward)
PASS check_relu_backward: all 4 cases agree.
"""

from ._checking import MISCONCEPTIONS, Report
from .backward import check_max_pool_backward, check_split_ties_backward
from .derivatives import check_dense_backward, check_max2_backward, check_relu_backward
from .family import (
    check_adaptive_avg_pool_backward,
    check_avg_pool_backward,
    check_lse_pool_backward,
)
from .fast import check_avg_pool_offsets, check_max_pool_special
from .forward import check_max_pool_forward, check_output_size
from .fractional import check_fractional_starts
from .indices import check_max_pool_indices
from .lp import check_lp_pool_backward
from .network import check_conv_backward
from .worked import check_pool_deltas

__all__ = [
    "MISCONCEPTIONS",
    "Report",
    "check_adaptive_avg_pool_backward",
    "check_avg_pool_backward",
    "check_avg_pool_offsets",
    "check_conv_backward",
    "check_dense_backward",
    "check_fractional_starts",
    "check_lp_pool_backward",
    "check_lse_pool_backward",
    "check_max2_backward",
    "check_max_pool_backward",
    "check_max_pool_forward",
    "check_max_pool_indices",
    "check_max_pool_special",
    "check_output_size",
    "check_pool_deltas",
    "check_relu_backward",
    "check_split_ties_backward",
]
