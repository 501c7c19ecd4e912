"""What every figure shares: the lazy pyplot import, a default Axes, number labels, colours."""

from __future__ import annotations

import numpy as np

WINNER = "#f28e2b"  # orange: an input that won a window
ROUTED = "#4e79a7"  # blue: gradient that arrived somewhere


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "pooling_lab.plots needs matplotlib: pip install matplotlib "
            "(or pip install -e '.[book]')"
        ) from err
    return plt


def _axes(ax, size=(4, 4)):
    if ax is None:
        _, ax = _pyplot().subplots(figsize=size, layout="constrained")
    return ax


def _fmt(value) -> str:
    if np.isnan(value):
        return "nan"
    if np.isinf(value):
        return "-inf" if value < 0 else "inf"
    if value == 0:  # also -0.0, which f"{-0.0:g}" would print as "-0"
        return "0"
    return f"{value:g}" if float(value).is_integer() else f"{value:.2g}"
