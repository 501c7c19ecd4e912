"""Where max pooling's time goes, step by step, for the layer and the functional path.

Usage::

    python benchmarks/pooling_profile.py            # the benchmark's six configurations
    python benchmarks/pooling_profile.py 1 3d --rounds 15 --layout channels_last

For each configuration and layout (``nchw``, ``channels_last``), the steps below are timed in
interleaved rounds (every step once per round, the order rotating), one thread, and printed as
the median of their wall times (ms) and as the median of each one's per-round ratio to the
layer's forward + backward. A busy machine slows them all; the ratios hold up better than
the times. Nothing is written: this is a tool for finding what to make faster, not a result
(``bench_pooling.py`` is).

- ``layer``: ``MaxPool2d.forward`` + ``backward`` (3-D: ``MaxPool3d``);
- ``functional``: ``max_pool2d(..., return_indices=True)`` + ``max_pool2d_backward``;
- ``forward_core``: the layer's forward alone (maxima and one-byte winner codes);
- ``indices_int64``: building the int64 indices from the codes (what ``return_indices`` adds);
- ``check_indices``: the functional backward's range check of user-given indices;
- ``backward_codes``: the layer's backward (from the codes);
- ``backward_indices``: the functional backward without its checks (scatter at the indices);
- ``zeros_input``: ``np.zeros`` of the input's size; ``copy_input``: ``np.copyto`` of it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pooling_lab as pl  # noqa: E402
import pooling_lab.functional as F  # noqa: E402
from pooling_lab import _channels_last, _core  # noqa: E402
from pooling_lab._params import check_indices  # noqa: E402

CONFIGS = {
    "1": ((32, 64, 56, 56), 3, 2, 1),
    "2": ((64, 32, 32, 32), 2, 2, 0),
    "3": ((128, 16, 28, 28), 2, 2, 0),
    "4": ((8, 3, 224, 224), 3, 1, 1),
    "5": ((256, 8, 8, 8), 2, 2, 0),
    "3d": ((4, 16, 16, 56, 56), 2, 2, 0),
}


def channels_last(a: np.ndarray) -> np.ndarray:
    order = (0,) + tuple(range(2, a.ndim)) + (1,)
    return a.transpose(order).copy().transpose(np.argsort(order))


def steps(shape, k, s, p, layout):
    n = len(shape) - 2
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if layout == "channels_last":
        x = channels_last(x)
    layer_cls = pl.MaxPool2d if n == 2 else pl.MaxPool3d
    forward = F.max_pool2d if n == 2 else F.max_pool3d
    backward = F.max_pool2d_backward if n == 2 else F.max_pool3d_backward
    layer = layer_cls(k, s, p)
    out = layer.forward(x)
    g = np.ones_like(out) if layout == "nchw" else channels_last(np.ones_like(out))
    idx = layer.indices
    winners = layer._winners
    plane = int(np.prod(shape[-n:]))

    def run_layer():
        layer.forward(x)
        layer.backward(g)

    def run_functional():
        _, i = forward(x, k, s, p, return_indices=True)
        backward(g, i, x.shape)

    def backward_indices():
        gl = _channels_last.channels_last_view(g, n)
        if gl is not None:
            _channels_last.scatter_add(gl, np.moveaxis(idx, 1, -1), shape[-n:])
        else:
            folded = (-1,) + g.shape[-n:]
            _core.max_pool_backward(g.reshape(folded), idx.reshape(folded), shape[-n:])

    target = np.empty_like(x)
    return {
        "layer": run_layer,
        "functional": run_functional,
        "forward_core": lambda: layer.forward(x),
        "indices_int64": winners.indices,
        "check_indices": lambda: check_indices("profile", idx, idx.shape, plane),
        "backward_codes": lambda: winners.backward(
            g if layout == "channels_last" else g.reshape((-1,) + g.shape[-n:])
        ),
        "backward_indices": backward_indices,
        "zeros_input": lambda: np.zeros(x.shape, x.dtype),
        "copy_input": lambda: np.copyto(target, x),
    }


def profile(name, layout, rounds):
    shape, k, s, p = CONFIGS[name]
    runs = steps(shape, k, s, p, layout)
    names = list(runs)
    times = {key: [] for key in names}
    for run in runs.values():
        run()  # warm: plans, buffers
    for r in range(rounds):
        for key in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            runs[key]()
            times[key].append(time.perf_counter() - start)
    print(f"config {name} {shape} k{k} s{s} p{p}, {layout}, {rounds} rounds:")
    for key in names:
        ratio = statistics.median(a / b for a, b in zip(times[key], times["layer"]))
        ms = statistics.median(times[key]) * 1e3
        print(f"  {key:18s} {ms:8.3f} ms  {ratio:5.2f} x layer")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", help=f"some of {', '.join(CONFIGS)} (default: all)")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--layout", choices=["nchw", "channels_last", "both"], default="both")
    args = parser.parse_args(argv)
    layouts = ["nchw", "channels_last"] if args.layout == "both" else [args.layout]
    unknown = set(args.configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configurations {sorted(unknown)}; choose from {list(CONFIGS)}")
    print(f"load average before: {os.getloadavg()}")
    for name in args.configs or CONFIGS:
        for layout in layouts:
            profile(name, layout, args.rounds)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
