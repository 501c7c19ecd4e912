"""The stride phases behind the fast path (the chapter on making it fast)."""

from __future__ import annotations

from ._base import _pyplot

# Hatches tell the phases apart without colour (white edges, so faint on the fills).
PHASE_HATCHES = ("", "//", "..", "\\\\", "xx", "++", "oo")
PHASE_COLORS = ("#a0cbe8", "#ffbe7d", "#8cd17d", "#f1ce63", "#d4a6c8", "#9d7660", "#bab0ac")


def _box(ax, x, y, label, face="white", hatch="", bold=False, edge="white", lw=1.5):
    """One unit cell at (x, y), filled and hatched, with ``label`` centred in it (none if None)."""
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((x, y), 1, 1, facecolor=face, edgecolor=edge, lw=lw, hatch=hatch))
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
        # the phase's hatch too, not by colour alone
        _box(ax, x, y, label, PHASE_COLORS[phase], PHASE_HATCHES[phase], bold)

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


def flat_slice(size: int = 7, kernel: int = 3, stride: int = 2, offset=(1, 2), axes=None):
    """Draw how one kernel offset of Step 2 reads a single flat slice of its phase.

    The input is ``size`` x ``size``, numbered 0, 1, ... row by row. Offset ``(u, v)`` reads
    phase ``(u % stride, v % stride)``, shifted by ``(u // stride, v // stride)``. On the
    phase's *extended grid*, as wide as the output plus the largest shift (the rest filled
    with -inf), that shift is a flat shift ``t``, and the offset's values for every output are
    the slice ``grid.ravel()[t : t + L]``.

    Top left: the phase on its extended grid. Bottom: the same grid flattened row by row, with
    the slice marked. Top right: the outputs on the extended grid, each with the input element
    it read. The real outputs are kept. The extra outputs are cropped at the end: with a column
    shift, an extra column reads past its row's end, into the next row. Outputs past the slice's
    end are never computed (on one plane; with several planes flattened together, they read the
    next plane, and are cropped too). Elements and outputs are drawn by who reads them:
    coloured for a kept output, cross-hatched for a cropped one only, white for none.

    Parameters
    ----------
    size, kernel, stride : int
        Input side, kernel side and stride (no padding, no dilation).
    offset : (int, int)
        The kernel offset ``(u, v)`` whose slice is drawn, each in ``[0, kernel)``.
    axes : three matplotlib Axes, optional
        Where to draw (grid, outputs, strip); a new figure by default.

    Returns
    -------
    tuple of three matplotlib Axes
        The phase's grid, the outputs, and the flattened strip.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> grid, outputs, strip = flat_slice(size=7, kernel=3, stride=2, offset=(1, 2))
    >>> [t.get_text() for t in outputs.texts[:4]]  # the first output row: 21 wraps around
    ['9', '11', '13', '21']
    """
    u, v = offset
    if not 1 <= kernel <= size:
        raise ValueError(f"flat_slice: kernel must lie in [1, size], but got {kernel}")
    if stride < 1 or stride * stride > len(PHASE_COLORS):
        raise ValueError(f"flat_slice: stride must be 1 or 2, but got {stride}")
    if not (0 <= u < kernel and 0 <= v < kernel):
        raise ValueError(f"flat_slice: offset must lie in [0, kernel) twice, but got {offset}")
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    side = (size - kernel) // stride + 1  # outputs along each dimension
    reach = (kernel - 1) // stride  # the largest shift inside a phase
    ext = side + reach  # the extended grid, one phase
    length = ext * ext - (reach * ext + reach)  # L: every shifted slice stays inside the grid
    pr, pc = u % stride, v % stride
    t = (u // stride) * ext + (v // stride)
    grid = [[None] * ext for _ in range(ext)]  # None: -inf, outside the phase
    for r in range(ext):
        for c in range(ext):
            row, col = r * stride + pr, c * stride + pc
            if row < size and col < size:
                grid[r][c] = row * size + col  # the input is numbered row by row
    flat = [grid[p // ext][p % ext] for p in range(ext * ext)]
    phase = pr * stride + pc
    color, hatch = PHASE_COLORS[phase], PHASE_HATCHES[phase]
    kept = {o for o in range(length) if o // ext < side and o % ext < side}

    # how an element or an output is drawn, by who reads it: a kept output, a cropped one only,
    # or none
    styles = {
        "kept": {"face": color, "hatch": hatch, "bold": True},
        "cropped": {"face": "#eeeeee", "hatch": "xx", "edge": "#999999", "lw": 1},
        "none": {"face": "white", "edge": "#bbbbbb", "lw": 1},
    }

    def show(value):
        return "-inf" if value is None else str(value)

    if axes is None:
        fig = plt.figure(figsize=(9, 5.6), layout="constrained")
        spec = fig.add_gridspec(2, 2, height_ratios=[ext, 2.2])
        axes = (
            fig.add_subplot(spec[0, 0]),
            fig.add_subplot(spec[0, 1]),
            fig.add_subplot(spec[1, :]),
        )
    grid_ax, out_ax, strip_ax = axes

    read_by_kept = {o + t for o in kept}
    read_by_cropped = {o + t for o in range(length)} - read_by_kept

    def element(ax, x, y, p):
        """Position ``p`` of the flattened grid, drawn by who reads it."""
        kind = "kept" if p in read_by_kept else "cropped" if p in read_by_cropped else "none"
        _box(ax, x, y, show(flat[p]), **styles[kind])

    for p in range(ext * ext):
        element(grid_ax, p % ext, p // ext, p)
    grid_ax.set_title(
        f"phase ({pr}, {pc}) on its {ext}x{ext} extended grid,\nshaded by which outputs read it",
        fontsize=10,
    )

    for o in range(ext * ext):
        r, c = divmod(o, ext)
        if o >= length:  # past the slice's end: never computed
            _box(out_ax, c, r, "", **styles["none"])
        else:
            _box(out_ax, c, r, show(flat[o + t]), **styles["kept" if o in kept else "cropped"])
    out_ax.add_patch(Rectangle((0, 0), side, side, fill=False, edgecolor="black", lw=2.5))
    out_ax.set_title(
        f"outputs on the extended grid: what offset ({u}, {v})\nreads. Kept: outlined, "
        "coloured; cropped:\ncross-hatched; never computed: empty",
        fontsize=10,
    )

    for p in range(ext * ext):
        element(strip_ax, p, 0, p)
        strip_ax.text(p + 0.5, -0.3, str(p), ha="center", va="center", fontsize=8, color="#555555")
    for r in range(1, ext):  # where one grid row ends and the next begins
        strip_ax.plot([r * ext, r * ext], [-0.1, 1.1], color="black", lw=1, ls=":")
    strip_ax.plot([t, t + length], [1.35, 1.35], color="black", lw=2)
    for end in (t, t + length):
        strip_ax.plot([end, end], [1.2, 1.5], color="black", lw=2)
    strip_ax.text(
        t + length / 2,
        1.85,
        f"the slice grid.ravel()[{t} : {t + length}]: shift t = {t}, length L = {length}",
        ha="center",
        va="center",
        fontsize=9,
    )
    strip_ax.set_title(
        "the grid flattened row by row (dotted: where a row ends; above each cell, its position)",
        fontsize=10,
        pad=16,  # above the positions
    )
    for ax in axes:
        ax.set_aspect("equal")
        ax.autoscale_view()
        ax.invert_yaxis()
        ax.axis("off")
    return grid_ax, out_ax, strip_ax
