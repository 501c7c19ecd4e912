"""Diagrams: a small network unit by unit, and Jacobians."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._base import WINNER, _axes, _pyplot
from .grids import matrix


def network(
    columns: Sequence,
    edges: Sequence = (),
    ax=None,
    *,
    title: str | None = None,
    spacing: float = 3.2,
):
    """Draw a small network unit by unit: each unit's forward value above, its gradient below.

    The style of a circuit diagram: every unit is a box whose upper line is what the forward
    pass computed and whose lower line (red) is what the backward pass sent it.

    Parameters
    ----------
    columns : list
        One ``(heading, units)`` pair per layer, left to right; ``units`` lists
        ``(name, value_text, gradient_text)`` triples, drawn top to bottom.
    edges : list, optional
        ``(source, target, kind)`` or ``(source, target, kind, label)`` tuples. ``source`` and
        ``target`` are ``(column, unit)`` pairs. ``kind`` is ``"plain"`` (a weight),
        ``"plain2"`` (a second, shared weight, drawn dash-dotted in blue), ``"won"``
        (a window's winner), ``"lost"`` (a window element that lost) or ``"tied"`` (a tied
        maximum that the tie rule passed over).
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    title : str, optional
        Axes title.
    spacing : float, default 3.2
        Horizontal distance between columns.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> ax = network([("in", [("x", "2", "1")]), ("out", [("y", "4", "1")])],
    ...              [((0, 0), (1, 0), "plain", "w = 2")])
    >>> len(ax.patches)  # one box per unit
    2
    """
    plt = _pyplot()
    styles = {
        "plain": dict(color="0.55", linewidth=1.0),
        "plain2": dict(color="#1f4e79", linewidth=1.0, linestyle="-."),
        "won": dict(color=WINNER, linewidth=2.8),
        "lost": dict(color="0.75", linewidth=1.0, linestyle="--"),
        "tied": dict(color=WINNER, linewidth=1.4, linestyle=":"),
    }
    tallest = max(len(units) for _, units in columns)
    if ax is None:
        _, ax = plt.subplots(
            figsize=(spacing * len(columns) * 1.15, 0.95 * tallest + 1.2), layout="constrained"
        )
    width, height = 2.0, 0.74

    positions = {}
    for col, (heading, units) in enumerate(columns):
        n = len(units)
        for row, (name, value, gradient) in enumerate(units):
            cx, cy = col * spacing, (n - 1) / 2 - row
            positions[col, row] = (cx, cy)
            ax.add_patch(
                plt.Rectangle(
                    (cx - width / 2, cy - height / 2),
                    width,
                    height,
                    facecolor="white",
                    edgecolor="0.3",
                    linewidth=1.0,
                    zorder=2,
                )
            )
            ax.text(
                cx - width / 2 + 0.08,
                cy,
                name,
                ha="left",
                va="center",
                fontsize=9,
                fontweight="bold",
                zorder=3,
            )
            ax.text(cx + 0.2, cy + 0.15, value, ha="center", va="center", fontsize=8.5, zorder=3)
            ax.text(
                cx + 0.2,
                cy - 0.17,
                gradient,
                ha="center",
                va="center",
                fontsize=8.5,
                color="#c0392b",
                zorder=3,
            )
        ax.text(
            col * spacing, (tallest - 1) / 2 + 0.85, heading, ha="center", va="bottom", fontsize=10
        )
    for edge in edges:
        (source, target, kind), label = edge[:3], (edge[3] if len(edge) > 3 else None)
        if kind not in styles:
            raise ValueError(f"network: edge kind must be one of {sorted(styles)}, got {kind!r}")
        (x0, y0), (x1, y1) = positions[source], positions[target]
        x0, x1 = x0 + width / 2, x1 - width / 2
        ax.plot([x0, x1], [y0, y1], zorder=1, **styles[kind])
        if label:
            # At mid-line, so that labels of edges that meet at one unit do not bunch up there.
            ax.text(
                x0 + 0.5 * (x1 - x0),
                y0 + 0.5 * (y1 - y0) + 0.1,
                label,
                fontsize=8,
                ha="center",
                va="bottom",
                color="0.25",
                bbox=dict(facecolor="white", edgecolor="none", pad=0.5),
            )
    ax.set_xlim(-width / 2 - 0.2, (len(columns) - 1) * spacing + width / 2 + 0.2)
    ax.set_ylim(-(tallest - 1) / 2 - 0.6, (tallest - 1) / 2 + 1.3)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=11)
    return ax


def jacobian(
    J: np.ndarray, ax=None, *, title: str = "Jacobian", input_shape=None, output_shape=None
):
    """Draw a Jacobian: one row per output, one column per input; zero cells left blank.

    Parameters
    ----------
    J : ndarray
        2-D array of shape (number of outputs, number of inputs).
    ax : matplotlib Axes, optional
        Where to draw.
    title : str, default "Jacobian"
        Axes title.
    input_shape, output_shape : tuple of int, optional
        If given, ticks are labelled with multi-indices such as ``(0, 1)``.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> ax = jacobian(np.array([[0., 1.], [1., 0.]]))
    >>> ax.get_xlabel()
    'input element'
    """
    J = np.asarray(J, dtype=float)
    if J.ndim != 2:
        raise ValueError(f"jacobian: J must be 2-D (outputs x inputs), but got shape {J.shape}")
    ax = _axes(ax, size=(max(4, J.shape[1] * 0.35), max(2.5, J.shape[0] * 0.35)))
    ax = matrix(
        np.where(J == 0, np.nan, J), ax, title=title, cmap="coolwarm", annotate=J.size <= 256
    )
    for text in ax.texts:  # blank, not "nan", where the Jacobian is zero
        if text.get_text() == "nan":
            text.set_text("")
    ax.set_xlabel("input element")
    ax.set_ylabel("output element")
    if input_shape is not None:
        ax.set_xticklabels([str(i) for i in np.ndindex(*input_shape)], rotation=90)
    if output_shape is not None:
        ax.set_yticklabels([str(i) for i in np.ndindex(*output_shape)])
    return ax
