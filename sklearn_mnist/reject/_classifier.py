"""``RejectOptionClassifier``: a classifier that may answer "I don't know"."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import (
    ShuffleSplit,
    StratifiedShuffleSplit,
    check_cv,
)
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state, get_tags, indexable
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from .._compat import (
    HasMethods,
    Interval,
    StrOptions,
    check_sample_weight,
    fit_context,
    num_samples,
    safe_indexing,
)
from ._scores import (
    SCORES,
    ModelOutputs,
    check_score_supported,
    compute_score,
    fit_score,
    needs_fit,
)
from ._threshold import coverage_threshold, risk_threshold

__all__ = ["RejectOptionClassifier"]

DEFAULT_COVERAGE = 0.95


def _estimator_has(attr):
    def check(self):
        estimator = getattr(self, "estimator_", self.estimator)
        getattr(estimator, attr)  # AttributeError: the method is not available
        return True

    return check


def _label_dtype(classes, reject_label):
    """A dtype that holds the classes and the reject label as they are."""
    reject = np.asarray(reject_label)
    if reject.ndim == 0:
        if (
            classes.dtype.kind in "iuf"
            and reject.dtype.kind in "iuf"
            and not isinstance(reject_label, bool | np.bool_)
        ):
            return np.result_type(classes.dtype, reject.dtype)
        if classes.dtype.kind == "U" and reject.dtype.kind == "U":
            return np.result_type(classes.dtype, reject.dtype)
    return np.dtype(object)


def _fit_estimator(estimator, X, y, sample_weight):
    if sample_weight is None:
        return estimator.fit(X, y)
    if isinstance(estimator, Pipeline):
        name = estimator.steps[-1][0]
        return estimator.fit(X, y, **{f"{name}__sample_weight": sample_weight})
    return estimator.fit(X, y, sample_weight=sample_weight)


def _take(values, indices):
    return None if values is None else safe_indexing(values, indices)


class RejectOptionClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Add a reject option to a classifier: answer, or return ``reject_label``.

    The classifier predicts as ``estimator`` does where a trust score of the
    sample reaches ``threshold_``, and returns ``reject_label`` elsewhere.
    The threshold is chosen on data the model was not trained on, for a
    target ``coverage`` (the fraction of samples answered) or a target
    ``max_risk`` (the error rate among the samples answered), each with a
    finite-sample guarantee (see Notes).

    Parameters
    ----------
    estimator : classifier
        One of the package's classifiers (``CNNClassifier``,
        ``MLPNetClassifier``, ``TransferClassifier``), a ``Pipeline`` ending
        in one, or any scikit-learn classifier (with ``predict_proba`` for the
        probability scores, ``decision_function`` for ``"energy"``). With
        ``cv="prefit"`` it must be fitted and is used as it is; otherwise it
        is cloned and fitted.
    trust_score : {"max_proba", "margin", "energy", "mahalanobis", "knn"} or \
callable, default="max_proba"
        The trust score, higher for samples more likely to be answered
        correctly (:meth:`score_samples`):

        - ``"max_proba"``: the largest predicted probability (Hendrycks and
          Gimpel 2017);
        - ``"margin"``: the largest minus the second largest probability;
        - ``"energy"``: ``logsumexp`` of the logits, the negative free energy
          (Liu et al. 2020). The package's networks give their logits; other
          estimators' ``decision_function`` is taken as logits (a
          one-column binary ``d`` as the logits ``(0, d)``);
        - ``"mahalanobis"``: minus the smallest Mahalanobis distance of the
          network's penultimate-layer features to the class means, with one
          covariance shared by the classes (Lee et al. 2018; Ledoit-Wolf
          shrinkage, so that it is defined at any data size), both estimated
          on the training part;
        - ``"knn"``: minus the distance of the L2-normalised penultimate-layer
          features to the nearest of the training part's (Sun et al. 2022
          with k = 1, best of 1, 5, 10, 20, 50 measured; a random 10,000 of
          them at most);
        - a callable ``trust_score(estimator, X) -> ndarray of shape (n_samples,)``
          given the fitted model.

        ``"mahalanobis"`` and ``"knn"`` need one of the package's neural
        networks (alone or at the end of a ``Pipeline``); a ``ValueError``
        says so at ``fit`` for other estimators. Which score separates what,
        measured with a CNN fitted on 4,000 sample digits (8-15 epochs),
        AUROC of 1,000 held-out digits against uniform noise / inverted
        digits / tiles of scikit-image's photographs: ``"max_proba"`` 0.08 /
        0.84 / 0.26 and ``"margin"`` 0.42 / 0.89 / 0.77 (noise looks *more*
        trustworthy than digits), ``"mahalanobis"`` 1.00 / 1.00 / 1.00 (but
        0.55 for blank images), ``"knn"`` 0.998 / 0.999 / 0.998 (1.00 for
        blank images). Among digits, ``"margin"`` and ``"max_proba"`` find
        the model's own errors best: error rate 0.2-0.8% at 95% coverage,
        1.1-1.9% for ``"knn"`` and ``"mahalanobis"``, 2.4% answering all.
    coverage : float in (0, 1], default=None
        Target fraction of accepted samples. None: 0.95, unless ``max_risk``
        is set. Give one of ``coverage`` and ``max_risk``.
    max_risk : float in (0, 1), default=None
        Target error rate among accepted samples (selective risk).
    confidence : float in (0, 1), default=0.9
        For ``max_risk``: the probability, over the draw of the calibration
        set, that the error rate among accepted samples is at most
        ``max_risk`` (``1 - delta`` in Learn then Test, ``1 - alpha`` in
        MAPIE's risk control).
    reject_label : object, default=-1
        What :meth:`predict` returns for a rejected sample; must not be one
        of the classes. Predictions have the dtype of ``classes_`` when it
        holds the reject label (integer classes and an integer label, float
        classes and a number, strings and a string), else ``object``.
    cv : float in (0, 1), int, cross-validation generator, iterable or \
"prefit", default=0.2
        How the model and the threshold get data:

        - float: a stratified split (split conformal): ``estimator`` is
          fitted on ``1 - cv`` of the data, the threshold calibrated on the
          other ``cv``, and the model that calibrated is the one that
          predicts. The guarantees hold.
        - int, splitter or iterable of splits (cross-fitting): the threshold
          is calibrated on out-of-fold scores of one model per fold, then
          ``estimator`` is fitted on all the data. Every sample serves both,
          but the predicting model is not the one that scored the
          calibration samples: the guarantees are approximate (as for
          cross-conformal prediction, Vovk 2015).
        - ``"prefit"``: ``estimator`` is fitted already (on other data);
          ``fit(X, y)`` only calibrates on ``(X, y)``. The guarantees hold.
          ``"mahalanobis"`` and ``"knn"`` then fit their statistics on a
          stratified half of ``(X, y)`` and calibrate on the other half.
    random_state : int, RandomState instance or None, default=None
        Seeds the split of ``cv=float`` and of ``"prefit"`` with a
        feature-space score, and the kNN bank's subset. The estimator's own
        ``random_state`` is its own.

    Attributes
    ----------
    estimator_ : classifier
        The fitted model (``estimator`` itself with ``cv="prefit"``).
    threshold_ : float
        A sample is accepted when its score is ``>= threshold_`` (``-inf``:
        every sample; ``inf``: none).
    classes_ : ndarray of shape (n_classes,)
        The classes of ``estimator_`` (the reject label is not one).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When ``estimator_`` has them.
    calibration_coverage_ : float
        Fraction of the calibration samples accepted at ``threshold_``.
    calibration_risk_ : float
        Error rate among the accepted calibration samples (NaN when none is
        accepted).
    n_calibration_ : int
        Number of calibration samples.
    score_params_ : dict or None
        What a feature-space score keeps of the training part
        (``"mahalanobis"``: whitened class ``means`` and the ``whitening``
        matrix; ``"knn"``: the normalised feature ``bank``).

    See Also
    --------
    sklearn.model_selection.FixedThresholdClassifier : a fixed decision
        threshold for a binary classifier.
    sklearn.model_selection.TunedThresholdClassifierCV : a binary decision
        threshold tuned by cross-validation.
    selective_accuracy, coverage_risk_curve, ood_auroc : metrics.

    Notes
    -----
    **Coverage** (split conformal). With ``n`` calibration scores and
    ``k = floor((n + 1) (1 - coverage))``, ``threshold_`` is the ``k``-th
    smallest (``-inf`` when ``k = 0``). For a new sample exchangeable with
    the calibration samples, ``P(accepted) >= coverage``, and below
    ``coverage + 1 / (n + 1)`` for scores without ties (Vovk et al. 2005;
    Angelopoulos and Bates 2023, section 1). This is a guarantee on average
    over calibration sets; on a given one the acceptance rate is
    ``Beta(n + 1 - k, k)`` distributed around it (Vovk 2012).

    **Risk** (Learn then Test, Angelopoulos et al. 2021). Candidate ``m``
    accepts the ``m`` calibration samples of highest score (threshold just
    above the ``(m + 1)``-th highest; counts inside a group of tied scores are
    skipped). Its null hypothesis "error rate among accepted samples >
    max_risk" is tested with the exact binomial p-value ``P(Binomial(m,
    max_risk) <= e_m)`` of its ``e_m`` calibration errors (equivalently: its
    one-sided Clopper-Pearson upper bound is <= ``max_risk``, the bound of
    Geifman and El-Yaniv 2017's SGR). Given the ``(m + 1)``-th highest score,
    the top ``m`` samples of i.i.d. data are i.i.d. above it, so ``e_m`` is
    binomial with exactly the error rate of that candidate's threshold: each
    p-value is valid for the threshold it certifies. The candidates are
    tested by fixed-sequence testing from five start points (multi-start, a
    Bonferroni split of ``1 - confidence``): the starts are evenly spaced
    from ``m0`` (the fewest samples whose test can pass at level ``(1 -
    confidence) / 5``, ``ceil(log((1 - confidence) / 5) / log(1 -
    max_risk))``) to ``n``; from each, ``m, m + 1, ...`` are tested at
    level ``(1 - confidence) / 5`` until the first that fails.
    ``threshold_`` accepts the samples of the largest ``m`` that passed.
    For i.i.d. data, the error rate among accepted samples is then at most
    ``max_risk`` with probability at least ``confidence`` over the
    calibration set, when that rate does not decrease as more samples are
    accepted (the order fixed-sequence testing needs; a good score has it).
    One start (plain fixed-sequence testing) is stopped for good by a
    single confident error among the first candidates, where tests are
    weakest; five starts certified more coverage on real scores (see
    ``_threshold.risk_threshold``).
    When no candidate passes (too few calibration samples, or a
    ``max_risk`` below the model's error on its most confident samples),
    every sample is rejected, with a warning.

    Sample weights weigh the fit of ``estimator`` and count as frequencies
    in the calibration. The threshold is fitted on the scores as
    ``score_samples`` computes them; ``score`` (``ClassifierMixin``'s) is
    the accuracy counting rejected samples as errors; the accuracy on the
    accepted samples is :func:`selective_accuracy`.

    References
    ----------
    Angelopoulos, Bates, Candès, Jordan, Lei (2021). Learn then Test:
    Calibrating predictive algorithms to achieve risk control. arXiv:2110.01052.
    Angelopoulos, Bates (2023). Conformal prediction: a gentle introduction.
    Foundations and Trends in Machine Learning 16(4).
    Geifman, El-Yaniv (2017). Selective classification for deep neural
    networks. NeurIPS.
    Hendrycks, Gimpel (2017). A baseline for detecting misclassified and
    out-of-distribution examples in neural networks. ICLR.
    Lee, Lee, Lee, Shin (2018). A simple unified framework for detecting
    out-of-distribution samples and adversarial attacks. NeurIPS.
    Liu, Wang, Owens, Li (2020). Energy-based out-of-distribution detection.
    NeurIPS.
    Sun, Ming, Zhu, Li (2022). Out-of-distribution detection with deep
    nearest neighbors. ICML.
    Vovk (2012). Conditional validity of inductive conformal predictors. ACML.
    Vovk (2015). Cross-conformal predictors. Annals of Mathematics and
    Artificial Intelligence 74.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mnist import CNNClassifier, load_mnist_sample
    >>> from sklearn_mnist.reject import RejectOptionClassifier
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = RejectOptionClassifier(
    ...     CNNClassifier(max_epochs=2, random_state=0),
    ...     trust_score="mahalanobis", coverage=0.9, random_state=0)
    >>> clf = clf.fit(X[::4], y[::4])
    >>> noise = np.random.RandomState(0).randint(0, 256, (100, 784))
    >>> bool((clf.predict(noise) == -1).mean() > 0.9)
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "trust_score": [StrOptions(set(SCORES)), callable],
        "coverage": [None, Interval(Real, 0, 1, closed="right")],
        "max_risk": [None, Interval(Real, 0, 1, closed="neither")],
        "confidence": [Interval(Real, 0, 1, closed="neither")],
        "reject_label": "no_validation",
        "cv": [
            StrOptions({"prefit"}),
            Interval(Real, 0, 1, closed="neither"),
            Interval(Integral, 2, None, closed="left"),
            "cv_object",
        ],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        *,
        trust_score="max_proba",
        coverage=None,
        max_risk=None,
        confidence=0.9,
        reject_label=-1,
        cv=0.2,
        random_state=None,
    ):
        self.estimator = estimator
        self.trust_score = trust_score
        self.coverage = coverage
        self.max_risk = max_risk
        self.confidence = confidence
        self.reject_label = reject_label
        self.cv = cv
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    @fit_context(prefer_skip_nested_validation=False)  # estimator: not yet
    def fit(self, X, y, sample_weight=None):
        """Fit the model (unless prefit) and choose the threshold.

        Parameters
        ----------
        X : array-like
            Input as ``estimator`` takes it (rows, images, a DataFrame).
        y : array-like of shape (n_samples,)
            Labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to ``estimator.fit`` (to the last step of a Pipeline) and
            counted as frequencies in the calibration.

        Returns
        -------
        self
        """
        if self.coverage is not None and self.max_risk is not None:
            raise ValueError(
                f"give a target coverage or a target max_risk, not both (got "
                f"coverage={self.coverage!r}, max_risk={self.max_risk!r})"
            )
        check_score_supported(self.trust_score, self.estimator)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None"
            )
        if isinstance(y, list | tuple) or getattr(y, "ndim", 1) != 1:
            y = column_or_1d(y, warn=True)
        X, y = indexable(X, np.asarray(y))
        check_consistent_length(X, y)
        if sample_weight is not None:
            sample_weight = check_sample_weight(
                sample_weight, np.empty((num_samples(X), 0)), dtype=np.float64,
                ensure_non_negative=True,
            )  # fmt: skip
        rng = check_random_state(self.random_state)
        if self.cv == "prefit":
            scores, errors, weight = self._calibrate_prefit(X, y, sample_weight, rng)
        elif isinstance(self.cv, Real) and not isinstance(self.cv, Integral):
            scores, errors, weight = self._calibrate_split(X, y, sample_weight, rng)
        else:
            scores, errors, weight = self._calibrate_crossfit(X, y, sample_weight, rng)
        self.classes_ = np.asarray(self.estimator_.classes_)
        self._check_reject_label()
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.estimator_, name):
                setattr(self, name, getattr(self.estimator_, name))
            else:
                self.__dict__.pop(name, None)
        self._set_threshold(scores, errors, weight)
        return self

    def _check_reject_label(self):
        try:
            clash = any(bool(c == self.reject_label) for c in self.classes_.tolist())
        except (TypeError, ValueError):
            clash = False
        if clash:
            raise ValueError(
                f"reject_label={self.reject_label!r} is one of the classes "
                f"{self.classes_.tolist()!r}; choose a label the data does not use "
                "(e.g. -1, None or 'reject')"
            )

    def _outputs(self, estimator, state, X, y):
        outputs = ModelOutputs(estimator, X)
        scores = compute_score(self.trust_score, outputs, state)
        errors = np.asarray(outputs.predictions != y, dtype=np.float64)
        return scores, errors

    def _split(self, y, test_size, rng):
        seed = rng.randint(np.iinfo(np.int32).max)
        try:
            split = StratifiedShuffleSplit(1, test_size=test_size, random_state=seed)
            return next(split.split(np.zeros((len(y), 1)), y))
        except ValueError:  # a class with one sample, or fewer samples than classes
            split = ShuffleSplit(1, test_size=test_size, random_state=seed)
            return next(split.split(np.zeros((len(y), 1)), y))

    def _calibrate_prefit(self, X, y, sample_weight, rng):
        check_is_fitted(self.estimator)
        self.estimator_ = self.estimator
        if needs_fit(self.trust_score):
            fit_idx, cal_idx = self._split(y, 0.5, rng)
            self.score_params_ = fit_score(
                self.trust_score, self.estimator_, _take(X, fit_idx), y[fit_idx], rng
            )
        else:
            cal_idx = np.arange(len(y))
            self.score_params_ = None
        scores, errors = self._outputs(
            self.estimator_, self.score_params_, _take(X, cal_idx), y[cal_idx]
        )
        return scores, errors, _take(sample_weight, cal_idx)

    def _fit_part(self, X, y, sample_weight, train, rng):
        X_train, y_train = _take(X, train), y[train]
        model = _fit_estimator(
            clone(self.estimator), X_train, y_train, _take(sample_weight, train)
        )
        state = fit_score(self.trust_score, model, X_train, y_train, rng)
        return model, state

    def _calibrate_split(self, X, y, sample_weight, rng):
        train, cal = self._split(y, self.cv, rng)
        self.estimator_, self.score_params_ = self._fit_part(
            X, y, sample_weight, train, rng
        )
        scores, errors = self._outputs(
            self.estimator_, self.score_params_, _take(X, cal), y[cal]
        )
        return scores, errors, _take(sample_weight, cal)

    def _calibrate_crossfit(self, X, y, sample_weight, rng):
        splitter = check_cv(self.cv, y, classifier=True)
        scores = np.full(len(y), np.nan)
        errors = np.zeros(len(y))
        seen = np.zeros(len(y), dtype=bool)
        for train, test in splitter.split(np.zeros((len(y), 1)), y):
            model, state = self._fit_part(X, y, sample_weight, train, rng)
            scores[test], errors[test] = self._outputs(
                model, state, _take(X, test), y[test]
            )
            seen[test] = True
        everything = np.arange(len(y))
        self.estimator_, self.score_params_ = self._fit_part(
            X, y, sample_weight, everything, rng
        )
        return scores[seen], errors[seen], _take(sample_weight, np.flatnonzero(seen))

    def _set_threshold(self, scores, errors, weight):
        self.n_calibration_ = len(scores)
        if self.max_risk is None:
            coverage = DEFAULT_COVERAGE if self.coverage is None else self.coverage
            self.threshold_ = coverage_threshold(scores, coverage, weight)
        else:
            self.threshold_ = risk_threshold(
                scores, errors, self.max_risk, 1 - self.confidence, weight
            )
            if self.threshold_ == np.inf:
                warnings.warn(
                    f"no threshold is certified for max_risk={self.max_risk} at "
                    f"confidence={self.confidence} by the {len(scores)} calibration "
                    "samples (too few, or more errors than that among the most "
                    "confident ones): every sample will be rejected. Use more "
                    "calibration data (cv), a larger max_risk or a lower confidence",
                    UserWarning,
                    stacklevel=4,
                )
        weight = np.ones(len(scores)) if weight is None else weight
        accepted = scores >= self.threshold_
        total, n_accepted = weight.sum(), weight[accepted].sum()
        self.calibration_coverage_ = float(n_accepted / total) if total else 0.0
        self.calibration_risk_ = (
            float((weight * errors)[accepted].sum() / n_accepted)
            if n_accepted
            else float("nan")
        )

    # -------------------------------------------------------------- predict
    def _scores_and_predictions(self, X):
        check_is_fitted(self)
        outputs = ModelOutputs(self.estimator_, X)
        scores = compute_score(self.trust_score, outputs, self.score_params_)
        return scores, outputs.predictions

    def score_samples(self, X):
        """The trust score of each sample; higher is more trustworthy.

        Samples with ``score_samples(X) >= threshold_`` are accepted.

        Returns
        -------
        scores : ndarray of shape (n_samples,), float64
        """
        return self._scores_and_predictions(X)[0]

    def predict_reject(self, X):
        """Which samples :meth:`predict` rejects.

        Returns
        -------
        rejected : ndarray of shape (n_samples,), bool
        """
        return ~(self.score_samples(X) >= self.threshold_)

    def predict(self, X):
        """The estimator's prediction, or ``reject_label`` where rejected.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_`` and ``reject_label``, in a dtype that
            holds both (``object`` when none does).
        """
        scores, predictions = self._scores_and_predictions(X)
        accepted = scores >= self.threshold_
        dtype = _label_dtype(self.classes_, self.reject_label)
        out = np.empty(len(scores), dtype=dtype)
        out.fill(self.reject_label)
        out[accepted] = np.asarray(predictions)[accepted]
        return out

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """``estimator_.predict_proba(X)``: columns follow ``classes_``;
        rejection does not change them."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """``estimator_.predict_log_proba(X)``."""
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """``estimator_.decision_function(X)``."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        tags.non_deterministic = inner.non_deterministic
        return tags
