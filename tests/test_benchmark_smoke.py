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
        # a spread for every contender: first quartile <= median <= third quartile
        for key, (q1, q3) in mx["iqr_ms"].items():
            assert q1 <= mx[f"{key}_ms"] <= q3, key
        assert mx["scatter_layer_ms"] > 0 and mx["scatter_functional_ms"] > 0
        assert "functional_extra_ms" in mx
        if config in report["configs"]:  # the forward ablation, 2-D only
            for name in ("step1_slices", "step2_phases", "sliding_window_view", "pooling_lab"):
                assert mx[f"forward_{name}_ms"] > 0
        if "torch_1_thread_ms" in mx:  # torch installed: both layouts, both thread counts
            for layout in ("", "channels_last_"):
                for threads in ("1_thread", "default"):
                    key = f"torch_{layout}{threads}"
                    low, high = mx[f"ratio_range_vs_{key}"]
                    assert 0 < low <= mx[f"ratio_vs_{key}"] <= high
    (case,) = report["reference"]["cases"]
    assert case["speedup"] > 0 and case["us_per_element_visit"] > 0
    assert set(report["reference"]["scalar_costs_ns"]) >= {
        "numpy_scalar_index",
        "numpy_isnan_on_scalar",
    }


def test_committed_results_describe_the_machine():
    report = json.loads((ROOT / "benchmarks" / "results" / "pooling.json").read_text())
    assert {"cpu", "cores", "numpy", "torch", "shared", "torch_cpu_capability"} <= set(
        report["machine"]
    )
    assert report["code"]  # the commit the figures were measured at
    assert [c["config"] for c in report["configs"]] == ["1", "2", "3", "4", "5"]
    assert [c["config"] for c in report["configs_3d"]] == ["3d"]
    # the loop reference's speed-up divides by the main table's own median
    (five,) = [c for c in report["reference"]["cases"] if c["config"] == "5"]
    assert five["pooling_lab_ms"] == report["configs"][4]["max"]["pooling_lab_ms"]


def test_cnn_benchmark_runs_quickly(tmp_path):
    out, log = tmp_path / "cnn.json", tmp_path / "runs.jsonl"
    args = ("--quick", "--tune-seeds", "1", "--test-seeds", "1", "--jobs", "1")
    run_benchmark(
        "bench_cnn.py", *args, "--lrs", "0.1", "0.3", "--log", str(log), "--out", str(out)
    )
    report = json.loads(out.read_text())
    assert report["quick"] and report["data"]["train"] == 1438 and report["data"]["test"] == 359
    assert report["data"]["tuning_fit"] + report["data"]["validation"] == 1438
    for result in report["results"].values():
        assert [t["lr"] for t in result["tuning"]] == [0.1, 0.3] and result["lr"] in (0.1, 0.3)
        (only,) = result["runs"]
        assert 0 <= only["accuracy"] <= 1 and only["cpu_seconds"] > 0
    # 2 learning rates x 3 variants on validation, then 3 test runs; a rerun reuses them all
    assert len(log.read_text().splitlines()) == 9
    rerun = run_benchmark("bench_cnn.py", *args, "--lrs", "0.1", "0.3", "--log", str(log))
    assert not [line for line in rerun.stdout.splitlines() if line.startswith(("tune", "test"))]
    assert len(log.read_text().splitlines()) == 9


def test_committed_cnn_results_follow_the_protocol_and_meet_the_floors():
    report = json.loads((ROOT / "benchmarks" / "results" / "cnn.json").read_text())
    assert not report["quick"] and {"cpu", "cores", "numpy"} <= set(report["machine"])
    assert set(report["results"]) == {"max", "avg", "conv"}
    protocol = report["protocol"]
    assert len(protocol["lr_grid"]) >= 3 and len(protocol["tuning_seeds"]) >= 2
    assert not set(protocol["tuning_seeds"]) & set(protocol["test_seeds"])
    for result in report["results"].values():
        means = {t["lr"]: t["validation_accuracy_mean"] for t in result["tuning"]}
        assert result["lr"] == max(means, key=lambda lr: (means[lr], -lr))  # chosen on validation
        assert len(result["runs"]) == len(protocol["test_seeds"]) >= 3
    main = report["results"]["max"]
    assert report["floors_met"] == {"accuracy": True, "train_seconds": True}
    assert min(r["accuracy"] for r in main["runs"]) >= 0.975
    assert max(r["cpu_seconds"] for r in main["runs"]) <= 30
