import inspect
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from skorch.dataset import ValidSplit
from torch import nn

from sklearn_mnist import (
    CNNClassifier,
    Flatten,
    MLPNetClassifier,
    Normalizer255,
    TransferClassifier,
    load_mnist_sample,
)
from sklearn_mnist.neural_net import CNNModule, MLPModule

CLASSIFIERS = [MLPNetClassifier, CNNClassifier]
# Mechanics tests: few epochs, no augmentation (it needs more epochs to pay off).
SMALL = {
    MLPNetClassifier: dict(
        module__hidden_units=(64,), max_epochs=3, batch_size=64, augment=None
    ),
    CNNClassifier: dict(
        module__channels=(8, 16),
        module__hidden_units=32,
        max_epochs=3,
        batch_size=64,
        augment=None,
    ),
}
NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                  "eight", "nine"])  # fmt: skip


def small(cls, **kw):
    return cls(**{**SMALL[cls], "random_state": 0, "device": "cpu", **kw})


@pytest.fixture(scope="module")
def data():
    X, y = load_mnist_sample(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, train_size=1500, test_size=500, stratify=y, random_state=0
    )
    return X_tr, X_te, y_tr, y_te


@pytest.fixture(scope="module", params=CLASSIFIERS, ids=lambda c: c.__name__)
def fitted(request, data):
    X_tr, _, y_tr, _ = data
    return small(request.param).fit(X_tr, NAMES[y_tr])


def test_learns_and_string_labels_round_trip(fitted, data):
    _, X_te, _, y_te = data
    assert list(fitted.classes_) == sorted(NAMES)
    pred = fitted.predict(X_te)
    assert pred.dtype.kind == "U" and set(pred) <= set(NAMES)
    assert (pred == NAMES[y_te]).mean() > 0.8
    proba = fitted.predict_proba(X_te)
    assert proba.shape == (len(X_te), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], pred)
    assert fitted.decision_function(X_te).shape == (len(X_te), 10)


def test_every_input_layout_gives_the_same_predictions(fitted, data):
    _, X_te, _, _ = data
    expected = fitted.predict_proba(X_te)
    layouts = [
        X_te.reshape(-1, 28, 28),
        X_te.reshape(-1, 1, 28, 28),
        X_te.astype(np.float64),
        pd.DataFrame(X_te),
    ]
    for X in layouts:
        np.testing.assert_allclose(fitted.predict_proba(X), expected, atol=1e-6)
    assert fitted.n_features_in_ == 784 and fitted.image_shape_ == (1, 28, 28)


def test_units_do_not_matter(data):
    """0..255 uint8 and 0..1 floats train the same model (inputs are standardised)."""
    X_tr, X_te, y_tr, _ = data
    a = small(CNNClassifier, max_epochs=1).fit(X_tr, y_tr)
    b = small(CNNClassifier, max_epochs=1).fit(X_tr / 255.0, y_tr)
    assert a.input_mean_ == pytest.approx(255 * b.input_mean_, rel=1e-6)
    assert a.input_std_ == pytest.approx(255 * b.input_std_, rel=1e-6)
    # Same standardised batches up to float rounding, which training amplifies
    # a little: the two models agree almost everywhere.
    pa, pb = a.predict_proba(X_te), b.predict_proba(X_te / 255.0)
    assert np.abs(pa - pb).mean() < 5e-3
    assert (pa.argmax(1) == pb.argmax(1)).mean() > 0.98


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_bad_input_gets_a_clear_value_error(cls, data):
    X_tr, _, y_tr, _ = data
    X, y = X_tr[:50].astype(float), y_tr[:50]
    bad_nan, bad_inf = X.copy(), X.copy()
    bad_nan[3, 5], bad_inf[0, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match="NaN"):
        small(cls).fit(bad_nan, y)
    with pytest.raises(ValueError, match="infinity"):
        small(cls).fit(bad_inf, y)
    with pytest.raises(ValueError, match="1 class"):
        small(cls).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="target y is None"):
        small(cls).fit(X, None)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        small(cls).fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"\(n, h\*w\)"):
        small(cls).fit(X.reshape(50, 1, 1, 28, 28), y)
    with pytest.raises(ValueError, match="image_shape"):
        small(cls, image_shape=(27, 27)).fit(X, y)
    with pytest.raises(ValueError, match="device"):
        small(cls, device="tpu").fit(X, y)
    fitted = small(cls, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="expecting 784 features"):
        fitted.predict(X[:, :700])
    with pytest.raises(ValueError, match="expecting 784 features"):
        fitted.predict(X.reshape(-1, 28, 28)[:, :27, :27])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_requested_without_cuda():
    with pytest.raises(ValueError, match="CUDA is not available"):
        CNNClassifier(device="cuda").fit(np.zeros((4, 784)), [0, 1, 0, 1])


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_not_fitted(cls, data):
    clf = cls()
    assert not clf.__sklearn_is_fitted__()
    assert not hasattr(clf, "classes_")
    with pytest.raises(NotFittedError):
        clf.predict(data[1])


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_random_state_reproducible_and_global_rng_untouched(cls, data):
    X_tr, X_te, y_tr, _ = data
    state = torch.get_rng_state()
    a = small(cls, random_state=3).fit(X_tr, y_tr).predict_proba(X_te)
    assert torch.equal(torch.get_rng_state(), state)
    b = small(cls, random_state=3).fit(X_tr, y_tr).predict_proba(X_te)
    c = small(cls, random_state=4).fit(X_tr, y_tr).predict_proba(X_te)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_params_route_to_the_module_and_clone(data):
    clf = CNNClassifier(module__channels=(4, 8, 12), module__hidden_units=0)
    assert clone(clf).get_params()["module__channels"] == (4, 8, 12)
    X_tr, _, y_tr, _ = data
    clf.set_params(max_epochs=1, random_state=0).fit(X_tr[:200], y_tr[:200])
    assert isinstance(clf.module_, CNNModule)
    convs = [m for m in clf.module_.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 12]
    mlp = MLPNetClassifier(module__hidden_units=(7, 5), max_epochs=1).fit(
        X_tr[:100], y_tr[:100]
    )
    assert isinstance(mlp.module_, MLPModule)
    widths = [
        m.out_features for m in mlp.module_.modules() if hasattr(m, "out_features")
    ]
    assert widths == [7, 5, 10]


def test_non_square_flat_input_and_explicit_image_shape(data):
    X_tr, _, y_tr, _ = data
    clf = small(CNNClassifier, image_shape=(14, 56)).fit(X_tr[:100], y_tr[:100])
    assert clf.image_shape_ == (1, 14, 56)
    row = small(CNNClassifier).fit(X_tr[:100, :700], y_tr[:100])
    assert row.image_shape_ == (1, 1, 700)


def test_pickle_joblib_and_safetensors(fitted, data, tmp_path):
    _, X_te, _, _ = data
    expected = fitted.predict_proba(X_te)
    for loaded in (
        pickle.loads(pickle.dumps(fitted)),
        joblib.load(joblib.dump(fitted, tmp_path / "m.joblib")[0]),
    ):
        np.testing.assert_array_equal(loaded.predict_proba(X_te), expected)
        assert loaded.get_params()["device"] == "cpu"
    fitted.save_safetensors(tmp_path / "w.safetensors")
    from safetensors.torch import load_file

    weights = load_file(tmp_path / "w.safetensors")
    state = fitted.module_.state_dict()
    assert weights.keys() == state.keys()
    for key, value in state.items():
        assert torch.equal(weights[key], value)


def test_auto_device_survives_pickling(data):
    X_tr, X_te, y_tr, _ = data
    clf = small(CNNClassifier, device="auto", max_epochs=1).fit(X_tr[:200], y_tr[:200])
    assert clf.get_params()["device"] == "auto"
    assert clf.device_ in ("cuda", "mps", "cpu")
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.get_params()["device"] == "auto"
    np.testing.assert_allclose(loaded.predict_proba(X_te), clf.predict_proba(X_te))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fitted_on_cuda_predicts_on_cpu(data, monkeypatch):
    X_tr, X_te, y_tr, _ = data
    clf = small(CNNClassifier, device="cuda").fit(X_tr, y_tr)
    blob = pickle.dumps(clf)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = pickle.loads(blob)
    assert loaded.device_ == "cpu"
    np.testing.assert_allclose(
        loaded.predict_proba(X_te), clf.predict_proba(X_te), atol=1e-4
    )


def test_partial_fit_continues_and_callbacks_are_tunable(data):
    X_tr, _, y_tr, _ = data
    clf = small(MLPNetClassifier, max_epochs=1).fit(X_tr, y_tr)
    clf.partial_fit(X_tr, y_tr)
    assert len(clf.history) == 2
    const = small(MLPNetClassifier, max_epochs=1, callbacks__lr_schedule=None)
    const.fit(X_tr, y_tr)
    lrs = {group["lr"] for group in const.optimizer_.param_groups}
    assert lrs == {const.lr}
    valid = small(MLPNetClassifier, max_epochs=2, train_split=ValidSplit(5)).fit(
        X_tr, y_tr
    )
    assert np.isfinite(valid.history[-1, "valid_loss"])


def test_pipeline_grid_search_parallel_equals_serial(data):
    X_tr, _, y_tr, _ = data
    pipe = make_pipeline(
        Flatten(), Normalizer255(), small(MLPNetClassifier, max_epochs=2)
    )
    grid = {"mlpnetclassifier__module__hidden_units": [(16,), (32,)]}
    serial = GridSearchCV(pipe, grid, cv=2, n_jobs=1).fit(X_tr[:600], y_tr[:600])
    parallel = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(X_tr[:600], y_tr[:600])
    np.testing.assert_allclose(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    # 10 steps of a 16-32 unit MLP: it learns (chance is 0.1) but stays far
    # from converged (0.40-0.51 measured); the point here is serial == parallel.
    assert serial.best_score_ > 0.3


def test_training_takes_the_current_share(monkeypatch, data):
    """The share is re-read at every training batch and restored after fit."""
    from sklearn_mnist.neural_net import _base
    from sklearn_mnist.utils import _parallel

    X_tr, _, y_tr, _ = data
    # the fit's budget and its first reading, then one share per batch
    shares = iter([1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2] + [2] * 100)
    seen = []
    monkeypatch.setenv("SKLEARN_MNIST_ADAPTIVE_THREADS", "0")  # shares only
    monkeypatch.setattr(_parallel, "in_worker_pool", lambda: True)
    monkeypatch.setattr(_parallel, "fit_threads", lambda: next(shares))
    monkeypatch.setattr(
        _base.BaseImageClassifier,
        "train_step_single",
        lambda self, batch, **kw: (
            seen.append(torch.get_num_threads()),
            super(_base.BaseImageClassifier, self).train_step_single(batch, **kw),
        )[1],
    )
    before = torch.get_num_threads()
    small(MLPNetClassifier, max_epochs=1, batch_size=256).fit(X_tr, y_tr)
    assert seen[:3] == [1, 1, 2]
    assert torch.get_num_threads() == before


def test_cross_val_score(data):
    X_tr, _, y_tr, _ = data
    scores = cross_val_score(
        small(CNNClassifier, max_epochs=2), X_tr[:600], y_tr[:600], cv=3
    )
    assert scores.shape == (3,) and scores.min() > 0.5


@pytest.mark.parametrize("voting", ["soft", "hard"])
def test_voting_classifier_mixes_mlp_and_cnn_pipelines(voting, data):
    X_tr, X_te, y_tr, y_te = data
    vote = VotingClassifier(
        [
            ("mlp", make_pipeline(Normalizer255(), small(MLPNetClassifier))),
            ("cnn", make_pipeline(Normalizer255(), small(CNNClassifier))),
        ],
        voting=voting,
    ).fit(X_tr, NAMES[y_tr])
    assert (vote.predict(X_te) == NAMES[y_te]).mean() > 0.8
    if voting == "soft":
        assert vote.predict_proba(X_te).shape == (len(X_te), 10)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_mixed_precision_trains_and_predicts_float32(dtype, data, monkeypatch):
    X_tr, X_te, y_tr, y_te = data
    scaled = []
    if dtype == "float16":
        original = torch.amp.GradScaler.scale

        def spy(self, outputs):
            scaled.append(True)
            return original(self, outputs)

        monkeypatch.setattr(torch.amp.GradScaler, "scale", spy)
    clf = small(CNNClassifier, mixed_precision=dtype).fit(X_tr, y_tr)
    proba = clf.predict_proba(X_te)
    assert proba.dtype == np.float32
    assert (clf.predict(X_te) == y_te).mean() > 0.8
    assert all(p.dtype == torch.float32 for p in clf.module_.parameters())
    assert bool(scaled) == (dtype == "float16")  # float16 scales the loss


def test_mixed_precision_rejects_other_values(data):
    X_tr, _, y_tr, _ = data
    with pytest.raises(ValueError, match="mixed_precision"):
        small(CNNClassifier, mixed_precision="int8").fit(X_tr[:50], y_tr[:50])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_mixed_precision_on_cuda(data):  # pragma: no cover - GPU machines
    X_tr, X_te, y_tr, y_te = data
    for dtype in ("bfloat16", "float16"):
        clf = small(CNNClassifier, device="auto", mixed_precision=dtype)
        clf.fit(X_tr, y_tr)
        assert clf.device_.startswith("cuda")
        assert (clf.predict(X_te) == y_te).mean() > 0.8


# --------------------------------------------------------------- repr / signature
@pytest.mark.parametrize("cls", [CNNClassifier, MLPNetClassifier, TransferClassifier])
def test_repr_shows_changed_parameters_only_as_scikit_learn_does(cls):
    clf = cls(max_epochs=2, random_state=0, module__dropout=0.1)
    expected = f"{cls.__name__}(max_epochs=2, module__dropout=0.1, random_state=0)"
    assert repr(clf) == expected
    assert repr(cls()) == f"{cls.__name__}()"
    # nested (scikit-learn's pretty printer reads the __init__ signature)
    assert " ".join(repr(make_pipeline(clf)).split()).endswith(f"{expected})])")


def test_repr_of_fitted_model_is_its_parameters():
    X, y = load_mnist_sample(return_X_y=True)
    X, y = X[::20], y[::20]
    clf = MLPNetClassifier(max_epochs=1, random_state=0).fit(X, y)
    assert repr(clf) == "MLPNetClassifier(max_epochs=1, random_state=0)"


def test_init_signature_lists_every_parameter_with_its_default():
    params = inspect.signature(CNNClassifier.__init__).parameters
    assert params["lr"].default == 8e-3  # the subclass's own default wins
    assert params["max_epochs"].default == "auto"  # from BaseImageClassifier
    assert params["criterion"].default is nn.CrossEntropyLoss  # not skorch's NLLLoss
    assert "iterator_train" in params  # from skorch's NeuralNet
    assert set(CNNClassifier().get_params(deep=False)) <= set(params)


@settings(max_examples=40, deadline=None)
@given(
    X=hnp.arrays(np.uint8, hnp.array_shapes(min_dims=2, max_dims=4, max_side=9)),
    read_only=st.booleans(),
    strided=st.booleans(),
)
def test_pixel_stats_of_bytes_equal_numpy(X, read_only, strided):
    # The byte histogram (torch's bincount) against numpy's float64 mean and
    # std, on read-only and non-contiguous arrays too, without a warning.
    from sklearn_mnist.neural_net._inputs import pixel_stats

    if strided:
        X = X[::2]
    if read_only:
        X.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, std = pixel_stats(X)
    values = X.astype(np.float64)
    assert mean == pytest.approx(values.mean(), rel=1e-12, abs=1e-12)
    assert std == pytest.approx(values.std() if values.std() > 0 else 1.0, rel=1e-9)


def test_training_mode_is_set_on_every_submodule(data):
    # skorch's mode switch is skipped where every module is already in the
    # mode; a submodule left in another mode (an attack's eval, a user's
    # freeze) is still switched.
    X_tr, _, y_tr, _ = data
    clf = small(CNNClassifier).fit(X_tr[:100], y_tr[:100])
    clf.module_.train()
    clf.module_.features[0].eval()
    clf._set_training(True)
    assert all(m.training for m in clf.module_.modules())
    clf.module_.head[-1].train()
    clf._set_training(False)
    assert not any(m.training for m in clf.module_.modules())


def test_a_module_with_its_own_train_is_always_switched(data):
    # A module's own train() may do more than set flags: it is called on
    # every switch, as skorch does, even with every flag already set.
    calls = []

    class Counting(nn.Module):
        def __init__(self, in_shape, n_classes):
            super().__init__()
            self.linear = nn.Linear(int(np.prod(in_shape)), n_classes)

        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

        def forward(self, x):
            return self.linear(x.flatten(1))

    X_tr, _, y_tr, _ = data
    clf = CNNClassifier(module=Counting, max_epochs=1, batch_size=50, augment=None)
    clf.fit(X_tr[:100], y_tr[:100])
    calls.clear()
    clf._set_training(True)
    clf._set_training(True)
    assert calls == [True, True]


def _unsquare_warnings(record):
    return [w for w in record if "not square images" in str(w.message)]


def test_flat_rows_of_a_non_square_feature_count_warn_at_fit(data):
    # 783 pixels (a column lost) would silently train on one row of pixels.
    X_tr, _, y_tr, _ = data
    with pytest.warns(UserWarning, match=r"image_shape=\(h, w\)") as record:
        clf = small(CNNClassifier, max_epochs=1).fit(X_tr[:100, :783], y_tr[:100])
    assert clf.image_shape_ == (1, 1, 783)
    assert "783 features" in str(_unsquare_warnings(record)[0].message)
    assert _unsquare_warnings(record)[0].filename == __file__
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        clf.predict(X_tr[:5, :783])  # predict does not repeat it
    assert not _unsquare_warnings(record)


@pytest.mark.parametrize(
    "n_features, image_shape",
    [(784, None), (783, (27, 29)), (10, None), (63, None)],
    ids=["square", "declared", "tabular", "under-64"],
)
def test_no_shape_warning_for_square_declared_or_tabular_rows(
    data, n_features, image_shape
):
    X_tr, _, y_tr, _ = data
    clf = small(MLPNetClassifier, max_epochs=1, image_shape=image_shape)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        clf.fit(X_tr[:100, :n_features], y_tr[:100])
    assert not _unsquare_warnings(record)
