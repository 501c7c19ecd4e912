"""Figures for the course: pooling windows and their winners, gradient routing, Jacobians.

matplotlib is imported only when a figure is drawn, so ``import pooling_lab`` needs NumPy alone
(install matplotlib with the ``book`` extra). Every function draws on a given ``ax`` (or makes
a new figure) and returns what it drew on, so a notebook can add titles and captions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import functional as F
from ._params import make_window

__all__ = [
    "fractional_windows",
    "gradient_routing",
    "jacobian",
    "matrix",
    "network",
    "pooling_windows",
    "tie_rules",
]

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


def matrix(
    values: np.ndarray,
    ax=None,
    *,
    title: str | None = None,
    annotate: bool = True,
    cmap: str = "Greys",
    highlight: np.ndarray | None = None,
    highlight_color: str = WINNER,
):
    """Draw a 2-D array as a grid of cells, each labelled with its value.

    Parameters
    ----------
    values : ndarray
        2-D array.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    title : str, optional
        Axes title.
    annotate : bool, default True
        Write each value in its cell.
    cmap : str, default "Greys"
        Colour map for the cell shading.
    highlight : ndarray of bool, optional
        Cells to fill with ``highlight_color`` instead of the colour map.
    highlight_color : str
        Fill colour of highlighted cells.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> ax = matrix(np.eye(2), title="identity")
    >>> ax.get_title()
    'identity'
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"matrix: values must be 2-D, but got shape {values.shape}")
    ax = _axes(ax)
    finite = values[np.isfinite(values)]
    scale = np.abs(finite).max() if finite.size else 1.0
    shown = np.where(np.isfinite(values), values, 0.0)
    ax.imshow(shown, cmap=cmap, vmin=-scale or -1, vmax=scale or 1, alpha=0.35)
    if highlight is not None:
        overlay = np.zeros(values.shape + (4,))
        from matplotlib.colors import to_rgba

        overlay[np.asarray(highlight, dtype=bool)] = to_rgba(highlight_color, 0.85)
        ax.imshow(overlay)
    rows, cols = values.shape
    ax.set_xticks(np.arange(cols))
    ax.set_yticks(np.arange(rows))
    ax.set_xticks(np.arange(-0.5, cols), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.8)
    ax.tick_params(which="both", length=0, labelsize=8)
    if annotate:
        size = 11 if max(rows, cols) <= 8 else 7
        for (r, c), v in np.ndenumerate(values):
            ax.text(c, r, _fmt(v), ha="center", va="center", fontsize=size)
    if title:
        ax.set_title(title, fontsize=11)
    return ax


def _winner_mask(x2d, indices):
    mask = np.zeros(x2d.size, dtype=bool)
    mask[np.asarray(indices).ravel()] = True
    return mask.reshape(x2d.shape)


def _outline_colours(plt) -> list:
    """Colours for window outlines: tab10 without its orange, which fills the winners."""
    return [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 1]


def _nested_inset(oh: int, ow: int, reach: tuple[int, int]) -> float:
    """How far inside its cells to draw window (oh, ow)'s outline, so overlapping ones differ.

    Windows (oh, ow) and (oh', ow') can share a cell only if |oh - oh'| < reach[0] and
    |ow - ow'| < reach[1]. Then (oh mod reach[0], ow mod reach[1]) differs between them, so each
    gets its own inset, and on a shared cell their outlines are nested, never drawn on one another.
    """
    rows, cols = reach
    step = min(0.05, 0.36 / max(rows * cols - 1, 1))
    return 0.06 + step * ((oh % rows) * cols + ow % cols)


def pooling_windows(
    x: np.ndarray,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    ax=None,
    *,
    title: str | None = None,
    windows: Sequence[int] | None = None,
):
    """Draw a 2-D input with max pooling's windows outlined and each window's winner filled.

    Parameters
    ----------
    x : ndarray
        A single (H, W) plane.
    kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`pooling_lab.functional.max_pool2d`.
    ax : matplotlib Axes, optional
        Where to draw.
    title : str, optional
        Axes title.
    windows : sequence of int, optional
        Flat numbers of the windows to outline (default: all).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> ax = pooling_windows(np.arange(16.).reshape(4, 4), 2)
    >>> len(ax.patches)  # one rectangle per window cell
    16
    """
    plt = _pyplot()
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"pooling_windows: x must be one (H, W) plane, but got shape {x.shape}")
    win = make_window("pooling_windows", 2, kernel_size, stride, padding, dilation, ceil_mode)
    out, idx = F.max_pool2d(
        x[None], kernel_size, stride, padding, dilation, ceil_mode, return_indices=True
    )
    ax = matrix(x, ax, title=title, highlight=_winner_mask(x, idx))
    colours = _outline_colours(plt)
    n_out = out.shape[-2] * out.shape[-1]
    chosen = range(n_out) if windows is None else windows
    # How many windows fit across one window's extent, per dimension (see _nested_inset).
    reach = tuple(
        -(-((k - 1) * d + 1) // s) for k, d, s in zip(win.kernel, win.dilation, win.stride)
    )
    for number in chosen:
        oh, ow = divmod(number, out.shape[-1])
        colour = colours[number % len(colours)]
        inset = _nested_inset(oh, ow, reach)
        for kh in range(win.kernel[0]):
            for kw in range(win.kernel[1]):
                h = oh * win.stride[0] - win.padding[0] + kh * win.dilation[0]
                w = ow * win.stride[1] - win.padding[1] + kw * win.dilation[1]
                ax.add_patch(
                    plt.Rectangle(
                        (w - 0.5 + inset, h - 0.5 + inset),
                        1 - 2 * inset,
                        1 - 2 * inset,
                        fill=False,
                        edgecolor=colour,
                        linewidth=2,
                        clip_on=False,
                        gid=f"window {number}",
                    )
                )
    pad_h, pad_w = win.padding
    # The padding ring is part of the picture: max pooling pads with -inf, which never wins.
    for h in range(-pad_h, x.shape[0] + pad_h):
        for w in range(-pad_w, x.shape[1] + pad_w):
            if not (0 <= h < x.shape[0] and 0 <= w < x.shape[1]):
                ax.text(w, h, _fmt(-np.inf), ha="center", va="center", color="0.55", fontsize=8)
    ax.set_xlim(-0.5 - pad_w, x.shape[1] - 0.5 + pad_w)
    ax.set_ylim(x.shape[0] - 0.5 + pad_h, -0.5 - pad_h)
    return ax


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
        )
        right.add_artist(arrow)
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
    from .ties import RULES, max_pool2d_backward_ties

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


PHASE_COLORS = ("#a0cbe8", "#ffbe7d", "#8cd17d", "#f1ce63", "#d4a6c8", "#9d7660", "#bab0ac")


def stride_phases(
    size: int = 7, kernel: int = 3, stride: int = 2, window=(0, 1), axes=None, neighbour=True
):
    """Draw an input split into its stride phases, and where one window's offsets land.

    Left: a ``size`` x ``size`` input, each element coloured by its phase (row mod ``stride``,
    column mod ``stride``), with the window of output ``window`` outlined and its kernel
    offsets numbered in row-major order. Right: the ``stride * stride`` phases drawn apart, in
    the same colours; each offset of the window is found in one phase, and the offsets that
    share a phase form a block with no gaps, the same block for every window up to a shift.

    Parameters
    ----------
    size, kernel, stride : int
        Input side, kernel side and stride (no padding, no dilation).
    window : (int, int)
        Output position whose window is outlined.
    axes : pair of matplotlib Axes, optional
        Where to draw; a new figure with two panels by default.
    neighbour : bool
        Also outline, dashed, the next window to the right (when it fits in the input): its
        blocks in the phases are the same, shifted by one column.

    Returns
    -------
    pair of matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> left, right = stride_phases(size=5, kernel=2, stride=2)
    >>> sorted(t.get_text() for t in right.texts if t.get_text().isdigit())  # one per offset
    ['0', '1', '2', '3']
    """
    if stride * stride > len(PHASE_COLORS):
        raise ValueError(f"stride_phases: stride must be at most 2, but got {stride}")
    if not 1 <= kernel <= size:
        raise ValueError(f"stride_phases: kernel must lie in [1, size], but got {kernel}")
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    if axes is None:
        _, axes = plt.subplots(
            1, 2, figsize=(9, 4), layout="constrained", gridspec_kw={"width_ratios": [1, 1.25]}
        )
    left, right = axes
    a, b = window
    top, first = a * stride, b * stride  # the window's first input element
    offsets = {(top + i, first + j): i * kernel + j for i in range(kernel) for j in range(kernel)}

    def cell(ax, x, y, phase, label=None, bold=False):
        ax.add_patch(
            Rectangle((x, y), 1, 1, facecolor=PHASE_COLORS[phase], edgecolor="white", lw=1.5)
        )
        if label is not None:
            ax.text(
                x + 0.5,
                y + 0.5,
                label,
                ha="center",
                va="center",
                fontsize=9,
                fontweight="bold" if bold else "normal",
            )

    for r in range(size):
        for c in range(size):
            number = offsets.get((r, c))
            cell(left, c, r, (r % stride) * stride + c % stride, number, bold=True)
    left.add_patch(Rectangle((first, top), kernel, kernel, fill=False, edgecolor="black", lw=2.5))
    shifts = [(0, 2.5, "solid")]
    if neighbour and first + stride + kernel <= size:
        shifts.append((1, 1.5, "dashed"))
        left.add_patch(
            Rectangle(
                (first + stride, top),
                kernel,
                kernel,
                fill=False,
                edgecolor="black",
                lw=1.5,
                ls="--",
            )
        )
    left.set_title(f"input {size}x{size}, coloured by phase (stride {stride})", fontsize=10)

    side = -(-size // stride)  # elements of a phase along each dimension
    gap = 1
    for pr in range(stride):
        for pc in range(stride):
            phase = pr * stride + pc
            x0, y0 = pc * (side + gap), pr * (side + gap)
            for r in range(side):
                for c in range(side):
                    src = (r * stride + pr, c * stride + pc)
                    if src[0] < size and src[1] < size:
                        cell(right, x0 + c, y0 + r, phase, offsets.get(src), bold=True)
            right.text(x0 + side / 2, y0 - 0.3, f"phase ({pr}, {pc})", ha="center", fontsize=9)
            # the window's offsets in this phase: one block, starting at the window's position
            rows = [i for i in range(kernel) if i % stride == pr]
            cols = [j for j in range(kernel) if j % stride == pc]
            for shift, lw, ls in shifts if rows and cols else []:
                right.add_patch(
                    Rectangle(
                        (x0 + b + shift + cols[0] // stride, y0 + a + rows[0] // stride),
                        len(cols),
                        len(rows),
                        fill=False,
                        edgecolor="black",
                        lw=lw,
                        ls=ls,
                    )
                )
    right.set_title("the phases: each offset of a window lies in one", fontsize=10, pad=22)
    for ax in (left, right):
        ax.set_aspect("equal")
        ax.autoscale_view()
        ax.invert_yaxis()
        ax.axis("off")
    return left, right


__all__ += ["stride_phases"]


def fractional_windows(
    x: np.ndarray,
    kernel_size: int | Sequence[int],
    output_size: int | Sequence[int],
    sample: Sequence[float],
    ax=None,
    *,
    title: str | None = None,
    windows: Sequence[int] | None = None,
):
    """Draw a 2-D input with fractional max pooling's pseudo-random windows and their winners.

    Parameters
    ----------
    x : ndarray
        A single (H, W) plane.
    kernel_size, output_size : int or pair of int
        As in :func:`pooling_lab.fractional.fractional_max_pool2d`.
    sample : pair of float
        The plane's two samples in [0, 1), in PyTorch's order: the one for W, then for H.
    ax : matplotlib Axes, optional
        Where to draw.
    title : str, optional
        Axes title.
    windows : sequence of int, optional
        Flat numbers of the windows to outline (default: all); every winner is filled.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> ax = fractional_windows(np.arange(49.).reshape(7, 7), 2, 4, (0.3, 0.8))
    >>> len(ax.patches)  # one outline per window
    16
    >>> len(fractional_windows(np.arange(49.).reshape(7, 7), 2, 4, (0.3, 0.8), windows=[0]).patches)
    1
    """
    from .fractional import fractional_max_pool2d, fractional_starts

    plt = _pyplot()
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"fractional_windows: x must be one (H, W) plane, but got {x.shape}")
    samples = np.asarray(sample, dtype=float).reshape(1, 1, 2)
    out, idx = fractional_max_pool2d(
        x[None], kernel_size, output_size, return_indices=True, random_samples=samples
    )
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    rows = fractional_starts(samples[0, 0, 1], x.shape[0], out.shape[-2], kh)
    cols = fractional_starts(samples[0, 0, 0], x.shape[1], out.shape[-1], kw)
    ax = matrix(x, ax, title=title, highlight=_winner_mask(x, idx))
    colours = _outline_colours(plt)
    corners = [(r, c) for r in rows for c in cols]
    for number in range(len(corners)) if windows is None else windows:
        r, c = corners[number]
        # starts advance by at least 1, so windows kh rows or kw columns apart never overlap
        inset = _nested_inset(*divmod(number, len(cols)), (kh, kw))
        ax.add_patch(
            plt.Rectangle(
                (c - 0.5 + inset, r - 0.5 + inset),
                kw - 2 * inset,
                kh - 2 * inset,
                fill=False,
                edgecolor=colours[number % len(colours)],
                linewidth=2,
            )
        )
    return ax
