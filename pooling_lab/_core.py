"""The one N-dimensional pooling core that :mod:`pooling_lab.functional` wraps.

Arrays here have shape (B, *spatial): all leading (batch, channel) dimensions are folded into B.
The only Python loop runs over the offsets inside a window (k*k of them for a 2-D kernel); each
iteration handles every output position at once through a strided slice of the padded input.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

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


def max_pool(x: np.ndarray, win: Window) -> tuple[np.ndarray, np.ndarray]:
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


def max_pool_backward(grad: np.ndarray, index: np.ndarray, spatial: tuple[int, ...]) -> np.ndarray:
    """Scatter-add ``grad`` (B, *out) to the flat positions ``index``: overlapping windows sum."""
    batch = grad.shape[0]
    plane = math.prod(spatial)
    flat = index.reshape(batch, -1) + (np.arange(batch, dtype=np.int64) * plane)[:, None]
    # bincount sums repeated positions, exactly the "sum over every output an input fed".
    summed = np.bincount(flat.ravel(), weights=grad.ravel(), minlength=batch * plane)
    return summed.astype(grad.dtype, copy=False).reshape((batch,) + tuple(spatial))


def avg_divisor(
    win: Window, spatial: tuple[int, ...], out: tuple[int, ...], count_include_pad: bool
) -> np.ndarray:
    """PyTorch's divisor per output position, shaped to broadcast against (B, *out)."""
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
    return divisor


def avg_pool(x: np.ndarray, win: Window, count_include_pad: bool) -> np.ndarray:
    """Average pooling of ``x`` (B, *spatial) with zero padding."""
    spatial = x.shape[1:]
    out = win.output_size(spatial)
    buf = _padded(x, win, out, 0)
    total = np.zeros((x.shape[0],) + out, dtype=x.dtype)
    # inf + -inf is NaN and float32 sums may overflow to inf; both are the right answer here.
    with np.errstate(invalid="ignore", over="ignore"):
        for sl in _offset_slices(win, out):
            total += buf[sl]
    return total / avg_divisor(win, spatial, out, count_include_pad).astype(x.dtype)


def avg_pool_backward(
    grad: np.ndarray, spatial: tuple[int, ...], win: Window, count_include_pad: bool
) -> np.ndarray:
    """Spread each output gradient evenly over its window's input elements."""
    out = grad.shape[1:]
    share = grad / avg_divisor(win, spatial, out, count_include_pad).astype(grad.dtype)
    buf = _padded(np.zeros((grad.shape[0],) + tuple(spatial), dtype=grad.dtype), win, out, 0)
    for sl in _offset_slices(win, out):
        buf[sl] += share  # one offset never hits a position twice, so += is a true sum
    inner = (slice(None),) + tuple(slice(p, p + n) for p, n in zip(win.padding, spatial))
    return buf[inner].copy()


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
