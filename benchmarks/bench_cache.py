"""In cache or in memory: channels-last max pooling with its data warm and cold.

Usage::

    python benchmarks/bench_cache.py                 # writes results/cache.json
    python benchmarks/bench_cache.py --quick --allow-busy --out /tmp/c.json   # smoke test

``bench_pooling.py`` runs many contenders in each round, so each one finds its input and its
buffers where the others have left the caches. A network's pooling layer, by contrast, often
reads what the layer before it has just written. This script times the two fastest contenders
of ``bench_pooling.py`` on the configurations where PyTorch's channels_last kernel is the faster
of its two (all but configuration 4): max pooling forward + backward in float32, channels-last
memory, one thread, for pooling_lab's layer (``MaxPool2d`` / ``MaxPool3d``) and PyTorch's
``F.max_pool2d`` / ``max_pool3d`` through autograd, each in two states:

- ``*_warm``: right after an untimed call of the same contender on the same arrays, so that
  its input, incoming gradient and buffers are as cached as their size allows;
- ``*_cold``: right after a pass over ``EVICT_BYTES`` (1 GiB) of other data, far more than
  the processor's caches hold, so that none of its arrays is left in cache.

Every contender runs once per round, in an order that rotates from round to round, at least
``--repeats`` rounds and ``--min-time`` seconds per configuration; each call is timed by wall
time and by CPU time (thread CPU time for pooling_lab, process CPU time for PyTorch, as in
``pooling_timing``), and every comparison is a paired ratio per round (median and quartiles).
The same quiet-machine checks as ``bench_pooling.py`` apply (``bench_machine``).

**What is written** (JSON): ``publishable``, ``not_publishable_because``, ``quick``, ``code``,
``code_tree``, ``started``, ``dtype``, ``evict_bytes``, ``settings``, ``machine`` (with the load
averages), ``machine_check``, and ``configs``: per configuration ``config``, ``shape``,
``kernel``, ``stride``, ``padding``, ``rounds``, ``contenders`` (``wall_ms`` and ``cpu_ms``
quartiles), ``paired`` (``COMPARISONS``: pooling_lab over PyTorch warm and cold, and each one
cold over warm) and ``raw`` (every round's times, µs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
from bench_pooling import (  # noqa: E402
    CONFIGS,
    CONFIGS_3D,
    channels_last,
    layer_step,
    max_layer,
    torch_step,
)
from pooling_timing import CLOCKS, Rounds, comparison, contender_summaries  # noqa: E402

SCRIPT = "bench_cache.py"
EVICT_BYTES = 1 << 30  # 1 GiB: far more than the caches of the machines this runs on
# configuration 4 left out: there PyTorch's NCHW kernel is its faster one (bench_pooling.py)
CACHE_CONFIGS = [c for c in CONFIGS + CONFIGS_3D if c[0] != "4"]
QUICK = [("5q", (4, 2, 4, 4), 2, 2, 0)]
QUICK_EVICT_BYTES = 1 << 20
NAMES = ("pooling_lab_warm", "pooling_lab_cold", "torch_warm", "torch_cold")
COMPARISONS = [
    "pooling_lab_warm/torch_warm",
    "pooling_lab_cold/torch_cold",
    "pooling_lab_cold/pooling_lab_warm",
    "torch_cold/torch_warm",
]


def measure(torch, config, rng, args, evict, min_time: float) -> dict:
    """Time the four contenders of one configuration (see the module docstring)."""
    name, shape, k, s, p = config
    n = len(shape) - 2
    x = rng.standard_normal(shape).astype(np.float32)
    g = np.ones_like(max_layer(n, k, s, p).forward(x))
    pooling_lab = layer_step(max_layer(n, k, s, p), channels_last(x), channels_last(g))
    runs = {"pooling_lab": pooling_lab}
    clocks = {"pooling_lab_warm": "thread", "pooling_lab_cold": "thread"}
    if torch is not None:
        import torch.nn.functional as TF

        fn = getattr(TF, f"max_pool{n}d")
        runs["torch"] = torch_step(torch, fn, x, g, k, s, p, channels_last=True)
        clocks.update({"torch_warm": "process", "torch_cold": "process"})
    names = [name for name in NAMES if name in clocks]
    for run in runs.values():  # warm up: imports, plans, buffers
        run()
    rounds, start = Rounds(clocks), time.perf_counter()
    while True:
        r = len(rounds.threads)
        rounds.start(1, r, 0)
        for contender in names[r % len(names) :] + names[: r % len(names)]:
            library, state = contender.rsplit("_", 1)
            run = runs[library]
            if state == "warm":
                run()
            else:
                evict()
            clock = CLOCKS[clocks[contender]]
            w0, c0 = time.perf_counter(), clock()
            run()
            c1, w1 = clock(), time.perf_counter()
            rounds.record(contender, w1 - w0, c1 - c0)
        elapsed = time.perf_counter() - start
        if elapsed > args.budget or (r + 1 >= args.repeats and elapsed >= min_time):
            break
    keys = [key for key in COMPARISONS if all(part in clocks for part in key.split("/"))]
    return {
        "config": name,
        "shape": list(shape),
        "kernel": k,
        "stride": s,
        "padding": p,
        "rounds": len(rounds.threads),
        "contenders": contender_summaries(rounds, {c: 1 for c in clocks}),
        "paired": {key: comparison(rounds, key) for key in keys},
        "raw": rounds.to_json(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes (smoke test)")
    parser.add_argument("--repeats", type=int, default=15, help="least rounds per configuration")
    parser.add_argument("--budget", type=float, default=60.0, help="most seconds per config")
    parser.add_argument("--min-time", type=float, default=3.0, help="least seconds per config")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    parser.add_argument(
        "--allow-busy",
        action="store_true",
        help='measure on a busy machine too; the file is marked "publishable": false',
    )
    args = parser.parse_args(argv)
    check_out(SCRIPT, args.out, args.quick)
    check = preflight(SCRIPT, args.allow_busy)
    code, tree = code_version(), code_tree()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    machine = machine_record(torch)
    evict_bytes = QUICK_EVICT_BYTES if args.quick else EVICT_BYTES
    other = np.ones(evict_bytes // 8)  # float64: a sum reads every byte once

    def evict():
        other.sum()  # reads all of it, leaving the caches full of it

    rng = np.random.default_rng(0)
    rows = []
    min_time = 0.0 if args.quick else args.min_time
    for config in QUICK if args.quick else CACHE_CONFIGS:
        rows.append(measure(torch, config, rng, args, evict, min_time))
        paired = rows[-1]["paired"]
        print(
            f"config {rows[-1]['config']:>3}: "
            + " | ".join(f"{key} {paired[key]['wall']['median']:.2f}" for key in paired)
        )
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
        "evict_bytes": evict_bytes,
        "settings": {
            "repeats": args.repeats,
            "budget_s": args.budget,
            "min_time_s": min_time,
        },
        "machine": machine,
        "configs": rows,
    }
    publish(SCRIPT, report, checks, args.out, "cache.json", args.quick, args.allow_busy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
