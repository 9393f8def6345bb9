"""One (candidate, fold) model of a halving search, trained in pieces.

A :class:`Trainee` is fitted on a fold's training part in several calls, one
per round it survives: each call trains the epochs the round adds, from where
the last call stopped, with the learning-rate schedule planned for the whole
budget (the classifier's ``max_epochs`` is the search's ``max_resources_``,
and each epoch is one ``partial_fit`` pass over the fold's training part). A
pipeline's transformers are fitted once, on the first call; only its final
classifier trains on.
"""

import time

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from .._compat import safe_indexing
from ..neural_net import BaseImageClassifier

__all__ = ["Trainee", "classifier_prefix", "final_classifier", "with_budget"]


def final_classifier(estimator):
    """``(transformers, classifier)``: the steps before the package's
    classifier that ends ``estimator`` (a Pipeline's), or ``None`` and the
    classifier itself.

    Raises
    ------
    ValueError
        If ``estimator`` is not one of the package's classifiers or a Pipeline
        ending in one.
    """
    if isinstance(estimator, Pipeline):
        last = estimator.steps[-1][1]
        if isinstance(last, BaseImageClassifier):
            return Pipeline(estimator.steps[:-1]), last
    elif isinstance(estimator, BaseImageClassifier):
        return None, estimator
    raise ValueError(
        "a halving search here continues training between rounds, which needs "
        "one of the package's classifiers (CNNClassifier, MLPNetClassifier, "
        "TransferClassifier) or a Pipeline ending in one, got "
        f"{type(estimator).__name__}; use scikit-learn's HalvingGridSearchCV "
        "for other estimators"
    )


def classifier_prefix(estimator):
    """The prefix of the final classifier's parameters (``"cnn__"`` or "")."""
    if isinstance(estimator, Pipeline):
        return estimator.steps[-1][0] + "__"
    return ""


def with_budget(estimator, params, epochs):
    """A clone of ``estimator`` with ``params`` whose classifier trains
    ``epochs`` epochs (its learning-rate cycle planned for them)."""
    model = clone(estimator).set_params(**params)
    return model.set_params(**{classifier_prefix(model) + "max_epochs": int(epochs)})


class Trainee:
    """One candidate on one fold, trained further each round it survives.

    Parameters
    ----------
    estimator : classifier or Pipeline
        The candidate (parameters set), ``max_epochs`` the full budget.
    train, test : ndarray of int
        The fold's indices.
    classes : ndarray
        Every class of the search's ``y`` (a fold may miss one).
    schedule : {"budget", "round"}
        ``"budget"``: one ``partial_fit`` pass per epoch, the learning-rate
        cycle planned for the full budget (``max_epochs``); ``"round"``: a
        warm-started ``fit`` per round, each round a cycle of its own.
    """

    def __init__(self, estimator, train, test, classes, schedule="budget"):
        self.estimator = estimator
        self.schedule = schedule
        self.train = train
        self.test = test
        self.classes = classes
        self.epochs_ = 0
        self.scores_ = []  # (epochs, score) after each evaluated epoch
        self.error_ = None
        self.fit_time_ = 0.0

    def _parts(self):
        return final_classifier(self.estimator)

    def _features(self, X, rows):
        transformers, _ = self._parts()
        X = safe_indexing(X, rows)
        if transformers is None or not transformers.steps:
            return X
        return transformers.transform(X)

    def train_to(self, X, y, epochs, *, sample_weight=None, scorer=None, each=False):
        """Train until ``epochs`` epochs in all; with ``each``, score the
        held-out part after every epoch (``scores_``)."""
        start = time.perf_counter()
        transformers, classifier = self._parts()
        rows = self.train
        y_train = y[rows]
        if self.epochs_ == 0 and transformers is not None and transformers.steps:
            transformers.fit(safe_indexing(X, rows), y_train)
        X_train = self._features(X, rows)
        weight = None if sample_weight is None else sample_weight[rows]
        if self.schedule == "round" and epochs > self.epochs_:
            # a cycle of its own for each round's epochs (warm-started fits)
            classifier.set_params(
                max_epochs=epochs - self.epochs_, warm_start=True, classes=self.classes
            )
            classifier.fit(X_train, y_train, sample_weight=weight)
            self.epochs_ = epochs
        while self.epochs_ < epochs:
            classifier.partial_fit(
                X_train, y_train, classes=self.classes, sample_weight=weight
            )
            self.epochs_ += 1
            if each and scorer is not None:
                self.fit_time_ += time.perf_counter() - start
                self.scores_.append((self.epochs_, self.score(X, y, scorer)[0]))
                start = time.perf_counter()
        self.fit_time_ += time.perf_counter() - start
        return self

    def score(self, X, y, scorer, *, train=False):
        """``(score, seconds)`` of the model on the fold's held-out part (or,
        with ``train``, its training part)."""
        start = time.perf_counter()
        rows = self.train if train else self.test
        value = scorer(self.estimator, safe_indexing(X, rows), y[rows])
        return float(value), time.perf_counter() - start

    def best_epoch(self):
        """The evaluated epoch with the best held-out score (the earliest of
        equal ones); the epochs trained when none was evaluated."""
        if not self.scores_:
            return self.epochs_
        epochs, scores = zip(*self.scores_, strict=True)
        return int(epochs[int(np.argmax(scores))])
