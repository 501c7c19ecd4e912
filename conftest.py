"""Repository-wide pytest setup."""

import importlib.util

# The figures need matplotlib (the `book` extra); without it their doctests cannot run.
collect_ignore = [] if importlib.util.find_spec("matplotlib") else ["pooling_lab/plots.py"]
