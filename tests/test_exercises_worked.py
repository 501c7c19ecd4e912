"""The worked example's checker names the mistakes it claims to, with hints for its exercise."""

from __future__ import annotations

import numpy as np
import pytest

from pooling_lab.exercises import check_pool_deltas


def pool_deltas(z, winners, delta_pool, *, slip=None):
    """The exercise's solution, with switchable slips a learner might make."""
    routed = np.zeros_like(z)
    if slip == "assigned":
        routed[winners] = delta_pool
    elif slip == "fancy_plus":  # buffered: a repeated index is written once
        routed[winners] += delta_pool
    elif slip == "by_window":
        routed[: len(delta_pool)] += delta_pool
    elif slip == "slope_at_window":
        for j, i in enumerate(winners):
            routed[i] += delta_pool[j] * (z[j] > 0)
        return routed
    else:
        np.add.at(routed, winners, delta_pool)
    if slip == "no_slope":
        return routed
    if slip == "value":
        return routed * np.maximum(z, 0)
    if slip == "at_zero":
        return routed * (z >= 0)
    if slip == "float64":
        return np.where(z > 0, routed, 0.0).astype(np.float64)
    return np.where(z > 0, routed, 0.0)


def test_the_solution_passes():
    report = check_pool_deltas(pool_deltas)
    assert report.passed, repr(report)


def test_a_loop_solution_passes():
    def looped(z, winners, delta_pool):
        d = np.zeros_like(z)
        for j, i in enumerate(winners):
            d[i] += delta_pool[j]
        return d * (z > 0)

    assert check_pool_deltas(looped).passed


@pytest.mark.parametrize(
    ("slip", "key", "in_hint"),
    [
        ("assigned", "overwrite", "np.add.at(d, winners, delta_pool)"),
        ("fancy_plus", "overwrite", "buffered"),
        ("by_window", "window_not_winner", "index the result with winners"),
        ("slope_at_window", "theta_at_window", "z[winners[j]]"),
        ("no_slope", "theta_forgotten", "tie of zeros"),
        ("value", "theta_of_value", "not by max(0, z)"),
        ("at_zero", "theta_at_zero", "test z > 0, not z >= 0"),
        ("float64", "dtype", "float32"),
    ],
)
def test_each_slip_is_named_with_a_hint_for_this_exercise(slip, key, in_hint):
    report = check_pool_deltas(lambda z, w, d: pool_deltas(z, w, d, slip=slip))
    assert not report.passed
    assert report.misconception == key, repr(report)
    assert in_hint in report.hint


def test_a_mutating_solution_is_caught():
    def mutating(z, winners, delta_pool):
        delta_pool *= z[winners] > 0  # changes the caller's array
        routed = np.zeros_like(z)
        np.add.at(routed, winners, delta_pool)
        return np.where(z > 0, routed, 0.0)

    report = check_pool_deltas(mutating)
    assert not report.passed and report.misconception == "mutated"


def test_a_bincount_answer_gets_a_dtype_hint_that_names_bincount():
    def with_bincount(z, winners, delta_pool):
        return np.bincount(winners, weights=delta_pool, minlength=len(z)) * (z > 0)

    report = check_pool_deltas(with_bincount)
    assert report.misconception == "dtype" and "np.bincount" in report.hint
    fixed = check_pool_deltas(lambda z, w, d: with_bincount(z, w, d).astype(z.dtype))
    assert fixed.passed, repr(fixed)


def test_a_bincount_without_minlength_is_told_the_length():
    def short(z, winners, delta_pool):  # stops at the largest winner
        routed = np.bincount(winners, weights=delta_pool).astype(z.dtype)
        return np.where(z[: len(routed)] > 0, routed, 0.0).astype(z.dtype)

    report = check_pool_deltas(short)
    assert report.misconception == "shape", repr(report)
    assert "minlength=len(z)" in report.hint


def test_a_result_of_another_shape_keeps_the_shape_hint():
    report = check_pool_deltas(lambda z, winners, delta_pool: np.zeros((len(z), 1), z.dtype))
    assert report.misconception == "shape" and "minlength" not in report.hint


def test_a_bincount_that_cannot_broadcast_against_z_is_told_the_length():
    def crashing(z, winners, delta_pool):  # np.where cannot broadcast the short bincount
        return np.where(z > 0, np.bincount(winners, weights=delta_pool), 0.0).astype(z.dtype)

    report = check_pool_deltas(crashing)
    assert report.misconception == "crashed", repr(report)
    assert "minlength=len(z)" in report.hint
