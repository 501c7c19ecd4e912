"""Pooling beyond max: Lp pooling, log-sum-exp (smooth maximum) pooling, global pooling.

- ``lp_pool1d/2d`` follow PyTorch's ``LPPool``: ``(sum over the window of x**p) ** (1/p)``
  (a ceil_mode edge window's sum scaled by ``area / count``, as PyTorch's average-times-area
  does), computed scaled by the window's largest ``|x|`` so that large p does not overflow.
  p = 1 is a sum pool; as p grows it approaches max pooling on non-negative inputs. Negative
  inputs are accepted only for p = 1 and even integer p (see :func:`lp_pool2d`).
- ``lse_pool1d/2d``: ``T * log(sum(exp(x / T)))`` per window, a smooth maximum whose gradient
  is the softmax of the window at temperature ``T``; as ``T -> 0`` it tends to max pooling
  and its gradient to max pooling's one-hot routing. Padding is implicit -inf (it adds
  ``exp(-inf) = 0``). With ``mean=True`` the sum becomes a mean (log-mean-exp,
  ``T * log(mean(exp(x / T)))``, the form of Pinheiro & Collobert): the same gradient, but
  the output runs from the window's maximum (``T -> 0``) to its average (``T -> inf``)
  instead of growing by up to ``T log |window|``. Not in PyTorch.
- ``global_max_pool2d`` / ``global_avg_pool2d``: one window covering the whole plane, output
  (N, C, 1, 1), like PyTorch's adaptive pooling to size 1.

Each function has a ``*_backward`` that needs the forward's input (these gradients depend on
the values, not only on positions), and a layer with ``forward``/``backward``.
"""

from __future__ import annotations

from ._global import GlobalAvgPool2d, GlobalMaxPool2d, global_avg_pool2d, global_max_pool2d
from ._lp import (
    LPPool1d,
    LPPool2d,
    LPPool3d,
    lp_pool1d,
    lp_pool1d_backward,
    lp_pool2d,
    lp_pool2d_backward,
    lp_pool3d,
    lp_pool3d_backward,
)
from ._lse import (
    LSEPool1d,
    LSEPool2d,
    lse_pool1d,
    lse_pool1d_backward,
    lse_pool2d,
    lse_pool2d_backward,
)

__all__ = [
    "GlobalAvgPool2d",
    "GlobalMaxPool2d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "LSEPool1d",
    "LSEPool2d",
    "global_avg_pool2d",
    "global_max_pool2d",
    "lp_pool1d",
    "lp_pool1d_backward",
    "lp_pool2d",
    "lp_pool2d_backward",
    "lp_pool3d",
    "lp_pool3d_backward",
    "lse_pool1d",
    "lse_pool1d_backward",
    "lse_pool2d",
    "lse_pool2d_backward",
]
