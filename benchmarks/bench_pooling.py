"""Benchmark pooling_lab's max and average pooling (forward + backward) against PyTorch's CPU.

Usage::

    python benchmarks/bench_pooling.py                # full sizes, writes benchmarks/results/
    python benchmarks/bench_pooling.py --quick        # tiny shapes, for a smoke test
    python benchmarks/bench_pooling.py --out FILE.json

What is timed, per configuration, in float32, as medians of interleaved rounds in one process
(at least ``--repeats`` rounds and ``--min-time`` seconds of them; see ``pooling_timing``):

- pooling_lab: a layer's ``forward`` then ``backward`` (``MaxPool2d`` / ``AvgPool2d``), which is
  what training runs; and for max pooling also the functional path that materialises PyTorch's
  int64 indices (``max_pool2d(..., return_indices=True)`` then ``max_pool2d_backward``).
- PyTorch: ``F.max_pool2d`` / ``F.avg_pool2d`` forward then ``backward`` through autograd, with
  one thread and with its default thread count (set before each block of rounds, never inside
  a timed call); for max pooling both in the usual NCHW layout and in ``channels_last`` (NHWC,
  input and incoming gradient both converted before timing).
- ``np.copyto`` of an array of the input's size, the copy bandwidth of this machine at that
  size, beside the bandwidth pooling_lab's max pooling achieves (bytes it must at least move:
  input and output read or written once in each direction).
- Peak extra memory of pooling_lab's forward+backward (tracemalloc), as a multiple of the
  input's size; the gradient arriving at the output is made before measuring, like the input.
- One 3-D configuration, max pooling only, against ``F.max_pool3d``.
- The loop reference (``pooling_lab.reference``): forward and backward on configuration 5
  (the speed-up divides by the main table's median) and on a scaled-down configuration 1, the
  cost per element visited, and what its scalar operations cost one by one.

torch is optional: without it only pooling_lab's figures are reported.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from pooling_timing import (  # noqa: E402
    Step,
    interleaved_medians,
    load_average,
    peak_extra_memory,
    scalar_costs_ns,
)

import pooling_lab as pl  # noqa: E402
import pooling_lab.functional as F  # noqa: E402
from pooling_lab import _core  # noqa: E402
from pooling_lab._params import check_indices, make_window  # noqa: E402
from pooling_lab.layers import _MaxPoolNd  # noqa: E402

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
# The loop reference on shapes it can finish: configuration 5 itself, and 1 scaled down.
REFERENCE_CASES = [("5", (256, 8, 8, 8), 2, 2, 0), ("1, scaled down", (2, 8, 14, 14), 3, 2, 1)]
QUICK_REFERENCE = [("5q", (2, 2, 4, 4), 2, 2, 0)]

# pl.MaxPool3d is being added to the package; until it exists, the benchmark uses the same N-d
# layer class with three spatial dimensions, which is what pl.MaxPool3d will be. Once it exists
# getattr picks it up; the fallback can then be deleted (one line).
MaxPool3d = getattr(pl, "MaxPool3d", None) or type("MaxPool3d", (_MaxPoolNd,), {"_n": 3})


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def code_version() -> str | None:
    """The git commit the benchmarked code is at ("+dirty" with uncommitted changes)."""
    try:
        git = ["git", "-C", str(ROOT.parent)]
        commit = subprocess.run(
            git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            git + ["status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


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
    n = x.ndim - 2
    if n == 2:
        forward, backward = F.max_pool2d, F.max_pool2d_backward
    elif hasattr(F, "max_pool3d"):
        forward, backward = F.max_pool3d, F.max_pool3d_backward
    else:  # the internal N-d helpers that F.max_pool2d is a thin wrapper of
        name = "max_pool3d"

        def forward(x, k, s, p, return_indices):
            return F._max_pool(name, 3, x, k, s, p, 1, False, return_indices)

        def backward(g, idx, shape):
            return F._max_pool_backward(f"{name}_backward", 3, g, idx, shape)

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

    return Step(add_at), Step(assign), Step(repeat_check)


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

    return Step(indices), Step(check)


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
    return pl.MaxPool2d(k, s, p) if n == 2 else MaxPool3d(k, s, p)


def minimal_traffic(x: np.ndarray, out_size: int) -> int:
    """Bytes forward + backward must at least move: read the input and write the output, read
    the output's gradient and write the input's (winners' storage not counted)."""
    return 2 * (x.nbytes + out_size * x.itemsize)


def measure(torch, config, rng, args, kinds) -> dict:
    """Time every contender of one configuration; ratios and bandwidths from the medians."""
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
        steps = {"pooling_lab": Step(layer_step(layer, x, g))}
        if kind == "max":
            steps["pooling_lab_functional"] = Step(functional_max_step(x, g, k, s, p))
            steps["copy_input"] = Step(copy_step(x))
            scatters = scatter_steps(x, g, k, s, p)
            steps["scatter_add_at"], steps["scatter_assign"], steps["repeat_check"] = scatters
            steps["indices_int64"], steps["check_indices"] = index_steps(x, k, s, p)
        if torch:
            import torch.nn.functional as TF

            fn = getattr(TF, f"{kind}_pool{n}d")
            layouts = [("", False)] + ([("channels_last_", True)] if kind == "max" else [])
            for prefix, channels_last in layouts:
                run = torch_step(torch, fn, x, g, k, s, p, channels_last)
                steps[f"torch_{prefix}1_thread"] = Step(run, 1)
                steps[f"torch_{prefix}default"] = Step(run, default_threads)
        medians = interleaved_medians(
            steps, set_threads, args.repeats, args.budget, 0.0 if args.quick else args.min_time
        )
        if torch:
            torch.set_num_threads(default_threads)
        result = {f"{key}_ms": round(v * 1e3, 3) for key, v in medians.items()}
        ours = medians["pooling_lab"]
        for key, v in medians.items():
            if key.startswith("torch_"):
                result[f"ratio_vs_{key}"] = round(ours / v, 3)
        if kind == "max":
            result["functional_vs_layer"] = round(medians["pooling_lab_functional"] / ours, 3)
            result["add_at_vs_assign"] = round(
                medians["scatter_add_at"] / medians["scatter_assign"], 3
            )
            result["add_at_vs_check_then_assign"] = round(
                medians["scatter_add_at"] / (medians["repeat_check"] + medians["scatter_assign"]), 3
            )
            traffic = minimal_traffic(x, g.size)
            result["achieved_gb_per_s"] = round(traffic / ours / 1e9, 2)
            result["copy_gb_per_s"] = round(2 * x.nbytes / medians["copy_input"] / 1e9, 2)
        result["peak_extra_memory_x_input"] = round(
            peak_extra_memory(layer_step(make(), x, g), x.nbytes), 2
        )
        row[kind] = result
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes (smoke test)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per configuration")
    parser.add_argument(
        "--min-time", type=float, default=3.0, help="least seconds of rounds per configuration"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        torch = None
    default_threads = torch.get_num_threads() if torch else None
    load_before = load_average()
    rng = np.random.default_rng(0)
    rows = []
    for config in QUICK if args.quick else CONFIGS:
        rows.append(measure(torch, config, rng, args, ("max", "avg")))
        print_row(rows[-1])
    rows_3d = []
    for config in QUICK_3D if args.quick else CONFIGS_3D:
        rows_3d.append(measure(torch, config, rng, args, ("max",)))
        print_row(rows_3d[-1])
    main_table = {r["config"]: r["max"]["pooling_lab_ms"] for r in rows}
    reference = reference_costs(QUICK_REFERENCE if args.quick else REFERENCE_CASES, rng, main_table)
    load_after = load_average()
    cores = os.cpu_count() or 1
    report = {
        "machine": {
            **machine(),
            "torch": torch.__version__ if torch else None,
            "torch_default_threads": default_threads,
            # the SIMD level of PyTorch's vectorised kernels (channels_last max pooling)
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability() if torch else None,
            "load_average_before": load_before,
            "load_average_after": load_after,
            # More runnable processes than cores at either end: other work shared the machine.
            "shared": any(v[0] > cores for v in (load_before, load_after) if v),
        },
        "code": code_version(),
        "dtype": "float32",
        "what": "median ms of forward+backward, interleaved rounds, one process",
        "configs": rows,
        "configs_3d": rows_3d,
        "reference": reference,
    }
    for item in reference["cases"]:
        speedup = f", speed-up x{item['speedup']:.0f}" if "speedup" in item else ""
        print(
            f"loop reference on {item['config']}: {item['reference_ms']:.1f} ms, "
            f"{item['us_per_element_visit']:.2f} us per element visited{speedup}"
        )
    print("scalar costs (ns):", reference["scalar_costs_ns"])
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


def element_visits(shape, k, s, p) -> int:
    """How many input elements the windows visit in all (padding excluded)."""
    win = make_window("bench", 2, k, s, p, 1, False)
    spatial = tuple(shape[-2:])
    divisor = _core.avg_divisor(win, spatial, win.output_size(spatial), False)
    return int(divisor.sum()) * shape[0] * shape[1]


def reference_costs(cases, rng, main_table) -> dict:
    """The loop reference's forward and backward, per case; speed-up against the main table."""
    results = []
    for name, shape, k, s, p in cases:
        x = rng.standard_normal(shape).astype(np.float32)
        out, idx = pl.reference.max_pool(x, k, s, p)
        g = np.ones_like(out)
        medians = interleaved_medians(
            {
                "forward": Step(functools.partial(pl.reference.max_pool, x, k, s, p)),
                "backward": Step(
                    functools.partial(pl.reference.max_pool_backward, g, idx, x.shape)
                ),
            },
            None,
            repeats=3,
            budget=60.0,
            block=1,
        )
        total = medians["forward"] + medians["backward"]
        visits = element_visits(shape, k, s, p)
        item = {
            "config": name,
            "shape": list(shape),
            "element_visits": visits,
            "reference_forward_ms": round(medians["forward"] * 1e3, 2),
            "reference_ms": round(total * 1e3, 2),
            "us_per_element_visit": round(medians["forward"] * 1e6 / visits, 3),
        }
        if name in main_table:  # the same shape is in the main table: one measurement of ours
            item["pooling_lab_ms"] = main_table[name]
            item["speedup"] = round(total * 1e3 / main_table[name], 1)
        results.append(item)
    return {"cases": results, "scalar_costs_ns": scalar_costs_ns()}


def print_row(row):
    for kind in ("max", "avg"):
        if kind not in row:
            continue
        r = row[kind]
        parts = [f"config {row['config']:>3} {kind}: pooling_lab {r['pooling_lab_ms']:8.3f} ms"]
        parts += [
            f"{key[9:]} {value:.2f}" for key, value in r.items() if key.startswith("ratio_vs_")
        ]
        if kind == "max":
            parts.append(f"functional/layer {r['functional_vs_layer']:.2f}")
            parts.append(f"{r['achieved_gb_per_s']} GB/s (copy {r['copy_gb_per_s']})")
        parts.append(f"memory {r['peak_extra_memory_x_input']:.2f}x")
        print(" | ".join(parts), flush=True)


if __name__ == "__main__":
    sys.exit(main())
