"""The base of every layer: ``__call__`` runs ``forward``, ``backward`` needs a forward first.

Kept apart from :mod:`pooling_lab.layers` so that the modules holding layers can all import it.
"""

from __future__ import annotations

import numpy as np


class Layer:
    """Base class: ``__call__`` runs ``forward``; ``backward`` needs a ``forward`` first."""

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _saved(self, name: str):
        """What ``forward`` kept, or a RuntimeError explaining that forward must come first."""
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward: call forward(x) "
                "first, so the layer knows which input it is differentiating at"
            )
        return value

    def parameters(self) -> list[tuple[Layer, str]]:
        """(layer, name) for each entry of the layer's ``params`` dict (none for pooling)."""
        return [(self, name) for name in getattr(self, "params", {})]

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def _show(value):
    return value if isinstance(value, int) else tuple(value)


class _ValueLayer(Layer):
    """A layer around a function pair ``_fn(x, *args)`` / ``_bw(g, x, *args)`` whose backward
    needs the forward's input values (kept as a copy)."""

    _input = None
    args: tuple = ()
    _arg_names: tuple[str, ...] = ()

    def forward(self, x):
        out = self._fn(x, *self.args)
        self._input = np.array(x)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self._bw(grad_output, self._saved("_input"), *self.args)

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={value!r}" for name, value in zip(self._arg_names, self.args))
