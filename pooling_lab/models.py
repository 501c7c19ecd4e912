"""The course's small CNN for the 8x8 digits, and the recipe that trains it.

One definition serves the chapter that trains it and ``benchmarks/bench_cnn.py`` that times it,
so the figures the chapter states are about the network it shows.
"""

from __future__ import annotations

from .conv import Conv2d
from .layers import AvgPool2d, Layer, MaxPool2d, ReLU
from .training import Flatten, Linear, Sequential

__all__ = ["DIGITS_RECIPE", "DOWNSAMPLERS", "digits_cnn"]

#: How the chapter trains :func:`digits_cnn` (keyword arguments of
#: :func:`pooling_lab.training.fit`), with random one-pixel shifts as augmentation. The learning
#: rate suits max pooling; ``benchmarks/bench_cnn.py`` tunes it for each way of halving.
DIGITS_RECIPE = {"epochs": 40, "batch_size": 64, "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3}

#: The ways :func:`digits_cnn` can halve the feature maps.
DOWNSAMPLERS = ("max", "avg", "conv")


def _halve(downsample: str, channels: int, seed: int) -> list[Layer]:
    if downsample == "max":
        return [MaxPool2d(2)]
    if downsample == "avg":
        return [AvgPool2d(2)]
    # a learned 3x3 convolution with stride 2 and its ReLU, as in the all-convolutional net
    return [Conv2d(channels, channels, 3, stride=2, padding=1, seed=seed), ReLU()]


def digits_cnn(
    downsample: str = "max", channels: tuple[int, int] = (48, 96), seed: int = 0
) -> Sequential:
    """conv 3x3 -> ReLU -> halve -> conv 3x3 -> ReLU -> halve -> flatten -> linear, for 8x8 digits.

    Parameters
    ----------
    downsample : {"max", "avg", "conv"}, default "max"
        How each "halve" step works: 2x2 max pooling, 2x2 average pooling, or a 3x3
        convolution with stride 2 followed by a ReLU.
    channels : tuple of 2 ints, default (48, 96)
        Output channels of the two 3x3 convolutions.
    seed : int, default 0
        Seeds the initialisation of every layer.

    Returns
    -------
    Sequential
        Maps (N, 1, 8, 8) images to (N, 10) logits.

    Raises
    ------
    ValueError
        If ``downsample`` is not one of :data:`DOWNSAMPLERS`.

    Examples
    --------
    >>> import numpy as np
    >>> model = digits_cnn(channels=(4, 8))
    >>> model(np.zeros((2, 1, 8, 8), dtype=np.float32)).shape
    (2, 10)

    The strided convolutions have weights of their own, so the "conv" network has about three
    times the parameters of the pooling ones:

    >>> def count(net):
    ...     return sum(layer.params[name].size for layer, name in net.parameters())
    >>> [count(digits_cnn(downsample)) for downsample in DOWNSAMPLERS]
    [45898, 45898, 149722]
    """
    if downsample not in DOWNSAMPLERS:
        raise ValueError(
            f"digits_cnn: downsample must be one of {DOWNSAMPLERS}, but got {downsample!r}"
        )
    c1, c2 = channels
    return Sequential(
        Conv2d(1, c1, 3, padding=1, seed=seed),
        ReLU(),
        *_halve(downsample, c1, seed + 1),
        Conv2d(c1, c2, 3, padding=1, seed=seed + 2),
        ReLU(),
        *_halve(downsample, c2, seed + 3),
        Flatten(),
        Linear(c2 * 2 * 2, 10, seed=seed + 4),
    )
