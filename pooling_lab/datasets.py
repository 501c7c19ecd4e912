"""Small real data for the course: the 8x8 handwritten digits that ship inside scikit-learn.

``sklearn.datasets.load_digits`` reads a file installed with scikit-learn, so nothing is
downloaded. scikit-learn is only needed here (it is in the ``book`` extra) and is imported when
the data are asked for.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Digits", "load_digits", "random_shift", "validation_split"]


class Digits(NamedTuple):
    """A train/test split: images (N, 1, 8, 8) scaled to [0, 1], ``np.intp`` labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits(test_fraction: float = 0.2, seed: int = 0, dtype=np.float32) -> Digits:
    """The 1797 scikit-learn digits, split into train and test with a fixed stratified split.

    Every class contributes the same fraction of its images to the test set (rounded), chosen
    by a seeded permutation, so the split is identical on every machine.

    Parameters
    ----------
    test_fraction : float, default 0.2
        Share of each class held out for testing, in (0, 1).
    seed : int, default 0
        Seed of the permutation.
    dtype : dtype, default float32
        Dtype of the images.

    Returns
    -------
    Digits

    Raises
    ------
    ImportError
        If scikit-learn is not installed.
    ValueError
        If ``test_fraction`` is not in (0, 1).

    Examples
    --------
    >>> data = load_digits()
    >>> data.x_train.shape, data.x_test.shape
    ((1438, 1, 8, 8), (359, 1, 8, 8))
    >>> float(data.x_train.max())
    1.0
    >>> np.bincount(data.y_test)  # labels are np.intp, so this works on 32-bit platforms too
    array([36, 36, 35, 37, 36, 36, 36, 36, 35, 36])
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"load_digits: test_fraction must lie in (0, 1), got {test_fraction}")
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as err:
        raise ImportError(
            "pooling_lab.datasets.load_digits needs scikit-learn, whose package contains the "
            "digits: pip install scikit-learn (or pip install -e '.[book]')"
        ) from err
    raw = sklearn_digits()
    images = (raw.images / 16.0).astype(dtype)[:, None]  # pixel values are 0..16
    # np.intp, the platform's index integer: np.bincount and friends refuse to cast int64 down
    # to it on 32-bit platforms (such as Pyodide's wasm32, where the book runs in a browser).
    labels = raw.target.astype(np.intp)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        chosen = rng.permutation(members)[: round(test_fraction * len(members))]
        test[chosen] = True
    return Digits(images[~test], labels[~test], images[test], labels[test])


def random_shift(images: np.ndarray, rng: np.random.Generator, max_shift: int = 1) -> np.ndarray:
    """Move each image by a random whole number of pixels in each direction, filling with 0.

    A digit moved by a pixel is still the same digit, so training on shifted copies teaches
    the network that, and it generalises better from few images.

    Parameters
    ----------
    images : ndarray
        (N, C, H, W) images; not modified.
    rng : numpy.random.Generator
        Source of the shifts.
    max_shift : int, default 1
        Largest shift, in pixels, along each axis.

    Returns
    -------
    ndarray
        Shifted copies, same shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((1, 1, 3, 3), dtype=np.float32)
    >>> image[0, 0, 1, 1] = 1
    >>> shifted = random_shift(image, np.random.default_rng(0))
    >>> float(shifted.sum()), shifted.dtype  # one pixel moved, none lost
    (1.0, dtype('float32'))
    """
    if not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
        raise ValueError(f"random_shift: max_shift must be an int >= 0, got {max_shift!r}")
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"random_shift: images must be (N, C, H, W), got shape {images.shape}")
    m = int(max_shift)
    n, _, h, w = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
    dy, dx = rng.integers(0, 2 * m + 1, size=(2, n))
    # all images at once: row and column index grids offset per image
    rows = (dy[:, None] + np.arange(h))[:, None, :, None]
    cols = (dx[:, None] + np.arange(w))[:, None, None, :]
    return padded[
        np.arange(n)[:, None, None, None], np.arange(images.shape[1])[:, None, None], rows, cols
    ]


def validation_split(
    x: np.ndarray, labels: np.ndarray, fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out a stratified share of a training set for validation (choosing settings).

    A setting such as the learning rate is chosen by the accuracy on the held-out part; the
    test set is then used once, at the chosen setting, so it stays an unbiased estimate.

    Parameters
    ----------
    x, labels : ndarray
        Training inputs and their integer labels; not modified.
    fraction : float, default 0.2
        Share of each class held out, in (0, 1), rounded per class.
    seed : int, default 0
        Seed of the choice.

    Returns
    -------
    x_fit, labels_fit, x_val, labels_val : ndarray
        The part to train on and the held-out part, each in the original order.

    Raises
    ------
    ValueError
        If ``fraction`` is not in (0, 1) or ``x`` and ``labels`` differ in length.

    Examples
    --------
    >>> data = load_digits()
    >>> x_fit, y_fit, x_val, y_val = validation_split(data.x_train, data.y_train)
    >>> len(y_fit), len(y_val)
    (1151, 287)
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation_split: fraction must lie in (0, 1), got {fraction}")
    x, labels = np.asarray(x), np.asarray(labels)
    if len(x) != len(labels):
        raise ValueError(f"validation_split: x has {len(x)} examples but labels has {len(labels)}")
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        held[rng.permutation(members)[: round(fraction * len(members))]] = True
    return x[~held], labels[~held], x[held], labels[held]
