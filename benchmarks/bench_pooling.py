"""Benchmark pooling_lab's max and average pooling (forward + backward) against PyTorch's CPU.

Usage::

    python benchmarks/bench_pooling.py                # full sizes, writes benchmarks/results/
    python benchmarks/bench_pooling.py --quick        # tiny shapes, for a smoke test
    python benchmarks/bench_pooling.py --out FILE.json

What is timed, per configuration, in float32, as medians of interleaved repeats in one process
(at least ``--repeats`` rounds and ``--min-time`` seconds of them):

- pooling_lab: a layer's ``forward`` then ``backward`` (``MaxPool2d`` / ``AvgPool2d``), which is
  what training runs; and for max pooling also the functional path that materialises PyTorch's
  int64 indices (``max_pool2d(..., return_indices=True)`` then ``max_pool2d_backward``).
- PyTorch: ``F.max_pool2d`` / ``F.avg_pool2d`` forward then ``backward`` through autograd, with
  one thread (``torch.set_num_threads(1)``) and with its default thread count.
- Peak extra memory of pooling_lab's forward+backward (tracemalloc), as a multiple of the
  input's size; the gradient arriving at the output is made before measuring, like the input.
- The loop reference (``pooling_lab.reference``) on configuration 5 and a scaled-down 1, for the
  speed-up of the vectorised code over it.

torch is optional: without it only pooling_lab's figures are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

import pooling_lab as pl  # noqa: E402
import pooling_lab.functional as F  # noqa: E402

CONFIGS = [  # name, input shape, kernel, stride, padding
    ("1", (32, 64, 56, 56), 3, 2, 1),
    ("2", (64, 32, 32, 32), 2, 2, 0),
    ("3", (128, 16, 28, 28), 2, 2, 0),
    ("4", (8, 3, 224, 224), 3, 1, 1),
    ("5", (256, 8, 8, 8), 2, 2, 0),
]
QUICK = [("1q", (2, 3, 9, 9), 3, 2, 1), ("5q", (4, 2, 4, 4), 2, 2, 0)]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What the figures were measured on."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def layer_step(layer, x, g):
    def run():
        layer.forward(x)
        layer.backward(g)

    return run


def functional_max_step(x, g, k, s, p):
    def run():
        _, idx = F.max_pool2d(x, k, s, p, return_indices=True)
        F.max_pool2d_backward(g, idx, x.shape)

    return run


def torch_step(torch, fn, x, g, k, s, p, threads):
    xt, gt = torch.from_numpy(x), torch.from_numpy(g)

    def run():
        torch.set_num_threads(threads)
        t = xt.detach().requires_grad_(True)
        fn(t, k, s, p).backward(gt)

    return run


def interleaved_medians(steps: dict, repeats: int, budget: float, min_time: float = 0.0) -> dict:
    """Run each step once per round; medians over the rounds.

    Rounds continue until there are ``repeats`` of them and ``min_time`` seconds have passed
    (fast steps get more rounds, so their medians are as steady as the slow ones'), or until
    the time budget is spent.
    """
    times = {name: [] for name in steps}
    for step in steps.values():  # warm up: first calls pay for imports and page faults
        step()
    start = time.perf_counter()
    rounds = 0
    while True:
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
        rounds += 1
        elapsed = time.perf_counter() - start
        if elapsed > budget or (rounds >= repeats and elapsed >= min_time):
            break
    return {name: statistics.median(ts) for name, ts in times.items()}


def peak_extra_memory(step, nbytes: int) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / nbytes


def reference_step(x, g, k, s, p):
    def run():
        _, idx = pl.reference.max_pool(x, k, s, p)
        pl.reference.max_pool_backward(g, idx, x.shape)

    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes (smoke test)")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per configuration")
    parser.add_argument(
        "--min-time", type=float, default=3.0, help="least seconds of rounds per configuration"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args(argv)
    try:
        import torch
        import torch.nn.functional as TF
    except ImportError:
        torch = TF = None
    default_threads = torch.get_num_threads() if torch else None
    configs = QUICK if args.quick else CONFIGS
    min_time = 0.0 if args.quick else args.min_time
    rng = np.random.default_rng(0)
    rows = []
    for name, shape, k, s, p in configs:
        x = rng.standard_normal(shape).astype(np.float32)
        row = {"config": name, "shape": list(shape), "kernel": k, "stride": s, "padding": p}
        for kind, layer_cls, torch_fn in (
            ("max", pl.MaxPool2d, "max_pool2d"),
            ("avg", pl.AvgPool2d, "avg_pool2d"),
        ):
            layer = layer_cls(k, s, p)
            g = np.ones_like(layer.forward(x))
            steps = {"pooling_lab": layer_step(layer, x, g)}
            if kind == "max":
                steps["pooling_lab_functional"] = functional_max_step(x, g, k, s, p)
            if torch:
                fn = getattr(TF, torch_fn)
                steps["torch_1_thread"] = torch_step(torch, fn, x, g, k, s, p, 1)
                steps["torch_default"] = torch_step(torch, fn, x, g, k, s, p, default_threads)
            medians = interleaved_medians(steps, args.repeats, args.budget, min_time)
            if torch:
                torch.set_num_threads(default_threads)
            result = {f"{key}_ms": round(v * 1e3, 3) for key, v in medians.items()}
            if torch:
                ours = medians["pooling_lab"]
                result["ratio_vs_torch_1_thread"] = round(ours / medians["torch_1_thread"], 3)
                result["ratio_vs_torch_default"] = round(ours / medians["torch_default"], 3)
            result["peak_extra_memory_x_input"] = round(
                peak_extra_memory(layer_step(layer_cls(k, s, p), x, g), x.nbytes), 2
            )
            row[kind] = result
        rows.append(row)
        print_row(row)
    speedups = reference_speedups(configs, rng, args.quick)
    report = {
        "machine": {
            **machine(),
            "torch": torch.__version__ if torch else None,
            "torch_default_threads": default_threads,
        },
        "dtype": "float32",
        "what": "median seconds of forward+backward, interleaved repeats, one process",
        "configs": rows,
        "reference_speedup": speedups,
    }
    for item in speedups:
        print(
            f"loop reference on {item['config']}: {item['reference_ms']:.1f} ms, "
            f"vectorised {item['pooling_lab_ms']:.3f} ms, speed-up x{item['speedup']:.0f}"
        )
    write_report(report, args.out, "pooling.json", args.quick)
    return 0


def write_report(report: dict, out: Path | None, default_name: str, quick: bool) -> None:
    """Write the JSON report to ``out``; full runs default to ``results/<default_name>``."""
    if out is None and not quick:
        out = ROOT / "results" / default_name
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {out}")


def reference_speedups(configs, rng, quick):
    """The loop reference against the vectorised layer, on small shapes the loops can finish."""
    cases = [("5", (256, 8, 8, 8), 2, 2, 0), ("1, scaled down", (2, 8, 14, 14), 3, 2, 1)]
    if quick:
        cases = [("5q", (2, 2, 4, 4), 2, 2, 0)]
    results = []
    for name, shape, k, s, p in cases:
        x = rng.standard_normal(shape).astype(np.float32)
        layer = pl.MaxPool2d(k, s, p)
        g = np.ones_like(layer.forward(x))
        medians = interleaved_medians(
            {"reference": reference_step(x, g, k, s, p), "fast": layer_step(layer, x, g)},
            repeats=3,
            budget=60.0,
        )
        results.append(
            {
                "config": name,
                "shape": list(shape),
                "reference_ms": round(medians["reference"] * 1e3, 2),
                "pooling_lab_ms": round(medians["fast"] * 1e3, 4),
                "speedup": round(medians["reference"] / medians["fast"], 1),
            }
        )
    return results


def print_row(row):
    for kind in ("max", "avg"):
        r = row[kind]
        parts = [f"config {row['config']:>2} {kind}: pooling_lab {r['pooling_lab_ms']:8.3f} ms"]
        if "torch_1_thread_ms" in r:
            parts.append(
                f"torch(1) {r['torch_1_thread_ms']:8.3f} ms "
                f"ratio {r['ratio_vs_torch_1_thread']:.2f}"
            )
            parts.append(
                f"torch(default) {r['torch_default_ms']:8.3f} ms "
                f"ratio {r['ratio_vs_torch_default']:.2f}"
            )
        parts.append(f"memory {r['peak_extra_memory_x_input']:.2f}x")
        print(" | ".join(parts), flush=True)


if __name__ == "__main__":
    sys.exit(main())
