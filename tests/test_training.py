"""Conv2d, Linear, Flatten, Sequential, the loss and SGD: loops, PyTorch, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest

import pooling_lab as pl
from pooling_lab.gradcheck import gradcheck, gradcheck_parameters

CONV_CASES = [  # in, out, kernel, stride, padding, input shape
    (1, 2, 3, 1, 1, (2, 1, 5, 5)),
    (3, 4, 2, 2, 0, (2, 3, 6, 7)),
    (2, 3, (3, 2), (2, 1), (1, 0), (1, 2, 7, 5)),
    (4, 2, 1, 1, 0, (3, 4, 3, 3)),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_equals_loop_reference(case):
    cin, cout, k, s, p, shape = case
    conv = pl.Conv2d(cin, cout, k, stride=s, padding=p, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal(shape)
    expected = pl.reference.conv2d(x, conv.params["weight"], conv.params["bias"], s, p)
    np.testing.assert_allclose(conv(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradients(case):
    cin, cout, k, s, p, shape = case
    conv = pl.Conv2d(cin, cout, k, stride=s, padding=p, dtype=np.float64, seed=3)
    x = np.random.default_rng(1).standard_normal(shape)
    assert gradcheck(conv, x) < 1e-7
    assert max(gradcheck_parameters(conv, x).values()) < 1e-7


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_and_linear_match_torch(case):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    cin, cout, k, s, p, shape = case
    conv = pl.Conv2d(cin, cout, k, stride=s, padding=p, dtype=np.float64, seed=4)
    x = np.random.default_rng(2).standard_normal(shape)
    t = torch.tensor(x, requires_grad=True)
    w = torch.tensor(conv.params["weight"], requires_grad=True)
    b = torch.tensor(conv.params["bias"], requires_grad=True)
    out = torch.nn.functional.conv2d(t, w, b, stride=s, padding=p)
    g = np.random.default_rng(3).standard_normal(out.shape)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(conv(x), out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.backward(g), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.grads["weight"], w.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.grads["bias"], b.grad.numpy(), rtol=1e-10, atol=1e-12)

    lin = pl.Linear(7, 5, dtype=np.float64)
    xl = np.random.default_rng(4).standard_normal((6, 7))
    tl = torch.tensor(xl, requires_grad=True)
    wl = torch.tensor(lin.params["weight"], requires_grad=True)
    bl = torch.tensor(lin.params["bias"], requires_grad=True)
    outl = torch.nn.functional.linear(tl, wl, bl)
    gl = np.random.default_rng(5).standard_normal((6, 5))
    outl.backward(torch.tensor(gl))
    np.testing.assert_allclose(lin(xl), outl.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.backward(gl), tl.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.grads["weight"], wl.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.grads["bias"], bl.grad.numpy(), rtol=1e-12)


def test_initialisation_follows_pytorch_bounds():
    conv = pl.Conv2d(3, 8, 3, seed=1)
    bound = 1 / np.sqrt(27)
    assert (
        np.abs(conv.params["weight"]).max() <= bound and conv.params["weight"].dtype == np.float32
    )
    assert np.abs(conv.params["weight"]).max() > 0.8 * bound  # really uniform over the range
    assert pl.Conv2d(3, 8, 3, seed=1).params["weight"].tolist() == conv.params["weight"].tolist()


def test_linear_flatten_sequential_gradcheck():
    net = pl.Sequential(
        pl.Conv2d(1, 2, 3, padding=1, dtype=np.float64),
        pl.ReLU(),
        pl.MaxPool2d(2),
        pl.Flatten(),
        pl.Linear(8, 3, dtype=np.float64),
    )
    x = pl.gradcheck.tie_free((2, 1, 4, 4), seed=9)
    assert gradcheck(net, x) < 1e-6
    lin = pl.Linear(5, 4, dtype=np.float64)
    assert (
        max(gradcheck_parameters(lin, np.random.default_rng(0).standard_normal((3, 5))).values())
        < 1e-7
    )
    assert [name for _, name in net.parameters()] == ["weight", "bias", "weight", "bias"]


def test_cross_entropy_matches_torch_and_gradcheck():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rng = np.random.default_rng(6)
    logits, labels = rng.standard_normal((5, 4)) * 3, np.array([0, 3, 1, 1, 2])
    loss = pl.CrossEntropyLoss()
    t = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(t, torch.tensor(labels))
    expected.backward()
    assert loss(logits, labels) == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), t.grad.numpy(), rtol=1e-10, atol=1e-14)
    huge = np.array([[1000.0, 0.0]])  # no overflow
    assert loss(huge, np.array([0])) == pytest.approx(0.0)


def test_sgd_matches_torch_momentum_and_weight_decay():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    lin = pl.Linear(3, 2, dtype=np.float64)
    w = torch.tensor(lin.params["weight"].copy(), requires_grad=True)
    b = torch.tensor(lin.params["bias"].copy(), requires_grad=True)
    opt_t = torch.optim.SGD([w, b], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt = pl.SGD(pl.Sequential(lin), lr=0.1, momentum=0.9, weight_decay=0.01)
    rng = np.random.default_rng(7)
    for _ in range(3):
        x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
        lin(x)
        lin.backward(g)
        opt.step()
        opt_t.zero_grad()
        torch.nn.functional.linear(torch.tensor(x), w, b).backward(torch.tensor(g))
        opt_t.step()
    np.testing.assert_allclose(lin.params["weight"], w.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.params["bias"], b.detach().numpy(), rtol=1e-12)


def test_bad_input_to_training_layers():
    conv = pl.Conv2d(2, 3, 3)
    with pytest.raises(ValueError, match=r"Conv2d: input must have shape \(N, 2, H, W\)"):
        conv(np.ones((1, 3, 5, 5), dtype=np.float32))
    with pytest.raises(TypeError, match="Conv2d: input must have a floating-point dtype"):
        conv(np.ones((1, 2, 5, 5), dtype=int))
    with pytest.raises(ValueError, match="Conv2d: the padded input"):
        conv(np.ones((1, 2, 2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="Conv2d: in_channels must be a positive int"):
        pl.Conv2d(0, 3, 3)
    with pytest.raises(ValueError, match="Linear: input's last dimension must be 4"):
        pl.Linear(4, 2)(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(RuntimeError, match=r"Linear\.backward was called before forward"):
        pl.Linear(4, 2).backward(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        pl.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="SGD: lr must be > 0"):
        pl.SGD(pl.Sequential(), lr=0)
    x = np.ones((1, 2, 5, 5), dtype=np.float32)
    before = x.copy()
    out = conv(x)
    assert out.dtype == np.float32 and conv.backward(np.ones_like(out)).dtype == np.float32
    np.testing.assert_array_equal(x, before)


def test_digits_split_is_stratified_and_fixed():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    a, b = pl.datasets.load_digits(), pl.datasets.load_digits()
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert len(a.y_train) + len(a.y_test) == 1797
    train_share = np.bincount(a.y_train) / np.bincount(np.concatenate([a.y_train, a.y_test]))
    assert np.allclose(train_share, 0.8, atol=0.02)
    sizes = np.bincount(np.concatenate([a.y_train, a.y_test]))
    np.testing.assert_array_equal(np.bincount(a.y_test), np.round(0.2 * sizes))
    assert a.x_train.dtype == np.float32 and a.x_train.min() >= 0 and a.x_train.max() <= 1


def test_digits_without_sklearn_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match="needs scikit-learn"):
        pl.datasets.load_digits()
    with pytest.raises(ValueError, match="test_fraction must lie in"):
        pl.datasets.load_digits(test_fraction=1.5)


def test_fit_learns_records_history_and_is_reproducible():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 1, 4, 4)).astype(np.float32)
    y = (x[:, 0, :2].sum(axis=(1, 2)) > x[:, 0, 2:].sum(axis=(1, 2))).astype(np.int64)
    before = x.copy()

    def train():
        model = pl.Sequential(
            pl.Conv2d(1, 4, 3, padding=1, seed=1),
            pl.ReLU(),
            pl.MaxPool2d(2),
            pl.Flatten(),
            pl.Linear(16, 2, seed=2),
        )
        lines = []
        history = pl.training.fit(
            model,
            x,
            y,
            epochs=8,
            batch_size=16,
            lr=0.1,
            x_val=x,
            labels_val=y,
            augment=pl.datasets.random_shift,
            log=lines.append,
        )
        return model, history, lines

    model, history, lines = train()
    assert [h["epoch"] for h in history] == list(range(1, 9)) and len(lines) == 8
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["val_acc"] == pl.training.accuracy(model, x, y) > 0.8
    assert history[0]["lr"] == 0.1 and history[-1]["lr"] < 0.01  # cosine decay
    np.testing.assert_array_equal(x, before)
    assert train()[1] == history  # the seed fixes everything, augmentation included
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        pl.training.fit(model, x, y, epochs=0)
    with pytest.raises(ValueError, match="labels has 3"):
        pl.training.fit(model, x, y[:3], epochs=1)


def test_random_shift_moves_whole_images_within_bounds():
    rng = np.random.default_rng(0)
    images = rng.random((50, 2, 5, 5)).astype(np.float32)
    shifted = pl.datasets.random_shift(images, np.random.default_rng(1))
    assert shifted.shape == images.shape and shifted.dtype == np.float32
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for n in range(50):  # each image is one of the 9 crops of its padded self
        crops = [padded[n, :, i : i + 5, j : j + 5] for i in range(3) for j in range(3)]
        assert any(np.array_equal(shifted[n], c) for c in crops)
    assert np.array_equal(pl.datasets.random_shift(images, rng, max_shift=0), images)
    with pytest.raises(ValueError, match="max_shift must be an int >= 0"):
        pl.datasets.random_shift(images, rng, max_shift=-1)


@pytest.mark.parametrize("downsample", pl.models.DOWNSAMPLERS)
def test_digits_cnn_variants_map_digits_to_logits(downsample):
    model = pl.models.digits_cnn(downsample, channels=(2, 3), seed=1)
    x = np.random.default_rng(0).random((3, 1, 8, 8)).astype(np.float32)
    logits = model(x)
    assert logits.shape == (3, 10) and logits.dtype == np.float32
    assert model.backward(np.ones_like(logits)).shape == x.shape
    again = pl.models.digits_cnn(downsample, channels=(2, 3), seed=1)
    np.testing.assert_array_equal(again(x), logits)  # the seed fixes the initialisation
    with pytest.raises(ValueError, match="downsample must be one of"):
        pl.models.digits_cnn("stride")


def test_validation_split_is_stratified_disjoint_and_fixed():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    x = rng.standard_normal((100, 3)).astype(np.float32)
    before = x.copy()
    x_fit, y_fit, x_val, y_val = pl.datasets.validation_split(x, labels, fraction=0.2, seed=1)
    np.testing.assert_array_equal(np.bincount(y_val), [2, 4, 6, 8])  # a fifth of every class
    assert len(y_fit) + len(y_val) == 100 and x_fit.dtype == np.float32
    rows = {tuple(r) for r in x_fit} | {tuple(r) for r in x_val}
    assert len(rows) == 100  # every example lands in exactly one part
    again = pl.datasets.validation_split(x, labels, fraction=0.2, seed=1)
    np.testing.assert_array_equal(again[3], y_val)
    np.testing.assert_array_equal(again[2], x_val)
    np.testing.assert_array_equal(x, before)
    with pytest.raises(ValueError, match="fraction must lie in"):
        pl.datasets.validation_split(x, labels, fraction=0)
    with pytest.raises(ValueError, match="labels has 99"):
        pl.datasets.validation_split(x, labels[:99])
