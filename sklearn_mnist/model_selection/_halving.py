"""Successive-halving searches whose surviving candidates keep training.

scikit-learn's ``HalvingGridSearchCV`` with ``resource="...__max_epochs"``
clones and retrains every survivor from scratch in every round, so a candidate
that reaches the last round of budgets 2, 8, 24 epochs pays 34 epochs for 24.
Here each (candidate, fold) model is kept between rounds and trained on for
the epochs the round adds (:class:`~sklearn_mnist.model_selection._trainee.
Trainee`), with its learning-rate cycle planned for the full budget from the
start, so the last round's models are what one fit of the full budget gives.
"""

import math
import numbers
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import sklearn
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.utils import check_random_state, indexable
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d
from tqdm.auto import tqdm

from .._compat import BaseSearchCV, Interval, StrOptions, fit_context, num_samples
from ._trainee import Trainee, classifier_prefix, final_classifier, with_budget

__all__ = ["HalvingGridSearchCV", "HalvingRandomSearchCV"]


def _advance(trainee, X, y, epochs, sample_weight, scorer, each, error_score, train):
    """Train ``trainee`` to ``epochs`` and score it (and on its training part
    with ``train``): ``(trainee, test score, seconds, train score)``. A
    failure gives ``error_score`` (or raises with ``error_score="raise"``)."""
    if trainee.error_ is None:
        try:
            trainee.train_to(
                X, y, epochs, sample_weight=sample_weight, scorer=scorer, each=each
            )
            score, score_time = trainee.score(X, y, scorer)
            train_score = trainee.score(X, y, scorer, train=True)[0] if train else None
            return trainee, score, score_time, train_score
        except Exception as exc:
            if isinstance(error_score, str) and error_score == "raise":
                raise
            trainee.error_ = f"{type(exc).__name__}: {exc}"
    return trainee, error_score, 0.0, error_score


class _ContinuedHalving(BaseSearchCV):
    """The search itself; subclasses only say which candidates there are."""

    _parameter_constraints = {
        **{
            key: value
            for key, value in BaseSearchCV._parameter_constraints.items()
            if key != "pre_dispatch"
        },
        "factor": [Interval(Real, 1, None, closed="neither")],
        "max_resources": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "min_resources": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"exhaust", "smallest"}),
        ],
        "aggressive_elimination": ["boolean"],
        "early_stopping": ["boolean"],
        "schedule": [StrOptions({"budget", "round"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self, estimator, *, factor=3, max_resources="auto",
        min_resources="exhaust", aggressive_elimination=False,
        early_stopping=False, schedule="budget", cv=5, scoring=None,
        refit=True, error_score=np.nan, return_train_score=False,
        random_state=None, n_jobs=None, verbose=0,
    ):  # fmt: skip
        super().__init__(
            estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
            verbose=verbose, error_score=error_score,
            return_train_score=return_train_score,
        )  # fmt: skip
        self.factor = factor
        self.max_resources = max_resources
        self.min_resources = min_resources
        self.aggressive_elimination = aggressive_elimination
        self.early_stopping = early_stopping
        self.schedule = schedule
        self.random_state = random_state

    def _get_param_names(self):  # pre_dispatch is BaseSearchCV's only
        return sorted(p for p in super()._get_param_names() if p != "pre_dispatch")

    # ------------------------------------------------------------ the schedule
    def _schedule(self, n_candidates):
        """``(n_resources per round, n_candidates per round)``, the last round
        at ``max_resources_`` (scikit-learn starts from ``min_resources``, so
        its last round may stop short of the budget)."""
        factor = self.factor
        n_required = 1 + math.floor(math.log(n_candidates, factor) + 1e-9)
        if self.min_resources == "exhaust":
            self.min_resources_ = max(
                1, self.max_resources_ // factor ** (n_required - 1)
            )
        elif self.min_resources == "smallest":
            self.min_resources_ = 1
        else:
            self.min_resources_ = int(self.min_resources)
        if self.min_resources_ > self.max_resources_:
            raise ValueError(
                f"min_resources_={self.min_resources_} is greater than "
                f"max_resources_={self.max_resources_} (epochs)"
            )
        ratio = self.max_resources_ // self.min_resources_
        n_possible = 1 + math.floor(math.log(ratio, factor) + 1e-9)
        if self.aggressive_elimination:
            n_iterations = n_required
        else:
            n_iterations = min(n_possible, n_required)
        self.n_required_iterations_ = n_required
        self.n_possible_iterations_ = n_possible
        self.n_iterations_ = n_iterations
        resources = [
            max(
                self.min_resources_,
                int(self.max_resources_ // factor ** (n_iterations - 1 - i)),
            )
            for i in range(n_iterations)
        ]
        counts = [n_candidates]
        for _ in range(n_iterations - 1):
            counts.append(math.ceil(counts[-1] / factor))
        return resources, counts

    # ------------------------------------------------------------------ fit
    @fit_context(prefer_skip_nested_validation=False)  # estimator: not yet
    def fit(self, X, y, sample_weight=None, *, groups=None):
        """Run the search: every candidate for the first round's epochs on
        every fold, the best ``1 / factor`` of them on for the next round's,
        and so on; then refit the best on all the data.

        Parameters
        ----------
        X : array-like, images or flat rows, as the classifier takes them
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Routed to the classifier's ``partial_fit`` / ``fit`` (the
            training parts of the folds, and the refit).
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter (``GroupKFold``...), as in
            scikit-learn's searches.

        Returns
        -------
        self
        """
        _, classifier = final_classifier(self.estimator)
        if self.early_stopping and self.schedule != "budget":
            raise ValueError(
                "early_stopping=True scores each epoch of one learning-rate "
                "cycle: it needs schedule='budget'"
            )
        scorer = check_scoring(self.estimator, self.scoring)
        if not callable(scorer) or isinstance(self.scoring, list | tuple | dict):
            raise ValueError(
                "a halving search ranks candidates by one score: pass one "
                f"scoring, got {self.scoring!r}"
            )
        X, y = indexable(X, y)
        y = column_or_1d(np.asarray(y), warn=True)
        check_classification_targets(y)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (num_samples(X),):
                raise ValueError(
                    f"sample_weight has shape {sample_weight.shape}, expected "
                    f"({num_samples(X)},)"
                )
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        self.n_splits_ = len(splits)
        self.scorer_ = scorer
        self.multimetric_ = False
        n_train = int(np.median([len(train) for train, _ in splits]))
        if self.max_resources == "auto":
            self.max_resources_ = clone(classifier).planned_epochs(n_train)
        else:
            self.max_resources_ = int(self.max_resources)
        candidates = list(self._candidates())
        if not candidates:
            raise ValueError("the search has no candidate parameters")
        epochs_key = classifier_prefix(self.estimator) + "max_epochs"
        if any(epochs_key in params for params in candidates):
            raise ValueError(
                f"{epochs_key} is the resource this search hands out (rounds of "
                "epochs up to max_resources), not a parameter to search: remove "
                "it from the candidates and set max_resources instead"
            )
        resources, counts = self._schedule(len(candidates))
        self.n_resources_, self.n_candidates_ = [], []
        classes = np.unique(y)
        trainees = {
            i: [
                Trainee(with_budget(self.estimator, params, self.max_resources_),
                        train, test, classes, self.schedule)
                for train, test in splits
            ]
            for i, params in enumerate(candidates)
        }  # fmt: skip
        total = sum(
            n * self.n_splits_ * (r - (resources[i - 1] if i else 0))
            for i, (r, n) in enumerate(zip(resources, counts, strict=True))
        )
        alive = list(range(len(candidates)))
        rows = {"params": [], "out": [], "iter": [], "n_resources": [], "best": []}
        with tqdm(
            total=total, unit="epoch", desc=type(self).__name__, file=sys.stderr,
            disable=not self.verbose,
        ) as bar:  # fmt: skip
            for itr, n_resources in enumerate(resources):
                self.n_resources_.append(n_resources)
                self.n_candidates_.append(len(alive))
                last = itr == len(resources) - 1
                added = n_resources - (resources[itr - 1] if itr else 0)
                done = self._round(
                    trainees, alive, X, y, n_resources, sample_weight, scorer,
                    each=last and self.early_stopping, bar=bar, added=added,
                )  # fmt: skip
                means = {}
                for ci in alive:
                    out = done[ci]
                    rows["params"].append(candidates[ci])
                    rows["out"].extend(out)
                    rows["iter"].append(itr)
                    rows["n_resources"].append(n_resources)
                    best = [t.best_epoch() for t in trainees[ci]] if last else []
                    rows["best"].append(float(np.median(best)) if best else np.nan)
                    means[ci] = np.mean([o["test_scores"] for o in out])
                if not last:
                    alive = self._top(alive, means, math.ceil(len(alive) / self.factor))
        self.n_remaining_candidates_ = len(alive)
        errors = [o["fit_error"] for o in rows["out"] if o["fit_error"] is not None]
        if len(errors) == len(rows["out"]):
            raise ValueError(
                f"All the {len(errors)} fits failed; the first error: {errors[0]}"
            )
        results = self._format_results(
            rows["params"], self.n_splits_, rows["out"],
            more_results={
                "iter": rows["iter"],
                "n_resources": rows["n_resources"],
                "median_best_epoch": rows["best"],
            },
        )  # fmt: skip
        self.cv_results_ = results
        self._finish(results, trainees, candidates, X, y, sample_weight)
        return self

    def _round(
        self, trainees, alive, X, y, epochs, sample_weight, scorer, each, bar, added
    ):
        """Train every living (candidate, fold) to ``epochs``; per candidate,
        the list of scikit-learn's per-split result dicts."""
        tasks = [(ci, fi) for ci in alive for fi in range(self.n_splits_)]
        outputs = Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(_advance)(
                trainees[ci][fi], X, y, epochs, sample_weight, scorer, each,
                self.error_score, self.return_train_score,
            )
            for ci, fi in tasks
        )  # fmt: skip
        done = {ci: [] for ci in alive}
        for (ci, fi), output in zip(tasks, outputs, strict=True):
            trainee, score, score_time, train_score = output
            bar.update(added)
            trainees[ci][fi] = trainee  # a worker's copy, trained on
            if trainee.error_ is not None:
                warnings.warn(
                    f"a fit of candidate {ci} failed on fold {fi}; its score is "
                    f"error_score={self.error_score!r}: {trainee.error_}",
                    FitFailedWarning,
                    stacklevel=4,
                )
            result = {
                "fit_time": trainee.fit_time_,
                "score_time": score_time,
                "test_scores": score,
                "fit_error": trainee.error_,
            }
            if self.return_train_score:
                result["train_scores"] = train_score
            done[ci].append(result)
        return done

    @staticmethod
    def _top(alive, means, k):
        """The ``k`` best candidates by mean score (failed ones last; ties by
        their order, as scikit-learn's ``_top_k``)."""
        key = {ci: (-np.inf if np.isnan(m) else m) for ci, m in means.items()}
        return sorted(sorted(alive, key=lambda ci: -key[ci])[:k])

    @staticmethod
    def _select_best_index(refit, refit_metric, results):
        """Among the last round's candidates (scikit-learn's rule for halving
        searches), unless ``refit`` is a callable."""
        if callable(refit):
            best = refit(results)
            if not isinstance(best, numbers.Integral):
                raise TypeError("best_index_ returned is not an integer")
            if not 0 <= best < len(results["params"]):
                raise IndexError("best_index_ index out of range")
            return int(best)
        last = np.flatnonzero(results["iter"] == np.max(results["iter"]))
        scores = results["mean_test_score"][last]
        return int(last[0 if np.isnan(scores).all() else np.nanargmax(scores)])

    def _finish(self, results, trainees, candidates, X, y, sample_weight):
        """``best_*`` attributes, the refit budget and the refit."""
        import time

        self.best_index_ = self._select_best_index(self.refit, "score", results)
        self.best_params_ = results["params"][self.best_index_]
        self.best_score_ = float(results["mean_test_score"][self.best_index_])
        index = candidates.index(self.best_params_)
        if self.early_stopping and not np.isnan(
            results["median_best_epoch"][self.best_index_]
        ):
            folds = [t.best_epoch() for t in trainees[index]]
            self.refit_epochs_ = int(math.ceil(np.median(folds)))
        else:
            self.refit_epochs_ = int(results["n_resources"][self.best_index_])
        if self.refit is False:
            return
        model = with_budget(self.estimator, self.best_params_, self.refit_epochs_)
        fit_params = {}
        if sample_weight is not None:
            routed = sklearn.get_config().get("enable_metadata_routing", False)
            prefix = "" if routed else classifier_prefix(model)
            fit_params[prefix + "sample_weight"] = sample_weight
        start = time.perf_counter()
        self.best_estimator_ = model.fit(X, y, **fit_params)
        self.refit_time_ = time.perf_counter() - start


class HalvingGridSearchCV(_ContinuedHalving):
    """Successive halving over a grid, survivors training on between rounds.

    The interface of scikit-learn's ``HalvingGridSearchCV`` for the package's
    classifiers (and Pipelines ending in one), with training epochs as the
    resource: round ``i`` trains every surviving (candidate, fold) model up
    to ``n_resources_[i]`` epochs *in all*, continuing the model of the round
    before (scikit-learn clones and retrains each survivor from scratch).
    Each model's learning-rate cycle is planned for ``max_resources_``
    epochs from its first epoch, so the last round's models are those one
    fit of the full budget gives; earlier rounds rank candidates part-way
    through that cycle. Then the best ``ceil(n / factor)`` candidates go on.

    Parameters
    ----------
    estimator : classifier or Pipeline
        ``CNNClassifier()``, ``MLPNetClassifier()``, ``TransferClassifier()``
        or a Pipeline ending in one. Its ``max_epochs`` is the search's to set.
    param_grid : dict or list of dicts
        As in ``GridSearchCV``; not ``max_epochs`` (the resource).
    factor : float > 1, default=3
        The fraction ``1 / factor`` of candidates kept each round, and the
        growth of the budget between rounds.
    max_resources : int or "auto", default="auto"
        The full budget in epochs; ``"auto"``: what the estimator's fit
        would train on a fold's training part (``planned_epochs``; 24 for
        ``CNNClassifier()`` on 6,667 images, 3 on 40,000).
    min_resources : int, "exhaust" or "smallest", default="exhaust"
        The fewest epochs a round may train. The rounds are counted back
        from the full budget (round ``i`` of ``n``: ``max_resources_ //
        factor ** (n - 1 - i)`` epochs, at least ``min_resources_``), so the
        last one always trains ``max_resources_``; as in scikit-learn, the
        number of rounds is what the candidates need (``1 +
        log_factor(n_candidates)``), fewer when ``max_resources_ /
        min_resources_`` allows fewer. ``"exhaust"``: ``max_resources_ //
        factor ** (rounds needed - 1)``; ``"smallest"``: 1.
    aggressive_elimination : bool, default=False
        As scikit-learn's: extra rounds at ``min_resources_`` until few
        enough candidates are left.
    early_stopping : bool, default=False
        In the last round, score every fold's model on that fold's held-out
        part after each epoch and record its best epoch; the refit trains
        for the median of the best candidate's folds (``refit_epochs_``), so
        the budget is chosen without the refit's data ever being held out.
    schedule : {"budget", "round"}, default="budget"
        ``"budget"``: each model's learning-rate cycle is planned for the full
        budget from its first epoch and every round continues it (one
        ``partial_fit`` pass per epoch); ``"round"``: every round runs a
        cycle of its own over the epochs it adds (a warm-started ``fit``),
        so each round's models are evaluated after a decay. Measured in
        ``benchmarks/RESULTS.md`` ("Tuning"); see there for the choice.
    cv, scoring, refit, error_score, return_train_score, n_jobs, verbose
        As in scikit-learn's searches (one scoring only; ``refit`` may be a
        callable). ``return_train_score`` (default False here: it costs a
        prediction on every training part each round) adds the train scores.
        ``n_jobs`` runs the (candidate, fold) models of a round in parallel
        (joblib, the Dask backend included); each fit then takes its share
        of the cores. ``verbose > 0``: one tqdm bar of the whole search's
        epochs, with its ETA, on stderr.
    random_state : int, RandomState instance or None
        Unused by the grid (kept for the interface); seeds the candidates of
        :class:`HalvingRandomSearchCV`.

    Attributes
    ----------
    cv_results_ : dict
        scikit-learn's keys, one row per (round, candidate), with ``iter``,
        ``n_resources`` (epochs in all at that round) and
        ``median_best_epoch`` (last round with ``early_stopping``; NaN
        otherwise).
    best_estimator_, best_params_, best_score_, best_index_, refit_time_
        As in scikit-learn; the best among the last round's candidates.
    refit_epochs_ : int
        The epochs the refit trained.
    n_resources_, n_candidates_ : list of int
        Epochs and candidates of each round.
    n_iterations_, n_possible_iterations_, n_required_iterations_,
    min_resources_, max_resources_, n_remaining_candidates_, n_splits_,
    scorer_, multimetric_
        As in scikit-learn's halving searches.

    Examples
    --------
    >>> from sklearn_mnist import CNNClassifier, load_mnist_sample
    >>> from sklearn_mnist.model_selection import HalvingGridSearchCV
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> search = HalvingGridSearchCV(
    ...     CNNClassifier(module__channels=(4, 8), module__hidden_units=16,
    ...                   random_state=0),
    ...     {"lr": [3e-3, 1e-2]}, cv=2, max_resources=2, factor=2,
    ... ).fit(X[::10], y[::10])
    >>> search.n_resources_, search.n_candidates_
    ([1, 2], [2, 1])
    """

    _parameter_constraints = {
        **_ContinuedHalving._parameter_constraints,
        "param_grid": [dict, list],
    }

    def __init__(
        self, estimator, param_grid, *, factor=3, max_resources="auto",
        min_resources="exhaust", aggressive_elimination=False,
        early_stopping=False, schedule="budget", cv=5, scoring=None,
        refit=True, error_score=np.nan, return_train_score=False,
        random_state=None, n_jobs=None, verbose=0,
    ):  # fmt: skip
        super().__init__(
            estimator, factor=factor, max_resources=max_resources,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination,
            early_stopping=early_stopping, schedule=schedule, cv=cv,
            scoring=scoring, refit=refit,
            error_score=error_score, return_train_score=return_train_score,
            random_state=random_state, n_jobs=n_jobs, verbose=verbose,
        )  # fmt: skip
        self.param_grid = param_grid

    def _candidates(self):
        return ParameterGrid(self.param_grid)


class HalvingRandomSearchCV(_ContinuedHalving):
    """Successive halving over sampled candidates, survivors training on.

    :class:`HalvingGridSearchCV` with candidates drawn from
    ``param_distributions`` as scikit-learn's ``HalvingRandomSearchCV``
    draws them (``ParameterSampler`` seeded by ``random_state``).

    Parameters
    ----------
    estimator : classifier or Pipeline
    param_distributions : dict or list of dicts
        Lists or scipy.stats distributions (with ``rvs``).
    n_candidates : int or "exhaust", default="exhaust"
        Candidates of the first round; ``"exhaust"``: as many as the
        budget allows, ``max_resources_ // min_resources_`` (with
        ``min_resources="exhaust"`` meaning 1 epoch here).
    factor, max_resources, min_resources, aggressive_elimination,
    early_stopping, schedule, cv, scoring, refit, error_score,
    return_train_score, random_state, n_jobs, verbose
        As in :class:`HalvingGridSearchCV`.
    """

    _parameter_constraints = {
        **_ContinuedHalving._parameter_constraints,
        "param_distributions": [dict, list],
        "n_candidates": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"exhaust"}),
        ],
    }

    def __init__(
        self, estimator, param_distributions, *, n_candidates="exhaust",
        factor=3, max_resources="auto", min_resources="smallest",
        aggressive_elimination=False, early_stopping=False, schedule="budget",
        cv=5, scoring=None, refit=True, error_score=np.nan,
        return_train_score=False, random_state=None, n_jobs=None, verbose=0,
    ):  # fmt: skip
        super().__init__(
            estimator, factor=factor, max_resources=max_resources,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination,
            early_stopping=early_stopping, schedule=schedule, cv=cv,
            scoring=scoring, refit=refit,
            error_score=error_score, return_train_score=return_train_score,
            random_state=random_state, n_jobs=n_jobs, verbose=verbose,
        )  # fmt: skip
        self.param_distributions = param_distributions
        self.n_candidates = n_candidates

    def _candidates(self):
        n = self.n_candidates
        if isinstance(n, str):
            first = 1 if isinstance(self.min_resources, str) else self.min_resources
            n = max(1, self.max_resources_ // first)
        rng = check_random_state(self.random_state)
        return ParameterSampler(self.param_distributions, n, random_state=rng)
