"""Average pooling on the phase plan: window sums divided by PyTorch's divisor, and their
gradient, the output's gradient divided and spread back over each window. The plan and its
buffers are in :mod:`pooling_lab._phases`."""

from __future__ import annotations

import numpy as np

from ._phases import PhasePlan, aligned_empty, moves_vectors, vectors


def avg_pool(x: np.ndarray, plan: PhasePlan, divisor: np.ndarray) -> np.ndarray:
    """Window sums through the phases, divided by PyTorch's divisor (B, *out)."""
    out = np.empty((x.shape[0],) + plan.out, dtype=x.dtype)
    divisor = divisor.astype(x.dtype, copy=False)  # already in it where a plan keeps it
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf and overflow are genuine
        if plan.exact:  # a sum of strided views, a block of planes at a time (in cache)
            gather = moves_vectors(plan, x.itemsize)
            if gather:  # each view's channel vectors gathered, then one contiguous add

                def make(key):
                    return aligned_empty((plan.exact_block,) + plan.out, key)

                gathered = plan.scratch("avg_gathered", x.dtype, make, plan.exact_block)
            for start, m in plan.blocks(x.shape[0], plan.exact_block):
                block, total = x[start : start + m], out[start : start + m]
                if gather:
                    np.copyto(vectors(total), vectors(block[plan.views[0]]))
                    for view in plan.views[1:]:
                        np.copyto(vectors(gathered[:m]), vectors(block[view]))
                        np.add(total, gathered[:m], out=total)
                else:
                    np.copyto(total, block[plan.views[0]])
                    for view in plan.views[1:]:
                        np.add(total, block[view], out=total)
                np.divide(total, divisor, out=total)
            return out
        planes = plan.planes_per_block(x.shape[0])

        def make(key):  # zero padding around the phases, and the running sums
            return (*plan.buffers(key, 0, planes), aligned_empty(planes * plan.plane, key))

        buf, flat, total = plan.scratch("avg", x.dtype, make, planes)
        held = buf.shape[1]  # planes the buffers hold: more, if an earlier batch was larger
        total_ext = total.reshape((held,) + plan.ext)
        for start, m in plan.blocks(x.shape[0], planes):
            plan.load(buf, x[start : start + m], m)
            length = plan.length(m)
            total_l = total[:length]
            for number, (ph, t) in enumerate(plan.shifts):
                if number == 0:
                    np.copyto(total_l, flat[ph, t : t + length])
                else:
                    np.add(total_l, flat[ph, t : t + length], out=total_l)
            np.divide(total_ext[plan.crop][:m], divisor, out=out[start : start + m])
    return out


def avg_pool_backward(grad: np.ndarray, plan: PhasePlan, divisor: np.ndarray) -> np.ndarray:
    """Each window's share (grad / divisor) added to its elements, through the phases."""
    result = np.empty((grad.shape[0],) + plan.spatial, dtype=grad.dtype)
    divisor = divisor.astype(grad.dtype, copy=False)
    if plan.exact:  # every input element gets its one window's share: one view per offset
        gather = moves_vectors(plan, grad.itemsize)  # whole channel vectors at a time

        def make(key):
            return aligned_empty((plan.exact_block,) + plan.out, key)

        share = plan.scratch("avg_share", grad.dtype, make, plan.exact_block)
        # a block of planes at a time, so that the views' passes write the result in cache
        for start, m in plan.blocks(grad.shape[0], plan.exact_block):
            block, part = result[start : start + m], share[:m]
            np.divide(grad[start : start + m], divisor, out=part)
            for view in plan.views:
                if gather:
                    np.copyto(vectors(block[view]), vectors(part))
                else:
                    block[view] = part
        return result
    planes = plan.planes_per_block(grad.shape[0])
    buf, flat = plan.buffers(grad.dtype, 0, planes)
    share = np.zeros(planes * plan.plane, dtype=grad.dtype)
    share_ext = share.reshape((planes,) + plan.ext)
    for start, m in plan.blocks(grad.shape[0], planes):
        buf.fill(0)
        length = plan.length(m)
        share_l = share[:length]
        np.divide(grad[start : start + m], divisor, out=share_ext[plan.crop][:m])
        for ph, t in plan.shifts:
            target = flat[ph, t : t + length]
            np.add(target, share_l, out=target)  # one offset never repeats a position
        for ph, src, dst in plan.copies:
            result[(slice(start, start + m),) + src] = buf[(ph, slice(0, m)) + dst]
    return result
