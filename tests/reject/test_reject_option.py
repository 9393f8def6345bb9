"""The reject option: thresholds with guarantees, trust scores, metrics, and the
meta-estimator in scikit-learn's machinery (checks, GridSearchCV, Pipeline,
pickling, the safe model files)."""

import math
import os
import pickle
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.covariance import LedoitWolf
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError, UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklearn_mnist
from sklearn_mnist import (
    CNNClassifier,
    MLPNetClassifier,
    Normalizer255,
    load,
    load_mnist_sample,
    save,
)
from sklearn_mnist.reject import (
    RejectOptionClassifier,
    _scores,
    coverage_risk_curve,
    ood_auroc,
    penultimate_features,
    plot_coverage_risk,
    selective_accuracy,
)
from sklearn_mnist.reject._scores import ModelOutputs, compute_score, fit_score
from sklearn_mnist.reject._threshold import (
    binomial_pvalue,
    coverage_threshold,
    min_accepted,
    risk_threshold,
)

matplotlib.use("Agg")

FAST = settings(max_examples=40, deadline=None)


# --------------------------------------------------------------- thresholds
@FAST
@given(
    scores=st.lists(st.integers(0, 6), min_size=1, max_size=40),
    coverage=st.floats(0.01, 1.0),
)
def test_coverage_threshold_is_the_conformal_order_statistic(scores, coverage):
    # reference: the k-th smallest score, k = floor((n + 1)(1 - coverage))
    n = len(scores)
    k = math.floor(round((n + 1) * (1 - coverage), 9))
    expected = -np.inf if k == 0 else np.sort(scores)[k - 1]
    assert coverage_threshold(np.array(scores, float), coverage) == expected


@FAST
@given(
    data=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=30
    ),
    coverage=st.floats(0.05, 0.99),
)
def test_weights_count_as_frequencies(data, coverage):
    scores = np.array([s for s, _ in data], float)
    weight = np.array([w for _, w in data], float)
    repeated = np.repeat(scores, weight.astype(int))
    if weight.sum() == 0:
        return
    assert coverage_threshold(scores, coverage, weight) == coverage_threshold(
        repeated, coverage
    )
    errors = (scores % 2).astype(float)
    rep_errors = np.repeat(errors, weight.astype(int))
    got = risk_threshold(scores, errors, 0.5, 0.2, weight)
    want = risk_threshold(repeated, rep_errors, 0.5, 0.2)
    # the same calibration samples accepted
    assert np.array_equal(repeated >= got, repeated >= want)


def test_coverage_holds_on_fresh_data_at_the_stated_rate():
    """Uniform scores: the acceptance rate of a calibrated threshold is
    1 - U_(k), exactly Beta(n + 1 - k, k) (Vovk 2012), so its mean is
    (n + 1 - k) / (n + 1) >= coverage."""
    rng = np.random.RandomState(0)
    n, coverage, draws = 200, 0.9, 2000
    k = math.floor((n + 1) * (1 - coverage))
    rates = np.array(
        [1 - coverage_threshold(rng.rand(n), coverage) for _ in range(draws)]
    )
    assert stats.kstest(rates, stats.beta(n + 1 - k, k).cdf).pvalue > 1e-3
    assert rates.mean() >= coverage - 3 * rates.std() / np.sqrt(draws)
    assert rates.mean() < coverage + 1 / (n + 1) + 3 * rates.std() / np.sqrt(draws)


@FAST
@given(errors=st.integers(0, 60), extra=st.integers(0, 60), risk=st.floats(0.001, 0.9))
def test_binomial_pvalue_is_scipy_binomial_cdf(errors, extra, risk):
    n = errors + extra
    expected = stats.binom.cdf(errors, n, risk) if errors < n else 1.0
    assert np.isclose(binomial_pvalue(errors, n, risk), expected, rtol=1e-9, atol=0)


def _risk_threshold_reference(scores, errors, max_risk, delta, starts=5):
    """Multi-start fixed-sequence testing written out: from each start,
    accept the top groups of tied scores one more at a time and test each
    with scipy's binomial cdf at delta / starts, until one fails."""
    level = delta / starts
    m0 = min_accepted(max_risk, level)
    n = len(scores)
    best = np.zeros(n, bool)
    for j in range(starts):
        start = m0 + (n - m0) * j / starts
        for value in sorted(set(scores), reverse=True):
            accepted = scores >= value
            k, e = accepted.sum(), errors[accepted].sum()
            if k < m0 or k < start - 1e-9:
                continue
            if stats.binom.cdf(e, k, max_risk) > level:
                break
            if accepted.sum() > best.sum():
                best = accepted
    return best


@FAST
@given(
    data=st.lists(
        st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=80
    ),
    max_risk=st.sampled_from([0.05, 0.2, 0.4]),
)
def test_risk_threshold_matches_the_written_out_procedure(data, max_risk):
    scores = np.array([s for s, _ in data], float)
    errors = np.array([e for _, e in data], float)
    threshold = risk_threshold(scores, errors, max_risk, 0.1)
    expected = _risk_threshold_reference(scores, errors, max_risk, 0.1)
    assert np.array_equal(scores >= threshold, expected)


def test_risk_control_holds_on_fresh_data_at_the_stated_rate():
    """Scores uniform, an error with probability 0.3 (1 - s)^2: the error
    rate among samples with score >= t is 0.1 (1 - t)^2. Over repeated
    calibration sets the certified threshold's true risk exceeds max_risk in
    at most 1 - confidence of them (measured: 0%), while it accepts a
    quarter of what the oracle threshold does (0.12 vs 0.45: the price of
    certifying with 1,000 samples)."""
    rng = np.random.RandomState(0)
    n, max_risk, delta, draws = 1000, 0.02, 0.1, 400

    def true_risk(t):
        t = np.clip(t, 0, 1)
        return 0.1 * (1 - t) ** 2

    risks, coverages = [], []
    for _ in range(draws):
        s = rng.rand(n)
        errors = rng.rand(n) < 0.3 * (1 - s) ** 2
        t = risk_threshold(s, errors, max_risk, delta)
        risks.append(true_risk(t) if t < 1 else 0.0)
        coverages.append(1 - np.clip(t, 0, 1))
    violations = np.mean(np.array(risks) > max_risk)
    assert violations <= delta + 3 * np.sqrt(delta * (1 - delta) / draws)
    assert 0.08 < np.mean(coverages) < 0.4473


def test_risk_threshold_without_enough_samples_rejects_everything():
    assert min_accepted(0.01, 0.1) == 230  # (0.99)^230 < 0.1 < (0.99)^229
    assert min_accepted(0.01, 0.02) == 390  # five starts at 0.1 / 5 each
    scores = np.linspace(0, 1, 389)
    assert risk_threshold(scores, np.zeros(389), 0.01, 0.1) == np.inf
    assert risk_threshold(scores, np.zeros(389), 0.05, 0.1) == -np.inf


# ------------------------------------------------------------------ metrics
@FAST
@given(
    data=st.lists(
        st.tuples(st.integers(0, 9), st.booleans(), st.integers(1, 3)),
        min_size=1,
        max_size=40,
    )
)
def test_coverage_risk_curve_against_brute_force(data):
    scores = np.array([s for s, _, _ in data], float)
    y_true = np.zeros(len(data), int)
    y_pred = np.array([int(e) for _, e, _ in data])
    weight = np.array([w for _, _, w in data], float)
    coverage, risk, thresholds = coverage_risk_curve(
        y_true, y_pred, scores, sample_weight=weight
    )
    assert np.all(np.diff(thresholds) < 0) and coverage[-1] == 1
    for c, r, t in zip(coverage, risk, thresholds, strict=True):
        accepted = scores >= t
        assert np.isclose(c, weight[accepted].sum() / weight.sum())
        assert np.isclose(
            r, np.average(y_pred[accepted] != 0, weights=weight[accepted])
        )


@FAST
@given(
    scores_in=st.lists(st.floats(-5, 5), min_size=1, max_size=30),
    scores_out=st.lists(st.floats(-5, 5), min_size=1, max_size=30),
)
def test_ood_auroc_is_the_mann_whitney_probability(scores_in, scores_out):
    u = stats.mannwhitneyu(scores_in, scores_out).statistic
    assert np.isclose(
        ood_auroc(scores_in, scores_out), u / (len(scores_in) * len(scores_out))
    )


def test_metric_errors_and_selective_accuracy():
    with pytest.raises(ValueError, match="in- and out-of-distribution"):
        ood_auroc([0.5], [])
    with pytest.raises(ValueError, match="NaN"):
        ood_auroc([np.nan], [1.0])
    with pytest.raises(ValueError, match="at least one sample"):
        coverage_risk_curve([], [], [])
    assert selective_accuracy([0, 1, 1, 2], [0, -1, 1, 1]) == pytest.approx(2 / 3)
    assert selective_accuracy(["a", "b"], ["a", "?"], reject_label="?") == 1.0
    assert selective_accuracy([0, 1], [-1, 1], sample_weight=[5, 1]) == 1.0
    with pytest.warns(UndefinedMetricWarning):
        assert selective_accuracy([0, 1], [-1, -1]) == 0.0
    assert np.isnan(selective_accuracy([0], [None], reject_label=None,
                                       zero_division=np.nan))  # fmt: skip


def test_plot_coverage_risk_draws_the_curve_and_the_operating_point(
    assert_nothing_clipped,
):
    import matplotlib.pyplot as plt

    rng = np.random.RandomState(0)
    scores = rng.rand(300)
    y_pred = (rng.rand(300) < 0.3 * (1 - scores)).astype(int)
    fig = plot_coverage_risk(np.zeros(300), y_pred, scores, threshold=0.5)
    ax = fig.axes[0]
    coverage, risk, _ = coverage_risk_curve(np.zeros(300), y_pred, scores)
    curve, point = ax.lines
    assert np.allclose(curve.get_xdata(), 100 * coverage)
    assert np.allclose(curve.get_ydata(), 100 * risk)
    assert np.isclose(point.get_xdata()[0], 100 * np.mean(scores >= 0.5))
    assert "300 samples" in ax.get_title()
    assert_nothing_clipped(fig)
    again = plot_coverage_risk(np.zeros(300), y_pred, scores, ax=ax, label="b")
    assert again is fig and len(ax.lines) == 3
    plt.close(fig)


# ---------------------------------------------- the meta-estimator (sklearn)
_REASON = (
    "predict returns reject_label (-1) for rejected samples, which is not one of "
    "classes_ and differs from the argmax of predict_proba / sign of "
    "decision_function there; that is the point of a reject option. With "
    "coverage=1.0 and a label the checks do not use, every check passes "
    "(the LogisticRegression(coverage=1.0) instance below)"
)
_WEIGHTS = (
    "the network trains in minibatches: repeating a sample changes the batches "
    "and steps, so it is not the same fit as doubling its weight (as for the "
    "package's classifiers in tests/test_common.py); the calibration counts "
    "weights as frequencies exactly (test_weights_count_as_frequencies)"
)
_CHECKED = [
    RejectOptionClassifier(LogisticRegression(), random_state=0),
    RejectOptionClassifier(
        LogisticRegression(), coverage=1.0, reject_label=-99, random_state=0
    ),
    RejectOptionClassifier(
        MLPNetClassifier(
            module__hidden_units=(8,),
            max_epochs=1,
            batch_size=32,
            device="cpu",
            random_state=0,
        ),
        random_state=0,
    ),  # fmt: skip
]


def _expected_failed_checks(estimator):
    if estimator.coverage == 1.0:
        return {}
    failed = {
        "check_classifiers_classes": _REASON,
        "check_classifiers_train": _REASON,
        "check_classifiers_train(readonly_memmap=True)": _REASON,
        "check_classifiers_train(readonly_memmap=True,X_dtype=float32)": _REASON,
    }
    if isinstance(estimator.estimator, MLPNetClassifier):
        failed["check_sample_weight_equivalence_on_dense_data"] = _WEIGHTS
    return failed


@parametrize_with_checks(_CHECKED, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _blobs(n=600, labels=None, sep=1.0):
    X, y = make_classification(
        n_samples=n, n_features=8, n_informative=6, n_classes=3, class_sep=sep,
        random_state=0,
    )  # fmt: skip
    return X, (y if labels is None else np.asarray(labels)[y])


@pytest.mark.parametrize(
    "labels, reject_label, dtype",
    [
        (None, -1, np.int64),
        ([1.0, 2.0, 3.0], -1, np.float64),
        ([1.0, 2.0, 3.0], np.nan, np.float64),
        (["a", "b", "c"], "reject", np.dtype("<U6")),
        (["a", "b", "c"], -1, object),
        ([True, False, True], -1, object),
        (None, None, object),
        (np.array([3, 4, 5], np.uint8), -1, np.int64),
    ],
)
def test_predict_dtype_holds_classes_and_reject_label(labels, reject_label, dtype):
    X, y = _blobs(labels=labels)
    clf = RejectOptionClassifier(
        LogisticRegression(), coverage=0.7, reject_label=reject_label, random_state=0
    ).fit(X, y)
    pred = clf.predict(X)
    assert pred.dtype == dtype
    rejected = clf.predict_reject(X)
    assert 0.2 < rejected.mean() < 0.4
    inner = clf.estimator_.predict(X)
    assert list(pred[~rejected]) == list(inner[~rejected])
    assert all(
        (p is reject_label) or (p == reject_label) or (p != p)
        for p in pred[rejected].tolist()
    )
    assert set(np.unique(inner)) <= set(clf.classes_)


def test_reject_label_that_is_a_class_is_refused():
    X, y = _blobs(labels=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"reject_label='b' is one of the classes"):
        RejectOptionClassifier(LogisticRegression(), reject_label="b").fit(X, y)
    X, y = _blobs()
    with pytest.raises(ValueError, match="reject_label=2 is one of the classes"):
        RejectOptionClassifier(LogisticRegression(), reject_label=2).fit(X, y)


def test_parameter_errors_are_clear():
    X, y = _blobs()
    with pytest.raises(ValueError, match="not both"):
        RejectOptionClassifier(LogisticRegression(), coverage=0.9, max_risk=0.1).fit(
            X, y
        )
    with pytest.raises(ValueError, match="'coverage' parameter"):
        RejectOptionClassifier(LogisticRegression(), coverage=1.5).fit(X, y)
    with pytest.raises(ValueError, match="'trust_score' parameter"):
        RejectOptionClassifier(LogisticRegression(), trust_score="entropy").fit(X, y)
    for score in ("mahalanobis", "knn"):
        with pytest.raises(ValueError, match=f"trust_score='{score}' needs the pen"):
            RejectOptionClassifier(LogisticRegression(), trust_score=score).fit(X, y)
    with pytest.raises(ValueError, match="needs logits"):
        RejectOptionClassifier(GaussianNB(), trust_score="energy").fit(X, y)
    with pytest.raises(ValueError, match=r"shape \(120,\)"):
        RejectOptionClassifier(
            LogisticRegression(), trust_score=lambda est, X: np.zeros((len(X), 2))
        ).fit(X, y)
    with pytest.raises(NotFittedError):
        RejectOptionClassifier(LogisticRegression(), cv="prefit").fit(X, y)
    with pytest.raises(NotFittedError):
        RejectOptionClassifier(LogisticRegression()).predict(X)


def test_probability_scores_and_passthrough_methods():
    X, y = _blobs()
    for score in ("max_proba", "margin", "energy"):
        clf = RejectOptionClassifier(
            LogisticRegression(), trust_score=score, random_state=0
        ).fit(X, y)
        proba = clf.estimator_.predict_proba(X)
        top2 = np.sort(proba, axis=1)[:, -2:]
        expected = {
            "max_proba": proba.max(axis=1),
            "margin": top2[:, 1] - top2[:, 0],
            "energy": logsumexp(clf.estimator_.decision_function(X), axis=1),
        }[score]
        assert np.allclose(clf.score_samples(X), expected)
        assert np.array_equal(clf.predict_proba(X), proba)
        assert np.array_equal(
            clf.decision_function(X), clf.estimator_.decision_function(X)
        )
        assert np.array_equal(
            clf.predict_reject(X), clf.score_samples(X) < clf.threshold_
        )
        # ClassifierMixin.score: accuracy, rejected samples count as errors
        assert clf.score(X, y) == accuracy_score(y, clf.predict(X))
        assert clf.score(X, y) < accuracy_score(y, clf.estimator_.predict(X))
    assert not hasattr(RejectOptionClassifier(GaussianNB()), "decision_function")
    # a callable score, given the fitted model
    clf = RejectOptionClassifier(
        LogisticRegression(), trust_score=lambda est, X: -np.abs(X[:, 0]),
        random_state=0,
    ).fit(X, y)  # fmt: skip
    assert np.array_equal(clf.score_samples(X), -np.abs(X[:, 0]))


def test_binary_energy_takes_the_decision_function_as_logits_0_d():
    X, y = make_classification(n_samples=200, random_state=0)
    clf = RejectOptionClassifier(
        LogisticRegression(), trust_score="energy", random_state=0
    ).fit(X, y)
    d = clf.estimator_.decision_function(X)
    assert np.allclose(clf.score_samples(X), np.logaddexp(0, d))


def test_cv_variants():
    X, y = _blobs(n=500)
    split = RejectOptionClassifier(LogisticRegression(), cv=0.3, random_state=0)
    split.fit(X, y)
    assert split.n_calibration_ == 150 and split.estimator_ is not split.estimator
    assert np.isclose(split.calibration_coverage_, 0.95, atol=0.02)
    for cv in (4, KFold(4, shuffle=True, random_state=0)):
        cross = RejectOptionClassifier(LogisticRegression(), cv=cv).fit(X, y)
        assert cross.n_calibration_ == 500
        full = LogisticRegression().fit(X, y)
        assert np.allclose(cross.estimator_.coef_, full.coef_)
    fitted = LogisticRegression().fit(X[:250], y[:250])
    prefit = RejectOptionClassifier(fitted, cv="prefit").fit(X[250:], y[250:])
    assert prefit.estimator_ is fitted and prefit.n_calibration_ == 250
    k = math.floor(251 * 0.05)
    scores = fitted.predict_proba(X[250:]).max(axis=1)
    assert prefit.threshold_ == np.sort(scores)[k - 1]
    assert split.random_state == 0 and split.cv == 0.3  # parameters untouched


def test_max_risk_certifies_the_calibration_error_rate():
    X, y = _blobs(n=3000, sep=3.0)  # 7% errors, 5% at 94% coverage
    clf = RejectOptionClassifier(
        LogisticRegression(), max_risk=0.05, cv=0.5, random_state=0
    ).fit(X, y)
    assert clf.calibration_risk_ <= 0.05
    assert 0.5 < clf.calibration_coverage_ < 1
    with pytest.warns(UserWarning, match="every sample will be rejected"):
        hopeless = RejectOptionClassifier(
            LogisticRegression(), max_risk=0.001, random_state=0
        ).fit(X[:300], y[:300])
    assert hopeless.threshold_ == np.inf and np.all(hopeless.predict(X) == -1)
    assert np.isnan(hopeless.calibration_risk_)


def test_prefit_sample_weight_counts_as_repetition():
    X, y = _blobs()
    fitted = LogisticRegression().fit(X[:300], y[:300])
    weight = np.random.RandomState(0).randint(0, 4, 300)
    a = RejectOptionClassifier(fitted, cv="prefit").fit(X[300:], y[300:], weight)
    b = RejectOptionClassifier(fitted, cv="prefit").fit(
        np.repeat(X[300:], weight, axis=0), np.repeat(y[300:], weight)
    )
    assert a.threshold_ == b.threshold_
    assert np.isclose(a.calibration_coverage_, b.calibration_coverage_)


def test_pandas_input_keeps_feature_names():
    X, y = _blobs()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = pd.Series(np.array(["x", "y", "z"])[y])
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X has feature names" warnings
        clf = RejectOptionClassifier(pipe, reject_label="?", random_state=0)
        clf.fit(frame, labels, sample_weight=np.ones(len(y)))
        pred = clf.predict(frame)
    assert list(clf.feature_names_in_) == list(frame.columns)
    # pandas 3 strings: classes_ of dtype object, predictions too
    assert clf.n_features_in_ == 8 and pred.dtype == clf.classes_.dtype
    assert set(pred) <= {"x", "y", "z", "?"}


def test_grid_search_over_coverage_and_clone_and_pickle():
    X, y = _blobs()
    clf = RejectOptionClassifier(LogisticRegression(), random_state=0)
    search = GridSearchCV(
        clf, {"coverage": [0.5, 0.8, 1.0], "estimator__C": [0.1, 1.0]}, cv=3
    ).fit(X, y)
    # plain accuracy counts rejections as errors: answering everything wins
    assert search.best_params_["coverage"] == 1.0
    selective = GridSearchCV(
        clf, {"coverage": [0.5, 1.0]}, cv=3, scoring=make_scorer(selective_accuracy)
    ).fit(X, y)
    assert selective.best_params_["coverage"] == 0.5
    assert clone(clf).get_params()["coverage"] is None
    # as the last step of a Pipeline, tuned through it
    pipe = make_pipeline(StandardScaler(), clf)
    piped = GridSearchCV(pipe, {"rejectoptionclassifier__coverage": [0.7, 0.9]}, cv=3)
    piped.fit(X, y)
    assert piped.best_params_ == {"rejectoptionclassifier__coverage": 0.9}
    assert 0.05 < np.mean(piped.predict(X) == -1) < 0.2
    fitted = search.best_estimator_
    restored = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(restored.predict(X), fitted.predict(X))


# ---------------------------------------------------------- on the networks
@pytest.fixture(scope="module")
def digits():
    X, y = load_mnist_sample(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(X))  # the sample is sorted
    X, y = X[order], y[order]
    return X[:2500], y[:2500], X[2500:3500], y[2500:3500]


@pytest.fixture(scope="module")
def cnn(digits):
    X, y, _, _ = digits
    return CNNClassifier(max_epochs=3, random_state=0).fit(X[:2000], y[:2000])


def test_penultimate_features_against_the_module(cnn, digits):
    X = digits[2][:50]
    features = penultimate_features(cnn, X)
    module = cnn.module_.eval()
    x = torch.as_tensor(X, dtype=torch.float32).reshape(-1, 1, 28, 28)
    with torch.no_grad():
        expected = module.head[:-1](module.features(cnn._standardize(x)))
    assert features.shape == (50, 128)
    assert np.allclose(features, expected.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="neural network classifiers"):
        penultimate_features(LogisticRegression().fit(X, digits[3][:50]), X)


def test_feature_space_scores_against_plain_numpy(cnn, digits, monkeypatch):
    X, y, X_test, _ = digits
    fit_X, fit_y, cal_X, cal_y = X[:2000], y[:2000], X[2000:], y[2000:]
    train = penultimate_features(cnn, fit_X).astype(np.float64)
    test = penultimate_features(cnn, X_test[:200]).astype(np.float64)

    # Mahalanobis: written out with a loop over the classes
    means = np.array([train[fit_y == c].mean(axis=0) for c in range(10)])
    precision = LedoitWolf(assume_centered=True).fit(train - means[fit_y]).precision_
    distances = np.array(
        [np.einsum("ij,jk,ik->i", test - m, precision, test - m) for m in means]
    )
    # kNN: the k-th smallest distance between normalised features
    unit = train / np.linalg.norm(train, axis=1, keepdims=True)
    unit_test = test / np.linalg.norm(test, axis=1, keepdims=True)
    ranked = np.sort(np.linalg.norm(unit_test[:, None] - unit[None], axis=2), axis=1)
    for score, expected in (
        ("mahalanobis", -distances.min(0)),
        ("knn", -ranked[:, 0]),  # k = 1, the default
        ("knn5", -ranked[:, 4]),
    ):
        if score == "knn5":
            monkeypatch.setattr(_scores, "KNN_NEIGHBORS", 5)
            score = "knn"
        state = fit_score(score, cnn, fit_X, fit_y)
        got = compute_score(score, ModelOutputs(cnn, X_test[:200]), state)
        assert np.allclose(got, expected, rtol=1e-4, atol=1e-4)
        # prefit: the statistics come from a stratified half of (X, y), the
        # threshold from the other half
        clf = RejectOptionClassifier(cnn, trust_score=score, cv="prefit")
        clf.fit(cal_X, cal_y)
        assert clf.n_calibration_ == 250


def test_noise_scores_lower_than_digits(cnn, digits):
    """The issue's finding, on a small CNN: uniform noise and inverted digits
    get probabilities as high as digits, the feature-space scores tell them
    apart (measured: max_proba AUROC 0.86 / 0.21, mahalanobis 0.996 / 1.0)."""
    _, _, X_test, y_test = digits
    rng = np.random.RandomState(0)
    noise = rng.randint(0, 256, (300, 784)).astype(np.uint8)
    inverted = 255 - X_test[:300]
    X, y = digits[0][2000:], digits[1][2000:]
    auroc, rejected = {}, {}
    for score in ("max_proba", "margin", "energy", "mahalanobis", "knn"):
        clf = RejectOptionClassifier(
            cnn, trust_score=score, cv="prefit", coverage=0.95, random_state=0
        ).fit(X, y)
        digits_in = clf.score_samples(X_test)
        assert np.isfinite(digits_in).all()
        auroc[score] = min(
            ood_auroc(digits_in, clf.score_samples(noise)),
            ood_auroc(digits_in, clf.score_samples(inverted)),
        )
        rejected[score] = (
            np.mean(clf.predict(np.r_[noise, inverted]) == -1),
            np.mean(clf.predict(X_test) == -1),
        )
    best = max(auroc, key=auroc.get)
    assert auroc[best] > 0.95, auroc
    assert auroc["max_proba"] < 0.9, auroc  # the baseline is fooled
    assert rejected[best][0] > 0.8 and rejected[best][1] < 0.15, rejected


def test_pipeline_mlp_split_and_energy(digits):
    X, y, X_test, y_test = digits
    pipe = make_pipeline(
        Normalizer255(),
        MLPNetClassifier(module__hidden_units=(32,), max_epochs=2, random_state=0),
    )
    clf = RejectOptionClassifier(pipe, trust_score="knn", random_state=0)
    clf.fit(X[:1500], y[:1500])
    assert clf.n_calibration_ == 300 and clf.score_params_["bank"].shape == (1200, 32)
    assert np.isclose(clf.calibration_coverage_, 0.95, atol=0.02)
    assert 0.8 < np.mean(~clf.predict_reject(X_test)) <= 1.0
    energy = RejectOptionClassifier(pipe, trust_score="energy", random_state=0)
    energy.fit(X[:1500], y[:1500])
    logits = energy.decision_function(X_test[:20])
    assert np.allclose(energy.score_samples(X_test[:20]), logsumexp(logits, axis=1),
                       atol=1e-5)  # fmt: skip


def test_save_load_round_trip_with_a_fitted_cnn(cnn, digits, tmp_path):
    X, y, X_test, _ = digits
    clf = RejectOptionClassifier(
        cnn, trust_score="mahalanobis", cv="prefit", reject_label="?", random_state=0
    ).fit(X[2000:], y[2000:])
    path = save(clf, tmp_path / "reject.skmnist")
    loaded = load(path)
    assert isinstance(loaded, RejectOptionClassifier)
    assert isinstance(loaded.estimator_, CNNClassifier)
    assert loaded.threshold_ == clf.threshold_
    assert np.array_equal(loaded.score_samples(X_test), clf.score_samples(X_test))
    assert np.array_equal(loaded.predict(X_test), clf.predict(X_test))
    assert np.array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test))
    hopeless = RejectOptionClassifier(cnn, cv="prefit", max_risk=1e-4)
    with pytest.warns(UserWarning):
        hopeless.fit(X[2000:2100], y[2000:2100])
    assert load(save(hopeless, tmp_path / "inf.skmnist")).threshold_ == np.inf


def test_onnx_export_applies_the_threshold_in_the_graph(digits, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from sklearn_mnist import export_onnx
    from sklearn_mnist.export import verify_onnx
    from sklearn_mnist.export._verify import onnx_session

    X, y, X_test, _ = digits
    pipe = make_pipeline(
        Normalizer255(),
        MLPNetClassifier(module__hidden_units=(16,), max_epochs=1, random_state=0),
    ).fit(X[:1000], y[:1000])
    clf = RejectOptionClassifier(pipe, cv="prefit", coverage=0.8, reject_label="?").fit(
        X[1000:2000], y[1000:2000]
    )
    path = export_onnx(clf, tmp_path / "reject.onnx")
    session = onnx_session(path)
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["reject_label"] == '"?"' and meta["reject_score"] == "max_proba"
    assert meta["model"].startswith("RejectOptionClassifier(Pipeline(")
    proba, index, accepted = session.run(None, {"input": X_test.astype(np.float32)})
    assert np.array_equal(~accepted, clf.predict_reject(X_test))
    assert 0.1 < np.mean(~accepted) < 0.35
    assert verify_onnx(clf, path, X_test).passed
    for score in ("knn", "energy"):
        clf.set_params(trust_score=score).fit(X[1000:2000], y[1000:2000])
        with pytest.raises(ValueError, match=f"this one uses '{score}'"):
            export_onnx(clf, tmp_path / "no.onnx")
    assert not (tmp_path / "no.onnx").exists()


def test_top_level_exports():
    for name in ("RejectOptionClassifier", "coverage_risk_curve", "ood_auroc",
                 "selective_accuracy"):  # fmt: skip
        assert getattr(sklearn_mnist, name) is getattr(sklearn_mnist.reject, name)
        assert name in sklearn_mnist.__all__
    from sklearn_mnist import metrics

    assert metrics.plot_coverage_risk is plot_coverage_risk
    assert os.path.basename(sklearn_mnist.reject.__file__) == "__init__.py"
