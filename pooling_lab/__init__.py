"""pooling_lab: pooling layers with explicit forward and backward passes, in NumPy.

The companion package of the *pooling-lab* course on how backpropagation flows through pooling.

- :mod:`pooling_lab.functional`: ``max_pool2d``, ``avg_pool2d``, ``max_unpool2d`` and their 1-D
  and 3-D twins, with PyTorch's names, defaults and semantics, plus their ``*_backward``
  functions.
- :mod:`pooling_lab.layers`: the same as layers with ``forward``/``backward``, re-exported here.
- :mod:`pooling_lab.reference`: slow plain-loop implementations, the readable specification.
- :mod:`pooling_lab.gradcheck`: finite-difference checks of any backward pass.
- :mod:`pooling_lab.ties`: max pooling's backward under other rules for tied maxima.
- :mod:`pooling_lab.exercises`: checkers for the course's exercises.
- :mod:`pooling_lab.plots`: the course's figures (matplotlib is imported only to draw).
- :mod:`pooling_lab.generalized`: Lp, log-sum-exp and global pooling;
  :mod:`pooling_lab.adaptive`: adaptive max and average pooling with PyTorch's bins;
  :mod:`pooling_lab.fractional`: fractional max pooling with pseudo-random windows.
- :mod:`pooling_lab.conv`, :mod:`pooling_lab.training`: ``Conv2d``, ``Linear``, ``Flatten``,
  ``Sequential``, ``CrossEntropyLoss`` and ``SGD``, enough to train a small CNN.
- :mod:`pooling_lab.models`: the course's small CNN for the digits and its training recipe.
- :mod:`pooling_lab.datasets`: the 8x8 digits shipped with scikit-learn, split for training.

Examples
--------
>>> import numpy as np
>>> import pooling_lab as pl
>>> pl.MaxPool2d(2)(np.arange(16.).reshape(1, 1, 4, 4))
array([[[[ 5.,  7.],
         [13., 15.]]]])
"""

from . import (
    adaptive,
    conv,
    datasets,
    exercises,
    fractional,
    functional,
    generalized,
    gradcheck,
    models,
    plots,
    reference,
    ties,
    training,
)
from .adaptive import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
)
from .conv import Conv2d
from .fractional import FractionalMaxPool2d, FractionalMaxPool3d
from .generalized import (
    GlobalAvgPool2d,
    GlobalMaxPool2d,
    LPPool1d,
    LPPool2d,
    LPPool3d,
    LSEPool1d,
    LSEPool2d,
)
from .layers import (
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    Layer,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
    ReLU,
)
from .training import SGD, CrossEntropyLoss, Flatten, Linear, Sequential

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "Conv2d",
    "CrossEntropyLoss",
    "Flatten",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
    "GlobalAvgPool2d",
    "GlobalMaxPool2d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "LSEPool1d",
    "LSEPool2d",
    "Layer",
    "Linear",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "ReLU",
    "Sequential",
    "adaptive",
    "conv",
    "datasets",
    "exercises",
    "fractional",
    "functional",
    "generalized",
    "gradcheck",
    "models",
    "plots",
    "reference",
    "ties",
    "training",
]
