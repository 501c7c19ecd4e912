"""Pooling in the channels-last layout, PyTorch's ``memory_format=torch.channels_last``.

An (N, C, H, W) array is *channels-last* when its memory is (N, H, W, C): the channel index
varies fastest, ``x.transpose(0, 2, 3, 1)`` is C-contiguous. This is what
``x.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)`` gives, and what PyTorch's
``x.contiguous(memory_format=torch.channels_last)`` is (``channels_last_3d`` for
(N, C, D, H, W); the same rule is applied to (N, C, L) and to unbatched (C, *spatial) inputs).

**The rule** (:func:`channels_last_view`): the input, with a batch dimension added if it has
none, is channels-last if moving its channel axis last gives a C-contiguous array and the
array itself is *not* C-contiguous. NumPy ignores the strides of length-1 dimensions, so when
C is 1, or every spatial size is 1, both layouts are the same memory and the array is both;
it is then treated as the ordinary (N, C, *spatial) layout, as PyTorch's
``suggest_memory_format`` prefers contiguous then. A batch of 1 is not ambiguous (the batch
stride never matters). An array that is neither (a slice ``x[:, :, ::2]`` of a channels-last
array, say) takes the ordinary path, which copies it.

**The kernel.** The (N, *spatial, C) view (a transpose, no copy) is pooled as a problem with
one more spatial dimension, the channels, with a window of 1 and stride 1: the plan of
:mod:`pooling_lab._phases` then splits it into stride phases whose innermost runs are whole
channel vectors, and each window offset is one contiguous slice of the flattened phase
buffer, as in the ordinary layout. Windows that tile the input exactly take shorter routes.
With channel vectors of 16 bytes or more (4 float32 channels), max pooling
(:func:`pooling_lab._tiled.max_pool_gathered`) gathers each window offset's vectors, copied
as single opaque elements, into one contiguous buffer, and average pooling sums offsets
gathered in the same way; shorter vectors are max-pooled one dimension at a time
(:mod:`pooling_lab._tiled`), the steps moving whole channel vectors as single elements.

Why the results are bit-identical to the ordinary path's: on the phase path the window offsets
are visited in the same row-major order as in the ordinary layout (the channel dimension adds
no offset), so every comparison and every average's sum is the same operation in the same
order; average pooling's exact tiling sums its views in the same order in both layouts too.
The gathered max route compares in another order than the ordinary layout's route by
dimension, but both keep the first maximum in row-major order, and a maximum rounds nothing.
Windows whose maximum is NaN or -inf take the ordinary path's rules (``max_pool`` below).

Results keep the layout: outputs, indices and gradients are (N, C, ...) arrays whose memory is
(N, ..., C). Indices are the usual flat positions within one (H, W) plane, PyTorch's.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from . import _average, _core, _phases, _scatter, _tiled
from ._params import Window, check_index_range


@functools.cache
def _last(ndim: int) -> tuple[int, ...]:
    """Axes moving axis 1 last: np.moveaxis(a, 1, -1) as a transpose (no checks, faster)."""
    return (0, *range(2, ndim), 1)


@functools.cache
def _first(ndim: int) -> tuple[int, ...]:
    """Axes moving the last axis to 1: np.moveaxis(a, -1, 1) as a transpose."""
    return (0, ndim - 1, *range(1, ndim - 1))


def channels_last_view(x: np.ndarray, n: int) -> np.ndarray | None:
    """The (N, *spatial, C) view of a channels-last ``x`` (N, C, *spatial) or (C, *spatial),
    or None if ``x`` is not channels-last (the rule is in the module docstring)."""
    xb = x if x.ndim == n + 2 else x[None]
    if xb.flags.c_contiguous:  # the ordinary layout, and every ambiguous case
        return None
    view = xb.transpose(_last(xb.ndim))
    return view if view.flags.c_contiguous else None


def is_channels_last(x: np.ndarray, n: int) -> bool:
    """True if ``x`` has n spatial dimensions and its memory is channels-last."""
    return channels_last_view(np.asarray(x), n) is not None


def as_channels_last(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` (N, C, *spatial) or (C, *spatial) with channels-last memory: a copy unless it is."""
    if channels_last_view(a, n) is not None:
        return a
    ab = a if a.ndim == n + 2 else a[None]
    out = to_channels_first(np.ascontiguousarray(to_channels_last(ab)))
    return out if a.ndim == n + 2 else out[0]


def to_channels_first(a: np.ndarray) -> np.ndarray:
    """View (N, *spatial, C) as (N, C, *spatial): the layout the caller sees."""
    return a.transpose(_first(a.ndim))


def to_channels_last(a: np.ndarray) -> np.ndarray:
    """View (N, C, *spatial) as (N, *spatial, C)."""
    return a.transpose(_last(a.ndim))


@functools.lru_cache(maxsize=64)
def with_channels(win: Window) -> Window:
    """The window of the (N, *spatial, C) problem: the channels are one more dimension, with
    a window of 1, stride 1 and no padding."""
    return dataclasses.replace(
        win,
        kernel=win.kernel + (1,),
        stride=win.stride + (1,),
        padding=win.padding + (0,),
        dilation=win.dilation + (1,),
    )


def _plan(win: Window, spatial: tuple[int, ...], out: tuple[int, ...], c: int):
    """The plan of the (N, *spatial, C) problem; its winner codes are those of the ordinary
    layout's plan (positions in one plane, or offset numbers)."""
    wide = with_channels(win)
    return _phases.plan_for(wide, tuple(spatial) + (c,), tuple(out) + (c,), channels_last=True)


class MaxPoolChannelsLast:
    """Max pooling's record of a channels-last input: the output (already in the caller's
    rank and layout), and the winners as the channels-last plan's codes, (N, *out, C); or,
    when some window's maximum is NaN or -inf, the ordinary path's result on a copy."""

    def __init__(self, output, plan, winners, fallback, win, spatial, batched):
        self.output, self.plan, self.winners = output, plan, winners
        self.fallback, self.win, self.spatial, self.batched = fallback, win, spatial, batched

    def _rank(self, a: np.ndarray) -> np.ndarray:
        return a if self.batched else a[0]

    def indices(self) -> np.ndarray:
        """Flat positions within each plane (int64), channels-last like the output."""
        if self.fallback is not None:
            out = self.fallback.output.shape[1:]
            index = self.fallback.indices().reshape((-1, self.plan.spatial[-1]) + out)
            return self._rank(as_channels_last(index, len(out)))
        out, c = self.plan.out[:-1], self.plan.out[-1]
        flat_plan = _phases.plan_for(self.win, self.spatial, out)

        def make(_):  # each window's first position, for every channel: (*out, C) flat
            return np.repeat(flat_plan.base.reshape(-1), c)

        base = self.plan.scratch("plane_base", np.int64, make)
        won = self.winners.reshape(len(self.winners), base.size)  # long rows, not rows of C
        # the same codes as the ordinary plan's: positions, or offset numbers
        table = None if flat_plan.direct else flat_plan.table
        index = _scatter.positions(won, base, table, self.plan, "plane_positions")
        return self._rank(to_channels_first(index.reshape(self.winners.shape)))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """The input's gradient from the output's (same rank as the input, any layout);
        channels-last like the input."""
        g = grad if self.batched else grad[None]
        if self.fallback is not None:
            n = len(self.spatial)
            folded = np.ascontiguousarray(g).reshape((-1,) + g.shape[-n:])
            result = self.fallback.backward(folded).reshape(g.shape[:2] + self.spatial)
            return self._rank(as_channels_last(result, n))
        result = _scatter.max_pool_backward(to_channels_last(g), self.winners, self.plan)
        return self._rank(to_channels_first(result))


def max_pool(xl: np.ndarray, win: Window, batched: bool = True) -> MaxPoolChannelsLast:
    """Max pooling of the (N, *spatial, C) view ``xl``, with PyTorch's index rules."""
    spatial, c = tuple(xl.shape[1:-1]), xl.shape[-1]
    out_shape = win.output_size(spatial)
    _core._first_inside(win, spatial, out_shape)  # raises if a window covers no input element
    plan = _plan(win, spatial, out_shape, c)
    out, winners = (_tiled.max_pool if plan.exact else _phases.max_pool)(xl, plan)
    if _phases.tie_order(xl.dtype) is None:
        _phases.restore_zero_signs(xl, out, winners, plan)
    fallback = None
    if _core.has_unusual_windows(out):
        # NaN and all -inf windows have index rules only the ordinary path's slice version
        # implements; they are rare, so they pay for a copy to that layout.
        ordinary = np.ascontiguousarray(to_channels_first(xl)).reshape((-1,) + spatial)
        fallback = _core.max_pool(ordinary, win)
        out = np.ascontiguousarray(
            to_channels_last(fallback.output.reshape((xl.shape[0], c) + out_shape))
        )
        winners = None
    output = to_channels_first(out)
    return MaxPoolChannelsLast(
        output if batched else output[0], plan, winners, fallback, win, spatial, batched
    )


@functools.lru_cache(maxsize=16)
def _block_offsets(step: int, per_entry: int, c: int, plane: int) -> np.ndarray:
    """What the position of a block's k-th gradient adds to its index times C: its batch
    entry's offset in the block plus its channel. Built once per geometry, so that the
    scatter runs over whole blocks (not over rows of C, which are short)."""
    entry = (np.arange(step, dtype=np.int64) * plane)[:, None]
    offset = (entry + np.tile(np.arange(c, dtype=np.int64), per_entry // c)).reshape(-1)
    offset.flags.writeable = False
    return offset


def scatter_add(
    gl: np.ndarray, il: np.ndarray, spatial: tuple[int, ...], fn: str | None = None
) -> np.ndarray:
    """Add ``gl`` (N, *out, C) at the flat plane positions ``il`` (N, *out, C) into zeros of
    (N, *spatial, C), a block of batch entries at a time; overlapping windows sum. With
    ``fn``, each block's indices are range-checked first (see ``_scatter.scatter_add``)."""
    batch, c = gl.shape[0], gl.shape[-1]
    plane = math.prod(spatial) * c
    result = np.empty(batch * plane, dtype=gl.dtype)  # zeroed block by block, in cache
    per_entry = max(1, math.prod(gl.shape[1:]))
    # As the ordinary scatter's blocks: a quarter of a phase block, so that the 8-byte positions,
    # the gradients and the target stay in cache (about 10% faster than whole phase blocks on
    # the benchmark's configurations 1 to 3); one buffer for every block's positions.
    limit = _phases.BLOCK_ELEMENTS // 4
    step = max(1, min(batch, limit // per_entry))  # batch may be 0
    offset = _block_offsets(step, per_entry, c, plane)
    # An entry of more outputs than that (a 224 x 224 image, say) is cut into pieces of at most
    # ``limit`` outputs, all added into its own zeroed plane.
    piece = limit if per_entry > limit else step * per_entry  # step is 1 in the first case
    flat_buffer = np.empty(piece, dtype=np.int64)
    for start in range(0, batch, step):
        stop = min(batch, start + step)
        target = result[start * plane : stop * plane]
        target.fill(0)
        indices, grads = il[start:stop].reshape(-1), gl[start:stop].reshape(-1)
        for first in range(0, indices.size, piece):
            part = slice(first, first + piece)
            if fn is not None:
                check_index_range(fn, indices[part], math.prod(spatial))
            flat = flat_buffer[: indices[part].size]
            # int64 arithmetic whatever the indices' integer type (uint8 * C could overflow)
            np.multiply(indices[part], c, out=flat, dtype=np.int64)
            flat += offset[first : first + flat.size]
            np.add.at(target, flat, grads[part])
    return result.reshape((batch,) + tuple(spatial) + (c,))


def _divisor(plan, win, spatial, out, count_include_pad, override, dtype):
    """The divisor for (B, *out, C) in ``dtype``: the ordinary layout's (it does not depend on
    the channel) repeated along C, kept on the plan. Contiguous, so that the division runs
    one long loop: broadcast along a channel axis of 1, NumPy's inner loop would run over C
    values at a time (5-12% slower on the benchmark's channels-last configurations 2, 3, 5)."""
    if override is not None:
        return np.full((1,) * (len(spatial) + 2), override, dtype=np.int64)

    def make():
        divisor = _core.avg_divisor(win, tuple(spatial), tuple(out), count_include_pad)
        full = np.broadcast_to(divisor[..., None], (1,) + plan.out).astype(dtype)
        full.flags.writeable = False  # shared by the plan's calls
        return full

    return plan.derived(("avg_divisor", bool(count_include_pad), np.dtype(dtype).str), make)


def avg_pool(
    xl: np.ndarray, win: Window, count_include_pad: bool, override: int | None
) -> np.ndarray:
    """Average pooling of the (N, *spatial, C) view ``xl``: (N, *out, C)."""
    spatial, c = tuple(xl.shape[1:-1]), xl.shape[-1]
    out = win.output_size(spatial)
    plan = _plan(win, spatial, out, c)
    divisor = _divisor(plan, win, spatial, out, count_include_pad, override, xl.dtype)
    return _average.avg_pool(xl, plan, divisor)


def avg_pool_backward(
    gl: np.ndarray,
    spatial: tuple[int, ...],
    win: Window,
    count_include_pad: bool,
    override: int | None,
) -> np.ndarray:
    """The gradient of :func:`avg_pool`: (N, *spatial, C) from ``gl`` (N, *out, C)."""
    c, out = gl.shape[-1], tuple(gl.shape[1:-1])
    plan = _plan(win, spatial, out, c)
    divisor = _divisor(plan, win, spatial, out, count_include_pad, override, gl.dtype)
    return _average.avg_pool_backward(gl, plan, divisor)
