"""Grids of numbers: a matrix, max pooling's windows and winners, fractional windows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import functional as F
from .._params import make_window
from ._base import WINNER, _axes, _fmt, _pyplot


def matrix(
    values: np.ndarray,
    ax=None,
    *,
    title: str | None = None,
    annotate: bool = True,
    cmap: str = "Greys",
    highlight: np.ndarray | None = None,
    highlight_color: str = WINNER,
    highlight_hatch: str | None = None,
    vmax: float | None = None,
    vmin: float | None = None,
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
    highlight_hatch : str, optional
        Hatch pattern of highlighted cells, which also get a bold black edge, so that colour is
        not their only cue; by default ``"//"`` for ``WINNER`` and ``".."`` for other colours.
    vmax : float, optional
        The top of the colour scale (the darkest shade of ``"Greys"``). By default the largest
        finite ``abs(values)``, so each grid is shaded on its own scale; give panels that are
        compared side by side the same ``vmax``.
    vmin : float, optional
        The bottom of the colour scale, ``-vmax`` by default; 0 for values that cannot be
        negative (ReLU outputs, counts), so that with a sequential colour map zero is blank.

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
    if vmax is None:
        finite = values[np.isfinite(values)]
        scale = np.abs(finite).max() if finite.size else 1.0
    elif not vmax > 0:
        raise ValueError(f"matrix: vmax must be positive, but got {vmax}")
    else:
        scale = vmax
    high = scale or 1.0  # an all-zero grid still needs a range
    low = -high if vmin is None else vmin
    if not low < high:
        raise ValueError(f"matrix: vmin must be below vmax, but got vmin={low}, vmax={high}")
    shown = np.where(np.isfinite(values), values, 0.0)
    ax.imshow(shown, cmap=cmap, vmin=low, vmax=high, alpha=0.35)
    if highlight is not None:
        overlay = np.zeros(values.shape + (4,))
        from matplotlib.colors import to_rgba

        overlay[np.asarray(highlight, dtype=bool)] = to_rgba(highlight_color, 0.85)
        ax.imshow(overlay)
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Rectangle

        if highlight_hatch is None:
            highlight_hatch = "//" if highlight_color == WINNER else ".."
        cells = [
            Rectangle((c - 0.5, r - 0.5), 1, 1)
            for r, c in zip(*np.nonzero(np.asarray(highlight, dtype=bool)))
        ]
        # A collection, not patches: ax.patches stays the drawing's own rectangles.
        ax.add_collection(
            PatchCollection(
                cells,
                facecolor="none",
                edgecolor="black",
                linewidth=1.8,
                hatch=highlight_hatch,
                gid="highlight",
            )
        )
    rows, cols = values.shape
    ax.set_xticks(np.arange(cols))
    ax.set_yticks(np.arange(rows))
    ax.set_xticks(np.arange(-0.5, cols), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.8)
    ax.tick_params(which="both", length=0, labelsize=8)
    if annotate:
        size = 11 if max(rows, cols) <= 8 else 7
        marked = np.zeros(values.shape, bool) if highlight is None else np.asarray(highlight, bool)
        # On a hatched cell the value sits on a small white label, so the hatch never crosses it.
        label = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"}
        for (r, c), v in np.ndenumerate(values):
            box = label if marked[r, c] else None
            ax.text(c, r, _fmt(v), ha="center", va="center", fontsize=size, bbox=box)
    if title:
        ax.set_title(title, fontsize=11)
    return ax


LINESTYLES = ("-", "--", ":", "-.")


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
    """Draw a 2-D input with max pooling's windows outlined and their winners filled.

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
        Flat numbers of the windows to outline and whose winners to fill (default: all).

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
    n_out = out.shape[-2] * out.shape[-1]
    chosen = range(n_out) if windows is None else windows
    # Only the drawn windows' winners: a filled cell with no outline around it explains nothing.
    ax = matrix(x, ax, title=title, highlight=_winner_mask(x, idx.ravel()[list(chosen)]))
    colours = _outline_colours(plt)
    # How many windows fit across one window's extent, per dimension (see _nested_inset).
    reach = tuple(
        -(-((k - 1) * d + 1) // s) for k, d, s in zip(win.kernel, win.dilation, win.stride)
    )
    for number in chosen:
        oh, ow = divmod(number, out.shape[-1])
        colour = colours[number % len(colours)]
        style = LINESTYLES[number % len(LINESTYLES)]  # neighbours differ in more than colour
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
                        linestyle=style,
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


def fractional_windows(
    x: np.ndarray,
    kernel_size: int | Sequence[int],
    output_size: int | Sequence[int],
    sample: Sequence[float],
    ax=None,
    *,
    title: str | None = None,
    windows: Sequence[int] | None = None,
    winners: str = "all",
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
        Flat numbers of the windows to outline (default: all).
    winners : {"all", "outlined"}, default "all"
        Whose winners are filled: every window's, or only the outlined windows', so that each
        filled cell can be matched with a window drawn around it.

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
    if winners not in ("all", "outlined"):
        raise ValueError(
            f"fractional_windows: winners must be 'all' or 'outlined', but got {winners!r}"
        )
    from ..fractional import fractional_max_pool2d, fractional_starts

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
    corners = [(r, c) for r in rows for c in cols]
    drawn = range(len(corners)) if windows is None else windows
    filled = idx.ravel() if winners == "all" else idx.ravel()[list(drawn)]
    ax = matrix(x, ax, title=title, highlight=_winner_mask(x, filled))
    colours = _outline_colours(plt)
    for number in drawn:
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
                linestyle=LINESTYLES[number % len(LINESTYLES)],
                linewidth=2,
            )
        )
    return ax
