"""Numbers that overflow float32, or a loss that diverges, are a ValueError at
fit, never a NaN model."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sklearn_mnist import MLPNetClassifier, load_mnist_sample
from sklearn_mnist.neural_net._finite import FiniteLoss, check_float32_range


@pytest.fixture(scope="module")
def data():
    X, y = load_mnist_sample(return_X_y=True)
    return X[::50].astype(np.float64), y[::50]  # 100 images


def mlp(**kw):
    return MLPNetClassifier(
        **{"module__hidden_units": (8,), "max_epochs": 1, "batch_size": 50,
           "random_state": 0, "augment": None, **kw}
    )  # fmt: skip


def test_input_beyond_float32_is_refused(data):
    # Before: fit succeeded with input_mean_=inf; every probability was NaN.
    X, y = data
    X = X.copy()
    X[3, 100] = 1e300
    clf = mlp()
    with pytest.raises(ValueError, match=r"X has a value of 1e\+300, beyond"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_prediction_input_beyond_float32_is_refused(data):
    X, y = data
    clf = mlp().fit(X, y)
    X = X.copy()
    X[0, 0] = -1e39
    with pytest.raises(ValueError, match="beyond the range of float32"):
        clf.predict(X)


def test_sample_weight_beyond_float32_is_refused(data):
    X, y = data
    weight = np.ones(len(X))
    weight[0] = 1e308
    with pytest.raises(ValueError, match="sample_weight has a value of 1e"):
        mlp().fit(X, y, sample_weight=weight)


def test_large_but_representable_values_train(data):
    X, y = data
    clf = mlp().fit(X * 1e30, y)
    assert np.isfinite(clf.input_mean_) and np.isfinite(clf.input_std_)
    assert np.isfinite(clf.predict_proba(X * 1e30)).all()


def test_diverging_loss_is_a_value_error(data):
    # Before: lr=1e30 trained to NaN silently. FiniteLoss is a default callback.
    X, y = data
    clf = mlp(lr=1e30)
    with pytest.raises(ValueError, match="training loss is nan.*Lower the learning"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_diverging_loss_is_refused_by_default(data):
    X, y = data
    with pytest.raises(ValueError, match="training loss is"):
        mlp(lr=1e30).fit(X, y)


def test_finite_loss_leaves_normal_training_alone(data):
    X, y = data
    clf = mlp(callbacks=[FiniteLoss()]).fit(X, y)
    assert np.isfinite(clf.history_[-1, "train_loss"])


@pytest.mark.parametrize("device", ["meta", "xpu"])
def test_devices_no_machine_has_are_refused_at_fit(data, device):
    X, y = data
    with pytest.raises(ValueError, match=device):
        mlp(device=device).fit(X, y)


def test_check_float32_range_passes_narrow_types():
    check_float32_range(np.array([255], np.uint8), "X")
    check_float32_range(np.array([3e38], np.float32), "X")
    check_float32_range(np.zeros(0), "X")
    with pytest.raises(ValueError, match="X has a value of -4e\\+38"):
        check_float32_range(np.array([1.0, -4e38]), "X")


def test_partial_fit_classes_with_nan_are_refused(data):
    # Before: NaN became a class.
    X, y = data
    clf = mlp()
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y, classes=[*range(10), np.nan])
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_a_continued_fit_that_diverges_leaves_the_model_unfitted(data):
    """Its weights are NaN: predicting with them gave NaN probabilities and
    classes_[0] for every sample, and the next call blamed the learning rate."""
    X, y = data
    clf = mlp(max_epochs=1).fit(X, y)
    clf.set_params(lr=1e30)
    with pytest.raises(ValueError, match="left unfitted"):
        clf.partial_fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.set_params(lr=1e-3).partial_fit(X, y)  # a first call again: trains
    assert np.isfinite(clf.predict_proba(X[:5])).all()
