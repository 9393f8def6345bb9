"""Successive-halving searches whose survivors keep training."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import HalvingGridSearchCV as SkHalving
from sklearn.pipeline import make_pipeline

from sklearn_mnist import MLPNetClassifier, Normalizer255, load, save
from sklearn_mnist.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV
from sklearn_mnist.neural_net import BaseImageClassifier


def _mlp(**kw):
    return MLPNetClassifier(module__hidden_units=(16,), random_state=0, **kw)


@pytest.fixture(scope="module")
def data(shuffled_sample):
    X, y = shuffled_sample
    return X[:600], y[:600]


GRID = {"lr": [1e-3, 3e-3, 1e-2, 3e-2]}


def test_survivors_train_on_instead_of_starting_again(data, monkeypatch):
    """Epochs trained in all = sum over rounds of survivors x folds x the
    epochs the round adds (scikit-learn's halving retrains each survivor
    from zero: the sum of the round budgets)."""
    X, y = data
    calls = []
    original = BaseImageClassifier.partial_fit

    def counting(self, *args, **kwargs):
        calls.append(self.lr)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BaseImageClassifier, "partial_fit", counting)
    search = HalvingGridSearchCV(_mlp(), GRID, cv=2, max_resources=6, factor=2)
    search.fit(X, y)
    assert search.n_resources_ == [1, 3, 6] and search.n_candidates_ == [4, 2, 1]
    # 4 x 2 x 1 + 2 x 2 x (3 - 1) + 1 x 2 x (6 - 3) epochs (one partial_fit each)
    assert len(calls) == 8 + 8 + 6
    # the survivor ran the full budget in all, on each fold
    assert calls.count(search.best_params_["lr"]) == 2 * 6
    assert search.refit_epochs_ == 6
    assert search.best_estimator_.max_epochs == 6
    assert search.best_estimator_.n_iter_ == 6


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_cycle_per_round_continues_the_models_too(data, monkeypatch):
    """schedule="round": one warm-started fit per (candidate, fold) and round,
    for the epochs the round adds."""
    X, y = data
    epochs = []
    original = BaseImageClassifier.fit

    def counting(self, *args, **kwargs):
        epochs.append(self.max_epochs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BaseImageClassifier, "fit", counting)
    search = HalvingGridSearchCV(
        _mlp(), GRID, cv=2, max_resources=6, factor=2, schedule="round"
    ).fit(X, y)
    # rounds 1, 3, 6 epochs: 4 x 2 fits of 1, 2 x 2 of 2, 1 x 2 of 3; the refit
    assert sorted(epochs[:-1]) == [1] * 8 + [2] * 4 + [3] * 2 and epochs[-1] == 6
    assert search.refit_epochs_ == 6
    with pytest.raises(ValueError, match="schedule='budget'"):
        HalvingGridSearchCV(_mlp(), GRID, early_stopping=True, schedule="round").fit(
            X, y
        )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cv_results_have_scikit_learns_keys_and_dtypes(data):
    X, y = data
    ours = HalvingGridSearchCV(_mlp(), GRID, cv=2, max_resources=4, factor=2).fit(X, y)
    theirs = SkHalving(
        LogisticRegression(max_iter=50), {"C": [0.1, 1.0, 3.0, 10.0]}, cv=2,
        factor=2, resource="max_iter", max_resources=40, min_resources=10,
        return_train_score=False,
    ).fit(X / 255.0, y)  # fmt: skip
    rename = {"param_C": "param_lr"}
    # scikit-learn's resource is a parameter (param_max_iter); ours is epochs
    theirs.cv_results_.pop("param_max_iter")
    expected = {rename.get(k, k) for k in theirs.cv_results_}
    assert set(ours.cv_results_) == expected | {"median_best_epoch"}
    for key, value in theirs.cv_results_.items():
        mine = ours.cv_results_[rename.get(key, key)]
        if isinstance(value, np.ndarray):
            assert mine.dtype.kind == value.dtype.kind, key
        assert len(mine) == len(ours.cv_results_["params"])
    assert ours.cv_results_["iter"].tolist() == [0, 0, 0, 0, 1, 1, 2]
    assert ours.n_resources_ == [1, 2, 4]  # the last round at the full budget
    best = ours.best_index_
    assert ours.cv_results_["iter"][best] == 2
    assert ours.best_score_ == ours.cv_results_["mean_test_score"][best]


def test_clone_get_params_refit_false_and_callable_refit(data):
    X, y = data
    search = HalvingGridSearchCV(_mlp(), GRID, cv=2, max_resources=2, refit=False)
    assert clone(search).get_params()["param_grid"] == GRID
    assert "pre_dispatch" not in search.get_params()
    search.fit(X, y)
    assert not hasattr(search, "best_estimator_") and "lr" in search.best_params_
    with pytest.raises(AttributeError, match="predict"):
        search.predict(X)
    pick_first = HalvingGridSearchCV(
        _mlp(), GRID, cv=2, max_resources=2, refit=lambda results: 0
    ).fit(X, y)
    assert pick_first.best_index_ == 0
    assert pick_first.best_params_ == pick_first.cv_results_["params"][0]
    assert pick_first.predict(X[:5]).shape == (5,)


def test_a_failing_candidate_scores_error_score_or_raises(data):
    X, y = data
    grid = {"lr": [1e-2, -1.0]}  # a negative learning rate is refused at fit
    with pytest.warns(FitFailedWarning, match="candidate 1 failed"):
        search = HalvingGridSearchCV(_mlp(), grid, cv=2, max_resources=2).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[1]) and np.isfinite(scores[0])
    assert search.best_params_ == {"lr": 1e-2}
    with pytest.raises(ValueError, match="lr"):
        HalvingGridSearchCV(
            _mlp(), grid, cv=2, max_resources=2, error_score="raise"
        ).fit(X, y)


def test_a_fold_missing_a_class_still_knows_every_class(data):
    X, y = data
    y = y.copy()
    y[y == 9] = 8
    y[np.flatnonzero(y == 8)[:1]] = 9  # one sample of class 9: in one fold only
    search = HalvingGridSearchCV(_mlp(), {"lr": [1e-2, 3e-2]}, cv=2, max_resources=2)
    with pytest.warns(UserWarning, match="least populated class"):
        search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert list(search.best_estimator_.classes_) == list(range(10))


def test_pipelines_sample_weight_early_stopping_and_safe_files(data, tmp_path):
    X, y = data
    pipe = make_pipeline(Normalizer255(), _mlp())
    search = HalvingGridSearchCV(
        pipe, {"mlpnetclassifier__lr": [1e-3, 1e-2, 3e-2]}, cv=2, max_resources=3,
        early_stopping=True,
    ).fit(X, y, sample_weight=np.ones(len(X)))  # fmt: skip
    last = search.cv_results_["iter"] == search.cv_results_["iter"].max()
    assert np.isfinite(search.cv_results_["median_best_epoch"][last]).all()
    assert np.isnan(search.cv_results_["median_best_epoch"][~last]).all()
    assert 1 <= search.refit_epochs_ <= 3
    path = save(search.best_estimator_, tmp_path / "best.skmnist")
    np.testing.assert_allclose(
        load(path).predict_proba(X[:20]), search.predict_proba(X[:20]), atol=1e-6
    )


def test_random_search_draws_its_candidates_from_random_state(data):
    X, y = data
    kw = dict(cv=2, max_resources=2, n_candidates=3, random_state=0)
    dist = {"lr": [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]}
    a = HalvingRandomSearchCV(_mlp(), dist, **kw).fit(X, y)
    b = HalvingRandomSearchCV(_mlp(), dist, **kw).fit(X, y)
    assert a.cv_results_["params"] == b.cv_results_["params"]
    assert a.n_candidates_[0] == 3


def test_progress_bar_only_with_verbose(data, capsys):
    X, y = data
    HalvingGridSearchCV(_mlp(), GRID, cv=2, max_resources=2).fit(X, y)
    assert capsys.readouterr().err == ""
    HalvingGridSearchCV(_mlp(), GRID, cv=2, max_resources=2, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    # one round: 4 candidates x 2 folds x 2 epochs
    assert "HalvingGridSearchCV" in err and "epoch" in err and "16/16" in err


def test_other_estimators_and_bad_settings_are_clear_errors(data):
    X, y = data
    with pytest.raises(ValueError, match="Pipeline ending in one"):
        HalvingGridSearchCV(LogisticRegression(), {"C": [1.0]}).fit(X, y)
    with pytest.raises(ValueError, match="one scoring"):
        HalvingGridSearchCV(_mlp(), GRID, scoring=["accuracy", "f1_macro"]).fit(X, y)
    with pytest.raises(ValueError, match="factor"):
        HalvingGridSearchCV(_mlp(), GRID, factor=1).fit(X, y)
    with pytest.raises(ValueError, match="min_resources_=5 is greater"):
        HalvingGridSearchCV(_mlp(), GRID, min_resources=5, max_resources=2).fit(X, y)


def test_max_epochs_in_the_grid_is_refused(data):
    """It is the resource: searching it was silently ignored (and best_params_
    reported a value never used)."""
    X, y = data
    with pytest.raises(ValueError, match="max_epochs is the resource"):
        HalvingGridSearchCV(_mlp(), {"max_epochs": [1, 5]}, cv=2).fit(X, y)
    pipe = make_pipeline(Normalizer255(), _mlp())
    with pytest.raises(ValueError, match="mlpnetclassifier__max_epochs is the"):
        HalvingGridSearchCV(pipe, {"mlpnetclassifier__max_epochs": [1, 5]}).fit(X, y)


def test_lists_groups_and_all_fits_failing(data):
    from sklearn.model_selection import GroupKFold

    X, y = data
    search = HalvingGridSearchCV(_mlp(), {"lr": [1e-2, 3e-2]}, cv=2, max_resources=2)
    search.fit(X.tolist(), list(y))  # lists of rows, as GridSearchCV takes them
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    groups = np.arange(len(X)) % 4
    grouped = HalvingGridSearchCV(
        _mlp(), {"lr": [1e-2]}, cv=GroupKFold(2), max_resources=1
    ).fit(X, y, groups=groups)
    assert grouped.n_splits_ == 2
    with pytest.warns(FitFailedWarning), pytest.raises(ValueError, match="All the"):
        HalvingGridSearchCV(_mlp(), {"lr": [-1.0, -2.0]}, cv=2, max_resources=1).fit(
            X, y
        )


def test_routed_sample_weight_reaches_a_pipelines_refit(data):
    import sklearn

    X, y = data
    pipe = make_pipeline(Normalizer255(), _mlp())
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.steps[-1][1].set_fit_request(sample_weight=True)
        search = HalvingGridSearchCV(
            pipe, {"mlpnetclassifier__lr": [1e-2]}, cv=2, max_resources=1
        ).fit(X, y, sample_weight=np.ones(len(X)))
    assert search.best_estimator_[-1].n_iter_ == 1


def test_a_saved_search_loads(data, tmp_path):
    """error_score=nan, the default, is a legitimate value in a model file."""
    X, y = data
    search = HalvingGridSearchCV(_mlp(), {"lr": [1e-2]}, cv=2, max_resources=1)
    search.fit(X, y)
    path = save(search, tmp_path / "search.skmnist")
    trusted = [
        "sklearn_mnist.model_selection._halving.HalvingGridSearchCV",
        "sklearn.model_selection._search._yield_masked_array_for_each_param",
    ]
    try:
        loaded = load(path, trusted=trusted)
    except ValueError as exc:  # a type the audit asks to trust: name it and retry
        names = [t for t in str(exc).split("'") if t.startswith(("sklearn", "numpy"))]
        loaded = load(path, trusted=trusted + names)
    np.testing.assert_allclose(loaded.predict_proba(X[:5]), search.predict_proba(X[:5]))
