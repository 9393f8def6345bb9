import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklearn_mnist.preprocessing import Flatten, Normalizer255

shapes = st.sampled_from([(3, 16), (2, 4, 4), (2, 1, 4, 4), (1, 3, 2, 2)])
grey_uint8 = shapes.flatmap(lambda s: arrays(np.uint8, s))
grey_float = shapes.flatmap(
    lambda s: arrays(np.float64, s, elements=st.floats(0, 255, allow_nan=False))
)


# Random floats may all fall in [0, 1], which Normalizer255 rightly warns
# about (tests/neural_net/test_fit.py checks that warning on its own).
_SCALED_OK = pytest.mark.filterwarnings("ignore:Normalizer255 got floats in")


@_SCALED_OK
@settings(max_examples=50, deadline=None)
@given(
    X=st.one_of(grey_uint8, grey_float), dtype=st.sampled_from(["float32", "float64"])
)
def test_normalizer_range_shape_dtype_round_trip(X, dtype):
    norm = Normalizer255(dtype=dtype)
    out = norm.transform(X)  # stateless: no fit needed
    assert out.shape == X.shape and out.dtype == np.dtype(dtype)
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(out, X / 255.0, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(norm.inverse_transform(out), X, rtol=1e-5, atol=1e-4)
    assert X.dtype != np.uint8 or np.array_equal(
        np.rint(norm.inverse_transform(out)).astype(np.uint8), X
    )


@_SCALED_OK
@settings(max_examples=30, deadline=None)
@given(X=arrays(np.float64, (4, 9), elements=st.floats(-1e4, 1e4, allow_nan=False)))
def test_normalizer_clip_option(X):
    out = Normalizer255(clip=True).transform(X)
    np.testing.assert_allclose(out, np.clip(X, 0, 255) / 255, rtol=1e-6, atol=1e-7)
    if X.min() < 0 or X.max() > 255:
        with pytest.raises(ValueError, match=r"\[0, 255\]"):
            Normalizer255().transform(X)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.nan, "NaN"),
        (np.inf, "infinity"),
        (-1.0, "Negative values"),
        (256.0, "above 255"),
    ],
)
@pytest.mark.parametrize("clip", [False, True])
def test_normalizer_bad_values(bad, match, clip):
    X = np.zeros((2, 4))
    X[1, 2] = bad
    if clip and np.isfinite(bad):
        assert Normalizer255(clip=True).fit_transform(X).max() <= 1
        return
    for call in (Normalizer255(clip=clip).fit, Normalizer255(clip=clip).transform):
        with pytest.raises(ValueError, match=match):
            call(X)


def test_normalizer_bad_dtype_and_feature_count():
    with pytest.raises(ValueError, match="floating dtype"):
        Normalizer255(dtype="int32").fit(np.zeros((2, 4)))
    norm = Normalizer255().fit(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="expecting 4 features"):
        norm.transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="expecting 4 features"):
        norm.transform(np.zeros((2, 3, 3)))


def test_normalizer_keeps_dataframe_feature_names():
    X = pd.DataFrame(np.full((2, 3), 255, dtype=np.uint8), columns=["a", "b", "c"])
    norm = Normalizer255().fit(X)
    assert list(norm.get_feature_names_out()) == ["a", "b", "c"]
    np.testing.assert_array_equal(norm.transform(X), np.ones((2, 3), dtype=np.float32))


@settings(max_examples=50, deadline=None)
@given(X=st.one_of(grey_uint8, grey_float))
def test_flatten_shape_dtype_round_trip(X):
    flat = Flatten().fit(X)
    out = flat.transform(X)
    assert out.shape == (X.shape[0], int(np.prod(X.shape[1:])))
    assert out.dtype == X.dtype
    np.testing.assert_array_equal(out, X.reshape(X.shape[0], -1))
    np.testing.assert_array_equal(flat.inverse_transform(out), X)
    assert flat.n_features_in_ == out.shape[1]
    assert len(flat.get_feature_names_out()) == out.shape[1]
    # Idempotent: flattening flat rows changes nothing.
    np.testing.assert_array_equal(Flatten().fit_transform(out), out)


def test_flatten_accepts_any_layout_with_the_same_size():
    flat = Flatten().fit(np.zeros((2, 28, 28)))
    assert flat.image_shape_ == (28, 28)
    assert flat.transform(np.zeros((3, 1, 28, 28))).shape == (3, 784)
    assert flat.transform(np.zeros((3, 784))).shape == (3, 784)
    assert flat.get_feature_names_out()[-1] == "pixel_783"
    with pytest.raises(ValueError, match="expecting 784 features"):
        flat.transform(np.zeros((3, 27, 27)))
    with pytest.raises(ValueError, match=r"\(n, h\*w\)"):
        flat.fit(np.zeros((2, 1, 1, 4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        flat.transform(np.full((1, 28, 28), np.nan))


def test_flatten_passes_dataframe_names_through():
    X = pd.DataFrame(np.eye(3), columns=["a", "b", "c"])
    flat = Flatten().fit(X)
    assert list(flat.get_feature_names_out()) == ["a", "b", "c"]


def test_images_straight_into_a_pipeline():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (40, 8, 8), dtype=np.uint8)
    y = (X[:, :4].mean(axis=(1, 2)) > X[:, 4:].mean(axis=(1, 2))).astype(int)
    pipe = make_pipeline(Flatten(), Normalizer255(), LogisticRegression())
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.9
    assert clone(pipe).get_params()["normalizer255__dtype"] == "float32"
