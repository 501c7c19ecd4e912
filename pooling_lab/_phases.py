"""The fast path: pooling through stride phases, in cache-sized blocks of planes.

Why phases. With stride s, output i reads input rows i*s + u*d. Write the padded row index as
q*s + r: the rows with remainder r form the "phase" r, and window offset u lives in phase
r = (u*d) % s, shifted by q = (u*d) // s rows. After the input is split once into its s*s
phases (per 2-D plane), every window offset is one shifted copy of one phase. Give each phase
the shape of an *extended* output grid (a few extra rows and columns that are cropped at the
end) and lay the planes one after another: then the values that offset u reads, for every
output of every plane, are one contiguous slice of the flattened phase. A running maximum over
k*k such slices is k*k long, contiguous ``np.maximum(..., out=)`` calls, NumPy's fastest kind.

Why blocks. A fresh multi-megabyte buffer costs a page fault per 4 KiB on first touch, and a
pass over data that does not fit in cache is memory-bound. So the planes are processed in
blocks of about 64 Ki elements, reusing the same small buffers, which stay in cache for all
k*k passes.

The winner of each window is tracked as its offset number (0 .. k*k-1) in a small unsigned
integer, without branches: offsets are visited in increasing order, so
``winner = max(winner, o * (value > best))`` keeps the first maximum on ties. Its flat input
position, when asked for, is ``table[winner] + base[output position]``.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading

import numpy as np

from ._params import Window

BLOCK_ELEMENTS = 1 << 16  # elements of one phase block: fits a core's L2 cache with room


@functools.lru_cache(maxsize=16)
def plan_for(win: Window, spatial: tuple[int, ...], out: tuple[int, ...]) -> PhasePlan:
    """The plan for a geometry, built once: layers call pooling with the same shapes again."""
    return PhasePlan(win, spatial, out)


class PhasePlan:
    """Everything about the phase layout of one pooling geometry on one input size."""

    def __init__(self, win: Window, spatial: tuple[int, ...], out: tuple[int, ...]) -> None:
        self.win, self.spatial, self.out = win, tuple(spatial), tuple(out)
        # (shift q, phase r) of each kernel offset, per dimension
        qr = [
            [divmod(j * d, s) for j in range(k)]
            for k, s, d in zip(win.kernel, win.stride, win.dilation)
        ]
        self.ext = tuple(
            max(o + max(q for q, _ in pairs), -(-(size + p) // s))
            for o, pairs, size, s, p in zip(out, qr, spatial, win.stride, win.padding)
        )
        self.phases = list(itertools.product(*(range(s) for s in win.stride)))
        number = {ph: i for i, ph in enumerate(self.phases)}
        # Where the input elements of each phase go: (phase, input slices, phase slices).
        self.copies = []
        for ph in self.phases:
            src, dst = [], []
            for r, size, s, p in zip(ph, spatial, win.stride, win.padding):
                first = (r - p) % s  # first input coordinate whose padded coordinate is r mod s
                count = len(range(first, size, s))
                start = (first + p) // s
                src.append(slice(first, None, s))
                dst.append(slice(start, start + count))
            if all(d.stop > d.start for d in dst):
                self.copies.append((number[ph], tuple(src), tuple(dst)))
        ext_strides = [math.prod(self.ext[i + 1 :]) for i in range(len(self.ext))]
        in_strides = [math.prod(spatial[i + 1 :]) for i in range(len(spatial))]
        # For each window offset in row-major order: its phase, its flat shift inside that
        # phase, and its flat position relative to the window's first element in the input.
        self.shifts, table = [], []
        for offsets in itertools.product(*(range(k) for k in win.kernel)):
            ph = tuple(qr[dim][j][1] for dim, j in enumerate(offsets))
            shift = sum(qr[dim][j][0] * ext_strides[dim] for dim, j in enumerate(offsets))
            self.shifts.append((number[ph], shift))
            table.append(sum(j * d * st for j, d, st in zip(offsets, win.dilation, in_strides)))
        self.table = np.array(table, dtype=np.int64)
        self.plane = math.prod(self.ext)
        self.block = max(1, BLOCK_ELEMENTS // self.plane)
        self.length = self.block * self.plane - max(t for _, t in self.shifts)
        self.crop = (slice(None),) + tuple(slice(0, o) for o in out)
        self.offset_dtype = np.uint8 if len(self.shifts) <= 255 else np.uint32
        # Flat input position of each window's first element (it may lie in the padding).
        base = np.zeros(out, dtype=np.int64)
        for dim, (o, s, p, st) in enumerate(zip(out, win.stride, win.padding, in_strides)):
            shape = [1] * len(out)
            shape[dim] = o
            base = base + ((np.arange(o) * s - p) * st).reshape(shape)
        self.base = base
        self.table.flags.writeable = self.base.flags.writeable = False  # plans are shared
        # Windows that tile the input exactly (stride = kernel, no dilation, no padding, no
        # partial window): every offset is then a plain strided view of the input, and every
        # input element belongs to exactly one window. No phase copy is needed at all.
        self.tiled = all(
            s == k and d == 1 and p == 0 and o * k <= size
            for k, s, d, p, o, size in zip(
                win.kernel, win.stride, win.dilation, win.padding, out, spatial
            )
        )
        self.covers_all = self.tiled and all(
            o * k == size for o, k, size in zip(out, win.kernel, spatial)
        )
        self.views = [
            (slice(None),) + tuple(slice(j, o * k, k) for j, o, k in zip(offs, out, win.kernel))
            for offs in itertools.product(*(range(k) for k in win.kernel))
        ]
        self.tile_block = max(1, BLOCK_ELEMENTS // max(1, math.prod(out)))
        self._local = threading.local()

    @property
    def overlapping(self) -> bool:
        """True when some input element can belong to two windows."""
        return any(
            s < d * (k - 1) + 1
            for k, s, d in zip(self.win.kernel, self.win.stride, self.win.dilation)
        )

    def buffers(self, dtype, fill):
        """Phase buffer (phases, block, *ext) holding ``fill`` outside the copied input."""
        buf = np.full((len(self.phases), self.block) + self.ext, fill, dtype=dtype)
        return buf, buf.reshape(len(self.phases), -1)

    def max_scratch(self, dtype):
        """Reusable buffers for :func:`max_pool`, one set per thread and dtype.

        A fresh buffer costs a page fault per 4 KiB the first time it is written; layers call
        pooling with the same shapes over and over, so keeping these saves that every call.
        Only the padding of the phase buffer must keep its fill value, and no call writes there.
        """
        store = self._local.__dict__
        key = np.dtype(dtype)
        if key not in store:
            fill = -np.inf if key.kind == "f" else np.iinfo(key).min
            buf, flat = self.buffers(key, fill)
            n = self.block * self.plane
            best = np.full(n, fill, dtype=key)
            winner = np.zeros(n, dtype=self.offset_dtype)
            larger = np.empty(self.length, dtype=bool)
            scaled = np.empty(self.length, dtype=self.offset_dtype)
            store[key] = (buf, flat, best, winner, larger, scaled)
        return store[key]

    def blocks(self, batch: int):
        for start in range(0, batch, self.block):
            yield start, min(self.block, batch - start)

    def load(self, buf, x_block, m):
        """Copy ``m`` input planes into the phase buffer."""
        for ph, src, dst in self.copies:
            buf[(ph, slice(0, m)) + dst] = x_block[(slice(None),) + src]


def max_pool(x: np.ndarray, plan: PhasePlan) -> tuple[np.ndarray, np.ndarray]:
    """Maxima and winning offset numbers, shapes (B, *out). No NaN handling (caller's job)."""
    buf, flat, best, winner, larger, scaled = plan.max_scratch(x.dtype)
    length = plan.length
    best_l, winner_l = best[:length], winner[:length]
    best_ext = best.reshape((plan.block,) + plan.ext)
    winner_ext = winner.reshape((plan.block,) + plan.ext)
    out = np.empty((x.shape[0],) + plan.out, dtype=x.dtype)
    won = np.empty(out.shape, dtype=plan.offset_dtype)
    larger_as_int = larger.view(np.uint8)
    for start, m in plan.blocks(x.shape[0]):
        plan.load(buf, x[start : start + m], m)
        ph, t = plan.shifts[0]
        first = flat[ph, t : t + length]
        if len(plan.shifts) == 1:
            best_l[...] = first
            winner_l[...] = 0
        else:  # the first two offsets in one go: no copy of the first
            ph, t = plan.shifts[1]
            second = flat[ph, t : t + length]
            np.greater(second, first, out=larger)
            np.maximum(first, second, out=best_l)
            winner_l[...] = larger_as_int
        for number, (ph, t) in enumerate(plan.shifts[2:], start=2):
            values = flat[ph, t : t + length]
            np.greater(values, best_l, out=larger)  # strict: the first maximum stays
            np.maximum(best_l, values, out=best_l)
            # offsets come in increasing order, so "max" records the latest strict winner
            np.multiply(larger_as_int, plan.offset_dtype(number), out=scaled)
            np.maximum(winner_l, scaled, out=winner_l)
        out[start : start + m] = best_ext[plan.crop][:m]
        won[start : start + m] = winner_ext[plan.crop][:m]
    return out, won


def flat_indices(won: np.ndarray, plan: PhasePlan) -> np.ndarray:
    """Flat input positions (int64, within each plane) of the winning offsets."""
    index = np.take(plan.table, won)
    index += plan.base
    return index


def scatter_add(grad: np.ndarray, index: np.ndarray, spatial: tuple[int, ...]) -> np.ndarray:
    """Add ``grad`` (B, *out) at flat plane positions ``index`` into zeros of (B, *spatial).

    Done a block of planes at a time so the int64 positions never need a full-size array.
    """
    batch = grad.shape[0]
    plane = math.prod(spatial)
    result = np.zeros(batch * plane, dtype=grad.dtype)
    per_plane = max(1, math.prod(grad.shape[1:]))
    step = max(1, BLOCK_ELEMENTS // per_plane)
    g2, i2 = grad.reshape(batch, -1), index.reshape(batch, -1)
    for start in range(0, batch, step):
        stop = min(batch, start + step)
        flat = i2[start:stop] + (np.arange(start, stop, dtype=np.int64) * plane)[:, None]
        # add.at, not assignment: with overlapping windows one position may get several
        np.add.at(result, flat.ravel(), g2[start:stop].ravel())
    return result.reshape((batch,) + tuple(spatial))


def scatter_add_offsets(grad: np.ndarray, won: np.ndarray, plan: PhasePlan) -> np.ndarray:
    """Like :func:`scatter_add`, from winning offset numbers instead of flat positions."""
    batch = grad.shape[0]
    plane = math.prod(plan.spatial)
    result = np.zeros(batch * plane, dtype=grad.dtype)
    step = max(1, BLOCK_ELEMENTS // max(1, math.prod(plan.out)))
    for start in range(0, batch, step):
        stop = min(batch, start + step)
        flat = np.take(plan.table, won[start:stop])
        flat += plan.base
        flat += (np.arange(start, stop, dtype=np.int64) * plane).reshape(
            (-1,) + (1,) * len(plan.out)
        )
        np.add.at(result, flat.ravel(), grad[start:stop].ravel())
    return result.reshape((batch,) + plan.spatial)


def avg_pool(x: np.ndarray, plan: PhasePlan, divisor: np.ndarray) -> np.ndarray:
    """Window sums through the phases, divided by PyTorch's divisor (B, *out)."""
    if plan.tiled:
        out = np.empty((x.shape[0],) + plan.out, dtype=x.dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            for start in range(0, x.shape[0], plan.tile_block):
                xb = x[start : start + plan.tile_block]
                total = out[start : start + xb.shape[0]]
                total[...] = xb[plan.views[0]]
                for view in plan.views[1:]:
                    np.add(total, xb[view], out=total)
                np.divide(total, divisor.astype(x.dtype), out=total)
        return out
    buf, flat = plan.buffers(x.dtype, 0)
    length = plan.length
    total = np.zeros(plan.block * plan.plane, dtype=x.dtype)
    total_l = total[:length]
    total_ext = total.reshape((plan.block,) + plan.ext)
    out = np.empty((x.shape[0],) + plan.out, dtype=x.dtype)
    divisor = divisor.astype(x.dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf and overflow are genuine
        for start, m in plan.blocks(x.shape[0]):
            plan.load(buf, x[start : start + m], m)
            ph, t = plan.shifts[0]
            total_l[...] = flat[ph, t : t + length]
            for ph, t in plan.shifts[1:]:
                np.add(total_l, flat[ph, t : t + length], out=total_l)
            np.divide(total_ext[plan.crop][:m], divisor, out=out[start : start + m])
    return out


def avg_pool_backward(grad: np.ndarray, plan: PhasePlan, divisor: np.ndarray) -> np.ndarray:
    """Each window's share (grad / divisor) added to its elements, through the phases."""
    if plan.tiled:
        make = np.empty if plan.covers_all else np.zeros
        result = make((grad.shape[0],) + plan.spatial, dtype=grad.dtype)
        share = grad / divisor.astype(grad.dtype)
        for view in plan.views:
            result[view] = share  # windows do not overlap: each element is written once
        return result
    buf, flat = plan.buffers(grad.dtype, 0)
    length = plan.length
    share = np.zeros(plan.block * plan.plane, dtype=grad.dtype)
    share_l = share[:length]
    share_ext = share.reshape((plan.block,) + plan.ext)
    result = np.empty((grad.shape[0],) + plan.spatial, dtype=grad.dtype)
    divisor = divisor.astype(grad.dtype)
    for start, m in plan.blocks(grad.shape[0]):
        buf.fill(0)
        np.divide(grad[start : start + m], divisor, out=share_ext[plan.crop][:m])
        for ph, t in plan.shifts:
            target = flat[ph, t : t + length]
            np.add(target, share_l, out=target)  # one offset never repeats a position
        for ph, src, dst in plan.copies:
            result[(slice(start, start + m),) + src] = buf[(ph, slice(0, m)) + dst]
    return result
