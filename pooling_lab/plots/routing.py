"""Max pooling's backward drawn: gradients routed to winners, and the tie rules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import functional as F
from ._base import ROUTED, _fmt, _pyplot
from .grids import matrix, pooling_windows


def gradient_routing(
    x: np.ndarray,
    grad_output: np.ndarray,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    *,
    axes=None,
):
    """Show max pooling's backward pass next to the input values that decide it.

    Three panels: the input with its windows outlined and each window's winner filled (the
    values decide who wins), the gradient arriving at the pooled output, and the gradient at
    the input, with an arrow from each output gradient to the winner it lands on.

    Parameters
    ----------
    x : ndarray
        A single (H, W) input plane.
    grad_output : ndarray
        The gradient arriving at the pooled output, shaped like the output plane.
    kernel_size, stride, padding
        As in :func:`pooling_lab.functional.max_pool2d`.
    axes : three matplotlib Axes, optional
        Where to draw; a new 1x3 figure if omitted.

    Returns
    -------
    tuple of three matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> panels = gradient_routing(np.arange(16.).reshape(4, 4), np.ones((2, 2)), 2)
    >>> [ax.get_title() for ax in panels]
    ['input values (winners filled)', 'gradient at the output', 'gradient at the input']
    """
    plt = _pyplot()
    x = np.asarray(x, dtype=float)
    g = np.asarray(grad_output, dtype=float)
    out, idx = F.max_pool2d(x[None], kernel_size, stride, padding, return_indices=True)
    if g.shape != out.shape[1:]:
        raise ValueError(
            f"gradient_routing: grad_output must have the output's shape {out.shape[1:]}, "
            f"but got {g.shape}"
        )
    grad_x = F.max_pool2d_backward(g[None], idx, (1,) + x.shape)[0]
    from matplotlib.patches import ConnectionPatch

    if axes is None:
        _, axes = plt.subplots(
            1,
            3,
            figsize=(12, 4),
            layout="constrained",
            gridspec_kw={"width_ratios": [x.shape[1], out.shape[-1], x.shape[1]]},
        )
    values, left, right = axes
    pooling_windows(
        x, kernel_size, stride, padding, ax=values, title="input values (winners filled)"
    )
    matrix(g, left, title="gradient at the output", cmap="Blues")
    matrix(
        grad_x, right, title="gradient at the input", highlight=grad_x != 0, highlight_color=ROUTED
    )
    for (oh, ow), target in np.ndenumerate(idx[0]):
        h, w = divmod(int(target), x.shape[1])
        arrow = ConnectionPatch(
            xyA=(ow, oh),
            coordsA=left.transData,
            xyB=(w, h),
            coordsB=right.transData,
            arrowstyle="-|>",
            color=ROUTED,
            alpha=0.6,
            linewidth=1.2,
            shrinkA=8,
            shrinkB=8,
            mutation_scale=14,  # arrowheads big enough to see
        )
        right.add_artist(arrow)
    # The arrows are drawn with the right panel, after the middle one, so they would cross the
    # middle panel's numbers: draw those numbers again on top (figure texts come after every
    # panel), on white labels.
    label = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"}
    for (oh, ow), value in np.ndenumerate(g):
        left.figure.text(ow, oh, _fmt(value), transform=left.transData, ha="center",
                         va="center", fontsize=11, bbox=label)  # fmt: skip
    return values, left, right


def tie_rules(window: np.ndarray, grad: float = 1.0, axes=None):
    """Draw one tied window and the gradient each element receives under each tie rule.

    Parameters
    ----------
    window : ndarray
        One (kh, kw) window whose maximum is (typically) tied.
    grad : float, default 1.0
        The gradient arriving at the window's output.
    axes : list of matplotlib Axes, optional
        Where to draw, one more than there are tie rules; a new figure if omitted.

    Returns
    -------
    list of matplotlib Axes
        The window, then one panel per rule, titled with the rule and its total.

    Examples
    --------
    >>> import numpy as np
    >>> panels = tie_rules(np.array([[2., 2.], [1., 2.]]))
    >>> [ax.get_title() for ax in panels]
    ['window (tied maxima filled)', 'first: total 1', 'split: total 1', 'all: total 3']
    """
    from ..ties import RULES, max_pool2d_backward_ties

    plt = _pyplot()
    window = np.asarray(window, dtype=float)
    if window.ndim != 2:
        raise ValueError(f"tie_rules: window must be one (kh, kw) array, but got {window.shape}")
    if axes is None:
        _, axes = plt.subplots(
            1, 1 + len(RULES), figsize=(3 * (1 + len(RULES)), 3), layout="constrained"
        )
    axes = list(axes)
    matrix(window, axes[0], title="window (tied maxima filled)", highlight=window == window.max())
    for ax, rule in zip(axes[1:], RULES):
        share = max_pool2d_backward_ties(
            window[None], np.full((1, 1, 1), float(grad)), window.shape, rule=rule
        )[0]
        matrix(
            share,
            ax,
            title=f"{rule}: total {_fmt(share.sum())}",
            highlight=share != 0,
            highlight_color=ROUTED,
        )
    return axes
