"""Outlier exposure: synthetic outliers, the loss term, and the classifiers' option."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone

from sklearn_mnist import CNNClassifier, MLPNetClassifier, load, save
from sklearn_mnist.neural_net import OutlierExposure
from sklearn_mnist.neural_net._outliers import OUTLIER_KINDS


@pytest.fixture(scope="module")
def digits(shuffled_sample):
    return shuffled_sample


def _batch(digits, n=32):
    X = digits[0][:n].reshape(n, 1, 28, 28).astype(np.float32)
    return torch.as_tensor(X)


@pytest.mark.parametrize("kind", sorted(OUTLIER_KINDS))
def test_each_kind_keeps_shape_dtype_and_range(digits, kind):
    X = _batch(digits)
    out = OutlierExposure(kinds=[kind]).outlier_batch(
        X, (0.0, 255.0), np.random.RandomState(0)
    )
    assert out.shape == X.shape and out.dtype == X.dtype
    assert float(out.min()) >= 0 and float(out.max()) <= 255
    assert not torch.equal(out, X)
    again = OutlierExposure(kinds=[kind]).outlier_batch(
        X, (0.0, 255.0), np.random.RandomState(0)
    )
    assert torch.equal(out, again)  # reproducible from the fit's generator


def test_kinds_are_what_they_say(digits):
    X = _batch(digits, 8)
    rng = np.random.RandomState(1)
    inverted = OutlierExposure(kinds=["inverted"]).outlier_batch(X, (0, 255), rng)
    # made from digits of the batch (drawn with replacement): each is 255 - one
    for image in inverted:
        assert any(torch.equal(image, 255 - x) for x in X)
    shuffled = OutlierExposure(kinds=["shuffled"]).outlier_batch(X, (0, 255), rng)
    for image in shuffled:  # the same 7x7 tiles, in another order
        tiles = sorted(
            image[0, r : r + 7, c : c + 7].flatten().tolist()
            for r in range(0, 28, 7)
            for c in range(0, 28, 7)
        )
        assert any(
            tiles
            == sorted(
                x[0, r : r + 7, c : c + 7].flatten().tolist()
                for r in range(0, 28, 7)
                for c in range(0, 28, 7)
            )
            for x in X
        )
    # an overlay is a digit and *another* digit of the batch, shifted 3-6 px on
    # each axis (never a digit over itself: that would push digits to uniform)
    from sklearn_mnist.neural_net._outliers import _overlay

    out = _overlay(X, 0, 255, torch.Generator().manual_seed(3))
    shifts = [(a * p, b * q) for a in range(3, 7) for b in range(3, 7)
              for p in (-1, 1) for q in (-1, 1)]  # fmt: skip
    assert any(
        torch.equal(out, torch.maximum(X, torch.roll(X.roll(1, 0), s, (2, 3))))
        for s in shifts
    )
    noise = OutlierExposure(kinds=["noise"]).outlier_batch(X, (0, 1), rng)
    assert float(noise.max()) <= 1 and 0.4 < float(noise.mean()) < 0.6
    half = OutlierExposure(ratio=0.5).outlier_batch(X, (0, 255), rng)
    assert len(half) == 4


def test_loss_is_cross_entropy_to_uniform():
    logits = torch.randn(16, 10)
    uniform = torch.full((16, 10), 0.1)
    expected = 0.7 * F.cross_entropy(logits, uniform)
    got = OutlierExposure(weight=0.7).loss(torch.log_softmax(logits, 1))
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


def test_outlier_pass_leaves_batch_norm_statistics_alone(digits):
    X, y = digits
    clf = CNNClassifier(max_epochs=1, outlier_exposure=OutlierExposure()).fit(
        X[:200], y[:200]
    )
    clf.module_.train()
    before = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    term = clf._outlier_loss(
        torch.as_tensor(X[:64].reshape(64, 1, 28, 28), dtype=torch.float32)
    )
    assert term.ndim == 0 and float(term.detach()) > 0
    after = clf.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_exposure_makes_noise_unsure_and_keeps_digits(digits):
    X, y = digits
    noise = np.random.RandomState(0).randint(0, 256, (200, 784))
    plain = MLPNetClassifier(max_epochs=3, random_state=0).fit(X[:1000], y[:1000])
    exposed = MLPNetClassifier(
        max_epochs=3, outlier_exposure=OutlierExposure(), random_state=0
    ).fit(X[:1000], y[:1000])
    assert exposed.predict_proba(noise).max(1).mean() < 0.5 * (
        plain.predict_proba(noise).max(1).mean()
    )
    assert exposed.score(X[4000:], y[4000:]) > plain.score(X[4000:], y[4000:]) - 0.03


def test_parameters_nested_params_and_safe_files(digits, tmp_path):
    X, y = digits
    clf = CNNClassifier(outlier_exposure=OutlierExposure())
    clf.set_params(outlier_exposure__weight=1.5)
    assert clf.outlier_exposure.weight == 1.5
    assert clone(clf).get_params()["outlier_exposure__weight"] == 1.5
    with pytest.raises(ValueError, match="OutlierExposure"):
        CNNClassifier().set_params(outlier_exposure__weight=1.0)
    for bad in (OutlierExposure(weight=-1), OutlierExposure(kinds=["nope"]), "yes"):
        with pytest.raises(ValueError):
            CNNClassifier(max_epochs=1, outlier_exposure=bad).fit(X[:50], y[:50])
    clf = CNNClassifier(
        max_epochs=1, outlier_exposure=OutlierExposure(kinds=["noise"]), random_state=0
    ).fit(X[:300], y[:300])
    save(clf, tmp_path / "oe.skmnist")
    loaded = load(tmp_path / "oe.skmnist")
    assert loaded.outlier_exposure.kinds == ["noise"]
    np.testing.assert_allclose(
        loaded.predict_proba(X[:20]), clf.predict_proba(X[:20]), atol=1e-5
    )
