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

Exact tiling. When the windows tile the input exactly (stride = kernel, no padding or
dilation), max pooling takes another route, one dimension at a time, or, for channels-last
inputs with channel vectors of 16 bytes or more, one gathered offset at a time: see ``_tiled``.

The winner of each window is tracked as a one-byte code, without branches: codes grow with the
offset number and offsets are visited in increasing order, so
``winner = max(winner, code * (value > best))`` keeps the first maximum on ties. The code is the
winner's flat position relative to its window's first element whenever that fits in a byte, so
that the backward pass only adds the window's position; otherwise it is the offset number and
``table`` translates it.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading

import numpy as np

from ._params import Window

BLOCK_ELEMENTS = 1 << 16  # elements of one phase block: fits a core's L2 cache with room
ALIGNMENT = 64  # bytes: a cache line, and one AVX-512 vector


def aligned_empty(shape: int | tuple[int, ...], dtype) -> np.ndarray:
    """``np.empty(shape, dtype)`` whose first element starts a 64-byte cache line.

    NumPy's allocations are only 16-byte aligned. A pass whose operands straddle cache lines
    loads two lines per vector: on the AVX-512 machine of the benchmark, aligning the scratch
    buffers made the passes of configuration 1's forward about a tenth faster.
    """
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def aligned_rows(rows: int, length: int, dtype) -> np.ndarray:
    """(rows, length) uninitialised, every row starting a cache line (rows are padded)."""
    dtype = np.dtype(dtype)
    per_line = ALIGNMENT // dtype.itemsize if ALIGNMENT % dtype.itemsize == 0 else 1
    padded = length + -length % per_line
    return aligned_empty((rows, padded), dtype)[:, :length]


@functools.lru_cache(maxsize=64)
def opaque(nbytes: int) -> np.dtype:
    """The dtype of one opaque element of ``nbytes`` bytes (building one costs microseconds,
    and small inputs ask for a few dozen per call)."""
    return np.dtype((np.void, nbytes))


def vectors(a: np.ndarray) -> np.ndarray:
    """View ``a`` (..., C), its last axis contiguous, as (...) opaque elements of C values.

    NumPy copies an opaque element as one block of bytes, so a strided copy of channel
    vectors runs one element per vector, not an inner loop of C values per vector."""
    return a.view(opaque(a.shape[-1] * a.itemsize))[..., 0]


def moves_vectors(plan: PhasePlan, itemsize: int) -> bool:
    """Whether exact tiling of a channels-last input copies whole channel vectors
    (``vectors``): when they are 16 bytes or more. Copying vectors of 4 or 8 bytes this way
    is a strided copy of single elements (slower than max pooling's one dimension at a
    time); from 16 bytes on (4 float32 channels), max pooling by gathering each offset was
    7-26% faster on the benchmark's channels-last configurations 2, 3 and 3d, forward alone,
    standalone (commit 12d2eda's message), and slower with 3 channels in a measurement not
    kept in the repository (no configuration of the benchmark tiles windows with fewer than 4
    channels). The same switch picks the average pool's routes, forward and backward, where
    gathering was faster on configurations 2, 3 and 5 in a standalone measurement, by a few
    percent to a fifth (not measured separately at the threshold)."""
    return plan.channels_last and plan.spatial[-1] * itemsize >= 16


@functools.lru_cache(maxsize=16)
def plan_for(
    win: Window, spatial: tuple[int, ...], out: tuple[int, ...], channels_last: bool = False
) -> PhasePlan:
    """The plan for a geometry, built once: layers call pooling with the same shapes again."""
    return PhasePlan(win, spatial, out, channels_last)


class PhasePlan:
    """Everything about the phase layout of one pooling geometry on one input size.

    ``channels_last``: the last dimension is a channels-last input's channels, pooled with a
    window of 1 (see ``_channels_last``); the winner codes are then those of the pooling
    without it, one (H, W) plane's positions, and positions in the plan's own flat layout are
    those times the number of channels (``scale``).
    """

    def __init__(
        self,
        win: Window,
        spatial: tuple[int, ...],
        out: tuple[int, ...],
        channels_last: bool = False,
    ) -> None:
        self.win, self.spatial, self.out = win, tuple(spatial), tuple(out)
        self.channels_last = channels_last
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
        self.reach = max(t for _, t in self.shifts)  # the largest flat shift of an offset
        self.block = max(1, BLOCK_ELEMENTS // self.plane)
        self.crop = (slice(None),) + tuple(slice(0, o) for o in out)
        # The winner of each window is recorded as a one-byte "code" where possible. When the
        # offsets' flat positions (relative to the window's first element) increase with their
        # number and fit in a byte, the code is that position: "max" still keeps the latest
        # strict winner, and the backward needs no lookup. Otherwise (wide planes, or dilation
        # or padding making a window wider than the input) the code is the offset number and
        # ``table`` translates it.
        # Channels-last: every position is a multiple of the channel count, ``scale``.
        self.scale = spatial[-1] if channels_last else 1
        self.direct = bool(np.all(np.diff(self.table) > 0)) and table[-1] // self.scale <= 255
        if self.direct:
            self.codes = [int(c) // self.scale for c in self.table]
        else:
            self.codes = list(range(len(table)))
        self.code_dtype = np.uint8 if self.codes[-1] <= 255 else np.uint32
        # Flat input position of each window's first element (it may lie in the padding).
        base = np.zeros(out, dtype=np.int64)
        for dim, (o, s, p, st) in enumerate(zip(out, win.stride, win.padding, in_strides)):
            shape = [1] * len(out)
            shape[dim] = o
            base = base + ((np.arange(o) * s - p) * st).reshape(shape)
        self.base = base
        self.table.flags.writeable = self.base.flags.writeable = False  # plans are shared
        # Windows that tile the input exactly (stride = kernel, no dilation, no padding, every
        # input element in exactly one window): max pooling then goes one dimension at a time
        # (``_tiled``), and average pooling sums strided views.
        self.exact = all(
            s == k and d == 1 and p == 0 and o * k == size
            for k, s, d, p, o, size in zip(
                win.kernel, win.stride, win.dilation, win.padding, out, spatial
            )
        )
        # Exact tiling, reduced one dimension at a time (``_tiled.max_pool``): per dimension,
        # what one step along it adds to a winner's code.
        self.weights = [
            st // self.scale if self.direct else math.prod(win.kernel[dim + 1 :])
            for dim, st in enumerate(in_strides)
        ]
        self.exact_block = max(1, BLOCK_ELEMENTS // max(1, math.prod(out)))
        # With exact tiling, offset o of every window is a plain strided view of the input.
        self.views = [
            (slice(None),) + tuple(slice(j, None, k) for j, k in zip(offsets, win.kernel))
            for offsets in itertools.product(*(range(k) for k in win.kernel))
        ]
        self._local = threading.local()
        self._derived = {}

    @property
    def overlapping(self) -> bool:
        """True when some input element can belong to two windows."""
        return any(
            s < d * (k - 1) + 1
            for k, s, d in zip(self.win.kernel, self.win.stride, self.win.dilation)
        )

    def derived(self, key, make):
        """``make()``, computed once per plan and kept on it: layouts and bounds that other
        modules derive from the plan. Kept here rather than in a cache keyed by the plan, so
        that they go when ``plan_for`` drops the plan. Two threads may both compute a value
        the first time; the results are equal and immutable."""
        if key not in self._derived:
            self._derived[key] = make()
        return self._derived[key]

    def scratch(self, name: str, dtype, make, size: int = 0):
        """Buffers kept between calls, one set per thread, purpose and dtype.

        A fresh buffer costs a page fault per 4 KiB the first time it is written; layers call
        pooling with the same shapes over and over, so keeping these saves that every call.
        ``make(dtype)`` builds them for ``size`` (a count the caller chooses, such as planes);
        they are made again, larger, only when a call needs more than they hold.
        """
        store = self._local.__dict__
        key = (name, np.dtype(dtype))
        if key not in store or store[key][0] < size:
            store[key] = (size, make(np.dtype(dtype)))
        return store[key][1]

    def planes_per_block(self, batch: int) -> int:
        """Planes per block for a batch: a cache-sized block, but at most half the batch, so
        that the buffers of a small input stay small against it."""
        return max(1, min(self.block, -(-batch // 2)))

    def buffers(self, dtype, fill, planes: int):
        """Phase buffer (phases, planes, *ext) holding ``fill`` outside the copied input, and
        its (phases, planes * plane) view; each phase starts a cache line."""
        flat = aligned_rows(len(self.phases), planes * self.plane, dtype)
        flat.fill(fill)
        inner = flat[0].reshape((planes,) + self.ext).strides  # one phase is contiguous
        buf = np.lib.stride_tricks.as_strided(
            flat, (len(self.phases), planes) + self.ext, (flat.strides[0],) + inner
        )
        return buf, flat

    def max_scratch(self, dtype, planes: int):
        """Phase buffer, running maximum and winners for :func:`max_pool`.

        Only the padding of the phase buffer must keep its fill value, and no call writes there.
        """

        def make(key):
            fill = -np.inf if key.kind == "f" else np.iinfo(key).min
            buf, flat = self.buffers(key, fill, planes)
            n = planes * self.plane
            best, winner = aligned_empty(n, key), aligned_empty(n, self.code_dtype)
            best.fill(fill)
            winner.fill(0)
            return buf, flat, best, winner

        return self.scratch("max", dtype, make, planes)

    def winner_scratch(self, n: int):
        """The comparison result and its scaled copy, for :func:`running_max` on n values."""

        def make(_):
            return aligned_empty(n, bool), aligned_empty(n, self.code_dtype)

        return self.scratch("winner", self.code_dtype, make, n)

    def length(self, m: int) -> int:
        """Length of the flat slices that cover every output of ``m`` planes, and no more:
        each offset's slice starts at its shift, so the largest shift must still fit."""
        return m * self.plane - self.reach

    def blocks(self, batch: int, size: int):
        for start in range(0, batch, size):
            yield start, min(size, batch - start)

    def load(self, buf, x_block, m):
        """Copy ``m`` input planes into the phase buffer."""
        for ph, src, dst in self.copies:
            buf[(ph, slice(0, m)) + dst] = x_block[(slice(None),) + src]


@functools.cache
def tie_order(dtype: np.dtype) -> str | None:
    """Which operand ``np.maximum`` returns for +0 and -0, which compare equal: "first",
    "second", or None when it picks by sign (IEEE 754-2019 maximum, as ARM's instruction does)
    or not the same way for every element.

    A maximum over a window must return the *first* of equal values, as PyTorch does, and the
    sign of zero is the one way two equal floats differ. NumPy leaves this choice to its loops
    (a processor instruction in the vectorised part, a comparison in the scalar remainder), and
    on x86 it even differs between float16 and float32.
    """
    if np.dtype(dtype).kind != "f":
        return "first"  # integers have one zero: either order is right
    # NumPy's SIMD loops and their scalar tails may choose differently, and strided operands
    # take other loops: probe a length with both a vector part and a tail, contiguous and
    # strided, and trust an order only if every element agrees.
    n = 67
    minus = np.arange(2 * n) % 2 == 1  # -0 at odd positions
    a = np.where(minus, -0.0, 0.0).astype(dtype)  # +0, -0, +0, ...
    b = np.where(minus, 0.0, -0.0).astype(dtype)  # -0, +0, -0, ...
    orders = set()
    for x, y in ((a, b), (a[::2], b[::2]), (a[1::2], b[1::2])):
        keeps_first = np.signbit(np.maximum(x, y)) == np.signbit(x)
        keeps_second = np.signbit(np.maximum(x, y)) == np.signbit(y)
        orders.add("first" if keeps_first.all() else "second" if keeps_second.all() else None)
    return orders.pop() if len(orders) == 1 else None


def maximum_keeping_ties(best: np.ndarray, values: np.ndarray) -> None:
    """``best = max(best, values)`` in place, keeping ``best``'s value on ties (see tie_order)."""
    if tie_order(best.dtype) == "second":
        np.maximum(values, best, out=best)
    else:  # "first", or None, which max_pool repairs afterwards
        np.maximum(best, values, out=best)


def restore_zero_signs(x: np.ndarray, out: np.ndarray, won: np.ndarray, plan: PhasePlan) -> None:
    """Give every zero maximum the sign of its winner, where ``np.maximum`` chose by sign."""
    flat_out = out.reshape(-1)
    zeros = np.flatnonzero(flat_out == 0)
    if zeros.size:
        per_plane = math.prod(plan.out)
        plane = (zeros // per_plane) * math.prod(plan.spatial)
        position = plane + plan.base.reshape(-1)[zeros % per_plane]
        position += deltas(won.reshape(-1)[zeros], plan)
        flat_out[zeros] = x.reshape(-1)[position]


def running_max(values, best: np.ndarray, winner: np.ndarray, plan: PhasePlan) -> None:
    """Fill ``best`` with the maximum over the arrays ``values`` yields, and ``winner`` with the
    code of the first offset holding it (PyTorch's first-maximum rule; no NaN handling)."""
    n = len(best)
    larger, scaled = plan.winner_scratch(n)
    larger, scaled = larger[:n], scaled[:n]
    larger_as_int = larger.view(np.uint8)
    for number, v in enumerate(values):
        code = plan.code_dtype(plan.codes[number])
        if number == 0:
            np.copyto(best, v)
            winner.fill(code)
            continue
        np.greater(v, best, out=larger)  # strict: the first maximum stays
        maximum_keeping_ties(best, v)
        # Codes grow with the offset number, so "max" records the latest strict winner.
        if number == 1 and code == 1:
            np.copyto(winner, larger_as_int)
        else:
            np.multiply(larger_as_int, code, out=scaled)
            np.maximum(winner, scaled, out=winner)


def max_pool(x: np.ndarray, plan: PhasePlan) -> tuple[np.ndarray, np.ndarray]:
    """Maxima and the winners' codes, shapes (B, *out), through the stride phases (any
    geometry). No NaN handling, and zero signs may need ``restore_zero_signs`` (caller's job)."""
    out = np.empty((x.shape[0],) + plan.out, dtype=x.dtype)
    won = np.empty(out.shape, dtype=plan.code_dtype)
    planes = plan.planes_per_block(x.shape[0])
    buf, flat, best, winner = plan.max_scratch(x.dtype, planes)
    held = buf.shape[1]  # planes the buffers hold: more, if an earlier batch was larger
    best_ext = best.reshape((held,) + plan.ext)
    winner_ext = winner.reshape((held,) + plan.ext)
    for start, m in plan.blocks(x.shape[0], planes):
        plan.load(buf, x[start : start + m], m)
        length = plan.length(m)
        phases = (flat[ph, t : t + length] for ph, t in plan.shifts)
        running_max(phases, best[:length], winner[:length], plan)
        out[start : start + m] = best_ext[plan.crop][:m]
        won[start : start + m] = winner_ext[plan.crop][:m]
    return out, won


LOOKUP_BLOCK = 1 << 14  # codes looked up at a time: their 8-byte copies stay in cache


def lookup(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``table[codes]``, a block at a time. NumPy turns small integer codes into 8-byte
    indices before it looks them up; in blocks, those stay in cache (about 1.6x faster than
    one fancy index on a million codes). The codes are offset numbers, always in range."""
    flat = codes.reshape(-1)
    result = np.empty(flat.size, dtype=table.dtype)
    for start in range(0, flat.size, LOOKUP_BLOCK):
        part = slice(start, start + LOOKUP_BLOCK)
        np.take(table, flat[part], out=result[part], mode="clip")
    return result.reshape(codes.shape)


def deltas(won: np.ndarray, plan: PhasePlan) -> np.ndarray:
    """Each winner's flat position relative to its window's first element."""
    if plan.direct:
        return won if plan.scale == 1 else np.multiply(won, plan.scale, dtype=np.int64)
    return lookup(plan.table, won)
