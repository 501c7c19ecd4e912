"""What a small CNN needs besides convolution and pooling, in the same forward/backward style.

``Linear``, ``Flatten`` and ``Sequential`` are layers; ``CrossEntropyLoss`` turns logits and
labels into a number and its gradient; ``SGD`` updates every parameter from its gradient.
A layer's parameters live in its ``params`` dict and their gradients, after ``backward``, in
``grads`` under the same names.

Examples
--------
>>> import numpy as np
>>> from pooling_lab.training import CrossEntropyLoss, Linear, SGD, Sequential
>>> model = Sequential(Linear(4, 3, seed=1))
>>> loss_fn, opt = CrossEntropyLoss(), SGD(model, lr=0.5, momentum=0.9)
>>> x, y = np.eye(4, dtype=np.float32)[:3], np.array([0, 1, 2])
>>> for _ in range(30):
...     loss = loss_fn(model(x), y)
...     _ = model.backward(loss_fn.backward())
...     opt.step()
>>> bool(loss < 0.05)
True
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .layers import Layer

__all__ = [
    "SGD",
    "CrossEntropyLoss",
    "Flatten",
    "Linear",
    "Sequential",
    "accuracy",
    "fit",
    "predict",
]


def check_sizes(fn: str, **sizes) -> None:
    """Raise ValueError unless every size (channels, features) is a positive int."""
    for label, value in sizes.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{fn}: {label} must be a positive int, but got {value!r}")


def default_parameters(weight_shape, fan_in: int, bias: bool, seed: int, dtype) -> dict:
    """PyTorch's default initialisation: weight, then bias, uniform in +-1/sqrt(fan_in)."""
    bound = 1.0 / np.sqrt(fan_in)
    rng = np.random.default_rng(seed)
    params = {"weight": rng.uniform(-bound, bound, weight_shape).astype(dtype)}
    if bias:
        params["bias"] = rng.uniform(-bound, bound, weight_shape[0]).astype(dtype)
    return params


class Linear(Layer):
    """``y = x @ weight.T + bias``, with PyTorch's (out_features, in_features) weight layout.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the input's last dimension and of the output's.
    bias : bool, default True
        Whether to add a learned bias.
    seed : int, default 0
        Seed of PyTorch's default initialisation, uniform in ``[-1/sqrt(in), 1/sqrt(in)]``.
    dtype : dtype, default float32
        Dtype of the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Linear(3, 2)
    >>> layer(np.ones((5, 3), dtype=np.float32)).shape
    (5, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        seed: int = 0,
        dtype=np.float32,
    ) -> None:
        check_sizes("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = int(in_features), int(out_features)
        shape = (self.out_features, self.in_features)
        self.params = default_parameters(shape, self.in_features, bias, seed, dtype)
        self.grads = {}
        self._input = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the affine map; keep the input (the weight's gradient needs it)."""
        x = np.asarray(x)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear: input's last dimension must be {self.in_features}, but "
                f"input has shape {x.shape}"
            )
        if x.dtype.kind != "f":
            raise TypeError(f"Linear: input must have a floating-point dtype, got {x.dtype}")
        self._input = x
        out = x @ self.params["weight"].T
        return out + self.params["bias"] if "bias" in self.params else out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Fill ``grads`` (summed over every leading dimension) and return the input gradient."""
        x = self._saved("_input")
        g = np.asarray(grad_output)
        if g.shape != x.shape[:-1] + (self.out_features,):
            raise ValueError(
                f"Linear.backward: grad_output must have shape "
                f"{x.shape[:-1] + (self.out_features,)}, but got {g.shape}"
            )
        weight = self.params["weight"]
        g2, x2 = g.reshape(-1, self.out_features), x.reshape(-1, self.in_features)
        self.grads["weight"] = (g2.T @ x2).astype(weight.dtype)
        if "bias" in self.params:
            self.grads["bias"] = g2.sum(axis=0).astype(weight.dtype)
        return g @ weight

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class Flatten(Layer):
    """Reshape (N, ...) to (N, -1); backward reshapes back.

    Examples
    --------
    >>> import numpy as np
    >>> Flatten()(np.zeros((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self) -> None:
        self._shape = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return np.asarray(grad_output).reshape(self._saved("_shape"))


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab import MaxPool2d, ReLU
    >>> net = Sequential(ReLU(), MaxPool2d(2))
    >>> net(np.array([[[[-1., 2.], [3., -4.]]]]))
    array([[[[3.]]]])
    >>> net.backward(np.ones((1, 1, 1, 1)))
    array([[[[0., 0.],
             [1., 0.]]]])
    """

    def __init__(self, *layers: Layer) -> None:
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

    def parameters(self) -> list[tuple[Layer, str]]:
        """Every (layer, parameter name) pair, in order."""
        return [pair for layer in self.layers for pair in layer.parameters()]

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


class CrossEntropyLoss:
    """Mean softmax cross-entropy of logits (N, K) against integer labels (N,).

    ``backward()`` returns the gradient with respect to the logits:
    ``(softmax(logits) - one_hot(labels)) / N``.

    Examples
    --------
    >>> import numpy as np
    >>> loss = CrossEntropyLoss()
    >>> round(float(loss(np.zeros((2, 4)), np.array([0, 3]))), 4)  # log 4
    1.3863
    >>> loss.backward()
    array([[-0.375,  0.125,  0.125,  0.125],
           [ 0.125,  0.125,  0.125, -0.375]])
    """

    def __call__(self, logits: np.ndarray, labels: np.ndarray) -> float:
        return self.forward(logits, labels)

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        z = np.asarray(logits)
        y = np.asarray(labels)
        if z.ndim != 2:
            raise ValueError(f"CrossEntropyLoss: logits must be 2-D (N, K), got shape {z.shape}")
        if y.shape != (z.shape[0],) or y.dtype.kind not in "iu":
            raise ValueError(
                f"CrossEntropyLoss: labels must be integers of shape "
                f"({z.shape[0]},), but got {y.dtype} of shape {y.shape}"
            )
        if y.size and (y.min() < 0 or y.max() >= z.shape[1]):
            raise ValueError(f"CrossEntropyLoss: labels must lie in [0, {z.shape[1]})")
        shifted = z - z.max(axis=1, keepdims=True)  # exp never overflows
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self._probs, self._labels = np.exp(log_probs), y
        return float(-log_probs[np.arange(len(y)), y].mean())

    def backward(self) -> np.ndarray:
        probs = getattr(self, "_probs", None)
        if probs is None:
            raise RuntimeError("CrossEntropyLoss.backward was called before forward")
        grad = probs.copy()
        grad[np.arange(len(self._labels)), self._labels] -= 1
        return grad / len(self._labels)


class SGD:
    """Stochastic gradient descent with momentum, PyTorch's update rule.

    ``v = momentum * v + (grad + weight_decay * p)``, then ``p -= lr * v``, for every parameter
    of ``model`` (anything with ``parameters()``), in place.

    Parameters
    ----------
    model : Layer
        Provides ``parameters()``: (layer, name) pairs.
    lr : float
        Learning rate.
    momentum : float, default 0
        Momentum factor.
    weight_decay : float, default 0
        L2 penalty added to each gradient.
    """

    def __init__(self, model, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        if lr <= 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(
                f"SGD: lr must be > 0 and momentum, weight_decay >= 0, got lr={lr}, "
                f"momentum={momentum}, weight_decay={weight_decay}"
            )
        self.pairs = model.parameters()
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity = [None] * len(self.pairs)

    def step(self) -> None:
        for i, (layer, name) in enumerate(self.pairs):
            p, g = layer.params[name], layer.grads[name]
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.momentum:
                if self.velocity[i] is None:
                    self.velocity[i] = g.copy()
                else:
                    self.velocity[i] *= self.momentum
                    self.velocity[i] += g
                g = self.velocity[i]
            p -= (self.lr * g).astype(p.dtype, copy=False)


def predict(model: Layer, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """The model's outputs (logits) for ``x``, computed in batches.

    Examples
    --------
    >>> import numpy as np
    >>> predict(Sequential(Linear(3, 2, seed=0)), np.zeros((5, 3), dtype=np.float32)).shape
    (5, 2)
    """
    return np.concatenate(
        [model.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    )


def accuracy(model: Layer, x: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``x`` whose largest logit is at the right label.

    Examples
    --------
    >>> import numpy as np
    >>> model = Sequential(Linear(2, 2, seed=0))
    >>> model.layers[0].params["weight"][:] = np.eye(2)
    >>> accuracy(model, np.array([[1., 0.], [0., 1.]], dtype=np.float32), np.array([0, 0]))
    0.5
    """
    return float(np.mean(predict(model, x).argmax(axis=1) == labels))


def fit(
    model: Layer,
    x: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 0.1,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    seed: int = 0,
    x_val: np.ndarray | None = None,
    labels_val: np.ndarray | None = None,
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    log: Callable[[str], None] | None = print,
) -> list[dict]:
    """Train ``model`` with softmax cross-entropy and SGD with momentum; return the history.

    Each epoch visits the training set once in a seeded random order, in mini-batches. The
    learning rate follows a cosine from ``lr`` down towards 0 over the epochs, which needs no
    tuning beyond ``lr``.

    Parameters
    ----------
    model : Layer
        A layer (usually a :class:`Sequential`) whose ``forward`` maps ``x`` to logits.
    x, labels : ndarray
        Training inputs and integer labels.
    epochs : int
        Number of passes over the training set.
    batch_size : int, default 64
        Examples per gradient step.
    lr, momentum, weight_decay : float
        Passed to :class:`SGD`; ``lr`` is the starting learning rate.
    seed : int, default 0
        Seed of the shuffling.
    x_val, labels_val : ndarray, optional
        A validation set, held out of the training data, whose accuracy is recorded after
        every epoch (for choosing settings such as the learning rate or the number of epochs;
        a test set plays no part in such choices, so it is not meant to be passed here).
    augment : callable, optional
        ``augment(batch, rng)`` returns a randomly altered copy of a training batch (for
        example :func:`pooling_lab.datasets.random_shift`); it is given the shuffling's
        generator, so a seed fixes everything.
    log : callable or None, default print
        Called with one line of progress per epoch; None for silence.

    Returns
    -------
    list of dict
        One dict per epoch: ``epoch``, ``lr``, ``loss`` (mean training loss over the epoch's
        batches), ``train_acc`` (accuracy on the batches as they were seen) and, with a
        validation set, ``val_acc``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((200, 2)).astype(np.float32)
    >>> y = (x[:, 0] > x[:, 1]).astype(np.int64)
    >>> history = fit(Sequential(Linear(2, 2, seed=0)), x, y, epochs=5, log=None)
    >>> bool(history[-1]["train_acc"] > 0.9)
    True
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"fit: batch_size must be a positive int, got {batch_size!r}")
    if len(x) != len(labels):
        raise ValueError(f"fit: x has {len(x)} examples but labels has {len(labels)}")
    loss_fn = CrossEntropyLoss()
    opt = SGD(model, lr=lr, momentum=momentum, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(1, epochs + 1):
        opt.lr = lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))
        order = rng.permutation(len(x))
        losses, correct = [], 0
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            inputs = x[batch] if augment is None else augment(x[batch], rng)
            logits = model.forward(inputs)
            losses.append(loss_fn(logits, labels[batch]))
            correct += int((logits.argmax(axis=1) == labels[batch]).sum())
            model.backward(loss_fn.backward())
            opt.step()
        record = {
            "epoch": epoch,
            "lr": opt.lr,
            "loss": float(np.mean(losses)),
            "train_acc": correct / len(x),
        }
        if x_val is not None:
            record["val_acc"] = accuracy(model, x_val, labels_val)
        history.append(record)
        if log is not None:
            line = f"epoch {epoch:3d}  loss {record['loss']:.4f}  train {record['train_acc']:.3f}"
            if "val_acc" in record:
                line += f"  validation {record['val_acc']:.3f}"
            log(line)
    return history
