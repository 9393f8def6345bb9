import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.transform import AffineTransform, warp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_mnist import CNNClassifier, MLPNetClassifier, load_mnist_sample
from sklearn_mnist.preprocessing import (
    AugmentResampler,
    ElasticDistortion,
    Normalizer255,
    RandomAffineAugmenter,
    random_affine_matrices,
    warp_affine,
)

DIGITS = load_mnist_sample().images[::250]  # 20 real digits, 2 per class


@settings(max_examples=25, deadline=None)
@given(
    rotation=st.floats(0, 180),
    shift=st.floats(0, 0.5),
    zoom=st.floats(0, 0.9),
    shear=st.floats(0, 60),
    fill=st.floats(0, 1),
    seed=st.integers(0, 2**31 - 1),
)
def test_warp_matches_skimage(rotation, shift, zoom, shear, fill, seed):
    X = DIGITS[:6].astype(np.float64) / 255
    M = random_affine_matrices(
        len(X), height=28, width=28, rotation=rotation, shift=shift, zoom=zoom,
        shear=shear, random_state=seed,
    )  # fmt: skip
    ours = warp_affine(torch.from_numpy(X[:, None]), M, fill=fill).numpy()[:, 0]
    reference = np.stack(
        [
            warp(
                x,
                AffineTransform(matrix=m),
                order=1,
                mode="constant",
                cval=fill,
                preserve_range=True,
            )  # fmt: skip
            for x, m in zip(X, M, strict=True)
        ]
    )
    np.testing.assert_allclose(ours, reference, atol=1e-9)


def test_matrix_parameters_are_what_they_say():
    M = random_affine_matrices(500, height=28, width=28, rotation=20, random_state=0)
    forward = np.linalg.inv(M)
    angles = np.rad2deg(np.arctan2(forward[:, 1, 0], forward[:, 0, 0]))
    assert np.abs(angles).max() <= 20 + 1e-9 and np.abs(angles).max() > 19
    np.testing.assert_allclose(np.linalg.det(forward[:, :2, :2]), 1.0)  # no zoom
    centre = np.array([13.5, 13.5, 1.0])
    np.testing.assert_allclose(forward @ centre, np.tile(centre, (500, 1)), atol=1e-9)
    M = random_affine_matrices(
        500, height=28, width=28, zoom=0.2, shift=0.1, random_state=1
    )
    forward = np.linalg.inv(M)
    scale = np.sqrt(np.linalg.det(forward[:, :2, :2]))
    assert 0.8 <= scale.min() < 0.82 and 1.18 < scale.max() <= 1.2
    moved = (forward @ centre)[:, :2] - 13.5
    assert np.abs(moved).max() <= 2.8 + 1e-9


layouts = st.sampled_from(["flat", "images", "channels"])
dtypes = st.sampled_from([np.uint8, np.float32, np.float64])


def _layout(X, layout):
    return {"flat": X.reshape(len(X), -1), "images": X, "channels": X[:, None]}[layout]


@settings(max_examples=30, deadline=None)
@given(
    layout=layouts,
    dtype=dtypes,
    seed=st.integers(0, 1000),
    fill=st.sampled_from([0.0, 7.0]),
)
def test_shape_dtype_range_and_seed(layout, dtype, seed, fill):
    X = _layout(DIGITS.astype(dtype), layout)
    aug = RandomAffineAugmenter(rotation=30, shear=10, fill=fill, random_state=seed)
    out = aug.fit_transform(X)
    assert out.shape == X.shape and out.dtype == X.dtype
    assert out.min() >= min(X.min(), fill) and out.max() <= max(X.max(), fill)
    np.testing.assert_array_equal(out, aug.fit_transform(X))  # same seed, same output
    assert not np.array_equal(out, X)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_identity_parameters_give_the_input_back(dtype):
    X = DIGITS.astype(dtype)
    aug = RandomAffineAugmenter(rotation=0, shift=0, zoom=0, shear=0, random_state=0)
    out = aug.fit_transform(X)
    if dtype == np.uint8:
        np.testing.assert_array_equal(out, X)
    else:
        np.testing.assert_allclose(out, X, atol=2e-3)  # float32 sampling grid


def test_a_fresh_draw_per_sample():
    X = np.repeat(DIGITS[:1], 8, axis=0)
    out = RandomAffineAugmenter(random_state=0).fit_transform(X)
    assert len({row.tobytes() for row in out}) == 8


def test_transform_passes_through_and_fit_resample_adds_copies():
    aug = RandomAffineAugmenter(n_copies=2, random_state=0).fit(DIGITS)
    np.testing.assert_array_equal(aug.transform(DIGITS), DIGITS)
    y = np.arange(len(DIGITS))
    X_res, y_res = aug.fit_resample(DIGITS, y)
    assert X_res.shape == (3 * len(DIGITS), 28, 28)
    np.testing.assert_array_equal(X_res[: len(DIGITS)], DIGITS)
    np.testing.assert_array_equal(y_res, np.tile(y, 3))
    assert not np.array_equal(
        X_res[len(DIGITS) : 2 * len(DIGITS)], X_res[2 * len(DIGITS) :]
    )


@pytest.mark.parametrize("make", [
    lambda: RandomAffineAugmenter(n_copies=1, random_state=0),
    lambda: ElasticDistortion(n_copies=1, random_state=0),
    lambda: AugmentResampler(n_copies=1, random_state=0),
])  # fmt: skip
def test_fit_resample_keeps_a_dataframe_a_dataframe_without_warnings(make):
    import warnings

    import pandas as pd

    X = pd.DataFrame(DIGITS.reshape(len(DIGITS), -1)).add_prefix("px")
    y = pd.Series(np.arange(len(DIGITS)), name="label", index=X.index + 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X_res, y_res = make().fit_resample(X, y)
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == list(X.columns)
    assert isinstance(y_res, pd.Series) and y_res.name == "label"
    assert len(X_res) == len(y_res) == 2 * len(X)
    np.testing.assert_array_equal(X_res.to_numpy()[: len(X)], X.to_numpy())
    np.testing.assert_array_equal(y_res.to_numpy(), np.tile(y.to_numpy(), 2))


@pytest.mark.parametrize(
    "params", [{"rotation": -1}, {"zoom": 1.0}, {"shift": 2}, {"n_copies": -1}]
)
def test_bad_parameters(params):
    with pytest.raises(ValueError):
        RandomAffineAugmenter(**params).fit(DIGITS)


class _Spy(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.fit_X_ = np.array(X)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        self.predict_X_ = np.array(X)
        return np.full(len(X), self.classes_[0])


def test_in_a_pipeline_only_fit_sees_augmented_data():
    pipe = make_pipeline(RandomAffineAugmenter(random_state=0), _Spy())
    y = np.arange(len(DIGITS)) % 2
    pipe.fit(DIGITS, y)
    assert not np.array_equal(pipe[-1].fit_X_, DIGITS)
    pipe.predict(DIGITS)
    np.testing.assert_array_equal(pipe[-1].predict_X_, DIGITS)


class _CountingAugmenter(RandomAffineAugmenter):
    calls = []

    def augment_tensor(self, images, random_state=None):
        _CountingAugmenter.calls.append(images.shape[0])
        return super().augment_tensor(images, random_state)


def test_online_augmentation_runs_on_every_training_batch_only():
    X, y = load_mnist_sample(return_X_y=True)
    X, y = X[::10], y[::10]
    _CountingAugmenter.calls = []
    clf = CNNClassifier(augment=_CountingAugmenter(), max_epochs=2, batch_size=100,
                        random_state=0)  # fmt: skip
    clf.fit(X, y)
    assert _CountingAugmenter.calls == [100] * 10
    clf.predict(X)
    assert len(_CountingAugmenter.calls) == 10
    # Training saw distorted batches: a different model than without augmentation.
    plain = CNNClassifier(max_epochs=2, batch_size=100, augment=None, random_state=0)
    plain.fit(X, y)
    assert not np.allclose(plain.predict_proba(X), clf.predict_proba(X))
    again = CNNClassifier(augment=RandomAffineAugmenter(), max_epochs=2, batch_size=100,
                          random_state=0).fit(X, y)  # fmt: skip
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_augment_is_tunable_from_a_grid_search():
    X, y = load_mnist_sample(return_X_y=True)
    pipe = make_pipeline(
        Normalizer255(),
        MLPNetClassifier(augment=RandomAffineAugmenter(), max_epochs=1, random_state=0),
    )
    grid = {"mlpnetclassifier__augment__rotation": [0.0, 20.0]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X[::10], y[::10])
    assert search.best_estimator_[-1].augment.rotation in (0.0, 20.0)
    with pytest.raises(ValueError, match="pass an object first"):
        MLPNetClassifier().set_params(augment__rotation=3)
    with pytest.raises(ValueError, match="transform_batch"):
        MLPNetClassifier(augment="yes").fit(X[:20], y[:20])


def test_fast_grid_equals_torch_affine_grid():
    import torch.nn.functional as F

    from sklearn_mnist.preprocessing._augment import _affine_grid

    theta = torch.randn(7, 2, 3, dtype=torch.float64)
    for h, w in [(28, 28), (5, 9)]:
        expected = F.affine_grid(theta, [7, 1, h, w], align_corners=False)
        torch.testing.assert_close(_affine_grid(theta, h, w), expected)


@settings(max_examples=10, deadline=None)
@given(
    alpha=st.floats(0, 40), sigma=st.floats(1, 6), fill=st.floats(0, 1),
    seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_elastic_matches_scipy_reference(alpha, sigma, fill, seed):
    """Simard's recipe done with scipy.ndimage on the same noise."""
    from scipy.ndimage import gaussian_filter, map_coordinates

    from sklearn_mnist.preprocessing import ElasticDistortion

    X = DIGITS[:4].astype(np.float64) / 255
    ours = ElasticDistortion(alpha=alpha, sigma=sigma, fill=fill, random_state=seed)
    out = ours.fit(X).augment(X)
    noise = np.random.RandomState(seed).uniform(-1, 1, size=(8, 1, 28, 28))
    rows, cols = np.mgrid[0:28, 0:28]
    for i, image in enumerate(X):
        radius = int(np.ceil(3 * sigma))
        dx, dy = (
            alpha
            * gaussian_filter(
                noise[2 * i + k, 0], sigma, mode="constant", truncate=radius / sigma
            )  # fmt: skip
            for k in (0, 1)
        )
        expected = map_coordinates(image, [rows + dy, cols + dx], order=1,
                                   mode="grid-constant", cval=fill)  # fmt: skip
        np.testing.assert_allclose(out[i], expected, atol=1e-6)


def test_elastic_semantics():
    from sklearn_mnist.preprocessing import ElasticDistortion

    X = DIGITS
    el = ElasticDistortion(random_state=0)
    out = el.fit_transform(X)
    assert out.shape == X.shape and out.dtype == X.dtype and not np.array_equal(out, X)
    np.testing.assert_array_equal(el.transform(X), X)
    np.testing.assert_array_equal(ElasticDistortion(alpha=0).fit_transform(X), X)
    clf = CNNClassifier(augment=ElasticDistortion(), max_epochs=1, random_state=0)
    Xs, ys = load_mnist_sample(return_X_y=True)
    assert clf.fit(Xs[::10], ys[::10]).predict(Xs[:5]).shape == (5,)
    with pytest.raises(ValueError):
        ElasticDistortion(sigma=0).fit(X)


@pytest.mark.parametrize(
    "params",
    [{"alpha": 1e308}, {"alpha": 1e308, "fill": 0.5}, {"sigma": 1e-300},
     {"sigma": 1e-20}, {"sigma": 1e9}, {"alpha": 1e308, "sigma": 1e-300}],
    ids=str,
)  # fmt: skip
def test_elastic_extreme_parameters_are_refused_not_nan(params):
    """alpha=1e308 (with a fill) and sigma=1e-300 gave NaN images; sigma=1e9
    a kernel of 6e9 taps."""
    X = DIGITS[:4].astype(np.float32) / 255
    with pytest.raises(ValueError, match="alpha|sigma"):
        ElasticDistortion(**params, random_state=0).fit_transform(X)


@pytest.mark.parametrize("params", [{"alpha": 1e6, "fill": 0.5}, {"sigma": 0.01}])
def test_elastic_bounds_give_finite_images(params):
    X = DIGITS[:4].astype(np.float32) / 255
    out = ElasticDistortion(**params, random_state=0).fit_transform(X)
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(
    "make",
    [lambda: AugmentResampler(n_copies=10**6),
     lambda: RandomAffineAugmenter(n_copies=10**6),
     lambda: AugmentResampler(ElasticDistortion(), n_copies=10**6)],
)  # fmt: skip
def test_a_resampled_array_too_large_is_refused_before_allocating(make):
    """n_copies=10**6 on 20 digits: 15.7 GB (uint8), refused before anything
    is drawn or allocated (tracemalloc's peak stays small)."""
    import tracemalloc

    X, y = DIGITS, np.arange(20) % 10
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"15,680,015,680 bytes .*8 GiB"):
            make().fit_resample(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20
    X_res, y_res = make().set_params(n_copies=3).fit_resample(X, y)
    assert X_res.shape == (80, *X.shape[1:]) and len(y_res) == 80
    np.testing.assert_array_equal(X_res[:20], X)
