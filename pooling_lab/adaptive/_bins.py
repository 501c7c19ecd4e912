"""PyTorch's adaptive bins and the checking of ``output_size``, shared by max and average."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

SizeArg = int | None | Sequence[int | None]


def adaptive_bins(length: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's bins: ``[(start, stop), ...]`` of ``out`` bins over ``length`` inputs.

    Examples
    --------
    >>> adaptive_bins(5, 3)
    [(0, 2), (1, 4), (3, 5)]
    """
    return [((i * length) // out, -((-(i + 1) * length) // out)) for i in range(out)]


def _sizes(fn: str, output_size: SizeArg, spatial: tuple[int, ...]) -> tuple[int, ...]:
    """Normalise ``output_size``: an int or a tuple; None keeps that input size, as in PyTorch."""
    n = len(spatial)
    items = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
    if len(items) == 1:
        items = items * n
    if len(items) != n:
        raise ValueError(
            f"{fn}: output_size must be an int or a tuple of {n} ints, but got {output_size!r}"
        )
    sizes = []
    for item, size in zip(items, spatial):
        if item is None:
            sizes.append(size)
            continue
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise TypeError(
                f"{fn}: output_size must be an int or a tuple of {n} ints (or None), but got "
                f"{output_size!r}"
            )
        if item < 1:
            raise ValueError(f"{fn}: output_size must be positive, but got {output_size!r}")
        sizes.append(int(item))
    return tuple(sizes)
