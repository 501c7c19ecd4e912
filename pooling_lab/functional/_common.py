"""What the functional modules share: the argument type and the folding of leading dimensions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

IntOrTuple = int | Sequence[int]


def fold(x: np.ndarray, n: int) -> np.ndarray:
    """View (…, *spatial) as (B, *spatial): the core sees one batch of planes (or volumes)."""
    return x.reshape((-1,) + x.shape[-n:])
