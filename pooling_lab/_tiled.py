"""Max pooling for windows that tile the input exactly, one dimension at a time.

When stride = kernel with no padding or dilation, and the windows cover the input, every input
element belongs to exactly one window. The phase layout of ``_phases`` would then copy the
whole input into k^n phases whose rows are short (a 2x2 pool of 8x8 planes has rows of 4), and
NumPy's loops pay a fixed cost per innermost row. Here the maximum is taken over the last
dimension first, then over the one before it, and so on; each step shrinks the data k times,
and copies whole rows of the already-reduced dimensions as single opaque elements, so every
inner loop runs over a whole block.

Channels-last inputs whose channel vectors are 16 bytes or more take a shorter route
(:func:`max_pool_gathered`): each window offset's channel vectors are gathered into one
contiguous buffer, and the running maximum over those is the phase route's.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from . import _phases
from ._phases import PhasePlan


def _rows(a: np.ndarray) -> np.ndarray:
    """View (R, chunk), rows contiguous, as R opaque elements of one row each (R,); rows of
    one value are that value itself, with no opaque view."""
    return a[:, 0] if a.shape[1] == 1 else _phases.vectors(a)


def planes_per_block(plan: PhasePlan, batch: int) -> int:
    """Planes a block of :func:`max_pool` holds, for a batch of ``batch`` planes.

    Each step shrinks the data k times, so a block can hold more input than the phase blocks
    and still keep its later steps in cache (2 to 8 times as much measured best). At most half
    the batch per block, so that the buffers of a small input stay small against it (the peak
    memory of a first call includes them).
    """
    return max(1, min(-(-batch // 2), 4 * _phases.BLOCK_ELEMENTS // math.prod(plan.spatial)))


def steps(plan: PhasePlan) -> list[int]:
    """The dimensions :func:`max_pool` reduces, one step each, the last first.

    A dimension with a window of 1 needs no step (it would only copy the data); the channels of
    a channels-last input are such a dimension. Kernel-1 pooling keeps one step, a copy.
    """
    n = len(plan.out)
    return [dim for dim in reversed(range(n)) if plan.win.kernel[dim] > 1] or [0]


def _gather_layout(plan: PhasePlan):
    """For :func:`max_pool_gathered`: the shape that splits (B, *spatial, C) into
    (B * out[0], k[0], out[1], k[1], ..., C), and the index of each window offset in it,
    in row-major order (the order of the plan's codes). Computed once per plan."""

    def make():
        kernel, out = plan.win.kernel[:-1], plan.out[:-1]
        shape = [-1, kernel[0]]
        for o, k in zip(out[1:], kernel[1:]):
            shape += [o, k]
        shape.append(plan.spatial[-1])
        views = []
        for offsets in itertools.product(*(range(k) for k in kernel)):
            index = (slice(None), offsets[0])
            for j in offsets[1:]:
                index += (slice(None), j)
            views.append(index)
        return tuple(shape), tuple(views)

    return plan.derived("gather_layout", make)


def _gathered(block: np.ndarray, views: list, target: np.ndarray):
    """Yield ``target`` (flat) holding each offset of ``block`` in turn: one copy of whole
    channel vectors per offset, into the same buffer (``running_max`` reads each once)."""
    rows = _phases.vectors(target)
    for view in views:
        np.copyto(rows, _phases.vectors(block[view]))
        yield target.reshape(-1)


def max_pool_gathered(x: np.ndarray, plan: PhasePlan) -> tuple[np.ndarray, np.ndarray]:
    """Maxima and the winners' codes of a channels-last input (B, *spatial, C), shapes
    (B, *out, C), by gathering each window offset into one contiguous buffer.

    With exact tiling, offset (j0, j1, ...) of every window is a strided view of the input
    whose rows are whole channel vectors; copied as single opaque elements, each offset is
    one contiguous array, and the running maximum over them (``_phases.running_max``, the
    phase route's, offsets in row-major order) writes the output directly: the output of a
    block of (batch, out[0]) slabs is contiguous, in the input's layout. One copy of the
    input, against about 1.75 for three steps of :func:`max_pool`, and codes without
    bookkeeping between steps. No NaN handling, and zero signs may need
    ``restore_zero_signs`` (caller's job).
    """
    x = np.ascontiguousarray(x)
    shape, views = _gather_layout(plan)
    split = x.reshape(shape)
    slabs = split.shape[0]
    out = np.empty((slabs,) + plan.out[1:], dtype=x.dtype)
    won = np.empty(out.shape, dtype=plan.code_dtype)
    per_slab = math.prod(split.shape[1:])
    per_out = math.prod(out.shape[1:])
    # 4 phase blocks of input per block (256 Ki elements), as in max_pool: measured best for
    # 2 x 2 and 2 x 2 x 2 windows. A small input is one block, not halved as the phase blocks
    # are: the buffer holds one offset, a k^n-th of the block, and every block costs about
    # 4 k^n NumPy calls (halving a (256, 8, 8, 8) input cost 6% of forward + backward)
    slabs_per_block = max(1, min(slabs, 4 * _phases.BLOCK_ELEMENTS // per_slab))

    def make(key):
        return _phases.aligned_empty(slabs_per_block * per_out, key)

    gathered = plan.scratch("gathered", x.dtype, make, slabs_per_block)
    for start, m in plan.blocks(slabs, slabs_per_block):
        block = split[start : start + m]
        target = gathered[: m * per_out]
        offsets = _gathered(block, views, target.reshape((m,) + out.shape[1:]))
        best = out[start : start + m].reshape(-1)
        _phases.running_max(offsets, best, won[start : start + m].reshape(-1), plan)
    return out.reshape((x.shape[0],) + plan.out), won.reshape((x.shape[0],) + plan.out)


def max_pool(x: np.ndarray, plan: PhasePlan) -> tuple[np.ndarray, np.ndarray]:
    """Maxima and the winners' codes, shapes (B, *out), one dimension at a time.

    Reducing the last dimension first, then the one before it, and so on, finds the same first
    maximum as row-major order: the earliest row holding the maximum, and in it the earliest
    element. No NaN handling, and zero signs may need ``restore_zero_signs`` (caller's job).
    Channels-last inputs with channel vectors of 16 bytes or more are gathered instead
    (:func:`max_pool_gathered`).
    """
    if _phases.moves_vectors(plan, x.dtype.itemsize):
        return max_pool_gathered(x, plan)
    x = np.ascontiguousarray(x)  # rows are viewed as single elements
    batch = x.shape[0]
    if plan.out[0] > 1 and math.prod(plan.spatial) > 4 * _phases.BLOCK_ELEMENTS:
        # One plane is more than a block (a channels-last volume, say): every k rows of the
        # first dimension are a pooling problem of their own, with the same offsets, strides
        # and so the same winner codes, and those are cut into blocks instead.
        sub = _phases.plan_for(
            plan.win,
            (plan.win.kernel[0],) + plan.spatial[1:],
            (1,) + plan.out[1:],
            plan.channels_last,
        )
        out, won = max_pool(x.reshape((batch * plan.out[0],) + sub.spatial), sub)
        return out.reshape((batch,) + plan.out), won.reshape((batch,) + plan.out)
    out = np.empty((batch,) + plan.out, dtype=x.dtype)
    won = np.empty(out.shape, dtype=plan.code_dtype)
    planes = planes_per_block(plan, batch)
    dims = steps(plan)
    size = planes * math.prod(plan.spatial) // plan.win.kernel[dims[0]]  # the first, largest step

    def make(key):
        # (maxima, codes) of the steps before the last, which writes the result; with three
        # or more steps, two sets in turn, so that a step never overwrites what it reads
        empty = _phases.aligned_empty
        sets = [
            (empty(size, key), empty(size, plan.code_dtype)) for _ in range(min(2, len(dims) - 1))
        ]
        return sets, empty(size, key), empty(size, bool), empty(size, plan.code_dtype)

    pairs, phase_buf, larger_buf, scaled_buf = plan.scratch("exact", x.dtype, make, planes)
    for start, m in plan.blocks(batch, planes):
        values, codes = x[start : start + m].reshape(-1), None
        for step, dim in enumerate(dims):
            k = plan.win.kernel[dim]
            chunk = math.prod(plan.out[dim + 1 :])  # elements of one row, dims after dim
            rows = values.size // (k * chunk)
            count = rows * chunk
            if step == len(dims) - 1:  # the last step writes the result
                best = out[start : start + m].reshape(-1)
                code = won[start : start + m].reshape(-1)
            else:
                best, code = (buf[:count] for buf in pairs[step % len(pairs)])
            phase, larger = phase_buf[:count], larger_buf[:count]
            scaled = scaled_buf[:count]
            larger_as_int = larger.view(np.uint8)
            v3 = values.reshape(rows, k, chunk)
            c3 = None if codes is None else codes.reshape(rows, k, chunk)
            for u in range(k):
                step_code = plan.code_dtype(u * plan.weights[dim])
                target = best if u == 0 else phase
                np.copyto(_rows(target.reshape(rows, chunk)), _rows(v3[:, u, :]))
                if u == 0:
                    if c3 is None:
                        if k == 1:  # else the next offset writes every code
                            code.fill(0)
                    else:
                        np.copyto(_rows(code.reshape(rows, chunk)), _rows(c3[:, 0, :]))
                    continue
                np.greater(phase, best, out=larger)  # strict: the first maximum stays
                _phases.maximum_keeping_ties(best, phase)
                if c3 is None and u == 1:  # first step, first comparison: 0 or this code
                    np.multiply(larger_as_int, step_code, out=code)
                elif c3 is None:  # first step: codes grow with u, so "max" keeps the latest
                    np.multiply(larger_as_int, step_code, out=scaled)
                    np.maximum(code, scaled, out=code)
                else:  # code = where(larger, this row's code + step, code), branch-free
                    np.copyto(_rows(scaled.reshape(rows, chunk)), _rows(c3[:, u, :]))
                    scaled += step_code
                    scaled -= code  # unsigned wrap-around cancels in the sum below
                    scaled *= larger_as_int
                    code += scaled
            values, codes = best, code
    return out, won
