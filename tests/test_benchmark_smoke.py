"""The benchmark script runs end to end on tiny shapes, so it cannot rot unnoticed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_runs_on_tiny_shapes(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_pooling.py"),
            "--quick",
            "--repeats",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["machine"]["cores"] >= 1 and report["dtype"] == "float32"
    assert [c["config"] for c in report["configs"]] == ["1q", "5q"]
    for config in report["configs"]:
        for kind in ("max", "avg"):
            assert config[kind]["pooling_lab_ms"] > 0
            assert config[kind]["peak_extra_memory_x_input"] > 0
    assert report["reference_speedup"][0]["speedup"] > 0


def test_committed_results_describe_the_machine():
    report = json.loads((ROOT / "benchmarks" / "results" / "pooling.json").read_text())
    assert {"cpu", "cores", "numpy", "torch"} <= set(report["machine"])
    assert [c["config"] for c in report["configs"]] == ["1", "2", "3", "4", "5"]
