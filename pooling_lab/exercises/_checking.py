"""The machinery shared by every checker: a report, and the diagnosis that names a misconception
(the table of misconceptions is in ``_misconceptions``)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace

import numpy as np

from ._misconceptions import MISCONCEPTIONS


@dataclass(frozen=True)
class Report:
    """What a checker found: a pass, or the first misconception and a hint."""

    exercise: str
    passed: bool
    message: str
    misconception: str | None = None
    hint: str = ""

    def __repr__(self) -> str:
        if self.passed:
            return f"PASS {self.exercise}: {self.message}"
        text = f"FAIL {self.exercise}: {self.message}"
        return text + (f"\nHint: {self.hint}" if self.hint else "")

    def __bool__(self) -> bool:
        return self.passed


def _with_hints(report: Report, hints: dict[str, str]) -> Report:
    """``report`` with a checker's own hint for its misconception, where the checker has one
    (the table's words are shared by every exercise and may not fit this one's code)."""
    hint = hints.get(report.misconception)
    return report if hint is None else replace(report, hint=hint)


def _fail(exercise, key, where=""):
    message, hint = MISCONCEPTIONS[key]
    return Report(exercise, False, message + (f" ({where})" if where else ""), key, hint)


def _call(fn, args):
    """Call the learner's function on copies, so a mutation is seen and not propagated.

    Returns the result, the error (or None), and the position of the first argument the
    function changed (or None).
    """
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        result = fn(*copies)
    except Exception as err:  # the learner's code may raise anything
        return None, f"{type(err).__name__}: {err}", None
    mutated = next(
        (
            i
            for i, (a, c) in enumerate(zip(args, copies))
            if isinstance(a, np.ndarray) and not np.array_equal(a, c, equal_nan=True)
        ),
        None,
    )
    return result, None, mutated


def _argument_name(fn, position: int) -> str:
    """The name the learner gave the argument at ``position`` (``argument N`` if unknown)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    if position < len(params) and params[position].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        return params[position].name
    return f"argument {position + 1}"


def _mutated(exercise, fn, position, description):
    name = _argument_name(fn, position)
    message, _ = MISCONCEPTIONS["mutated"]
    hint = (
        f"your function changed {name}: work on a copy ({name}.copy()) or a new array; the "
        "caller still needs its data"
    )
    return Report(exercise, False, f"{message} ({description}: {name})", "mutated", hint)


_NARROWED_HINT = (
    "the result must keep the input's precision, but something in your computation made it "
    "narrower: an array created with a smaller dtype (dtype=np.float32, say) or a cast with "
    ".astype(...); use np.zeros_like(x) or dtype=x.dtype"
)


def _gives(got, wrong) -> bool:
    """Whether the results ``got`` (a tuple of arrays) are what a mistake gives, ``wrong``."""
    wrong = wrong if isinstance(wrong, tuple) else (wrong,)
    return len(got) == len(wrong) and all(
        g.shape == np.shape(b) and np.allclose(g, b, rtol=1e-5, atol=1e-6, equal_nan=True)
        for g, b in zip(got, wrong)
    )


def _unpack(result, count: int) -> tuple:
    """A function's return value as its results: several may come back as a list as well as
    a tuple; one result that is a list is the result itself (a list of numbers)."""
    several = isinstance(result, tuple) or (isinstance(result, list) and count > 1)
    return tuple(result) if several else (result,)


def _results(answer) -> tuple:
    """A modelled answer as the tuple of arrays that ``_gives`` compares."""
    return tuple(np.asarray(a) for a in (answer if isinstance(answer, tuple) else (answer,)))


def _narrow(fn, keys, later, description):
    """Of the mistakes that give the learner's wrong answer at one case, the one their code makes.

    Two mistakes can agree at a case and differ at another, and the first in the table is not
    always the learner's: run the later cases that tell them apart and keep the mistakes whose
    answers the code still gives there. Returns the key, and the case to report: the one that
    decided, if the code is wrong there too, else the first. A case where the code gives none
    of their answers tells nothing.
    """
    for where, args, expected, mistakes in later:
        if len(keys) == 1:
            break
        right = expected if isinstance(expected, tuple) else (expected,)
        # a mistake this case does not list gives the right answer here
        answers = [mistakes.get(k, right) for k in keys]
        if all(_gives(_results(answers[0]), b) for b in answers[1:]):
            continue  # they all give the same answer here: nothing to tell them apart
        result, error, mutated = _call(fn, args)
        if error or mutated is not None:
            break
        try:
            got = tuple(np.asarray(r) for r in _unpack(result, len(right)))
        except (TypeError, ValueError):
            break
        kept = [k for k, answer in zip(keys, answers) if _gives(got, answer)]
        if kept and len(kept) < len(keys):
            keys = kept
            if not _gives(got, right):  # show a case the code gets wrong, not one it gets right
                description = where
    return keys[0], description


def _diagnose(exercise, fn, cases, names=None, extra=None):
    """Run every case; on the first wrong answer, name the matching misconception.

    Where several misconceptions give that answer, the later cases that tell them apart decide
    (:func:`_narrow`).

    ``cases`` holds (description, args, expected, {misconception key: what that mistake gives}).
    Two special keys map a wrong *shape* to a misconception: ``"__shapes__"``, a dict from the
    wrong shape to its key, and ``"__shape__"``, the key for any shape off by at most one.
    ``names`` names the results of a function that returns several, so that a wrong value is
    reported for the result that is wrong. ``extra(args, got, want)``, if given, may name a
    misconception that no fixed wrong answer models: it returns a key, or a triple (key,
    message, hint) when the table's words for that key would not fit the code that gave this
    answer, or None.
    """
    for at_case, (description, args, expected, mistakes) in enumerate(cases):
        result, error, mutated = _call(fn, args)
        if error:
            report = _fail(exercise, "crashed", f"{description}: {error}")
            return report
        if mutated is not None:
            return _mutated(exercise, fn, mutated, description)
        want = expected if isinstance(expected, tuple) else (expected,)
        got = _unpack(result, len(want))
        if len(got) != len(want):
            what_went_wrong = MISCONCEPTIONS["result_count"][0]
            message = f"{what_went_wrong} ({description}: expected {len(want)}, got {len(got)})"
            what = ", ".join(names) if names else "in the order the exercise gives"
            hint = (
                f"return a tuple of {len(want)}: {what}"
                if len(want) > 1
                else "return one result (an array or a number), not a tuple"
            )
            return Report(exercise, False, message, "result_count", hint)
        arrays = []
        for at, r in enumerate(got):
            try:
                g = np.asarray(r)
            except (TypeError, ValueError):  # a ragged list, say
                g = np.asarray(None)
            if g.dtype.kind not in "biufc":  # None, strings, ...: nothing to compare with
                shown = repr(r) if len(repr(r)) <= 60 else repr(r)[:57] + "..."
                what = f"{names[at]} is" if names else "got"
                return _fail(exercise, "not_numbers", f"{description}: {what} {shown}")
            arrays.append(g)
        got = tuple(arrays)
        for at, (g, w) in enumerate(zip(got, want)):
            which = f"{names[at]} has" if names else "got"
            if g.shape != np.shape(w):
                near = g.ndim == np.ndim(w) and all(
                    abs(a - b) <= 1 for a, b in zip(g.shape, np.shape(w))
                )
                key = mistakes.get("__shapes__", {}).get(g.shape)
                empty = g.ndim == np.ndim(w) >= 2 and 0 in g.shape and 0 not in np.shape(w)
                if key is None and empty:
                    key = "empty_crop"  # a plane cropped as grad[p:-p] at p = 0
                if key is None:
                    key = mistakes.get("__shape__", "shape") if near else "shape"
                return _fail(
                    exercise, key, f"{description}: {which} shape {g.shape}, expected {np.shape(w)}"
                )
            expected_dtype = np.asarray(w).dtype
            if expected_dtype.kind == "f" and g.dtype.kind == "b":
                # a mask returned as the gradient: the dtype hint (float64 vs float32) would
                # send the learner the wrong way
                message = f"{description}: {which} dtype bool, expected {expected_dtype}"
                return _fail(exercise, "mask_returned", message)
            if expected_dtype.kind == "f" and g.dtype != expected_dtype:
                message = f"{description}: {which} dtype {g.dtype}, expected {expected_dtype}"
                report = _fail(exercise, "dtype", message)
                if g.dtype.kind == "f" and g.dtype.itemsize < expected_dtype.itemsize:
                    # the table's hint speaks of float32 inputs turned float64: the other way
                    report = replace(report, hint=_NARROWED_HINT)
                return report
        close = [np.allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True) for g, w in zip(got, want)]
        if all(close):
            continue
        keys = [k for k, wrong in mistakes.items() if not k.startswith("__") and _gives(got, wrong)]
        if keys:
            key, where = _narrow(fn, keys, cases[at_case + 1 :], description)
            return _fail(exercise, key, where)
        key = extra(args, got, want) if extra else None
        if isinstance(key, tuple):
            key, message, hint = key
            return Report(exercise, False, f"{message} ({description})", key, hint)
        if key is not None:
            return _fail(exercise, key, description)
        wrong_at = close.index(False)
        what = (
            names[wrong_at] if names else ("the result" if len(want) == 1 else f"result {wrong_at}")
        )
        return Report(
            exercise,
            False,
            f"wrong values in {what} ({description}); {_difference(want[wrong_at], got[wrong_at])}",
            None,
            "try your function on an input small enough to work out by hand, and compare",
        )
    return Report(exercise, True, f"all {len(cases)} cases agree.")


def _opposite_sign(got, want) -> bool:
    """Every result that is wrong is the right one negated (a checker's ``extra`` may name it:
    for a gradient, a minus sign taken from the update step)."""
    wrong = [
        (g, np.asarray(w))
        for g, w in zip(got, want)
        if not np.allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True)
    ]
    return bool(wrong) and all(
        np.allclose(g, -w, rtol=1e-5, atol=1e-6) and np.any(w != 0) for g, w in wrong
    )


def _difference(want, got) -> str:
    """Both arrays if they are small enough to read; else where they differ, and how often."""
    want = np.asarray(want)
    if want.size <= 36:
        return f"expected\n{want!r}\nbut got\n{got!r}"
    wrong = ~np.isclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=True)
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    return (
        f"{int(wrong.sum())} of {want.size} entries differ; the first at index {first}: "
        f"expected {want[first]!r}, got {got[first]!r}"
    )
