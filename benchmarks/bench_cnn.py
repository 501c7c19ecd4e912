"""Train the course's digits CNN with pooling_lab alone: test accuracy and training time.

Usage::

    python benchmarks/bench_cnn.py             # 5 seeds, max/avg/conv, writes benchmarks/results/
    python benchmarks/bench_cnn.py --seeds 1   # one seed (the chapter's), max pooling only
    python benchmarks/bench_cnn.py --quick     # a tiny network for two epochs (smoke test)

For each seed it builds ``pooling_lab.models.digits_cnn`` and trains it with
``pooling_lab.models.DIGITS_RECIPE`` and one-pixel random shifts, exactly as the chapter
"A CNN end to end" does (seed 0 is the chapter's run). Training time is the wall-clock time
of ``fit`` (every epoch, augmentation included; the per-epoch test evaluation is switched off),
measured in this process. The floors from the course's issue are checked and reported:
test accuracy at least 97.5% and training time at most 30 s, on every seed.

Unless ``--seeds 1`` or ``--quick`` is given it also trains the two other ways of halving the
feature maps, average pooling and a stride-2 convolution, under the same recipe, for the
chapter's comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from bench_pooling import machine, write_report  # noqa: E402

import pooling_lab as pl  # noqa: E402

ACCURACY_FLOOR = 0.975
SECONDS_CEILING = 30.0


def train_once(downsample: str, seed: int, quick: bool, data) -> dict:
    recipe = dict(pl.models.DIGITS_RECIPE)
    if quick:  # a tiny network for two epochs; otherwise exactly the chapter's network
        recipe["epochs"] = 2
        model = pl.models.digits_cnn(downsample, channels=(4, 8), seed=seed)
    else:
        model = pl.models.digits_cnn(downsample, seed=seed)
    start = time.perf_counter()
    pl.training.fit(
        model,
        data.x_train,
        data.y_train,
        **recipe,
        seed=seed,
        augment=pl.datasets.random_shift,
        log=None,
    )
    seconds = time.perf_counter() - start
    acc = pl.training.accuracy(model, data.x_test, data.y_test)
    return {"seed": seed, "test_accuracy": round(acc, 4), "train_seconds": round(seconds, 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny network, 2 epochs")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args(argv)
    data = pl.datasets.load_digits()
    compare = not args.quick and args.seeds > 1
    downsamplers = pl.models.DOWNSAMPLERS if compare else ("max",)
    results = {}
    for downsample in downsamplers:
        runs = []
        for seed in range(args.seeds):
            run = train_once(downsample, seed, args.quick, data)
            runs.append(run)
            print(
                f"{downsample:4} seed {seed}: test accuracy {run['test_accuracy']:.2%}, "
                f"training {run['train_seconds']:.1f} s",
                flush=True,
            )
        accs = [r["test_accuracy"] for r in runs]
        secs = [r["train_seconds"] for r in runs]
        results[downsample] = {
            "runs": runs,
            "accuracy_min": min(accs),
            "accuracy_mean": round(statistics.mean(accs), 4),
            "seconds_median": round(statistics.median(secs), 2),
            "seconds_max": max(secs),
        }
    main_runs = results["max"]
    floors_met = (
        main_runs["accuracy_min"] >= ACCURACY_FLOOR and main_runs["seconds_max"] <= SECONDS_CEILING
    )
    report = {
        "machine": machine(),
        "network": repr(pl.models.digits_cnn()),
        "recipe": pl.models.DIGITS_RECIPE,
        "augmentation": "random shifts of up to 1 pixel (pooling_lab.datasets.random_shift)",
        "data": {"train": len(data.y_train), "test": len(data.y_test)},
        "quick": args.quick,
        "floors": {"accuracy_min": ACCURACY_FLOOR, "train_seconds_max": SECONDS_CEILING},
        "floors_met": floors_met,
        "results": results,
    }
    for downsample, r in results.items():
        print(
            f"{downsample:4}: accuracy min {r['accuracy_min']:.2%}, mean {r['accuracy_mean']:.2%}; "
            f"training median {r['seconds_median']:.1f} s, max {r['seconds_max']:.1f} s"
        )
    if not args.quick:
        verdict = "met" if floors_met else "NOT met"
        print(
            f"floors (max pooling, every seed: accuracy >= {ACCURACY_FLOOR:.1%}, "
            f"training <= {SECONDS_CEILING:.0f} s): {verdict}"
        )
    write_report(report, args.out, "cnn.json", args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
