"""The stride phases behind the fast path (the chapter on making it fast)."""

from __future__ import annotations

from ._base import _pyplot

# Hatches tell the phases apart without colour (white edges, so faint on the fills).
PHASE_HATCHES = ("", "//", "..", "\\\\", "xx", "++", "oo")
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
            Rectangle(
                (x, y),
                1,
                1,
                facecolor=PHASE_COLORS[phase],
                edgecolor="white",
                lw=1.5,
                hatch=PHASE_HATCHES[phase],  # the phase, not by colour alone
            )
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
