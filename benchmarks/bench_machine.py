"""The machine a benchmark runs on: what it is, and whether it is quiet enough to measure.

Shared by ``bench_pooling.py`` and ``bench_cnn.py``; standard library only (NumPy, PyTorch and
threadpoolctl are looked at where they are importable, never required).

**What is recorded** (:func:`machine_record`): CPU model, logical cores and the cores this
process may run on, Python and NumPy versions, NumPy's SIMD levels (the baseline it was compiled
for, the levels it can dispatch to, the features enabled on this CPU, and
``NPY_DISABLE_CPU_FEATURES`` if set), the thread settings (the ``*_NUM_THREADS`` and OpenMP
environment variables, PyTorch's intra- and inter-op thread counts and SIMD level when PyTorch
is passed in, threadpoolctl's view of the loaded BLAS/OpenMP libraries when it is importable),
and the git commit of the benchmarked code (:func:`code_version`).

**The busy check** (:func:`preflight` before measuring, :func:`postflight` after). The machine
counts as busy when, before the measurement,

- the 1-minute load average exceeds ``LOAD_LIMIT`` (0.5), or
- over a ``SAMPLE_SECONDS`` (1 s) sample of ``/proc/<pid>/stat``, another process used more than
  ``PROCESS_LIMIT`` (10%) of one core, or all other processes together more than
  ``TOTAL_LIMIT`` (50%) of one core.

"Other" means every process outside the benchmark's own process tree (the script and its
descendants, e.g. ``bench_cnn.py``'s worker processes). A process's CPU is ``utime + stime`` plus
``cutime + cstime``, the CPU of children it has reaped, minus what those children had already
used when the sample began: so a make or shell loop running short-lived jobs shows up as its
parent, and nothing is counted twice.

After the measurement the same sample is taken again, and the whole run is accounted for: the
other processes' CPU between the end of the first check and the start of the last one, as a
share of a core averaged over the run, against the same two limits. The load average after a
run includes the benchmark itself, so there its limit is ``LOAD_LIMIT`` plus the benchmark's
own average number of busy cores over the run (about 1 for ``bench_pooling.py``, about
``--jobs`` for ``bench_cnn.py``).

A busy machine gets a refusal: the message names the load and the processes, and how to wait
(:data:`WAIT_COMMAND`), and the script exits with status ``BUSY_EXIT`` (3). Before the
measurement nothing is measured; after it, nothing is written where the report was going (the
report goes to a temporary file instead, marked ``"publishable": false``, so the run is not
lost but cannot be mistaken for a publishable one). ``--allow-busy`` measures and writes anyway,
with ``"publishable": false``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"

LOAD_LIMIT = 0.5  # 1-minute load average
PROCESS_LIMIT = 0.10  # share of one core, any other single process
TOTAL_LIMIT = 0.50  # share of one core, all other processes together
# How long each look at the other processes samples them; the smoke tests shorten it (they
# run the scripts with --allow-busy, where the look decides nothing but a label).
SAMPLE_SECONDS = float(os.environ.get("POOLING_LAB_BENCH_SAMPLE_SECONDS", "1.0"))
BUSY_EXIT = 3
WAIT_COMMAND = (
    "while [ \"$(cut -d' ' -f1 /proc/loadavg | awk '{print ($1>=0.5)}')\" = 1 ]; do sleep 10; done"
)
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "GOMP_SPINCOUNT",
    "KMP_BLOCKTIME",
    "OMP_PROC_BIND",
    "OMP_PLACES",
)


# ---------------------------------------------------------------------------- what it is


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


CODE_PATHS = ["pooling_lab", "benchmarks", ":(exclude)benchmarks/results", "pyproject.toml"]


def code_version() -> str | None:
    """The git commit the benchmarked code is at ("+dirty" with uncommitted changes to the
    package or the benchmark scripts; chapters, tests and results files do not count)."""
    try:
        git = ["git", "-C", str(ROOT.parent)]
        commit = subprocess.run(
            git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            git + ["status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def code_tree() -> str | None:
    """A short hash of the benchmarked code's files at HEAD (the package, the benchmark scripts,
    pyproject.toml): equal for two commits that differ only elsewhere (chapters, tests,
    results), so results measured at either are of the same code."""
    # ls-tree takes no pathspec magic: CODE_PATHS's exclusions are applied to its listing
    paths = [path for path in CODE_PATHS if not path.startswith(":")]
    excluded = [path.removeprefix(":(exclude)") + "/" for path in CODE_PATHS if path not in paths]
    try:
        listing = subprocess.run(
            ["git", "-C", str(ROOT.parent), "ls-tree", "-r", "HEAD", "--", *paths],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    kept = [
        line
        for line in listing.splitlines()
        if not line.split("\t", 1)[1].startswith(tuple(excluded))  # "<mode> <type> <hash>\t<path>"
    ]
    return hashlib.sha256("\n".join(kept).encode()).hexdigest()[:12] if kept else None


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (runnable processes), where the OS reports them."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def numpy_simd() -> dict | None:
    """NumPy's SIMD levels: compiled baseline, dispatchable targets, features enabled here."""
    try:
        import numpy as np
    except ImportError:
        return None
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as umath
    features = getattr(umath, "__cpu_features__", {})
    return {
        "baseline": list(getattr(umath, "__cpu_baseline__", [])),
        "dispatch": list(getattr(umath, "__cpu_dispatch__", [])),
        "enabled": [name for name, on in features.items() if on],
        "NPY_DISABLE_CPU_FEATURES": os.environ.get("NPY_DISABLE_CPU_FEATURES"),
        "numpy": np.__version__,
    }


def thread_settings(torch=None) -> dict:
    """Environment variables that set thread counts, PyTorch's counts, threadpoolctl's view."""
    settings: dict = {"env": {v: os.environ[v] for v in THREAD_VARIABLES if v in os.environ}}
    if torch is not None:
        settings["torch_num_threads"] = torch.get_num_threads()
        settings["torch_num_interop_threads"] = torch.get_num_interop_threads()
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        settings["threadpoolctl"] = None
    else:
        keys = ("user_api", "internal_api", "prefix", "version", "num_threads")
        settings["threadpoolctl"] = [{k: pool.get(k) for k in keys} for pool in threadpool_info()]
    return settings


def machine_record(torch=None) -> dict:
    """What the figures were measured on (``torch``: the imported module, or None)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    simd = numpy_simd()
    record = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": simd.pop("numpy") if simd else None,
        "numpy_simd": simd,
        "threads": thread_settings(torch),
    }
    if torch is not None:
        record["torch"] = torch.__version__
        record["torch_default_threads"] = torch.get_num_threads()
        # the SIMD level of PyTorch's vectorised kernels (e.g. channels_last max pooling)
        record["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return record


# ---------------------------------------------------------------------------- is it busy


@dataclass(frozen=True)
class Proc:
    """One process in ``/proc``: CPU clock ticks used by itself and by its reaped children."""

    pid: int
    ppid: int
    name: str
    start: int  # start time in ticks after boot: tells a reused pid from the old process
    own: int  # utime + stime
    children: int  # cutime + cstime

    @property
    def total(self) -> int:
        return self.own + self.children


def parse_stat(text: str) -> Proc:
    """One ``/proc/<pid>/stat`` line (the name may hold spaces and parentheses)."""
    head, _, tail = text.rpartition(")")
    pid, _, name = head.partition(" (")
    fields = tail.split()  # fields[0] is field 3 of proc(5), the state
    ticks = [int(v) for v in fields[11:15]]  # utime, stime, cutime, cstime
    return Proc(
        int(pid), int(fields[1]), name, int(fields[19]), ticks[0] + ticks[1], sum(ticks[2:])
    )


def read_processes() -> dict[int, Proc] | None:
    """Every process now, or None where there is no ``/proc``."""
    if not Path("/proc/self/stat").exists():
        return None
    procs = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                procs[int(entry.name)] = parse_stat(Path(entry.path, "stat").read_text())
            except (OSError, ValueError, IndexError):  # gone meanwhile, or unreadable
                pass
    return procs


def process_tree(root: int, *snapshots: dict[int, Proc]) -> set[int]:
    """``root`` and its descendants, in any of the snapshots."""
    children: dict[int, set[int]] = {}
    for snap in snapshots:
        for p in snap.values():
            children.setdefault(p.ppid, set()).add(p.pid)
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, ()))
    return tree


def cpu_usage(
    before: dict[int, Proc], after: dict[int, Proc], seconds: float, exclude: set[int]
) -> tuple[float, list[dict]]:
    """CPU of the processes outside ``exclude`` between two snapshots, as shares of one core.

    Returns the total and each process's share, largest first. A process's share is its own
    CPU, plus what the children it reaped meanwhile used after ``before`` (their total then is
    subtracted, since it was counted under their own pids; a vanished process whose parent
    vanished too is taken to be reaped by init, pid 1); a process new in ``after`` counts from
    zero.
    """
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def same(pid):
        old, new = before.get(pid), after.get(pid)
        return old is not None and new is not None and old.start == new.start

    gone_totals: dict[int, int] = {}  # per reaper: totals its vanished children had at `before`
    for pid, p in before.items():
        if not same(pid) and pid not in exclude:
            reaper = p.ppid if same(p.ppid) else 1  # an orphan is reaped by init
            gone_totals[reaper] = gone_totals.get(reaper, 0) + p.total
    shares = []
    for pid, p in after.items():
        if pid in exclude:
            continue
        used = p.total - (before[pid].total if same(pid) else 0) - gone_totals.get(pid, 0)
        used = max(used, 0)  # a child reaped by another reaper than guessed
        shares.append({"pid": pid, "name": p.name, "core_share": used / tick / seconds})
    total = sum(s["core_share"] for s in shares)
    shares.sort(key=lambda s: -s["core_share"])
    return total, shares


def busy_reasons(
    load: list[float] | None,
    others_share: float | None,
    shares: list[dict],
    load_allowance: float = 0.0,
    over: str = "the last second",
) -> list[str]:
    """Why the machine is too busy to measure (empty: quiet enough).

    ``load``: the load averages; ``others_share``: all other processes' CPU in cores;
    ``shares``: each other process's (from :func:`cpu_usage`); ``load_allowance``: what the
    benchmark itself adds to the load average (after a run).
    """
    reasons = []
    limit = LOAD_LIMIT + load_allowance
    if load is not None and load[0] > limit:
        own = f" (0.5 + {load_allowance:.2f} for the benchmark itself)" if load_allowance else ""
        reasons.append(f"the 1-minute load average is {load[0]:.2f}, above {limit:.2f}{own}")
    for s in shares:
        if s["core_share"] > PROCESS_LIMIT:
            reasons.append(
                f"process {s['pid']} ({s['name']}) used {s['core_share']:.0%} of a core over {over}"
            )
    if others_share is not None and others_share > TOTAL_LIMIT:
        reasons.append(f"other processes together used {others_share:.0%} of a core over {over}")
    return reasons


def heavy(shares: list[dict]) -> list[dict]:
    return [
        {**s, "core_share": round(s["core_share"], 3)}
        for s in shares
        if s["core_share"] > PROCESS_LIMIT
    ]


@dataclass
class Check:
    """One look at the machine: its record for the report, and the snapshot it ended with."""

    record: dict
    snapshot: dict[int, Proc] | None
    time: float

    @property
    def busy(self) -> bool:
        return bool(self.record["reasons"])


def assess(
    first: dict[int, Proc] | None,
    second: dict[int, Proc] | None,
    seconds: float,
    load: list[float] | None,
    own_pid: int,
    load_allowance: float = 0.0,
) -> dict:
    """The record of one look at the machine (pure: the samples and the load are given)."""
    if first is None or second is None:
        total, shares = None, []
    else:
        total, shares = cpu_usage(first, second, seconds, process_tree(own_pid, first, second))
    record = {
        "load_average": load,
        "sample_seconds": round(seconds, 2),
        "others_core_share": None if total is None else round(total, 3),
        "cpu_heavy": heavy(shares),
        "reasons": busy_reasons(load, total, shares, load_allowance),
    }
    if total is None:
        record["reasons"].append("no /proc: the other processes cannot be checked")
    return record


def look(seconds: float = SAMPLE_SECONDS, load_allowance: float = 0.0) -> Check:
    """Sample the other processes over ``seconds``, then read the load average."""
    first = read_processes()
    start = time.monotonic()
    time.sleep(seconds)
    second = read_processes()
    elapsed = time.monotonic() - start
    record = assess(first, second, elapsed, load_average(), os.getpid(), load_allowance)
    return Check(record, second, time.monotonic())


def refusal(script: str, reasons: list[str], when: str) -> str:
    lines = [f"{script}: the machine is busy {when}, so the timings would not be publishable:"]
    lines += [f"  - {r}" for r in reasons]
    lines += [
        "Wait until it is quiet, e.g. (1-minute load average below 0.5):",
        f"  {WAIT_COMMAND}",
        "and stop, or wait for, the processes named above (`ps -o pid,etime,args -p PID` shows",
        "what one is; stop only your own). Then run the benchmark again.",
        'To measure anyway, pass --allow-busy: the file is then marked "publishable": false.',
    ]
    return "\n".join(lines)


def preflight(script: str, allow_busy: bool) -> Check:
    """The check before measuring: refuse (exit ``BUSY_EXIT``) on a busy machine."""
    check = look()
    if check.busy:
        message = refusal(script, check.record["reasons"], "before the measurement")
        if not allow_busy:
            print(message, file=sys.stderr)
            raise SystemExit(BUSY_EXIT)
        print(message.splitlines()[0] + " (--allow-busy: measuring anyway)", file=sys.stderr)
        for reason in check.record["reasons"]:
            print(f"  - {reason}", file=sys.stderr)
    return check


def postflight(before: Check) -> dict:
    """The check after measuring: the whole run's other processes, then a last sample.

    Returns ``{"before": ..., "during": ..., "after": ..., "reasons": [...]}`` for the report;
    ``reasons`` collects every reason to call the measurement unpublishable.
    """
    during_snapshot = read_processes()
    seconds = time.monotonic() - before.time
    during: dict = {"seconds": round(seconds, 1)}
    own = 0.0
    reasons = []
    if before.snapshot is not None and during_snapshot is not None:
        snaps = (before.snapshot, during_snapshot)
        tree = process_tree(os.getpid(), *snaps)
        total, shares = cpu_usage(*snaps, seconds, tree)
        everyone = set(before.snapshot) | set(during_snapshot)
        own, _ = cpu_usage(*snaps, seconds, everyone - tree)
        during.update(
            own_core_share=round(own, 3),
            others_core_share=round(total, 3),
            cpu_heavy=heavy(shares),
        )
        reasons += busy_reasons(None, total, shares, over=f"the run ({seconds:.0f} s)")
    after = look(load_allowance=own)
    reasons = (
        [f"before the run: {r}" for r in before.record["reasons"]]
        + [f"during the run: {r}" for r in reasons]
        + [f"after the run: {r}" for r in after.record["reasons"]]
    )
    return {
        "limits": {
            "load_average_1min": LOAD_LIMIT,
            "process_core_share": PROCESS_LIMIT,
            "others_core_share": TOTAL_LIMIT,
        },
        "before": before.record,
        "during": during,
        "after": after.record,
        "reasons": reasons,
    }


# ---------------------------------------------------------------------------- writing


def load_averages(checks: dict) -> dict:
    """The load averages before and after the run, for a report's ``machine`` record."""
    return {
        "load_average_before": checks["before"]["load_average"],
        "load_average_after": checks["after"]["load_average"],
    }


def dumps(value, indent: int = 0) -> str:
    """JSON with two-space indents, but every list of plain values (numbers, strings, null) on
    one line, so that the raw per-round times stay readable."""
    pad = "  " * indent
    if isinstance(value, dict) and value:
        items = [f"{pad}  {json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in value):
        items = [f"{pad}  {dumps(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, allow_nan=False)


def in_results(path: Path) -> bool:
    try:
        path.resolve().relative_to(RESULTS.resolve())
    except ValueError:
        return False
    return True


def check_out(script: str, out: Path | None, quick: bool) -> None:
    """``--quick`` never writes into ``results/`` (checked before measuring, and again)."""
    if quick and out is not None and in_results(out):
        raise SystemExit(f"{script}: --quick never writes into {RESULTS}")


def publish(
    script: str,
    report: dict,
    checks: dict,
    out: Path | None,
    default_name: str,
    quick: bool,
    allow_busy: bool,
    other_reasons: tuple[str, ...] = (),
) -> Path | None:
    """Mark the report publishable or not, and write it where it belongs.

    Publishable: a full run (not ``--quick``) on a machine that passed both checks. Full runs
    go to ``results/<default_name>`` unless ``out`` says otherwise; quick runs only to an
    explicit ``out``, never into ``results/``. A run that found the machine busy without
    ``--allow-busy`` is refused (exit ``BUSY_EXIT``) after writing its report to a temporary
    file, so the numbers can be looked at but never land where publishable ones go.
    ``other_reasons`` make the report unpublishable without a refusal (e.g. reused runs).
    """
    reasons = list(checks["reasons"]) + list(other_reasons)
    if quick:
        reasons.append("--quick: tiny shapes, a smoke test")
    report["publishable"] = not reasons
    report["not_publishable_because"] = reasons
    report["machine_check"] = checks
    if out is None and not quick:
        out = RESULTS / default_name
    check_out(script, out, quick)
    if checks["reasons"] and not allow_busy:
        fd, side = tempfile.mkstemp(prefix=f"{Path(default_name).stem}-busy-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(dumps(report) + "\n")
        message = refusal(script, checks["reasons"], "during or after the measurement")
        print(message, file=sys.stderr)
        print(f"(not publishable: the report went to {side} instead)", file=sys.stderr)
        raise SystemExit(BUSY_EXIT)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(dumps(report) + "\n")
        print(f"wrote {out} (publishable: {str(report['publishable']).lower()})")
    return out
