"""Max pooling's backward on the phase plan: the winners' one-byte codes turned into flat
positions a block of planes at a time, and the gradient scattered to them (assigned where windows
cannot overlap, added with ``np.add.at`` where they can, and always for indices a caller gave).
The forward and the codes are in :mod:`pooling_lab._phases`."""

from __future__ import annotations

import functools
import math

import numpy as np

from ._params import check_index_range
from ._phases import BLOCK_ELEMENTS, PhasePlan, deltas


def flat_indices(won: np.ndarray, plan: PhasePlan) -> np.ndarray:
    """Flat input positions (int64, within each plane) of the winners."""
    return positions(won, plan.base, None if plan.direct else plan.table, plan, "positions")


def positions(
    won: np.ndarray, base: np.ndarray, table: np.ndarray | None, plan: PhasePlan, name: str
) -> np.ndarray:
    """``base + won`` (``table[won]`` with a table), int64, for winners (B, *base.shape).

    A block of planes at a time, against ``base`` repeated for a block's planes (kept in
    ``plan``'s scratch under ``name``): one widening copy (or lookup) and one int64 add over the
    whole block, in cache. Broadcasting ``base`` instead would run NumPy's inner loop once per
    plane, which costs more the smaller the planes, and a mixed uint8 + int64 add casts in small
    buffers. A plane larger than a block is taken in pieces of a block.
    """
    per_plane = max(1, base.size)
    # Whole planes of a 224 x 224 channels-last image at once (150 Ki values) were about 1.3x
    # slower than pieces of a block, whose 8-byte indices and results stay in cache.
    chunk = BLOCK_ELEMENTS
    planes = max(1, chunk // per_plane)

    def make(_):
        return np.tile(base.reshape(-1), planes)

    # a plane of a block or more needs no copy of its base
    tiled = base.reshape(-1) if planes == 1 else plan.scratch(name, np.int64, make)
    flat = won.reshape(-1)
    index = np.empty(flat.size, dtype=np.int64)
    block = planes * per_plane
    for start in range(0, flat.size, block):
        for first in range(start, min(start + block, flat.size), chunk):
            part = slice(first, min(first + chunk, start + block))
            target = index[part]
            if table is None:
                np.copyto(target, flat[part])
            else:  # offset numbers, always in range
                np.take(table, flat[part], out=target, mode="clip")
            target += tiled[first - start : first - start + target.size]
    return index.reshape(won.shape)


@functools.lru_cache(maxsize=16)
def plane_offsets(step: int, per_plane: int, plane: int) -> np.ndarray:
    """Flat offset of each plane of a block, repeated for each of its ``per_plane`` values."""
    offsets = np.repeat(np.arange(step, dtype=np.int64) * plane, per_plane)
    offsets.flags.writeable = False  # shared between calls
    return offsets


def scatter_add(
    grad: np.ndarray, index: np.ndarray, spatial: tuple[int, ...], fn: str | None = None
) -> np.ndarray:
    """Add ``grad`` (B, *out) at flat plane positions ``index`` into zeros of (B, *spatial).

    Done a block of planes at a time so the int64 positions never need a full-size array.
    With ``fn`` (user-given indices), each block's indices are range-checked first, while they
    are in cache: a separate pass over all of them would read them from memory once more.
    """
    batch = grad.shape[0]
    plane = math.prod(spatial)
    result = np.empty(batch * plane, dtype=grad.dtype)  # zeroed block by block, in cache
    per_plane = max(1, math.prod(grad.shape[1:]))
    step = max(1, min(batch, BLOCK_ELEMENTS // 4 // per_plane))  # as the layer's; batch may be 0
    # Each plane's offset, as one flat vector built once per geometry: one contiguous 1-D add
    # per block made the functional backward about a fifth faster on the benchmark's
    # configurations 1 and 2 than broadcasting a column of offsets over the block's rows.
    # A block of one plane needs none (and a large plane should not cache a vector of zeros).
    offsets = plane_offsets(step, per_plane, plane) if step > 1 else None
    g1, i1 = grad.reshape(-1), index.reshape(-1)
    flat_buffer = np.empty(step * per_plane if offsets is not None else 0, dtype=np.int64)
    for start in range(0, batch, step):
        stop = min(batch, start + step)
        part = slice(start * per_plane, stop * per_plane)
        if fn is not None:
            check_index_range(fn, i1[part], plane)
        rows = i1[part]
        if offsets is None:
            flat = rows.astype(np.int64, copy=False)
        else:  # dtype int64: uint64 + int64 would give float64, which cannot index
            flat = np.add(rows, offsets[: rows.size], out=flat_buffer[: rows.size], dtype=np.int64)
        # add.at, not assignment: user-given indices may repeat a position (overlapping
        # windows do). Since NumPy 1.25, add.at on a 1-D array with an int64 index costs
        # little more than an assignment, and checking first for repeats, to assign where
        # there are none, costs more than that difference (benchmarks/bench_pooling.py
        # measures all three).
        target = result[start * plane : stop * plane]
        target.fill(0)
        np.add.at(target, flat, g1[part])
    return result.reshape((batch,) + tuple(spatial))


def piece_ends(plan: PhasePlan, limit: int) -> tuple[int, ...]:
    """For each piece of ``limit`` outputs of one plane, in order, 1 + the last input position
    (within the plane) its windows reach.

    A plane larger than a block is scattered a piece at a time; zeroing each piece's reach
    just before its scatter (what earlier pieces have not zeroed) writes the result while it
    is in cache, where zeroing the whole plane first would write it to memory twice. The
    bound is the largest window start in the piece plus the largest offset, which does not
    rely on window starts growing in row-major order.
    """

    def make():
        base = plan.base.reshape(-1)
        reach = int(plan.table.max()) + 1
        plane = math.prod(plan.spatial)
        return tuple(
            min(plane, int(base[s : s + limit].max()) + reach) for s in range(0, base.size, limit)
        )

    return plan.derived(("piece_ends", limit), make)


def max_pool_backward(grad: np.ndarray, won: np.ndarray, plan: PhasePlan) -> np.ndarray:
    """Route ``grad`` (B, *out) to the winners ``won``: the gradient of max pooling."""
    batch = grad.shape[0]
    plane = math.prod(plan.spatial)
    per_plane = max(1, math.prod(plan.out))
    # Zeroed a block at a time, just before its scatter, while the block is in cache: the
    # result's memory is then written once, not zeroed first and written again later.
    result = np.empty(batch * plane, dtype=grad.dtype)
    step = max(1, min(batch, BLOCK_ELEMENTS // 4 // per_plane))  # batch may be 0

    def make(_):  # each window's first element, for every plane of a block
        planes = (np.arange(step, dtype=np.int64) * plane)[:, None]
        return (plan.base.reshape(1, -1) + planes).reshape(-1)

    g_flat, won_flat = grad.reshape(-1), won.reshape(-1)
    # Without overlap every input element belongs to one window at most, so no position can
    # repeat and an assignment is enough; with overlap the repeats must add up.
    overlapping = plan.overlapping

    def scatter(part, first, target):
        """Outputs ``part`` (flat), whose windows start at ``first``, into ``target``."""
        if plan.direct and plan.scale != 1:  # channels-last: position = code * C, in place
            flat = np.multiply(won_flat[part], plan.scale, dtype=np.int64)
            flat += first
        else:
            flat = np.add(deltas(won_flat[part], plan), first)
        if overlapping:
            np.add.at(target, flat, g_flat[part])
        else:
            target[flat] = g_flat[part]

    limit = BLOCK_ELEMENTS // 4
    if per_plane > limit:  # planes larger than a block (wide images, channels-last): cut them
        base = plan.base.reshape(-1)
        ends = piece_ends(plan, limit)
        for p in range(batch):
            target = result[p * plane : (p + 1) * plane]
            zeroed = 0  # target[:zeroed] is zeroed: each piece zeroes what it may reach first
            for s, end in zip(range(0, per_plane, limit), ends):
                if end > zeroed:
                    target[zeroed:end].fill(0)
                    zeroed = end
                e = min(per_plane, s + limit)
                scatter(slice(p * per_plane + s, p * per_plane + e), base[s:e], target)
            target[zeroed:].fill(0)  # what no window reaches
        return result.reshape((batch,) + plan.spatial)
    block_base = plan.scratch("block_base", np.int64, make, step)
    for start in range(0, batch, step):
        stop = min(batch, start + step)
        part = slice(start * per_plane, stop * per_plane)
        here = block_base[: (stop - start) * per_plane]
        target = result[start * plane : stop * plane]
        target.fill(0)
        scatter(part, here, target)
    return result.reshape((batch,) + plan.spatial)
