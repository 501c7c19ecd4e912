"""Figures for the course: pooling windows and their winners, gradient routing, Jacobians.

matplotlib is imported only when a figure is drawn, so ``import pooling_lab`` needs NumPy alone
(install matplotlib with the ``book`` extra). Every function draws on a given ``ax`` (or makes
a new figure) and returns what it drew on, so a notebook can add titles and captions.

The figures live in small modules by subject, all re-exported here: ``grids`` (a matrix,
pooling windows, fractional windows), ``routing`` (gradient routing, tie rules), ``phases``
(stride phases) and ``diagrams`` (a network, a Jacobian).

The animations (``animate``, ``animate_window``) and the pooling explorer (``explorer``) need
neither matplotlib nor a network: each is one self-contained HTML string, an SVG whose frames a
small script steps through, with buttons, a slider and a caption read out to screen readers.
"""

# Also re-exported: the helpers and colours that notebooks and tests use (e.g. ``plots._fmt``).
from ._base import ROUTED as ROUTED
from ._base import WINNER as WINNER
from ._base import _axes as _axes
from ._base import _fmt as _fmt
from ._base import _pyplot as _pyplot
from ._svg import Animation
from .animate import animate_backward, animate_forward
from .animate_window import animate_family, animate_ties
from .diagrams import jacobian, network
from .explorer import PRESETS as PRESETS
from .explorer import StaticExplorer, explorer, explorer_state
from .grids import _nested_inset as _nested_inset
from .grids import _outline_colours as _outline_colours
from .grids import _winner_mask as _winner_mask
from .grids import fractional_windows, matrix, pooling_windows
from .phases import PHASE_COLORS as PHASE_COLORS
from .phases import flat_slice, stride_phases
from .routing import gradient_routing, tie_rules

__all__ = [
    "Animation",
    "StaticExplorer",
    "animate_backward",
    "animate_family",
    "animate_forward",
    "animate_ties",
    "explorer",
    "explorer_state",
    "flat_slice",
    "fractional_windows",
    "gradient_routing",
    "jacobian",
    "matrix",
    "network",
    "pooling_windows",
    "stride_phases",
    "tie_rules",
]
