"""The one N-dimensional pooling core that :mod:`pooling_lab.functional` wraps.

Arrays here have shape (B, *spatial): all leading (batch, channel) dimensions are folded into B.
The work is done by the phase-decomposed fast path in :mod:`pooling_lab._phases` (and, for
windows that tile the input exactly, :mod:`pooling_lab._tiled`). Beside it
lives ``max_pool_slices``, the plain vectorised version (one strided slice of the padded input
per window offset), which the course uses as the step between the loops and the fast path, and
which handles the rare windows whose maximum is NaN or -inf, where the index rules need care.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from typing import NamedTuple

import numpy as np

from . import _average, _phases, _scatter, _tiled
from ._params import Window


def _padded(x: np.ndarray, win: Window, out: tuple[int, ...], fill: float | int) -> np.ndarray:
    """Copy ``x`` into a buffer padded with ``fill`` so that every window slice is in range."""
    shape = [x.shape[0]]
    inner = [slice(None)]
    for size, o, k, s, p, d in zip(
        x.shape[1:], out, win.kernel, win.stride, win.padding, win.dilation
    ):
        needed = (o - 1) * s + (k - 1) * d + 1  # ceil_mode can reach past the right padding
        shape.append(max(needed, size + p))
        inner.append(slice(p, p + size))
    buf = np.full(shape, fill, dtype=x.dtype)
    buf[tuple(inner)] = x
    return buf


def _offset_slices(win: Window, out: tuple[int, ...]):
    """Yield, for each window offset in row-major order, the slice picking it for every output."""
    ranges = [range(k) for k in win.kernel]
    for offsets in itertools.product(*ranges):
        yield (slice(None),) + tuple(
            slice(j * d, j * d + (o - 1) * s + 1, s)
            for j, d, o, s in zip(offsets, win.dilation, out, win.stride)
        )


def _starts(win: Window, out: tuple[int, ...], dim: int) -> np.ndarray:
    """Input coordinate of the first element of each window along one dimension."""
    return np.arange(out[dim]) * win.stride[dim] - win.padding[dim]


@functools.lru_cache(maxsize=64)
def _first_inside(win: Window, spatial: tuple[int, ...], out: tuple[int, ...]) -> list[np.ndarray]:
    """Per dimension, the first in-bounds input coordinate of each window.

    Raises ValueError when some window holds no input element at all, which dilation can cause:
    PyTorch would return -inf and an index outside the input there.
    """
    firsts = []
    for dim, size in enumerate(spatial):
        pos = _starts(win, out, dim)[:, None] + np.arange(win.kernel[dim]) * win.dilation[dim]
        inside = (pos >= 0) & (pos < size)
        empty = ~inside.any(axis=1)
        if empty.any():
            o = int(np.flatnonzero(empty)[0])
            raise ValueError(
                f"{win.fn}: window {o} along spatial dimension {dim} reads input positions "
                f"{pos[o].tolist()}, none of which lies inside the input (size {size}) with "
                f"{win.describe()}; such a window covers no input element, so it has no maximum "
                "(reduce dilation or padding)"
            )
        firsts.append(pos[np.arange(len(pos)), inside.argmax(axis=1)])
    return firsts


def _grid(vectors: list[np.ndarray]) -> list[np.ndarray]:
    """Reshape one 1-D vector per spatial dim so that they broadcast against (B, *out)."""
    n = len(vectors)
    return [
        v.reshape((1,) + tuple(-1 if i == dim else 1 for i in range(n)))
        for dim, v in enumerate(vectors)
    ]


def max_pool_slices(x: np.ndarray, win: Window) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling of ``x`` (B, *spatial): the maxima and their flat int64 positions per plane."""
    spatial = x.shape[1:]
    out = win.output_size(spatial)
    firsts = _first_inside(win, spatial, out)
    is_float = x.dtype.kind == "f"
    # Padding must never beat a real element, so it is the smallest value of the dtype.
    fill = -np.inf if is_float else np.iinfo(x.dtype).min
    buf = _padded(x, win, out, fill)

    best = None
    winner = np.zeros((x.shape[0],) + out, dtype=np.int64)  # offset number inside the window
    for number, sl in enumerate(_offset_slices(win, out)):
        values = buf[sl]
        if best is None:
            best = values.copy()
            continue
        # PyTorch's CPU rule: take a value if it is larger, or NaN. Strict ">" keeps the first
        # of tied maxima; "or NaN" makes the last NaN of the window win.
        take = values > best
        if is_float:
            take |= np.isnan(values)
        np.copyto(best, values, where=take)
        winner[take] = number

    # From offset number to input coordinates, one spatial dimension at a time.
    offsets = np.unravel_index(winner, win.kernel)
    starts = _grid([_starts(win, out, dim) for dim in range(len(out))])
    coords = [st + off * d for st, off, d in zip(starts, offsets, win.dilation)]
    outside = np.zeros(winner.shape, dtype=bool)
    for c, size in zip(coords, spatial):
        outside |= (c < 0) | (c >= size)
    if outside.any():
        # Only a window whose real elements all equal the fill value (-inf) keeps a padding
        # winner; PyTorch then reports the window's first in-bounds element.
        coords = [np.where(outside, f, c) for f, c in zip(_grid(firsts), coords)]
    index = np.zeros(winner.shape, dtype=np.int64)
    for c, size in zip(coords, spatial):
        index = index * size + c
    return best, index


class MaxPoolResult(NamedTuple):
    """Max pooling's output and what identifies the winners: codes + plan, or flat indices."""

    output: np.ndarray
    plan: _phases.PhasePlan | None
    winners: np.ndarray | None  # each window's winner as the plan's code (fast path)
    index: np.ndarray | None  # flat int64 positions (fallback path)

    def indices(self) -> np.ndarray:
        if self.index is not None:
            return self.index
        return _scatter.flat_indices(self.winners, self.plan)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        if self.index is not None:
            return _scatter.scatter_add(grad, self.index, self.plan.spatial)
        return _scatter.max_pool_backward(grad, self.winners, self.plan)


def has_unusual_windows(out: np.ndarray) -> bool:
    """Whether a max-pool output holds a NaN or a window with nothing above -inf.

    One reduction finds both: the minimum is NaN if any output is NaN (NaN propagates), and
    -inf (or the integer minimum) if any window held nothing larger.
    """
    if not out.size:
        return False
    lowest = out.min()
    if out.dtype.kind == "f":
        return not lowest > -np.inf
    return lowest == np.iinfo(out.dtype).min


def max_pool(x: np.ndarray, win: Window) -> MaxPoolResult:
    """Max pooling of ``x`` (B, *spatial) with PyTorch's index rules."""
    spatial = x.shape[1:]
    out_shape = win.output_size(spatial)
    _first_inside(win, spatial, out_shape)  # raises if a window covers no input element
    plan = _phases.plan_for(win, tuple(spatial), out_shape)
    out, winners = (_tiled.max_pool if plan.exact else _phases.max_pool)(x, plan)
    if _phases.tie_order(x.dtype) is None:
        _phases.restore_zero_signs(x, out, winners, plan)
    if has_unusual_windows(out):
        # A NaN must report the window's last NaN, and a window of -inf its first real
        # element (not the padding): the slice version implements both rules.
        out, index = max_pool_slices(x, win)
        return MaxPoolResult(out, plan, None, index)
    return MaxPoolResult(out, plan, winners, None)


def max_pool_backward(
    grad: np.ndarray, index: np.ndarray, spatial: tuple[int, ...], fn: str | None = None
) -> np.ndarray:
    """Scatter-add ``grad`` (B, *out) to the flat positions ``index``: overlapping windows sum.

    With ``fn``, the indices are range-checked on the way (``_scatter.scatter_add``)."""
    return _scatter.scatter_add(grad, index, spatial, fn)


def avg_divisor(
    win: Window, spatial: tuple[int, ...], out: tuple[int, ...], count_include_pad: bool
) -> np.ndarray:
    """PyTorch's divisor per output position, shaped to broadcast against (B, *out).

    Built once per geometry (layers ask for the same one every call; building it took a
    tenth of a small layer's forward + backward) and read-only, since it is shared. The
    cache key leaves out the function's name, which the divisor does not depend on, so that
    a layer, its functional form and its backward share one array."""
    return _avg_divisor(
        dataclasses.replace(win, fn=""), tuple(spatial), tuple(out), bool(count_include_pad)
    )


@functools.lru_cache(maxsize=64)
def _avg_divisor(
    win: Window, spatial: tuple[int, ...], out: tuple[int, ...], count_include_pad: bool
) -> np.ndarray:
    per_dim = []
    for dim, size in enumerate(spatial):
        start = _starts(win, out, dim)
        # A window may hang past the right padding in ceil_mode; that part never counts.
        end = np.minimum(start + win.kernel[dim], size + win.padding[dim])
        if count_include_pad:
            per_dim.append(end - start)
        else:
            per_dim.append(np.minimum(end, size) - np.maximum(start, 0))
    divisor = np.ones((1,) * (len(spatial) + 1), dtype=np.int64)
    for v in _grid(per_dim):
        divisor = divisor * v
    divisor.flags.writeable = False
    return divisor


def avg_pool(x: np.ndarray, win: Window, count_include_pad: bool) -> np.ndarray:
    """Average pooling of ``x`` (B, *spatial) with zero padding."""
    spatial = x.shape[1:]
    out = win.output_size(spatial)
    plan = _phases.plan_for(win, tuple(spatial), out)
    return _average.avg_pool(x, plan, avg_divisor(win, spatial, out, count_include_pad))


def avg_pool_backward(
    grad: np.ndarray, spatial: tuple[int, ...], win: Window, count_include_pad: bool
) -> np.ndarray:
    """Spread each output gradient evenly over its window's input elements."""
    out = grad.shape[1:]
    plan = _phases.plan_for(win, tuple(spatial), tuple(out))
    return _average.avg_pool_backward(grad, plan, avg_divisor(win, spatial, out, count_include_pad))


def max_unpool(x: np.ndarray, index: np.ndarray, spatial: tuple[int, ...]) -> np.ndarray:
    """Place ``x`` (B, *in) at flat positions ``index`` of zero planes of size ``spatial``."""
    batch = x.shape[0]
    plane = math.prod(spatial)
    flat = (index.reshape(batch, -1) + (np.arange(batch, dtype=np.int64) * plane)[:, None]).ravel()
    values = x.reshape(-1)
    result = np.zeros(batch * plane, dtype=x.dtype)
    # PyTorch writes sequentially, so with repeated indices the last value wins; NumPy does not
    # promise an order for repeated fancy assignment, so keep each position's last write.
    positions, last = np.unique(flat[::-1], return_index=True)
    result[positions] = values[::-1][last]
    return result.reshape((batch,) + tuple(spatial))


def max_unpool_backward(grad: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Gather: each pooled value's gradient is the output gradient at the position it went to."""
    batch = grad.shape[0]
    flat = grad.reshape(batch, -1)
    return np.take_along_axis(flat, index.reshape(batch, -1), axis=1).reshape(index.shape)
