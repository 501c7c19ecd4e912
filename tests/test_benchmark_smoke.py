"""The benchmark scripts run end to end on tiny shapes, refuse a busy machine, and pair rounds.

The quick runs pass ``--allow-busy`` (the test suite itself keeps the machine busy), so their
reports are never publishable; the refusal is tested on a simulated machine, independent of
the real one's load.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_machine as bm  # noqa: E402
from pooling_timing import (  # noqa: E402
    Rounds,
    Step,
    comparison,
    interleaved_rounds,
    paired_ratios,
    per_round,
    quartiles,
)


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        # a short look at the other processes: these runs are --allow-busy smoke tests
        env={**os.environ, "POOLING_LAB_BENCH_SAMPLE_SECONDS": "0.2"},
    )
    assert run.returncode == 0, run.stderr
    return run


def check_quartiles(q: dict) -> None:
    assert set(q) == {"q1", "median", "q3"}
    assert q["q1"] <= q["median"] <= q["q3"]


# ---------------------------------------------------------------- paired ratios, by hand


def hand_rounds(wall: dict, threads=None, cycle=None, position=None) -> Rounds:
    """A Rounds object from per-round times in µs (the CPU times the same)."""
    n = len(next(iter(wall.values())))
    return Rounds(
        clocks=dict.fromkeys(wall, "thread"),
        threads=threads or [1] * n,
        cycle=cycle or [0] * n,
        position=position or list(range(n)),
        wall_us={k: list(v) for k, v in wall.items()},
        cpu_us={k: list(v) for k, v in wall.items()},
    )


def test_paired_ratios_of_proportional_rounds_are_constant():
    assert paired_ratios([1, 2, 3], [2, 4, 6]) == [0.5, 0.5, 0.5]
    result = comparison(hand_rounds({"a": [1, 2, 3], "b": [2, 4, 6]}), "a/b")
    assert result["pairing"] == "same round" and result["pairs"] == 3
    for kind in ("wall", "cpu"):
        assert result[kind] == {"q1": 0.5, "median": 0.5, "q3": 0.5}


def test_median_of_paired_ratios_is_not_the_ratio_of_medians():
    a, b = [1.0, 2.0, 3.0], [3.0, 1.0, 2.0]
    assert statistics.median(a) / statistics.median(b) == 1.0
    result = comparison(hand_rounds({"a": a, "b": b}), "a/b")
    assert result["wall"]["median"] == 1.5  # the ratios are 1/3, 2 and 1.5
    assert result["wall"]["q1"] == pytest.approx((1 / 3 + 1.5) / 2, rel=1e-3)


def test_pairs_skip_rounds_where_either_did_not_run_and_sums_pair_within_a_round():
    rounds = hand_rounds({"a": [4, None, 6, 8], "b": [2, 3, None, 4], "c": [2, 1, 1, None]})
    assert paired_ratios(rounds.wall_us["a"], rounds.wall_us["b"]) == [2.0, 2.0]
    result = comparison(rounds, "a/b+c")  # a over (b + c), rounds 0 only
    assert result["pairs"] == 1 and result["wall"]["median"] == 1.0
    diff = per_round(rounds, ["a", "c"], lambda x, y: x - y)
    assert diff["rounds"] == 2 and diff["wall"]["median"] == 3.5


def test_contenders_of_different_thread_blocks_pair_round_j_with_round_j_of_the_same_cycle():
    # two cycles of two blocks of two rounds: "a" runs in the 1-thread blocks, "b" in the 2-thread
    a = [10, 20, None, None, 30, 40, None, None]
    b = [None, None, 5, 40, None, None, 10, 20]
    rounds = hand_rounds(
        {"a": a, "b": b},
        threads=[1, 1, 2, 2, 1, 1, 2, 2],
        cycle=[0, 0, 0, 0, 1, 1, 1, 1],
        position=[0, 1, 0, 1, 0, 1, 0, 1],
    )
    result = comparison(rounds, "a/b")
    assert result["pairing"] == "adjacent blocks" and result["pairs"] == 4
    # 10/5, 20/40, 30/10, 40/20 -> 0.5, 2, 2, 3
    assert result["wall"]["median"] == 2.0


def test_interleaving_runs_each_contender_once_per_round_and_switches_threads_between_blocks():
    log, state = [], {"threads": None}

    def step(name):
        return lambda: log.append((name, state["threads"]))

    def set_threads(n):
        state["threads"] = n
        log.append(("set", n))

    steps = {
        "lab": Step(step("lab"), every_block=True),
        "numpy": Step(step("numpy")),
        "t1": Step(step("t1"), 1, clock="process"),
        "t2": Step(step("t2"), 2, clock="process"),
    }
    rounds = interleaved_rounds(steps, set_threads, repeats=4, budget=60.0, block=2)
    assert rounds.count("t2") >= 4 and rounds.count("lab") == len(rounds.threads)
    for r, threads in enumerate(rounds.threads):
        ran = {name for name in steps if rounds.wall_us[name][r] is not None}
        assert ran == ({"lab", "numpy", "t1"} if threads == 1 else {"lab", "t2"})
    calls = {name: sum(called == name for called, _ in log) for name in steps}
    ones = rounds.threads.count(1)
    assert calls["lab"] == 2 + len(rounds.threads)  # a warm-up per block kind, then once a round
    assert calls["numpy"] == 1 + ones
    # every timed call of a PyTorch contender ran at its own thread count
    assert all(t == 1 for name, t in log if name == "t1")
    assert all(t == 2 for name, t in log if name == "t2")
    with pytest.raises(ValueError):
        Step(lambda: None, clock="wall")


def test_quartiles_and_json_layout():
    assert quartiles([]) is None and quartiles([2.0]) == {"q1": 2.0, "median": 2.0, "q3": 2.0}
    report = {"a": {"raw": [1.5, None, 3], "names": ["x", "y"]}, "b": [{"c": 1}], "d": {}}
    text = bm.dumps(report)
    assert json.loads(text) == report
    assert '"raw": [1.5, null, 3]' in text  # raw rounds on one line


# ---------------------------------------------------------------- the busy check


def proc(pid, ppid=1, name="x", own=0, children=0, start=7):
    return bm.Proc(pid, ppid, name, start, own, children)


def test_cpu_usage_excludes_the_own_tree_and_charges_reaped_children_to_their_parent():
    tick = os.sysconf("SC_CLK_TCK")
    me = 1000
    before = {
        me: proc(me, own=500),
        1001: proc(1001, ppid=me, name="worker", own=0),
        50: proc(50, name="make"),
        51: proc(51, ppid=50, name="cc", own=3 * tick),  # finishes during the sample
        60: proc(60, name="idle", own=9),
    }
    after = {
        me: proc(me, own=500 + tick),
        1001: proc(1001, ppid=me, name="worker", own=tick),  # ours: never "other"
        1002: proc(1002, ppid=1001, name="worker", own=tick),
        50: proc(50, name="make", children=3 * tick + tick // 2),  # reaped cc
        60: proc(60, name="idle", own=9),
        70: proc(70, name="hog", own=tick // 2),  # new during the sample
    }
    tree = bm.process_tree(me, before, after)
    assert tree == {me, 1001, 1002}
    total, shares = bm.cpu_usage(before, after, 1.0, tree)
    by_name = {s["name"]: s["core_share"] for s in shares}
    assert by_name["make"] == pytest.approx(0.5)  # cc's CPU after `before`, not all of it
    assert by_name["hog"] == pytest.approx(0.5) and by_name["idle"] == 0
    assert "worker" not in by_name and total == pytest.approx(1.0)
    # an orphan that ends with its parent gone was reaped by init: init is charged its last part
    old = {1: proc(1, ppid=0, name="init"), 80: proc(80, ppid=79, name="daemon", own=100 * tick)}
    new = {1: proc(1, ppid=0, name="init", children=100 * tick + tick // 4)}
    total, shares = bm.cpu_usage(old, new, 1.0, set())
    assert total == pytest.approx(0.25) and shares[0]["name"] == "init"
    # a reused pid is a new process: counted from zero
    reused = {60: proc(60, name="new", own=tick // 5, start=99)}
    _, shares = bm.cpu_usage({60: proc(60, own=10 * tick)}, reused, 1.0, set())
    assert shares[0]["core_share"] == pytest.approx(0.2)


def test_busy_reasons_name_the_load_and_the_processes():
    quiet = bm.busy_reasons([0.2, 0.3, 0.4], 0.05, [{"pid": 9, "name": "sshd", "core_share": 0.05}])
    assert quiet == []
    reasons = bm.busy_reasons(
        [3.1, 2.0, 1.0], 1.2, [{"pid": 4242, "name": "chromium", "core_share": 0.97}]
    )
    text = "\n".join(reasons)
    assert "3.10" in text and "4242 (chromium)" in text and "97%" in text and "120%" in text
    # after a run the benchmark's own busy cores are allowed for in the load average
    assert bm.busy_reasons([1.3, 1, 1], 0.0, [], load_allowance=1.0) == []
    assert bm.busy_reasons([1.6, 1, 1], 0.0, [], load_allowance=1.0)


def fake_machine(load: float, hog_share: float) -> bm.Check:
    """What look() would return on a simulated machine: this process, plus one other."""
    tick = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    first = {me: proc(me), 4242: proc(4242, name="stress-ng")}
    second = {me: proc(me, own=tick), 4242: proc(4242, name="stress-ng", own=hog_share * tick)}
    record = bm.assess(first, second, 1.0, [load, load, load], me)
    return bm.Check(record, second, 0.0)


def test_preflight_refuses_a_busy_machine_and_says_how_to_wait(monkeypatch, capsys):
    monkeypatch.setattr(bm, "look", lambda **kw: fake_machine(2.5, 0.9))
    with pytest.raises(SystemExit) as stop:
        bm.preflight("bench_x.py", allow_busy=False)
    assert stop.value.code == bm.BUSY_EXIT
    err = capsys.readouterr().err
    assert "2.50" in err and "4242 (stress-ng)" in err and "90%" in err
    assert bm.WAIT_COMMAND in err and "--allow-busy" in err
    check = bm.preflight("bench_x.py", allow_busy=True)  # measures anyway
    assert check.busy
    # a quiet machine passes; a busy one by load alone, or by one process alone, does not
    monkeypatch.setattr(bm, "look", lambda **kw: fake_machine(0.1, 0.02))
    assert not bm.preflight("bench_x.py", allow_busy=False).busy
    assert fake_machine(0.8, 0.0).busy and fake_machine(0.0, 0.3).busy


def test_publish_refuses_after_a_busy_run_and_marks_allowed_ones_unpublishable(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "side"))
    (tmp_path / "side").mkdir()
    out = tmp_path / "report.json"
    busy = {"reasons": ["after the run: the 1-minute load average is 3.00, above 1.50"]}
    with pytest.raises(SystemExit) as stop:
        bm.publish("bench_x.py", {"x": 1}, busy, out, "x.json", quick=False, allow_busy=False)
    assert stop.value.code == bm.BUSY_EXIT and not out.exists()
    (side,) = (tmp_path / "side").iterdir()  # kept aside, marked unpublishable
    assert json.loads(side.read_text())["publishable"] is False
    assert "3.00" in capsys.readouterr().err

    bm.publish("bench_x.py", {"x": 1}, busy, out, "x.json", quick=False, allow_busy=True)
    report = json.loads(out.read_text())
    assert report["publishable"] is False and report["not_publishable_because"] == busy["reasons"]
    bm.publish(
        "bench_x.py", {"x": 1}, {"reasons": []}, out, "x.json", quick=False, allow_busy=False
    )
    assert json.loads(out.read_text())["publishable"] is True
    bm.publish("bench_x.py", {"x": 1}, {"reasons": []}, out, "x.json", quick=True, allow_busy=False)
    assert json.loads(out.read_text())["publishable"] is False  # quick: never
    with pytest.raises(SystemExit):
        bm.check_out("bench_x.py", ROOT / "benchmarks" / "results" / "x.json", quick=True)


def test_scripts_check_the_machine_before_measuring(monkeypatch, tmp_path):
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))  # bench_cnn sets them on import
    import bench_cnn
    import bench_pooling

    def measured(*args, **kwargs):
        raise AssertionError("measured on a busy machine")

    monkeypatch.setattr(bm, "look", lambda **kw: fake_machine(4.0, 0.0))
    monkeypatch.setattr(bench_pooling, "measure", measured)
    monkeypatch.setattr(bench_cnn, "run_all", measured)
    for module in (bench_pooling, bench_cnn):
        out = tmp_path / f"{module.__name__}.json"
        with pytest.raises(SystemExit) as stop:
            module.main(["--quick", "--out", str(out)])
        assert stop.value.code == bm.BUSY_EXIT and not out.exists()


# ---------------------------------------------------------------- the scripts, quick


def test_benchmark_runs_on_tiny_shapes(tmp_path):
    from bench_pooling import BEST_OVER_BEST, COMPARISONS, REFERENCE_SPEEDUP
    from pooling_timing import term_names

    out = tmp_path / "bench.json"
    run_benchmark(
        "bench_pooling.py", "--quick", "--allow-busy", "--repeats", "2", "--out", str(out)
    )
    report = json.loads(out.read_text())
    assert report["publishable"] is False and report["quick"] and report["code"]
    assert any("--quick" in r for r in report["not_publishable_because"])
    machine = report["machine"]
    assert machine["cores"] >= 1 and report["dtype"] == "float32"
    assert {"baseline", "dispatch", "enabled"} <= set(machine["numpy_simd"])
    assert {"env", "threadpoolctl"} <= set(machine["threads"])
    assert machine["load_average_before"] and machine["load_average_after"]
    checks = report["machine_check"]
    assert {"before", "during", "after", "limits"} <= set(checks)
    assert "own_core_share" in checks["during"] and "cpu_heavy" in checks["after"]
    assert [c["config"] for c in report["configs"]] == ["1q", "5q"]
    assert [c["config"] for c in report["configs_3d"]] == ["3dq"]
    has_torch = "torch_1_thread" in report["configs"][0]["max"]["contenders"]
    for config in report["configs"] + report["configs_3d"]:
        kinds = ("max", "avg") if config in report["configs"] else ("max",)
        for kind in kinds:
            m = config[kind]
            raw = m["raw"]
            assert len(raw["round_threads"]) == len(raw["round_cycle"]) == m["rounds"]
            for name, c in m["contenders"].items():
                check_quartiles(c["wall_ms"])
                check_quartiles(c["cpu_ms"])
                assert c["wall_ms"]["q1"] > 0 and c["cpu_ms"]["q1"] > 0
                assert c["rounds"] == sum(v is not None for v in raw["wall_us"][name]) >= 2
            for name in ("pooling_lab", "pooling_lab_channels_last"):  # in every round
                assert m["contenders"][name]["rounds"] == m["rounds"]
            assert m["peak_extra_memory_x_input"] > 0
            assert m["peak_extra_memory_x_input_channels_last"] > 0
            expected = {key for key in COMPARISONS if term_names(key) <= set(m["contenders"])}
            assert "pooling_lab_channels_last/pooling_lab" in expected
            assert set(m["paired"]) == expected
            for pair in m["paired"].values():
                check_quartiles(pair["wall"])
                check_quartiles(pair["cpu"])
                assert pair["pairs"] >= 2
            if has_torch:  # a claim re-derived from the raw rounds
                top, bottom = raw["wall_us"]["pooling_lab"], raw["wall_us"]["torch_1_thread"]
                ratios = [a / b for a, b in zip(top, bottom) if a is not None and b is not None]
                key = "pooling_lab/torch_1_thread"
                assert m["paired"][key]["wall"]["median"] == pytest.approx(
                    statistics.median(ratios), rel=1e-3
                )
                assert m["paired"][key]["pairing"] == "same round"
                assert m["paired"]["pooling_lab/torch_default"]["pairing"] == "same round"
                assert m["contenders"]["torch_default"]["cpu_clock"] == "time.process_time"
                assert m["contenders"]["pooling_lab"]["cpu_clock"] == "time.thread_time"
                # the best layout of each, round by round, re-derived from the raw rounds
                wall = raw["wall_us"]
                best = [
                    min(a, b) / min(c, d)
                    for a, b, c, d in zip(
                        wall["pooling_lab"],
                        wall["pooling_lab_channels_last"],
                        wall["torch_1_thread"],
                        wall["torch_channels_last_1_thread"],
                    )
                    if None not in (a, b, c, d)
                ]
                assert m["paired"][BEST_OVER_BEST]["wall"]["median"] == pytest.approx(
                    statistics.median(best), rel=1e-3
                )
                assert m["paired"][BEST_OVER_BEST]["pairing"] == "same round"
        mx = config["max"]
        for key in (
            "scatter_add_at/repeat_check+scatter_assign",
            "pooling_lab_functional/pooling_lab",
            "pooling_lab_functional_channels_last/pooling_lab_channels_last",
        ):
            assert key in mx["paired"]
        # the estimate (layer + copy of the int64 indices) / layer, from the same rounds
        rounds = mx["raw"]
        floor = [
            (a + b) / a
            for a, b in zip(rounds["cpu_us"]["pooling_lab"], rounds["cpu_us"]["copy_indices"])
            if a is not None and b is not None
        ]
        assert mx["per_round"]["functional_floor_over_layer"]["cpu"]["median"] == pytest.approx(
            statistics.median(floor), rel=1e-3
        )
        assert all(f > 1 for f in floor)
        assert set(mx["per_round"]) == {
            "functional_extra_ms",
            "functional_minus_layer_ms",
            "functional_floor_over_layer",
            "functional_floor_over_layer_channels_last",
            "achieved_gb_per_s",
            "copy_gb_per_s",
            "achieved_over_copy",
            "achieved_over_copy_channels_last",
        }
        if config in report["configs"]:  # the forward ablation, 2-D only
            assert "forward_step1_slices/forward_step2_phases" in mx["paired"]
            assert "forward_sliding_window_view/forward_pooling_lab" in mx["paired"]
        # the forward's passes alone, by either route (1q's 3x3 windows at stride 2 take the
        # phases; 5q's and 3dq's 2x2 windows tile the input), weighed against the forward
        assert "forward_passes" in mx["contenders"]
        assert "forward_passes/forward_pooling_lab" in mx["paired"]
        assert "forward_pooling_lab_channels_last" in mx["contenders"]
        # the channels-last route has passes of its own where the windows tile the input
        tiles = config["config"] != "1q"
        cl_passes = "forward_passes_channels_last/forward_pooling_lab_channels_last"
        assert (cl_passes in mx["paired"]) == tiles
        if has_torch:
            for key in (
                "pooling_lab/torch_channels_last_1_thread",
                "torch_default/torch_1_thread",
                "pooling_lab_channels_last/torch_channels_last_1_thread",
                BEST_OVER_BEST,
            ):
                assert key in mx["paired"]
            passes = "forward_passes/min(torch_1_thread,torch_channels_last_1_thread)"
            assert passes in mx["paired"]
    five, one = report["reference"]["cases"]
    for case in (five, one):
        assert case["counts"]["element_visits"] > 0 and case["counts"]["isnan_calls"] > 0
        assert case["paired"][REFERENCE_SPEEDUP]["cpu"]["median"] > 0
        check_quartiles(case["cpu_us_per_element_visit"])
        assert {"read_scalar", "isnan", "compare_scalars", "window_coordinates"} <= set(
            case["profile"]["parts"]
        )
        model = case["model"]
        assert model["sum_of_parts_ms"] == pytest.approx(sum(model["parts_ms"].values()), rel=1e-2)
        assert 0 < model["sum_over_measured"] and model["measured_forward_cpu_ms"] > 0
    assert "whole_config" not in five and one["whole_config"]["scale"] == 6


def test_cnn_benchmark_runs_quickly(tmp_path):
    out, log = tmp_path / "cnn.json", tmp_path / "runs.jsonl"
    args = ("--quick", "--allow-busy", "--tune-seeds", "1", "--test-seeds", "1", "--jobs", "1")
    run_benchmark(
        "bench_cnn.py", *args, "--lrs", "0.1", "0.3", "--log", str(log), "--out", str(out)
    )
    report = json.loads(out.read_text())
    assert report["quick"] and report["publishable"] is False and report["code"]
    assert report["data"]["train"] == 1438 and report["data"]["test"] == 359
    assert report["data"]["tuning_fit"] + report["data"]["validation"] == 1438
    assert {"numpy_simd", "threads", "load_average_range"} <= set(report["machine"])
    assert report["machine"]["threads"]["env"]["OPENBLAS_NUM_THREADS"] == "1"
    assert {"before", "during", "after"} <= set(report["machine_check"])
    for result in report["results"].values():
        assert [t["lr"] for t in result["tuning"]] == [0.1, 0.3] and result["lr"] in (0.1, 0.3)
        (only,) = result["runs"]
        assert 0 <= only["accuracy"] <= 1 and only["cpu_seconds"] >= 0
    # 2 learning rates x 3 variants on validation, then 3 test runs; a rerun reuses them all
    assert len(log.read_text().splitlines()) == 9
    rerun = run_benchmark(
        "bench_cnn.py", *args, "--lrs", "0.1", "0.3", "--log", str(log), "--out", str(out)
    )
    assert not [line for line in rerun.stdout.splitlines() if line.startswith(("tune", "test"))]
    assert len(log.read_text().splitlines()) == 9
    reasons = json.loads(out.read_text())["not_publishable_because"]
    assert "9 runs were taken from the log of an earlier session" in reasons


# ---------------------------------------------------------------- the committed results


def committed(name: str) -> dict:
    report = json.loads((ROOT / "benchmarks" / "results" / name).read_text())
    if "publishable" not in report:
        pytest.xfail(
            f"benchmarks/results/{name} predates the busy check and the paired ratios: "
            "regenerate it on a quiet machine"
        )
    return report


REPEATS = sorted((ROOT / "benchmarks" / "results" / "pooling_repeats").glob("*.json"))


@pytest.mark.parametrize(
    "name", ["pooling.json"] + [f"pooling_repeats/{path.name}" for path in REPEATS]
)
def test_committed_results_are_publishable_and_describe_the_machine(name):
    from bench_pooling import REFERENCE_SPEEDUP

    report = committed(name)
    assert report["publishable"] is True and not report["not_publishable_because"]
    assert not report["quick"] and report["code"] and "+dirty" not in report["code"]
    assert {"cpu", "cores", "numpy", "numpy_simd", "threads", "torch_cpu_capability"} <= set(
        report["machine"]
    )
    assert report["machine"]["load_average_before"][0] <= bm.LOAD_LIMIT
    assert [c["config"] for c in report["configs"]] == ["1", "2", "3", "4", "5"]
    assert [c["config"] for c in report["configs_3d"]] == ["3d"]
    for row in report["configs"] + report["configs_3d"]:
        for key in ("pooling_lab/torch_1_thread", "pooling_lab/torch_channels_last_1_thread"):
            assert row["max"]["paired"][key]["pairs"] >= 15
    five = report["reference"]["cases"][0]
    assert five["config"] == "5" and five["paired"][REFERENCE_SPEEDUP]["pairs"] >= 5
    assert not math.isnan(five["model"]["sum_over_measured"])


def test_the_committed_runs_share_a_machine_and_the_chapter_holds_for_each():
    # making_it_fast says only what holds in every committed run of the benchmark; nbval checks
    # it against pooling.json, this against each of the others
    sys.path.insert(0, str(ROOT / "scripts"))
    import check_chapter_claims as claims

    assert len(REPEATS) >= 2
    results = ROOT / "benchmarks" / "results" / "pooling.json"
    first = committed("pooling.json")
    # the README: each run started once the 1-minute load had fallen back below 0.1
    assert first["machine"]["load_average_before"][0] < 0.1
    for path in REPEATS:
        report = committed(f"pooling_repeats/{path.name}")
        assert report["machine"]["load_average_before"][0] < 0.1, path.name
        for key in ("cpu", "numpy", "numpy_simd", "torch", "torch_cpu_capability"):
            assert report["machine"].get(key) == first["machine"].get(key), (path.name, key)
        assert report["settings"] == first["settings"]
        # the same benchmarked code: package, benchmark scripts and pyproject.toml
        assert first["code_tree"] and report["code_tree"] == first["code_tree"], path.name
        found = claims.failures(ROOT / "book" / "making_it_fast.ipynb", path, results)
        assert found == [], f"{path.name}: " + "; ".join(found)


def test_committed_cnn_results_follow_the_protocol_and_meet_the_floors():
    report = committed("cnn.json")
    assert report["publishable"] is True and not report["quick"]
    assert {"cpu", "cores", "numpy"} <= set(report["machine"])
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


def test_chapter_claims_checker_reports_every_failing_assert_and_leaves_the_results(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    import check_chapter_claims as claims

    (tmp_path / "book").mkdir()
    results = tmp_path / "results" / "r.json"  # the notebook reads it as ../results/r.json
    results.parent.mkdir()
    results.write_text('{"x": 1, "y": 2}')
    cells = [  # a failing assert does not stop its cell; a failing statement does
        'import json\nd = json.load(open("../results/r.json"))\nassert d["x"] == 1\n'
        'assert d["y"] == 2',
        'z = d["y"] * 10\nassert z == 20  # "twenty"\nw = 1 / (d["x"] - 1)\nassert False',
    ]
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    notebook = tmp_path / "book" / "chapter.ipynb"
    notebook.write_text(json.dumps({"cells": [dict(cell, source=s) for s in cells]}))
    runs = []
    for x, y in [(1, 2), (5, 3)]:
        run = tmp_path / f"run_{x}.json"
        run.write_text(json.dumps({"x": x, "y": y}))
        runs.append(run)
    args = [*map(str, runs), "--notebook", str(notebook), "--results", str(results)]
    assert claims.main(args) == 1
    assert results.read_text() == '{"x": 1, "y": 2}'  # never touched
    # run 1 (x = 1) breaks no assert, but the division by zero, which ends its cell (the
    # assert after it is not reported); run 2 (x = 5, y = 3) breaks all four, each reported
    found = [claims.failures(notebook, run, results) for run in runs]
    assert found[0] == ['code cell 2, line 3: ZeroDivisionError: w = 1 / (d["x"] - 1)']
    assert [line.split(":")[0] for line in found[1]] == [
        "code cell 1, line 3",
        "code cell 1, line 4",
        "code cell 2, line 2",
        "code cell 2, line 4",
    ]
