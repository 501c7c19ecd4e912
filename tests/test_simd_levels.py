"""Every notebook's stored outputs hold at every SIMD level NumPy can dispatch to here.

The suite's own nbval run covers the machine's top level; this file covers each level below it
(tests/simd_levels.py says how, and runs them in the background while the suite goes on).
"""

from __future__ import annotations

import re

import pytest
import simd_levels

LEVELS = simd_levels.levels()
TIMEOUT = 20 * 60  # per level, from the start of the suite, under the worst load expected


def test_this_machine_has_levels_below_its_top():
    # On x86-64 and ARM64 NumPy always has dispatch targets; an empty list would mean this
    # file silently checks nothing.
    assert simd_levels.supported_targets(), "NumPy reports no dispatch target on this CPU"


def test_every_notebook_runs_at_a_lower_level():
    # the baseline runs them all; only the CNN chapter is left out of the levels between
    assert simd_levels.notebooks("baseline") == sorted(simd_levels.ROOT.glob("book/*.ipynb"))
    for level in LEVELS:
        left_out = set(simd_levels.notebooks("baseline")) - set(simd_levels.notebooks(level))
        assert {p.name for p in left_out} <= set(simd_levels.ONE_LEVEL_ONLY)


@pytest.mark.parametrize("level", list(LEVELS))
def test_disabling_targets_reaches_the_level(level):
    disabled = LEVELS[level]
    enabled = simd_levels.enabled_targets(disabled)
    assert not set(enabled) & set(disabled), f"{level}: still enabled {enabled}"
    expected = [t for t in simd_levels.supported_targets() if t not in disabled]
    assert enabled == expected


@pytest.mark.parametrize("level", list(LEVELS))
def test_notebooks_match_stored_outputs_at_level(level):
    code, log = simd_levels.runs().result(level, TIMEOUT)
    summary = log.strip().splitlines()[-1] if log.strip() else "(no output)"
    failed = re.findall(r"^FAILED (.*)$", log, re.M)
    assert code == 0, (
        f"nbval with NPY_DISABLE_CPU_FEATURES={' '.join(LEVELS[level])!r}: {summary}\n"
        + "\n".join(failed)
        + f"\n(full log: _build/simd-levels/{level}.log)\n"
        + log[-4000:]
    )
    assert re.search(r"\d+ passed", summary), summary
