"""The checker of making_it_fast's special-values exercise passes the chapter's solution and
names each learner-style slip: Step 1 as it stands, the first NaN winning, the padding winning
a window of -inf, and a zero maximum whose sign np.maximum chose.

``max_pool_special`` is the solution printed in book/making_it_fast.ipynb (exercise
ex-fast-special), so the chapter's solution is run and checked here.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pooling_lab import _phases
from pooling_lab.exercises import check_max_pool_special


def max_pool_special(x, k, s, p):
    pad = [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)]
    xp = np.pad(x, pad, constant_values=-np.inf)
    real = np.pad(np.ones(x.shape, dtype=bool), pad)  # False in the padding
    ho, wo = (xp.shape[-2] - k) // s + 1, (xp.shape[-1] - k) // s + 1
    best = np.full(x.shape[:-2] + (ho, wo), -np.inf, dtype=x.dtype)
    winner = np.zeros(best.shape, dtype=np.int64)
    have = np.zeros(best.shape, dtype=bool)  # has the window taken a real element yet?
    for number, (u, v) in enumerate(itertools.product(range(k), range(k))):
        cut = (..., slice(u, u + s * ho, s), slice(v, v + s * wo, s))
        values = xp[cut]
        take = real[cut] & (~have | (values > best) | np.isnan(values))
        best = np.where(take, values, best)  # np.maximum could flip a zero's sign
        winner = np.where(take, number, winner)
        have |= take
    row = np.arange(ho)[:, None] * s + winner // k - p
    col = np.arange(wo)[None, :] * s + winner % k - p
    return best, row * x.shape[-1] + col


def slipped(x, k, s, p, *, slip):
    pad = [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)]
    xp = np.pad(x, pad, constant_values=-np.inf)
    real = np.pad(np.ones(x.shape, dtype=bool), pad)
    ho, wo = (xp.shape[-2] - k) // s + 1, (xp.shape[-1] - k) // s + 1
    best = np.full(x.shape[:-2] + (ho, wo), -np.inf, dtype=x.dtype)
    winner = np.zeros(best.shape, dtype=np.int64)
    have = np.zeros(best.shape, dtype=bool)
    for number, (u, v) in enumerate(itertools.product(range(k), range(k))):
        cut = (..., slice(u, u + s * ho, s), slice(v, v + s * wo, s))
        values = xp[cut]
        larger = values >= best if slip == "ge" else values > best
        if slip == "step1":  # the chapter's Step 1, unchanged
            take = larger
            np.maximum(best, values, out=best)
        elif slip == "fmax":  # a NaN-skipping maximum, the winner as Step 1 finds it
            take = real[cut] & (~have | larger)
            best = np.fmax(best, values)
        else:
            nan = np.isnan(values)
            if slip == "first_nan":
                nan &= ~np.isnan(best)
            elif slip == "no_nan_test":
                nan[:] = False
            elif slip == "nan_or_best_nan":  # "no later offset can take over" misread
                nan |= np.isnan(best)
            if slip == "padding":
                take = larger | nan
            else:
                take = real[cut] & (~have | larger | nan)
            if slip == "maximum":  # the value as Step 1 takes it
                best = np.maximum(best, values)
            else:
                best = np.where(take, values, best)
        winner = np.where(take, number, winner)
        have |= take
    row = np.arange(ho)[:, None] * s + winner // k - p
    col = np.arange(wo)[None, :] * s + winner % k - p
    return best, row * x.shape[-1] + col


def test_the_chapters_solution_passes():
    report = check_max_pool_special(max_pool_special)
    assert report.passed, repr(report)


@pytest.mark.parametrize(
    ("slip", "key", "in_hint"),
    [
        ("step1", "special_nan_loses", "(values > best) | np.isnan(values)"),
        ("first_nan", "special_first_nan", "drop that condition"),
        ("padding", "special_padding_wins", "first real element"),
        ("no_nan_test", "special_nan_ignored", "(values > best) | np.isnan(values)"),
        ("fmax", "special_nan_ignored", "not np.fmax"),
        ("nan_or_best_nan", "special_nan_replaced", "do not also take where best is NaN"),
        ("ge", "index_last_tie", ">, not >="),
    ],
)
def test_each_slip_is_named_with_a_fitting_hint(slip, key, in_hint):
    with np.errstate(invalid="ignore"):
        report = check_max_pool_special(lambda *args: slipped(*args, slip=slip))
    assert report.misconception == key, repr(report)
    assert in_hint in report.hint


@pytest.mark.skipif(
    all(_phases.tie_order(np.dtype(t)) == "first" for t in (np.float16, np.float32, np.float64)),
    reason="np.maximum keeps the first of two equal zeros on this machine, in every dtype",
)
def test_a_zero_sign_chosen_by_np_maximum_is_named():
    report = check_max_pool_special(lambda *args: slipped(*args, slip="maximum"))
    assert report.misconception == "special_zero_sign", repr(report)
    assert "np.where(take, values, best)" in report.hint


def test_a_function_that_fails_on_float16_gets_a_report_not_a_traceback():
    def no_float16(x, k, s, p):
        if x.dtype == np.float16:
            raise TypeError("float16 is not supported")
        return max_pool_special(x, k, s, p)

    report = check_max_pool_special(no_float16)
    assert report.misconception == "crashed", repr(report)
    assert "float16" in report.message


def test_a_wrong_output_size_gets_a_forward_hint():
    def unpadded_size(x, k, s, p):
        out, idx = max_pool_special(x, k, s, p)
        h, w = (x.shape[-2] - k) // s + 1, (x.shape[-1] - k) // s + 1  # without the padding
        return out[..., :h, :w], idx[..., :h, :w]

    report = check_max_pool_special(unpadded_size)
    assert report.misconception == "shape", repr(report)
    assert "counted on the padded plane" in report.hint


def test_an_argmax_solution_gets_a_hint_about_argmax():
    def by_argmax(x, k, s, p):
        xp = np.pad(x, [(p, p), (p, p)], constant_values=-np.inf)
        ho, wo = (xp.shape[0] - k) // s + 1, (xp.shape[1] - k) // s + 1
        out, idx = np.empty((ho, wo), x.dtype), np.empty((ho, wo), np.int64)
        for a in range(ho):
            for b in range(wo):
                window = xp[a * s : a * s + k, b * s : b * s + k]
                real = np.isfinite(window) | np.isnan(window) | (window == np.inf)
                real[: max(0, p - a * s), :] = False  # padded rows and columns never win
                real[:, : max(0, p - b * s)] = False
                real[max(0, x.shape[0] + p - a * s) :, :] = False
                real[:, max(0, x.shape[1] + p - b * s) :] = False
                scores = np.where(real, window, -np.inf)
                first_real = int(np.argmax(real))
                at = int(np.argmax(scores)) if np.any(scores > -np.inf) else first_real
                if np.isnan(scores).any():
                    at = int(np.argmax(np.isnan(scores)))  # argmax finds the first NaN
                u, v = divmod(at, k)
                out[a, b] = window[u, v]
                idx[a, b] = (a * s + u - p) * x.shape[1] + (b * s + v - p)
        return out, idx

    report = check_max_pool_special(by_argmax)
    assert report.misconception == "special_first_nan", repr(report)
    assert "np.argmax returns the first NaN" in report.hint
