"""Figures for the course: pooling windows and their winners, gradient routing, Jacobians.

matplotlib is imported only when a figure is drawn, so ``import pooling_lab`` needs NumPy alone
(install matplotlib with the ``book`` extra). Every function draws on a given ``ax`` (or makes
a new figure) and returns what it drew on, so a notebook can add titles and captions.

The figures live in small modules by subject, all re-exported here: ``grids`` (a matrix,
pooling windows, fractional windows), ``routing`` (gradient routing, tie rules), ``phases``
(stride phases) and ``diagrams`` (a network, a Jacobian).
"""

# Also re-exported: the helpers and colours that notebooks and tests use (e.g. ``plots._fmt``).
from ._base import ROUTED as ROUTED
from ._base import WINNER as WINNER
from ._base import _axes as _axes
from ._base import _fmt as _fmt
from ._base import _pyplot as _pyplot
from .diagrams import jacobian, network
from .grids import _nested_inset as _nested_inset
from .grids import _outline_colours as _outline_colours
from .grids import _winner_mask as _winner_mask
from .grids import fractional_windows, matrix, pooling_windows
from .phases import PHASE_COLORS as PHASE_COLORS
from .phases import stride_phases
from .routing import gradient_routing, tie_rules

__all__ = [
    "fractional_windows",
    "gradient_routing",
    "jacobian",
    "matrix",
    "network",
    "pooling_windows",
    "stride_phases",
    "tie_rules",
]
