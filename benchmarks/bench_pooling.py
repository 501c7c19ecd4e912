"""Benchmark pooling_lab's max and average pooling (forward + backward) against PyTorch's CPU.

Usage::

    python benchmarks/bench_pooling.py                # full sizes, writes results/pooling.json
    python benchmarks/bench_pooling.py --quick --allow-busy --out /tmp/b.json   # smoke test
    python benchmarks/bench_pooling.py --out FILE.json

Before measuring, the script checks that the machine is quiet (``bench_machine``: 1-minute load
average at most 0.5, no other process above 10% of a core); on a busy machine it refuses, exit
status 3, naming the load and the processes. It checks again after measuring (the other
processes' CPU over the whole run, then one more sample) and refuses to write a publishable file
if that fails. ``--allow-busy`` measures and writes anyway, marked ``"publishable": false``.
``--quick`` (tiny shapes) never writes into ``benchmarks/results/``, and is never publishable.

To regenerate ``results/pooling.json``, on a quiet machine (a few minutes)::

    while [ "$(cut -d' ' -f1 /proc/loadavg | awk '{print ($1>=0.5)}')" = 1 ]; do sleep 10; done
    python benchmarks/bench_pooling.py

**What is timed**, per configuration, in float32, in interleaved rounds in one process (at
least ``--repeats`` rounds and ``--min-time`` seconds per configuration, at most ``--budget``;
rounds, thread blocks, clocks and pairing as described in ``pooling_timing``). Every contender is
timed in every one of its rounds by wall time and by CPU time (thread CPU time for NumPy code,
process CPU time for PyTorch, which may compute on several threads):

- ``pooling_lab``: a layer's ``forward`` then ``backward`` (``MaxPool2d`` / ``AvgPool2d``,
  ``MaxPool3d``), which is what training runs; it runs in every round of every thread block,
  so that it pairs with every PyTorch contender in the same round.
- ``pooling_lab_channels_last``: the same layer on the same input and incoming gradient with
  channels-last memory (an (N, C, H, W) array whose memory is (N, H, W, C), what torch's
  ``channels_last`` is; ``channels_last_3d`` in 3-D), converted before timing; pooled in that
  layout, results in it. It runs in every round too.
- ``pooling_lab_functional`` (max): ``max_pool2d(..., return_indices=True)`` then
  ``max_pool2d_backward``, the path that materialises PyTorch's int64 indices;
  ``pooling_lab_functional_channels_last``: the same on the channels-last arrays.
- ``torch_1_thread``, ``torch_default``, ``torch_channels_last_1_thread``,
  ``torch_channels_last_default``: ``F.max_pool2d`` / ``F.avg_pool2d`` (``max_pool3d``)
  forward then ``backward`` through autograd, with one thread and with PyTorch's default thread
  count, in NCHW and in ``channels_last`` (NHWC; input and incoming gradient both converted
  before timing).
- ``copy_input`` (max): ``np.copyto`` of an array of the input's size.
- ``scatter_add_at``, ``scatter_assign``, ``repeat_check`` (max): the backward's scatter over
  the whole array in one call, by ``np.add.at`` and by assignment, and the check for repeated
  positions an assignment of user-given indices would need first.
- ``scatter_layer``, ``scatter_functional``, ``indices_int64``, ``check_indices`` (max): the
  scatter as pooling_lab runs it, block by block (the layer's from its one-byte codes, the
  functional path's by ``np.add.at``, with its block-by-block range check of the indices),
  the functional path's int64 indices, and their range check in one separate pass (what the
  functional backward did before it checked block by block).
- ``copy_indices``, ``forward_passes`` (max): two yardsticks (``floor_steps``), estimates
  rather than bounds. The first is what moving PyTorch's int64 indices costs (an int64 array
  of the output's size, copied: 8 bytes read and 8 written per output); the second, the
  arithmetic alone of the layer's forward, by the route the layer takes (the stride phases,
  or windows that tile the input exactly), on cache-resident buffers, with no input loaded,
  nothing copied and no result stored. ``forward_passes_channels_last`` (max, windows that
  tile the input only): the same for the channels-last layer, whose route differs there
  (each offset gathered, then the phase route's calls); elsewhere both layouts make the
  same calls, and ``forward_passes`` serves both.
- ``forward_step1_slices``, ``forward_step2_phases``, ``forward_sliding_window_view``
  (max, 2-D) and ``forward_pooling_lab`` (max): forward passes alone, the chapter's Step 1 and
  Step 2, NumPy's ``sliding_window_view`` (``pooling_ablation``), and pooling_lab's layer;
  ``forward_pooling_lab_channels_last`` (max): the layer's forward on the channels-last input.

**What is written** (JSON; lists of plain values on one line):

- ``publishable`` (bool), ``not_publishable_because`` (list of reasons), ``quick``, ``code``
  (git commit, "+dirty" with uncommitted package or benchmark changes), ``started``,
  ``dtype``, ``settings`` (repeats, budget_s, min_time_s, block), ``clocks``;
- ``machine``: ``bench_machine.machine_record`` (cpu, cores, usable_cores, platform, python,
  numpy, numpy_simd {baseline, dispatch, enabled, NPY_DISABLE_CPU_FEATURES}, threads {env,
  torch_num_threads, torch_num_interop_threads, threadpoolctl}, torch, torch_default_threads,
  torch_cpu_capability) plus ``load_average_before`` / ``load_average_after``;
- ``machine_check``: ``limits``, and ``before`` / ``during`` / ``after`` (load average, other
  processes' CPU as shares of a core, the CPU-heavy ones by pid and name, the reasons);
- ``configs`` (2-D) and ``configs_3d``: per configuration ``config``, ``shape``, ``kernel``,
  ``stride``, ``padding``, and per kind (``max``, ``avg``; 3-D: ``max`` only):

  - ``rounds``: the number of rounds in all (all thread blocks);
  - ``contenders[name]``: ``threads`` (PyTorch's thread count, null: any), ``cpu_clock``,
    ``rounds``, ``wall_ms`` and ``cpu_ms``, each ``{"q1", "median", "q3"}`` over its rounds;
  - ``paired["A/B"]``: the per-round ratio of A's time to B's, ``{"pairing": "same round" or
    "adjacent blocks", "pairs": n, "wall": {"q1", "median", "q3"}, "cpu": {...}}``; below 1, A
    is faster. A side may be a sum measured in one round, "repeat_check+scatter_assign", or
    the fastest of several in one round: :data:`BEST_OVER_BEST` is pooling_lab's faster layout
    over PyTorch's faster layout (one thread), round by round. The keys are
    :data:`COMPARISONS` (those whose contenders ran);
  - ``per_round[quantity]``: quantities computed within each round, then summarised the same
    way (``{"rounds", "wall", "cpu"}``): ``functional_extra_ms`` (indices_int64 +
    scatter_functional - scatter_layer: the int64 indices, their check, which is part of the
    functional scatter, and that scatter's extra cost), ``functional_minus_layer_ms``,
    ``functional_floor_over_layer`` (and ``..._channels_last``: (layer + copy_indices) / layer,
    an estimate, not a bound, of the functional/layer ratio if the int64 indices were the
    functional path's only extra; the name is older than that reading),
    ``achieved_gb_per_s`` (the minimal traffic of forward + backward: input and output, each
    read or written once in each direction, over pooling_lab's time), ``copy_gb_per_s``
    (2 x the input's bytes over copy_input's time), ``achieved_over_copy`` (their ratio),
    ``achieved_over_copy_channels_last`` (the same for the channels-last layer);
  - ``peak_extra_memory_x_input`` (and ``..._channels_last``): pooling_lab's peak extra
    memory in forward + backward (tracemalloc), as a multiple of the input's size;
  - ``raw``: ``round_threads``, ``round_cycle``, ``round_position`` and every contender's
    ``wall_us`` / ``cpu_us`` per round (null where it did not run): see ``pooling_timing``.

- ``reference``: the loop reference (``pooling_lab.reference``), ``clock`` and ``cases``. Each
  case (configuration 5 whole; 4 of configuration 1's 2048 planes) has ``counts`` (planes,
  windows, generated coordinates, element visits, comparisons, truth tests, isnan calls,
  takeovers: ``loop_profile.visit_counts``), its own ``rounds``, ``contenders``
  (``reference_forward``, ``reference_backward``, and ``pooling_lab``'s layer on the same
  input), ``paired["reference_forward+reference_backward/pooling_lab"]`` (the speed-up),
  ``cpu_us_per_element_visit`` and ``cpu_us_per_window`` (quartiles of the forward's CPU time
  over the rounds, divided by the counts), ``profile`` (``loop_profile.part_costs``: every part
  of one window's visit timed on its own, CPU ns: its ``statement``, what it is paid ``per``
  (a key of ``counts``), ``ns`` quartiles over repeats), ``model`` (``parts_ms``: each part's
  count x median cost; ``element_parts_ms`` and ``bookkeeping_parts_ms``, their split between
  work on each element's value and the loop's bookkeeping; ``sum_of_parts_ms`` beside
  ``measured_forward_cpu_ms``, ``sum_over_measured``; the same per window and per element
  visit), ``raw``; and where the case is part of a
  configuration, ``whole_config`` (the forward's and forward + backward's CPU seconds scaled by
  the number of planes: the loops treat every plane alike).

torch is optional: without it only pooling_lab's figures are reported.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

import loop_profile  # noqa: E402
from bench_machine import (  # noqa: E402
    check_out,
    code_tree,
    code_version,
    load_averages,
    machine_record,
    postflight,
    preflight,
    publish,
)
from pooling_ablation import STEPS as ABLATION_STEPS  # noqa: E402
from pooling_timing import (  # noqa: E402
    CLOCK_NAMES,
    Rounds,
    Step,
    comparison,
    contender_summaries,
    interleaved_rounds,
    peak_extra_memory,
    per_round,
    quartiles,
    term_names,
)

import pooling_lab as pl  # noqa: E402
import pooling_lab.functional as F  # noqa: E402
from pooling_lab import _core, _phases, _tiled  # noqa: E402
from pooling_lab._params import check_indices, make_window  # noqa: E402

SCRIPT = "bench_pooling.py"
CONFIGS = [  # name, input shape, kernel, stride, padding
    ("1", (32, 64, 56, 56), 3, 2, 1),
    ("2", (64, 32, 32, 32), 2, 2, 0),
    ("3", (128, 16, 28, 28), 2, 2, 0),
    ("4", (8, 3, 224, 224), 3, 1, 1),
    ("5", (256, 8, 8, 8), 2, 2, 0),
]
CONFIGS_3D = [("3d", (4, 16, 16, 56, 56), 2, 2, 0)]
QUICK = [("1q", (2, 3, 9, 9), 3, 2, 1), ("5q", (4, 2, 4, 4), 2, 2, 0)]
QUICK_3D = [("3dq", (1, 2, 4, 4, 4), 2, 2, 0)]
# The loop reference on shapes it can finish: configuration 5 whole, and 4 of configuration
# 1's 2048 planes (name, shape, kernel, stride, padding, the whole configuration's shape).
REFERENCE_CASES = [
    ("5", (256, 8, 8, 8), 2, 2, 0, None),
    ("1, 4 of its 2048 planes", (1, 4, 56, 56), 3, 2, 1, (32, 64, 56, 56)),
]
QUICK_REFERENCE = [
    ("5q", (2, 2, 4, 4), 2, 2, 0, None),
    ("1q, 1 of its 6 planes", (1, 1, 9, 9), 3, 2, 1, (2, 3, 9, 9)),
]

TORCH = [f"torch_{layout}{t}" for layout in ("", "channels_last_") for t in ("1_thread", "default")]
# pooling_lab's best layout over PyTorch's, round by round (one thread)
BEST_OVER_BEST = (
    "min(pooling_lab,pooling_lab_channels_last)/min(torch_1_thread,torch_channels_last_1_thread)"
)
# Every comparison the chapters and the README make, as "A/B" (A's time over B's, per round).
COMPARISONS = [
    *(f"pooling_lab/{t}" for t in TORCH),
    *(f"pooling_lab_channels_last/{t}" for t in TORCH),
    BEST_OVER_BEST,
    "pooling_lab_channels_last/pooling_lab",
    "pooling_lab_functional_channels_last/pooling_lab_channels_last",
    "torch_channels_last_1_thread/torch_1_thread",
    "torch_channels_last_default/torch_default",
    "torch_default/torch_1_thread",
    "torch_channels_last_default/torch_channels_last_1_thread",
    "pooling_lab_functional/pooling_lab",
    "scatter_add_at/scatter_assign",
    "scatter_add_at/repeat_check+scatter_assign",
    "scatter_functional/scatter_layer",
    "copy_input/pooling_lab",
    "forward_passes/min(torch_1_thread,torch_channels_last_1_thread)",
    "forward_passes/forward_pooling_lab",
    "forward_passes/pooling_lab",
    "forward_passes_channels_last/forward_pooling_lab_channels_last",
    "forward_step1_slices/forward_step2_phases",
    "forward_step2_phases/forward_pooling_lab",
    "forward_step1_slices/forward_pooling_lab",
    "forward_sliding_window_view/forward_step1_slices",
    "forward_sliding_window_view/forward_step2_phases",
    "forward_sliding_window_view/forward_pooling_lab",
]
REFERENCE_SPEEDUP = "reference_forward+reference_backward/pooling_lab"


def layer_step(layer, x, g):
    def run():
        layer.forward(x)
        layer.backward(g)

    return run


def channels_last(a: np.ndarray) -> np.ndarray:
    """The same values, channels-last memory: what torch's ``channels_last`` (3-D:
    ``channels_last_3d``) is, an (N, C, *spatial) array whose memory is (N, *spatial, C)."""
    order = (0,) + tuple(range(2, a.ndim)) + (1,)
    return a.transpose(order).copy().transpose(np.argsort(order))


def functional_max_step(x, g, k, s, p):
    if x.ndim == 4:
        forward, backward = F.max_pool2d, F.max_pool2d_backward
    else:
        forward, backward = F.max_pool3d, F.max_pool3d_backward

    def run():
        _, idx = forward(x, k, s, p, return_indices=True)
        backward(g, idx, x.shape)

    return run


def copy_step(x):
    dst = np.empty_like(x)

    def run():
        np.copyto(dst, x)

    return run


def scatter_steps(x, g, k, s, p):
    """The backward's scatter on its own, both ways, at every position the functional indices
    name (flat over all planes, one call): ``np.add.at`` and a plain assignment; and the check
    for repeated positions (mark each in a byte array, count the marks) that assigning
    user-given indices safely would need first."""
    n = x.ndim - 2
    layer = max_layer(n, k, s, p)
    layer.forward(x)
    index = layer.indices.reshape(-1, math.prod(g.shape[-n:]))
    plane = math.prod(x.shape[-n:])
    flat = (index + np.arange(len(index), dtype=np.int64)[:, None] * plane).ravel()
    target, values = np.zeros(x.size, dtype=x.dtype), g.ravel()

    def add_at():
        np.add.at(target, flat, values)

    def assign():
        target[flat] = values

    marks = np.empty(x.size, dtype=bool)

    def repeat_check():  # what an assignment route for user-given indices would need first
        marks.fill(False)
        marks[flat] = True
        return np.count_nonzero(marks) != flat.size

    return {"scatter_add_at": add_at, "scatter_assign": assign, "repeat_check": repeat_check}


def floor_steps(x, g, k, s, p):
    """Two yardsticks, measured (estimates of a cost, not bounds on it).

    ``copy_indices``: ``np.copyto`` of an int64 array of the output's size into another,
    preallocated: 8 bytes read and 8 written per output, the traffic that PyTorch's int64
    indices add to the layer's work (the forward writes them, the backward reads them).

    ``forward_passes``: the arithmetic of the layer's forward and nothing else: the NumPy calls
    that compare values and keep the winners' codes, on buffers that stay in cache, a block at
    a time, with no input loaded, nothing copied between buffers and no result stored. Where
    the layer pools through the stride phases (``_phases.max_pool``): per window offset after
    the first, four passes over every output (``np.greater`` into a bool buffer, ``np.maximum``
    into the running maxima, two one-byte passes for the winner's code), in blocks of 64 Ki
    outputs. That is an approximation of the layer's calls: the layer runs them over its
    extended grid (a few percent more values than outputs), in blocks of whole planes, and
    keeps the second offset's code by one copy instead of two passes. Where the windows
    tile the input exactly (``_tiled.max_pool``): one step per pooled dimension, the last first,
    each over the values left by the one before (k times fewer each time); per window offset
    after the first, ``np.greater`` and ``np.maximum``, then one or two one-byte passes for the
    codes in the first step and four in the later ones (which carry the earlier codes along).
    The copies that route leaves out are its loads: each offset's values copied into a
    contiguous buffer, and the earlier steps' codes copied beside them.

    ``forward_passes_channels_last`` (windows that tile the input only): the channels-last
    layer gathers each window offset's channel vectors into a contiguous buffer
    (``_tiled.max_pool_gathered``) and runs the phase route's calls over them, so its passes
    are the phase path's over every output (the gathered route's blocks hold 256 Ki input
    values, 64 Ki outputs for 2x2 windows and 32 Ki for 2x2x2; these use blocks of 64 Ki).
    """
    n = x.ndim - 2
    outputs = g.size
    src, dst = np.arange(outputs, dtype=np.int64), np.empty(outputs, dtype=np.int64)

    def copy_indices():
        np.copyto(dst, src)

    spatial = x.shape[-n:]
    window = make_window("bench", n, k, s, p, 1, False)
    plan = _phases.plan_for(window, spatial, window.output_size(spatial))
    passes = tiled_passes(x, plan) if plan.exact else phase_passes(x, g, k)
    steps = {"copy_indices": copy_indices, "forward_passes": passes}
    if plan.exact:  # the channels-last layer gathers each offset, then the phases' calls
        steps["forward_passes_channels_last"] = phase_passes(x, g, k)
    return steps


def pass_buffers(size: int, dtype):
    """Cache-sized stand-ins for the passes' operands: values and running maxima (random), the
    comparison's bool buffer and its uint8 view, and two one-byte code buffers."""
    rng = np.random.default_rng(0)
    values = rng.standard_normal(size).astype(dtype)
    best = rng.standard_normal(size).astype(dtype)
    larger = np.empty(size, dtype=bool)
    return (
        values,
        best,
        larger,
        larger.view(np.uint8),
        np.empty(size, np.uint8),
        np.zeros(size, np.uint8),
    )


def phase_passes(x, g, k):
    """``forward_passes`` for the phase path (see :func:`floor_steps`)."""
    n = x.ndim - 2
    outputs, offsets = g.size, k**n
    block = min(outputs, _phases.BLOCK_ELEMENTS)
    values, best, larger, larger_as_int, scaled, winner = pass_buffers(block, x.dtype)
    lengths = [min(block, outputs - start) for start in range(0, outputs, block)]

    def forward_passes():
        for m in lengths:
            v, b, big = values[:m], best[:m], larger[:m]
            sc, w, big_int = scaled[:m], winner[:m], larger_as_int[:m]
            for code in range(1, offsets):
                np.greater(v, b, out=big)
                np.maximum(b, v, out=b)
                np.multiply(big_int, code, out=sc)
                np.maximum(w, sc, out=w)

    return forward_passes


def tiled_passes(x, plan):
    """``forward_passes`` for windows that tile the input (see :func:`floor_steps`): the calls
    of ``_tiled.max_pool`` other than its copies, over the same blocks and step sizes."""
    planes = x.size // math.prod(plan.spatial)  # the (N, C) planes, folded
    per_block = _tiled.planes_per_block(plan, planes)
    dims = _tiled.steps(plan)
    first = per_block * math.prod(plan.spatial) // plan.win.kernel[dims[0]]
    values, best, larger, larger_as_int, scaled, code = pass_buffers(first, x.dtype)
    # per block: each step's number of values (k times fewer each step)
    blocks = []
    for start in range(0, planes, per_block):
        count, sizes = min(per_block, planes - start) * math.prod(plan.spatial), []
        for dim in dims:
            count //= plan.win.kernel[dim]
            sizes.append((count, plan.win.kernel[dim]))
        blocks.append(sizes)

    def forward_passes():
        for sizes in blocks:
            for step, (count, k) in enumerate(sizes):
                v, b, big = values[:count], best[:count], larger[:count]
                sc, c, big_int = scaled[:count], code[:count], larger_as_int[:count]
                for u in range(1, k):
                    np.greater(v, b, out=big)
                    np.maximum(b, v, out=b)
                    if step == 0 and u == 1:
                        np.multiply(big_int, u, out=c)
                    elif step == 0:
                        np.multiply(big_int, u, out=sc)
                        np.maximum(c, sc, out=c)
                    else:  # the earlier codes, carried along: four one-byte passes
                        sc += u
                        sc -= c
                        sc *= big_int
                        c += sc

    return forward_passes


def index_steps(x, k, s, p):
    """What the functional path does beyond the layer's: write the int64 indices from the
    winners' one-byte codes (forward), and range-check them (backward)."""
    n = x.ndim - 2
    layer = max_layer(n, k, s, p)
    layer.forward(x)
    idx = layer.indices
    plane = math.prod(x.shape[-n:])

    def indices():
        layer._winners.indices()

    def check():
        check_indices("bench", idx, idx.shape, plane)

    return {"indices_int64": indices, "check_indices": check}


def blocked_scatter_steps(x, g, k, s, p):
    """The backward's scatter as pooling_lab runs it, block by block: the layer's (from its
    one-byte codes; an assignment when windows cannot overlap) and the functional path's
    (``np.add.at`` at the int64 indices, always, with the range check it makes of each block
    of user-given indices on the way)."""
    n = x.ndim - 2
    layer = max_layer(n, k, s, p)
    layer.forward(x)
    winners = layer._winners
    out = g.shape[-n:]
    folded_g = g.reshape((-1,) + out)
    folded_idx = winners.indices().reshape((-1,) + out)
    spatial = x.shape[-n:]

    def layer_scatter():
        winners.backward(folded_g)

    def functional_scatter():
        _core.max_pool_backward(folded_g, folded_idx, spatial, "bench")

    return {"scatter_layer": layer_scatter, "scatter_functional": functional_scatter}


def forward_steps(x, k, s, p):
    """Forward passes only: the chapter's Step 1 and Step 2, NumPy's sliding windows, and
    pooling_lab's layer (blocks, reused buffers, one-byte codes; exact tiling by dimension)."""
    steps = {
        f"forward_{name}": functools.partial(f, x, k, s, p) for name, f in ABLATION_STEPS.items()
    }
    steps["forward_pooling_lab"] = functools.partial(pl.MaxPool2d(k, s, p).forward, x)
    return steps


def torch_step(torch, fn, x, g, k, s, p, channels_last=False):
    xt, gt = torch.from_numpy(x), torch.from_numpy(g)
    if channels_last:
        fmt = torch.channels_last if x.ndim == 4 else torch.channels_last_3d
        xt, gt = xt.contiguous(memory_format=fmt), gt.contiguous(memory_format=fmt)

    def run():
        t = xt.detach().requires_grad_(True)
        fn(t, k, s, p).backward(gt)

    return run


def max_layer(n, k, s, p):
    return pl.MaxPool2d(k, s, p) if n == 2 else pl.MaxPool3d(k, s, p)


def minimal_traffic(x: np.ndarray, out_size: int) -> int:
    """Bytes forward + backward must at least move: read the input and write the output, read
    the output's gradient and write the input's (winners' storage not counted)."""
    return 2 * (x.nbytes + out_size * x.itemsize)


def summarise(rounds: Rounds, steps: dict[str, Step]) -> dict:
    """Contenders' quartiles and every comparison of :data:`COMPARISONS` whose terms ran."""
    threads = {name: step.threads for name, step in steps.items()}
    ran = set(steps)
    return {
        "rounds": len(rounds.threads),
        "contenders": contender_summaries(rounds, threads),
        "paired": {key: comparison(rounds, key) for key in COMPARISONS if term_names(key) <= ran},
    }


def measure(torch, config, rng, args, kinds) -> dict:
    """Time every contender of one configuration (see the module docstring)."""
    name, shape, k, s, p = config
    n = len(shape) - 2
    default_threads = torch.get_num_threads() if torch else None
    set_threads = torch.set_num_threads if torch else None
    x = rng.standard_normal(shape).astype(np.float32)
    row = {"config": name, "shape": list(shape), "kernel": k, "stride": s, "padding": p}
    for kind in kinds:
        make = (lambda: max_layer(n, k, s, p)) if kind == "max" else (lambda: pl.AvgPool2d(k, s, p))
        layer = make()
        g = np.ones_like(layer.forward(x))
        numpy_runs = {}
        # the same input and incoming gradient with channels-last memory (converted before
        # timing, as for torch), through a layer of its own
        x_cl, g_cl = channels_last(x), channels_last(g)
        cl_layer = make()
        if kind == "max":
            numpy_runs["pooling_lab_functional"] = functional_max_step(x, g, k, s, p)
            numpy_runs["pooling_lab_functional_channels_last"] = functional_max_step(
                x_cl, g_cl, k, s, p
            )
            numpy_runs["copy_input"] = copy_step(x)
            numpy_runs.update(scatter_steps(x, g, k, s, p))
            numpy_runs.update(index_steps(x, k, s, p))
            numpy_runs.update(blocked_scatter_steps(x, g, k, s, p))
            numpy_runs.update(floor_steps(x, g, k, s, p))
            if n == 2:
                numpy_runs.update(forward_steps(x, k, s, p))
            else:  # the layer's forward alone, to weigh forward_passes against
                forward = max_layer(n, k, s, p).forward
                numpy_runs["forward_pooling_lab"] = functools.partial(forward, x)
            forward_cl = max_layer(n, k, s, p).forward
            numpy_runs["forward_pooling_lab_channels_last"] = functools.partial(forward_cl, x_cl)
        steps = {
            "pooling_lab": Step(layer_step(layer, x, g), every_block=True),
            "pooling_lab_channels_last": Step(layer_step(cl_layer, x_cl, g_cl), every_block=True),
        }
        steps.update({key: Step(run) for key, run in numpy_runs.items()})
        if torch:
            import torch.nn.functional as TF

            fn = getattr(TF, f"{kind}_pool{n}d")
            for prefix, cl in [("", False), ("channels_last_", True)]:
                run = torch_step(torch, fn, x, g, k, s, p, cl)
                steps[f"torch_{prefix}1_thread"] = Step(run, 1, clock="process")
                steps[f"torch_{prefix}default"] = Step(run, default_threads, clock="process")
        rounds = interleaved_rounds(
            steps, set_threads, args.repeats, args.budget, 0.0 if args.quick else args.min_time
        )
        if torch:
            torch.set_num_threads(default_threads)
        result = summarise(rounds, steps)
        if kind == "max":
            traffic, copied = minimal_traffic(x, g.size), 2 * x.nbytes  # bytes
            result["per_round"] = {
                "functional_extra_ms": per_round(
                    rounds,
                    ["indices_int64", "scatter_functional", "scatter_layer"],
                    lambda a, c, d: (a + c - d) / 1e3,
                ),
                "functional_minus_layer_ms": per_round(
                    rounds, ["pooling_lab_functional", "pooling_lab"], lambda a, b: (a - b) / 1e3
                ),
                # an estimate of the functional/layer ratio if PyTorch's int64 indices were the
                # functional path's only extra: the layer's time plus their copy, over the layer's
                "functional_floor_over_layer": per_round(
                    rounds, ["pooling_lab", "copy_indices"], lambda a, b: (a + b) / a
                ),
                "functional_floor_over_layer_channels_last": per_round(
                    rounds,
                    ["pooling_lab_channels_last", "copy_indices"],
                    lambda a, b: (a + b) / a,
                ),
                # bytes / µs / 1e3 = GB/s
                "achieved_gb_per_s": per_round(
                    rounds, ["pooling_lab"], lambda t, traffic=traffic: traffic / t / 1e3
                ),
                "copy_gb_per_s": per_round(
                    rounds, ["copy_input"], lambda t, copied=copied: copied / t / 1e3
                ),
                "achieved_over_copy": per_round(
                    rounds,
                    ["pooling_lab", "copy_input"],
                    lambda a, b, tr=traffic, co=copied: (tr / a) / (co / b),
                ),
                "achieved_over_copy_channels_last": per_round(
                    rounds,
                    ["pooling_lab_channels_last", "copy_input"],
                    lambda a, b, tr=traffic, co=copied: (tr / a) / (co / b),
                ),
            }
        result["peak_extra_memory_x_input"] = round(
            peak_extra_memory(layer_step(make(), x, g), x.nbytes), 2
        )
        result["peak_extra_memory_x_input_channels_last"] = round(
            peak_extra_memory(layer_step(make(), x_cl, g_cl), x.nbytes), 2
        )
        result["raw"] = rounds.to_json()
        row[kind] = result
    return row


def reference_case(case, rng, quick: bool) -> dict:
    """The loop reference on one input: CPU and wall time per round, paired with pooling_lab's
    layer on the same input; how often each part of its loop runs; each part's cost."""
    name, shape, k, s, p, whole = case
    x = rng.standard_normal(shape).astype(np.float32)
    out, idx = pl.reference.max_pool(x, k, s, p)
    g = np.ones_like(out)
    layer = pl.MaxPool2d(k, s, p)
    steps = {
        "reference_forward": Step(functools.partial(pl.reference.max_pool, x, k, s, p)),
        "reference_backward": Step(
            functools.partial(pl.reference.max_pool_backward, g, idx, x.shape)
        ),
        "pooling_lab": Step(layer_step(layer, x, g)),
    }
    rounds = interleaved_rounds(steps, None, repeats=3 if quick else 5, budget=120.0, block=1)
    counts = loop_profile.visit_counts(x, k, s, p)
    forward_cpu = [v for v in rounds.cpu_us["reference_forward"] if v is not None]
    item = {"config": name, "shape": list(shape), "kernel": k, "stride": s, "padding": p}
    item["counts"] = counts
    item.update(summarise(rounds, steps))
    item["paired"] = {REFERENCE_SPEEDUP: comparison(rounds, REFERENCE_SPEEDUP)}
    item["cpu_us_per_element_visit"] = quartiles(
        [v / counts["element_visits"] for v in forward_cpu]
    )
    item["cpu_us_per_window"] = quartiles([v / counts["windows"] for v in forward_cpu])
    profile = loop_profile.part_costs(k, s, p, *((3, 0.002) if quick else (7, 0.02)))
    item["profile"] = profile
    median_ms = item["contenders"]["reference_forward"]["cpu_ms"]["median"]
    item["model"] = loop_profile.model(profile, counts, median_ms)
    if whole is not None:
        scale = math.prod(whole[:-2]) // math.prod(shape[:-2])
        both = [
            (f + b) / 1e6
            for f, b in zip(rounds.cpu_us["reference_forward"], rounds.cpu_us["reference_backward"])
        ]
        item["whole_config"] = {
            "shape": list(whole),
            "planes": math.prod(whole[:-2]),
            "scale": scale,
            "how": "this case's CPU seconds times scale: the loops treat every plane alike",
            "forward_cpu_s": quartiles([v / 1e6 * scale for v in forward_cpu]),
            "forward_and_backward_cpu_s": quartiles([v * scale for v in both]),
        }
    item["raw"] = rounds.to_json()
    return item


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes (smoke test)")
    parser.add_argument("--repeats", type=int, default=15, help="least rounds per contender")
    parser.add_argument(
        "--budget", type=float, default=90.0, help="most seconds of rounds per configuration"
    )
    parser.add_argument(
        "--min-time", type=float, default=3.0, help="least seconds of rounds per configuration"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    parser.add_argument(
        "--allow-busy",
        action="store_true",
        help='measure on a busy machine too; the file is marked "publishable": false',
    )
    args = parser.parse_args(argv)
    check_out(SCRIPT, args.out, args.quick)
    check = preflight(SCRIPT, args.allow_busy)
    code = code_version()  # at the start: the code that is measured
    tree = code_tree()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        import torch
    except ImportError:
        torch = None
    machine = machine_record(torch)
    rng = np.random.default_rng(0)
    rows = []
    for config in QUICK if args.quick else CONFIGS:
        rows.append(measure(torch, config, rng, args, ("max", "avg")))
        print_row(rows[-1])
    rows_3d = []
    for config in QUICK_3D if args.quick else CONFIGS_3D:
        rows_3d.append(measure(torch, config, rng, args, ("max",)))
        print_row(rows_3d[-1])
    cases = [
        reference_case(case, rng, args.quick)
        for case in (QUICK_REFERENCE if args.quick else REFERENCE_CASES)
    ]
    for item in cases:
        print_reference(item)
    checks = postflight(check)
    machine.update(load_averages(checks))
    report = {
        "publishable": None,  # set by publish()
        "not_publishable_because": None,
        "quick": args.quick,
        "code": code,
        "code_tree": tree,
        "started": started,
        "dtype": "float32",
        "what": (
            "forward+backward times in interleaved rounds, one process; per contender the "
            "quartiles of its rounds, per comparison the quartiles of per-round paired ratios"
        ),
        "settings": {
            "repeats": args.repeats,
            "budget_s": args.budget,
            "min_time_s": 0.0 if args.quick else args.min_time,
            "block": 3,
        },
        "clocks": {
            "wall": "time.perf_counter",
            "cpu": (
                f"{CLOCK_NAMES['thread']} for NumPy contenders (one thread; leaves out "
                f"PyTorch's worker threads), {CLOCK_NAMES['process']} for PyTorch ones (all "
                "its threads); each contender's cpu_clock says which"
            ),
        },
        "machine": machine,
        "configs": rows,
        "configs_3d": rows_3d,
        "reference": {"clock": CLOCK_NAMES["thread"], "cases": cases},
    }
    publish(SCRIPT, report, checks, args.out, "pooling.json", args.quick, args.allow_busy)
    return 0


def median(summary: dict | None, kind: str = "wall") -> float:
    return summary[kind]["median"] if summary and summary.get(kind) else float("nan")


def print_row(row):
    for kind in ("max", "avg"):
        if kind not in row:
            continue
        r = row[kind]
        lab = r["contenders"]["pooling_lab"]
        parts = [
            f"config {row['config']:>3} {kind}: pooling_lab {lab['wall_ms']['median']:8.3f} ms "
            f"(cpu {lab['cpu_ms']['median']:.3f})"
        ]
        parts += [
            f"/{key[12:]} {median(r['paired'][key]):.2f}"
            for key in r["paired"]
            if key.startswith("pooling_lab/torch")
        ]
        paired = r["paired"]
        for label, key in (
            ("channels_last/torch_channels_last_1_thread", None),
            ("best/torch_best_1_thread", BEST_OVER_BEST),
        ):
            key = key or f"pooling_lab_{label}"
            if key in paired:
                parts.append(f"{label} {median(paired[key]):.2f}")
        if kind == "max":
            functional = median(paired["pooling_lab_functional/pooling_lab"])
            functional_cl = median(
                paired["pooling_lab_functional_channels_last/pooling_lab_channels_last"]
            )
            parts.append(f"functional/layer {functional:.2f} (channels_last {functional_cl:.2f})")
            achieved, copy = (
                median(r["per_round"][q]) for q in ("achieved_gb_per_s", "copy_gb_per_s")
            )
            parts.append(f"{achieved:.2f} GB/s (copy {copy:.2f})")
        parts.append(f"memory {r['peak_extra_memory_x_input']:.2f}x")
        print(" | ".join(parts) + "  (paired wall medians)", flush=True)


def print_reference(item):
    speedup = median(item["paired"][REFERENCE_SPEEDUP], "cpu")
    model = item["model"]
    print(
        f"loop reference on {item['config']}: forward "
        f"{item['contenders']['reference_forward']['cpu_ms']['median']:.1f} ms CPU, "
        f"{item['cpu_us_per_element_visit']['median']:.2f} us per element visit, "
        f"speed-up x{speedup:.0f} (CPU); parts sum to {model['sum_over_measured']:.0%} of it",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
