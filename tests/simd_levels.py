"""NumPy's SIMD dispatch levels on this machine, and the book's notebooks run at each of them.

NumPy compiles its loops for a baseline instruction set and, on top, for "dispatch targets"
(on x86-64 with NumPy 2.x: X86_V3, X86_V4, AVX512_ICL, AVX512_SPR), and at import picks the
best one the CPU supports. Different targets may round differently (summation order, fused
multiply-add), so an output printed with too many digits changes from one CPU to the next.
``NPY_DISABLE_CPU_FEATURES`` switches targets off, so one machine can play every CPU below its
own: level L runs with every supported target above L disabled.

The runs are started in the background as soon as pytest has collected them (see
tests/conftest.py), one after the other, so that they overlap with the rest of the suite;
tests/test_simd_levels.py waits for each and checks it.

Figures are not rasterised in these runs (``PNG_OFF``): nbval never compares PNG bytes
(``image/png`` is in its ``skip_compare`` without ``--nbdime``), so the runs keep every figure's
``text/plain`` output, which nbval does compare, and skip only the drawing, which the suite's
own run at the top level does. It saves about a quarter of each level's time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from helpers import LOWER_PRIORITY

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "_build" / "simd-levels"


def _umath():
    try:
        from numpy._core import _multiarray_umath as umath  # NumPy 2
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as umath
    return umath


def supported_targets() -> list[str]:
    """NumPy's dispatch targets that this CPU supports, lowest first (NumPy's own order)."""
    umath = _umath()
    return [t for t in umath.__cpu_dispatch__ if umath.__cpu_features__.get(t)]


def levels() -> dict[str, list[str]]:
    """Every level below the top one: its name -> the targets to disable for it.

    The top level (nothing disabled) is the ordinary nbval run of the suite.
    """
    targets = supported_targets()
    names = ["baseline", *targets[:-1]]
    return {name: targets[i:] for i, name in enumerate(names)}


def enabled_targets(disabled: list[str]) -> list[str]:
    """The dispatch targets a fresh Python reports as enabled with ``disabled`` switched off."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import simd_levels; "
        "print(' '.join(simd_levels.supported_targets()))"
    )
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(disabled)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


# The CNN chapter runs at one extra level only, the baseline, the farthest from the top one.
# Its outputs that depend on rounding come from training a network, and nbval does not compare
# them (tests/output_rules.py); everything else it prints comes from the committed results file
# or is a count. One extra level shows that its asserts hold away from the machine's top level;
# training it at every level would add most of a minute of CPU per level to the suite.
ONE_LEVEL_ONLY = ("cnn_digits.ipynb",)


# An IPython profile for the runs' kernels in which the inline backend renders no format: a
# figure's output is then its text/plain part alone, the part nbval compares.
PNG_OFF = "c.InlineBackend.figure_formats = set()\n"
# Each kernel starts a session of its own: its nice value (inherited from the runs' pytest,
# started at LOWER_PRIORITY) only counts once its session's priority is lowered as well
# (helpers.lower_session_priority). The profile's config file runs in the kernel at its start.
LOWER_SESSION = (
    "import sys\n"
    f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
    "from helpers import lower_session_priority\n"
    "lower_session_priority()\n"
)


def ipython_dir() -> Path:
    """IPYTHONDIR for the runs' kernels, holding the profile that switches PNG output off."""
    path = LOGS / "ipython"
    config = path / "profile_default" / "ipython_kernel_config.py"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(PNG_OFF + LOWER_SESSION)
    return path


def notebooks(level: str) -> list[Path]:
    """The notebooks run at ``level``: all of them at the baseline, all but the CNN above it."""
    every = sorted((ROOT / "book").glob("*.ipynb"))
    if level == "baseline":
        return every
    return [p for p in every if p.name not in ONE_LEVEL_ONLY]


def nbval_command(level: str, paths: list[Path] | None = None) -> list[str]:
    """pytest with nbval on the notebooks of ``level`` (or on ``paths``), as the main run does
    (strict)."""
    return [
        sys.executable,
        *("-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts="),
        *("--nbval", "--nbval-current-env", "-W", "ignore::DeprecationWarning"),
        *(str(p) for p in (notebooks(level) if paths is None else paths)),
    ]


class LevelRuns:
    """The nbval runs of every level, one after the other in a background thread."""

    def __init__(self) -> None:
        self.levels = levels()
        self.results: dict[str, tuple[int, str]] = {}
        self.done = {name: threading.Event() for name in self.levels}
        self._thread = threading.Thread(target=self._run_all, daemon=True)
        self._proc: subprocess.Popen | None = None
        self._stopped = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End a run still going (the suite stopped early): no orphan outlives pytest."""
        self._stopped = True
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()

    def _run_all(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        ipython = str(ipython_dir())
        for name, disabled in self.levels.items():
            if self._stopped:
                break
            env = {
                **os.environ,
                "NPY_DISABLE_CPU_FEATURES": " ".join(disabled),
                "IPYTHONDIR": ipython,
            }
            log_path = LOGS / f"{name}.log"
            try:
                with log_path.open("w") as log_file:
                    self._proc = subprocess.Popen(
                        LOWER_PRIORITY + nbval_command(name),  # its kernels inherit it
                        env=env,
                        cwd=ROOT,
                        stdout=log_file,
                        stderr=log_file,
                    )
                    code = self._proc.wait()
                self.results[name] = (code, log_path.read_text())
            except OSError as err:
                self.results[name] = (-1, f"could not start: {err}")
            self.done[name].set()

    def result(self, name: str, timeout: float) -> tuple[int, str]:
        if not self._thread.is_alive() and not self._thread.ident:
            self.start()  # the hook did not start it (e.g. collected in an unusual way)
        assert self.done[name].wait(timeout), f"level {name}: no result after {timeout:.0f} s"
        return self.results[name]


RUNS: LevelRuns | None = None


def runs() -> LevelRuns:
    global RUNS
    if RUNS is None:
        RUNS = LevelRuns()
    return RUNS
