"""Train the course's digits CNN with pooling_lab alone: a fair comparison of three ways to halve.

Usage::

    python benchmarks/bench_cnn.py           # the full protocol, writes benchmarks/results/cnn.json
    python benchmarks/bench_cnn.py --quick --allow-busy --out /tmp/c.json   # tiny, smoke test

The network is ``pooling_lab.models.digits_cnn`` with its three ways of halving the feature
maps (2x2 max pooling, 2x2 average pooling, a 3x3 convolution of stride 2), trained with
``pooling_lab.models.DIGITS_RECIPE`` and one-pixel random shifts, as in the chapter "A CNN end
to end". The recipe's learning rate was tuned for max pooling; average pooling scales every
gradient it passes back by 1/4, so under one shared learning rate it takes smaller steps, and a
comparison at one learning rate compares step sizes as much as pooling. So the protocol is:

1. Tuning. A stratified fifth of the training set is held out for validation
   (``pooling_lab.datasets.validation_split``). Every variant is trained on the rest at every
   learning rate of a small grid, with a few seeds; the learning rate with the best mean
   validation accuracy is that variant's.
2. Test. Every variant is trained on the whole training set at its own learning rate with
   several seeds, and evaluated on the test set once per run.

Every run is single-threaded (the BLAS library is limited to one thread before NumPy is
imported) and ``--jobs`` runs go on in parallel (``--jobs`` 2 on 2 cores fills the machine). Each
run records the CPU time of ``fit`` (``time.process_time`` in the worker: every epoch,
augmentation included), which on one thread is the compute the training needs (other load still
inflates it somewhat, through shared caches and memory bandwidth), its wall-clock time, and the
1-minute load average at its start. The floors of the course's issue are checked
on max pooling's test runs: test accuracy at least 97.5% on every seed, and training within
30 s (CPU time, on one thread).

Every finished run is appended to ``--log`` (a JSON-lines file); a rerun with the same log
skips the runs it already holds, so an interrupted benchmark resumes where it stopped. Runs taken
from the log were measured in an earlier session, whose machine checks this one cannot vouch
for: a report that reuses any is not publishable (for a publishable file, use no log or a
fresh one).

The machine checks are ``bench_machine``'s, as in ``bench_pooling.py``: before the first run
the 1-minute load average must be at most 0.5 and no other process may use more than 10% of a
core (the script's own worker processes do not count); otherwise the script refuses, exit
status 3, naming the load and the processes. After the last run the other processes' CPU over
the whole session is checked, and once more a sample; if that fails, no publishable file is
written. ``--allow-busy`` runs and writes anyway, marked ``"publishable": false``. ``--quick``
never writes into ``benchmarks/results/`` and is never publishable. To regenerate
``results/cnn.json`` on a quiet 2-core machine (about 15 CPU minutes, some 8 minutes of wall
time with the default ``--jobs 2``)::

    while [ "$(cut -d' ' -f1 /proc/loadavg | awk '{print ($1>=0.5)}')" = 1 ]; do sleep 10; done
    python benchmarks/bench_cnn.py

What is written (JSON): ``publishable``, ``not_publishable_because``, ``quick``, ``code`` (git
commit), ``started``; ``machine`` (``bench_machine.machine_record``: cpu, cores, NumPy SIMD
levels, thread settings, ...; plus ``load_average_before`` / ``load_average_after`` of the
whole benchmark, ``blas_threads_per_run``, ``parallel_runs`` and ``load_average_range``, the
lowest and highest 1-minute load average at the start of a run);
``machine_check`` (before / during / after, see ``bench_machine``); ``recipe``,
``augmentation``, ``data`` (set sizes), ``protocol``, ``floors``, ``floors_met``; and per
variant in ``results``: ``network``, ``parameters``, ``tuning`` (per learning rate the mean
validation accuracy and every run), ``lr`` (the chosen one), ``runs`` (the test runs: seed,
accuracy, final_train_loss, cpu_seconds, wall_seconds, load_average), ``test_accuracy`` (mean,
std, min, max), ``cpu_seconds_median``, ``cpu_seconds_max``, ``wall_seconds_median``.
"""

from __future__ import annotations

import argparse
import json
import math
import os

# one BLAS thread per run: on a shared machine competing BLAS threads waste most of the CPU
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import multiprocessing  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

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

import pooling_lab as pl  # noqa: E402

SCRIPT = "bench_cnn.py"
ACCURACY_FLOOR = 0.975
SECONDS_CEILING = 30.0
LR_GRID = (0.03, 0.1, 0.3)


def build(downsample: str, seed: int, quick: bool):
    channels = (4, 8) if quick else (48, 96)
    return pl.models.digits_cnn(downsample, channels=channels, seed=seed)


def parameter_count(model) -> int:
    return int(sum(layer.params[name].size for layer, name in model.parameters()))


_SPLITS = {}


def splits():
    """(train x, train y, evaluation x, evaluation y) for each phase, loaded once per process."""
    if not _SPLITS:
        data = pl.datasets.load_digits()
        x_fit, y_fit, x_val, y_val = pl.datasets.validation_split(data.x_train, data.y_train)
        _SPLITS["tune"] = (x_fit, y_fit, x_val, y_val)
        _SPLITS["test"] = (data.x_train, data.y_train, data.x_test, data.y_test)
    return _SPLITS


def train_once(task: tuple) -> dict:
    """Train one network of ``task`` = (phase, variant, lr, seed, quick); evaluate it once."""
    phase, downsample, lr, seed, quick = task
    x, y, x_eval, y_eval = splits()[phase]
    recipe = {**pl.models.DIGITS_RECIPE, "lr": lr}
    if quick:
        recipe["epochs"] = 2
    model = build(downsample, seed, quick)
    load = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), time.process_time()
    history = pl.training.fit(
        model, x, y, **recipe, seed=seed, augment=pl.datasets.random_shift, log=None
    )
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    final_loss = history[-1]["loss"]
    return {
        "phase": phase,
        "variant": downsample,
        "lr": lr,
        "seed": seed,
        "accuracy": round(pl.training.accuracy(model, x_eval, y_eval), 4),
        "final_train_loss": round(final_loss, 4) if math.isfinite(final_loss) else None,
        "cpu_seconds": round(cpu_seconds, 2),
        "wall_seconds": round(seconds, 2),
        "load_average": round(load, 2),
    }


def run_all(tasks: list[tuple], jobs: int, log_path: Path | None) -> tuple[dict, int]:
    """Results of every task, reusing those already in the log and appending the new ones;
    and how many were reused."""
    done = {}
    if log_path is not None and log_path.exists():
        for line in log_path.read_text().splitlines():
            run = json.loads(line)
            done[(run["phase"], run["variant"], run["lr"], run["seed"], run["quick"])] = run
    todo = [t for t in tasks if t not in done]
    with multiprocessing.Pool(jobs) as pool:
        for run in pool.imap_unordered(train_once, todo):
            run["quick"] = todo[0][4]
            done[(run["phase"], run["variant"], run["lr"], run["seed"], run["quick"])] = run
            if log_path is not None:
                with log_path.open("a") as f:
                    f.write(json.dumps(run) + "\n")
            print(
                f"{run['phase']} {run['variant']:4} lr {run['lr']:<5} seed {run['seed']}: "
                f"accuracy {run['accuracy']:.2%} (cpu {run['cpu_seconds']:.0f} s, wall "
                f"{run['wall_seconds']:.0f} s, load {run['load_average']:.1f})",
                flush=True,
            )
    return {t: done[t] for t in tasks}, len(tasks) - len(todo)


def summary(values: list[float]) -> dict:
    return {
        "mean": round(statistics.mean(values), 4),
        "std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def strip(run: dict) -> dict:
    keys = ("seed", "accuracy", "final_train_loss", "cpu_seconds", "wall_seconds", "load_average")
    return {k: run[k] for k in keys}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny network, 2 epochs, one lr")
    parser.add_argument("--lrs", type=float, nargs="+", default=None, help="learning-rate grid")
    parser.add_argument("--tune-seeds", type=int, default=2, help="seeds per lr on validation")
    parser.add_argument("--test-seeds", type=int, default=3, help="seeds on the test set")
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel")
    parser.add_argument("--log", type=Path, default=None, help="JSON-lines log of the runs")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    parser.add_argument(
        "--allow-busy",
        action="store_true",
        help='run on a busy machine too; the file is marked "publishable": false',
    )
    args = parser.parse_args(argv)
    check_out(SCRIPT, args.out, args.quick)
    check = preflight(SCRIPT, args.allow_busy)
    code = code_version()
    tree = code_tree()
    lrs = tuple(args.lrs) if args.lrs else ((0.1,) if args.quick else LR_GRID)
    tune_seeds = list(range(100, 100 + args.tune_seeds))  # not the test seeds
    test_seeds = list(range(args.test_seeds))
    variants = pl.models.DOWNSAMPLERS
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    tasks = [("tune", v, lr, s, args.quick) for s in tune_seeds for lr in lrs for v in variants]
    tuned, reused = run_all(tasks, args.jobs, args.log)
    chosen, tuning = {}, {}
    for v in variants:
        tuning[v] = [
            {
                "lr": lr,
                "validation_accuracy_mean": round(
                    statistics.mean(
                        tuned[("tune", v, lr, s, args.quick)]["accuracy"] for s in tune_seeds
                    ),
                    4,
                ),
                "runs": [strip(tuned[("tune", v, lr, s, args.quick)]) for s in tune_seeds],
            }
            for lr in lrs
        ]
        # the best mean validation accuracy; equal means: the smaller lr
        best = max(tuning[v], key=lambda t: (t["validation_accuracy_mean"], -t["lr"]))
        chosen[v] = best["lr"]
        print(f"{v:4}: lr {chosen[v]} (validation mean {best['validation_accuracy_mean']:.2%})")

    tasks = [("test", v, chosen[v], s, args.quick) for s in test_seeds for v in variants]
    tested, reused_tests = run_all(tasks, args.jobs, args.log)
    reused += reused_tests
    checks = postflight(check)
    loads = [r["load_average"] for r in [*tuned.values(), *tested.values()]]

    results = {}
    for v in variants:
        runs = [strip(tested[("test", v, chosen[v], s, args.quick)]) for s in test_seeds]
        cpu = [r["cpu_seconds"] for r in runs]
        results[v] = {
            "network": repr(build(v, 0, args.quick)),
            "parameters": parameter_count(build(v, 0, args.quick)),
            "tuning": tuning[v],
            "lr": chosen[v],
            "runs": runs,
            "test_accuracy": summary([r["accuracy"] for r in runs]),
            "cpu_seconds_median": round(statistics.median(cpu), 2),
            "cpu_seconds_max": max(cpu),
            "wall_seconds_median": round(statistics.median(r["wall_seconds"] for r in runs), 2),
        }
    main_runs = results["max"]
    accuracy_met = main_runs["test_accuracy"]["min"] >= ACCURACY_FLOOR
    seconds_met = main_runs["cpu_seconds_max"] <= SECONDS_CEILING
    data = splits()
    report = {
        "publishable": None,  # set by publish()
        "not_publishable_because": None,
        "quick": args.quick,
        "code": code,
        "code_tree": tree,
        "machine": {
            **machine_record(),
            **load_averages(checks),
            "blas_threads_per_run": 1,
            "parallel_runs": args.jobs,
            # the 1-minute load average at the start of each run, lowest and highest
            "load_average_range": [round(min(loads), 2), round(max(loads), 2)],
        },
        "started": started,
        "recipe": pl.models.DIGITS_RECIPE,
        "augmentation": "random shifts of up to 1 pixel (pooling_lab.datasets.random_shift)",
        "data": {
            "train": len(data["test"][1]),
            "test": len(data["test"][3]),
            "tuning_fit": len(data["tune"][1]),
            "validation": len(data["tune"][3]),
        },
        "protocol": {
            "lr_grid": list(lrs),
            "tuning_seeds": tune_seeds,
            "test_seeds": test_seeds,
            "selection": "highest mean validation accuracy over the tuning seeds",
            "test": "trained on the whole training set at the chosen lr, evaluated once",
        },
        "floors": {"accuracy_min": ACCURACY_FLOOR, "train_cpu_seconds_max": SECONDS_CEILING},
        "floors_met": {"accuracy": accuracy_met, "train_seconds": seconds_met},
        "results": results,
    }
    for v, r in results.items():
        acc = r["test_accuracy"]
        print(
            f"{v:4}: lr {r['lr']}, {r['parameters']} parameters, test accuracy mean "
            f"{acc['mean']:.2%} (std {acc['std']:.2%}, min {acc['min']:.2%}); training median "
            f"{r['cpu_seconds_median']:.1f} s CPU"
        )
    if not args.quick:
        print(
            f"floors (max pooling, every seed): accuracy >= {ACCURACY_FLOOR:.1%}: "
            f"{'met' if accuracy_met else 'NOT met'}; training <= {SECONDS_CEILING:.0f} s CPU: "
            f"{'met' if seconds_met else 'NOT met'}"
        )
    note = f"{reused} runs were taken from the log of an earlier session" if reused else None
    publish(
        SCRIPT,
        report,
        checks,
        args.out,
        "cnn.json",
        args.quick,
        args.allow_busy,
        other_reasons=(note,) if note else (),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
