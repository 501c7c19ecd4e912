"""The steps of the chapter ``making_it_fast``, as forward passes the benchmark can time.

Each function returns the maxima and each window's winning offset number (row-major, first
maximum on ties), for a 2-D max pooling with square kernel ``k``, stride ``s`` and padding
``p``, no NaN handling. They are the chapter's code, kept here so that the benchmark times what
the chapter shows:

- ``step1_slices``: one strided slice of the padded input per kernel offset (Step 1);
- ``step2_phases``: the same on stride phases, one contiguous flat slice per offset, the whole
  input at once (Step 2, without pooling_lab's blocks or reused buffers; like the layer, it
  keeps one byte per window for the winner);
- ``sliding_windows``: NumPy's ``sliding_window_view``, every window as a k x k view, then
  ``max`` and ``argmax`` over the window (``argmax`` keeps the first maximum).
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def padded(x: np.ndarray, p: int) -> np.ndarray:
    if p == 0:
        return x
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)], constant_values=-np.inf)


def step1_slices(x: np.ndarray, k: int, s: int, p: int):
    xp = padded(x, p)
    ho, wo = (xp.shape[-2] - k) // s + 1, (xp.shape[-1] - k) // s + 1
    best = np.full(xp.shape[:-2] + (ho, wo), -np.inf, dtype=x.dtype)
    winner = np.zeros(best.shape, dtype=np.uint8)
    for number, (i, j) in enumerate(itertools.product(range(k), range(k))):
        values = xp[..., i : i + s * ho : s, j : j + s * wo : s]
        larger = values > best
        np.maximum(best, values, out=best)
        np.maximum(winner, np.uint8(number) * larger, out=winner)
    return best, winner


def step2_phases(x: np.ndarray, k: int, s: int, p: int):
    xp = padded(x, p)
    ho, wo = (xp.shape[-2] - k) // s + 1, (xp.shape[-1] - k) // s + 1
    reach = (k - 1) // s
    eh, ew = ho + reach, wo + reach
    planes = xp.reshape(-1, *xp.shape[-2:])
    phases = np.full((s, s, len(planes), eh, ew), -np.inf, dtype=x.dtype)
    for r, q in itertools.product(range(s), range(s)):
        part = planes[:, r::s, q::s][:, :eh, :ew]
        phases[r, q, :, : part.shape[1], : part.shape[2]] = part
    flat = phases.reshape(s, s, -1)
    length = flat.shape[-1] - (reach * ew + reach)
    best = np.full(length, -np.inf, dtype=x.dtype)
    winner = np.zeros(length, dtype=np.uint8)
    for number, (i, j) in enumerate(itertools.product(range(k), range(k))):
        t = (i // s) * ew + (j // s)
        values = flat[i % s, j % s, t : t + length]
        larger = values > best
        np.maximum(best, values, out=best)
        np.maximum(winner, np.uint8(number) * larger, out=winner)
    size = len(planes) * eh * ew

    def crop(a):
        return np.pad(a, (0, size - length)).reshape(len(planes), eh, ew)[:, :ho, :wo]

    shape = xp.shape[:-2] + (ho, wo)
    return crop(best).reshape(shape), crop(winner).reshape(shape)


def sliding_windows(x: np.ndarray, k: int, s: int, p: int):
    windows = sliding_window_view(padded(x, p), (k, k), axis=(-2, -1))[..., ::s, ::s, :, :]
    # a copy: a window's k x k elements are not evenly spaced in memory (a run along the row,
    # then a jump to the next row), so no single stride reaches them, overlap or not
    flat = windows.reshape(windows.shape[:-2] + (k * k,))
    return flat.max(axis=-1), flat.argmax(axis=-1)


STEPS = {
    "step1_slices": step1_slices,
    "step2_phases": step2_phases,
    "sliding_window_view": sliding_windows,
}
