"""The benchmark script runs end to end on tiny shapes, so it cannot rot unnoticed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return run


def test_benchmark_runs_on_tiny_shapes(tmp_path):
    out = tmp_path / "bench.json"
    run_benchmark("bench_pooling.py", "--quick", "--repeats", "2", "--out", str(out))
    report = json.loads(out.read_text())
    assert report["machine"]["cores"] >= 1 and report["dtype"] == "float32"
    assert "shared" in report["machine"]
    assert [c["config"] for c in report["configs"]] == ["1q", "5q"]
    assert [c["config"] for c in report["configs_3d"]] == ["3dq"]
    for config in report["configs"] + report["configs_3d"]:
        kinds = ("max", "avg") if config in report["configs"] else ("max",)
        for kind in kinds:
            assert config[kind]["pooling_lab_ms"] > 0
            assert config[kind]["peak_extra_memory_x_input"] > 0
        mx = config["max"]
        assert mx["pooling_lab_functional_ms"] > 0 and mx["copy_gb_per_s"] > 0
        if "torch_1_thread_ms" in mx:  # torch installed: both layouts, both thread counts
            for layout in ("", "channels_last_"):
                for threads in ("1_thread", "default"):
                    assert mx[f"ratio_vs_torch_{layout}{threads}"] > 0
    (case,) = report["reference"]["cases"]
    assert case["speedup"] > 0 and case["us_per_element_visit"] > 0
    assert set(report["reference"]["scalar_costs_ns"]) >= {
        "numpy_scalar_index",
        "numpy_isnan_on_scalar",
    }


def test_committed_results_describe_the_machine():
    report = json.loads((ROOT / "benchmarks" / "results" / "pooling.json").read_text())
    assert {"cpu", "cores", "numpy", "torch", "shared"} <= set(report["machine"])
    assert [c["config"] for c in report["configs"]] == ["1", "2", "3", "4", "5"]
    assert [c["config"] for c in report["configs_3d"]] == ["3d"]
    # the loop reference's speed-up divides by the main table's own median
    (five,) = [c for c in report["reference"]["cases"] if c["config"] == "5"]
    assert five["pooling_lab_ms"] == report["configs"][4]["max"]["pooling_lab_ms"]


def test_cnn_benchmark_runs_quickly(tmp_path):
    out = tmp_path / "cnn.json"
    run_benchmark("bench_cnn.py", "--quick", "--seeds", "1", "--out", str(out))
    report = json.loads(out.read_text())
    assert report["quick"] and report["data"] == {"train": 1438, "test": 359}
    (only,) = report["results"]["max"]["runs"]
    assert 0 <= only["test_accuracy"] <= 1 and only["train_seconds"] > 0


def test_committed_cnn_results_meet_the_floors():
    report = json.loads((ROOT / "benchmarks" / "results" / "cnn.json").read_text())
    assert not report["quick"] and {"cpu", "cores", "numpy"} <= set(report["machine"])
    assert set(report["results"]) == {"max", "avg", "conv"}
    main = report["results"]["max"]
    assert len(main["runs"]) >= 5 and report["floors_met"]
    assert min(r["test_accuracy"] for r in main["runs"]) >= 0.975
    assert max(r["train_seconds"] for r in main["runs"]) <= 30
