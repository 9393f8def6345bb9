"""``FGSMPerturber``: FGSM / PGD as a scikit-learn transformer around a model."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_array, check_is_fitted

from .._compat import Interval, StrOptions
from ..neural_net import BaseImageClassifier, batch_norm_frozen
from ..utils import (
    flat_for_container,
    rebalance,
    same_feature_names_out,
    thread_budget,
)
from ._attack import attack_tensor, default_step, kl_from
from ._range import attack_range, check_clip_values

__all__ = ["FGSMPerturber", "differentiable_model"]


def differentiable_model(estimator):
    """``(logits_fn, classifier)`` for one of our classifiers or a Pipeline of our
    transformers ending in one; ``logits_fn`` maps raw input tensors to logits.

    Raises
    ------
    ValueError
        For any other estimator.
    """
    steps = []
    final = estimator
    if isinstance(estimator, Pipeline):
        *head, (_, final) = estimator.steps
        for name, step in head:
            if step in (None, "passthrough"):
                continue
            if not hasattr(step, "torch_transform"):
                raise ValueError(
                    f"FGSMPerturber needs gradients through every Pipeline step; "
                    f"step {name!r} ({type(step).__name__}) has no torch_transform. "
                    "Supported: Normalizer255, Flatten, RandomAffineAugmenter"
                )
            steps.append(step)
    if not isinstance(final, BaseImageClassifier):
        raise ValueError(
            "FGSMPerturber attacks sklearn_mnist classifiers (MLPNetClassifier, "
            "CNNClassifier, TransferClassifier), alone or at the end of a Pipeline "
            f"of sklearn_mnist transformers; got {type(final).__name__}"
        )

    def logits_fn(x):
        for step in steps:
            x = step.torch_transform(x)
        return final.torch_logits(x)

    return logits_fn, final


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):
        return False
    return True


class FGSMPerturber(TransformerMixin, BaseEstimator):
    """Adversarial examples (FGSM, or PGD with ``n_iter > 1``) as a transformer.

    ``x_adv = x + eps * sign(grad_x J(theta, x, y))`` (Goodfellow et al. 2015);
    with ``n_iter > 1``, repeated steps projected back onto the L-infinity ball of
    radius ``eps`` around ``x`` (Madry et al. 2018). Gradients flow through
    ``Normalizer255`` / ``Flatten`` in a Pipeline, so the attack is on the raw
    input the model takes, in its units.

    The units come from the fitted model, never from the data being attacked
    (:func:`attack_range`): ``eps`` and ``step_size`` are fractions of the
    model's valid input range, and adversarial examples are clipped to it. For
    a Pipeline starting with ``Normalizer255`` that is 0..255; for a classifier
    alone, the pixel range of its training data (``input_range_``), or, for data
    that are not pixels (standardised, say), the smallest to largest training
    value. ``clip_values=(low, high)`` sets the range instead.

    Fitting follows :class:`~sklearn.feature_selection.SelectFromModel`: a fitted
    ``estimator`` is used as it is (``transform`` works without ``fit``); an
    unfitted one is cloned and fitted by ``fit(X, y)``, so the perturber also
    works inside ``GridSearchCV`` and ``cross_val_score``.

    Parameters
    ----------
    estimator : classifier or Pipeline
        One of sklearn_mnist's classifiers, or a Pipeline of sklearn_mnist
        transformers ending in one.
    eps : float, default=0.1
        Radius as a fraction of the valid input range (``clip_values``):
        ``eps=0.3`` is the literature's 0.3 whether the model takes 0..255 or
        0..1 pixels, i.e. 76.5 grey levels or 0.3.
    n_iter : int, default=1
        1 for FGSM; more for PGD.
    step_size : float, default=None
        Step as a fraction of the range; default ``eps`` for FGSM and
        ``2.5 * eps / n_iter`` for PGD.
    random_start : bool, default=False
        Start from a uniform random point in the ball.
    targeted : bool, default=False
        Move towards the labels given to :meth:`perturb` instead of away.
    clip_values : "auto" or (float, float), default="auto"
        Valid input range ``(low, high)`` in the units the model takes: two
        finite numbers with ``low < high``. ``"auto"`` is the range of the
        fitted model (:func:`attack_range`); in adversarial training, of the
        network being fitted.
    batch_size : int, default=512
        Samples per gradient computation (results do not depend on it).
    random_state : int or None, default=None
        Seeds the random start.

    Attributes
    ----------
    estimator_ : estimator
        The model attacked (``estimator`` itself when it was fitted already).
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn_mnist import CNNClassifier, load_mnist_sample
    >>> from sklearn_mnist.adversarial import FGSMPerturber
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=2, random_state=0).fit(X[::5], y[::5])
    >>> X_adv = FGSMPerturber(clf, eps=0.2).transform(X[:100])
    >>> bool(abs(X_adv - X[:100]).max() <= 0.2 * 255 + 1e-3)
    True
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "eps": [Interval(Real, 0, 1, closed="both")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "step_size": [None, Interval(Real, 0, 1, closed="right")],
        "random_start": ["boolean"],
        "targeted": ["boolean"],
        "clip_values": [StrOptions({"auto"}), tuple, list],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "random_state": [None, Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        estimator=None,
        *,
        eps=0.1,
        n_iter=1,
        step_size=None,
        random_start=False,
        targeted=False,
        clip_values="auto",
        batch_size=512,
        random_state=None,
    ):
        self.estimator = estimator
        self.eps = eps
        self.n_iter = n_iter
        self.step_size = step_size
        self.random_start = random_start
        self.targeted = targeted
        self.clip_values = clip_values
        self.batch_size = batch_size
        self.random_state = random_state

    def _validate_params(self):
        super()._validate_params()
        check_clip_values(self.clip_values)

    def fit(self, X, y=None):
        """Use the fitted estimator as it is, or fit a clone on ``(X, y)``."""
        self._validate_params()
        if self.estimator is None:
            raise ValueError("FGSMPerturber needs an estimator to attack")
        differentiable_model(self.estimator)  # fail early, before any fitting
        if _is_fitted(self.estimator):
            self.estimator_ = self.estimator
        else:
            if y is None:
                raise ValueError(
                    "FGSMPerturber.fit needs y to fit the unfitted estimator"
                )
            self.estimator_ = clone(self.estimator).fit(X, y)
        self.n_features_in_ = differentiable_model(self.estimator_)[1].n_features_in_
        return self

    def _model(self):
        if hasattr(self, "estimator_"):
            return self.estimator_
        if self.estimator is not None and _is_fitted(self.estimator):
            return self.estimator
        raise NotFittedError(
            "This FGSMPerturber is not fitted and its estimator is not fitted "
            "either; call fit(X, y) or pass a fitted estimator"
        )

    def transform(self, X, y=None):
        """Adversarial version of ``X``.

        Without ``y``, the labels are the model's own predictions, so no true
        label leaks inside a Pipeline; with ``y`` it is :meth:`perturb`.

        Returns
        -------
        X_adv : ndarray of float32, same shape as ``X``, in the units of ``X``
        """
        return flat_for_container(self, self.perturb(X, y))

    def perturb(self, X, y=None):
        """Adversarial version of ``X`` against labels ``y``.

        Parameters
        ----------
        X : array-like, any layout the model accepts
        y : array-like of labels, default=None
            True labels (untargeted) or target labels (``targeted=True``).
            None uses the model's predictions (untargeted only).
        """
        self._validate_params()
        model = self._model()
        logits_fn, clf = differentiable_model(model)
        X = check_array(X, allow_nd=True, dtype=None, ensure_all_finite=True)
        expected = getattr(self, "n_features_in_", None)
        if expected is not None and math.prod(X.shape[1:]) != expected:
            raise ValueError(
                f"X has {math.prod(X.shape[1:])} features, but FGSMPerturber is "
                f"expecting {expected} features as input."
            )
        if self.targeted and y is None:
            raise ValueError("targeted=True needs target labels: perturb(X, y=targets)")
        labels = None if y is None else clf.label_encoder_.transform(np.asarray(y))
        params = self.attack_params(attack_range(model))
        generator = torch.Generator()
        if self.random_state is not None:
            generator.manual_seed(self.random_state)
        else:
            generator.seed()
        out = np.empty(X.shape, dtype=np.float32)
        with thread_budget():
            for start in range(0, len(X), self.batch_size):
                rebalance()  # fewer threads while other processes keep cores busy
                stop = start + self.batch_size
                x0 = torch.from_numpy(np.asarray(X[start:stop], dtype=np.float32))
                x0 = x0.to(clf.device_)
                if labels is None:
                    with torch.no_grad():
                        target = logits_fn(x0).argmax(dim=1)
                else:
                    target = torch.as_tensor(labels[start:stop], device=clf.device_)
                x_adv = attack_tensor(
                    logits_fn, x0, target, generator=generator, **params
                )
                out[start:stop] = x_adv.cpu().numpy()
        return out

    def transform_batch(self, net, X, y, *, random_state=None):
        """Adversarial training's batch transform (``adversarial=`` of a classifier).

        Adversarial examples for the training batch ``X`` (raw input, in the
        units ``net`` is being fitted on) against the network as it trains,
        with the training data's range (:func:`attack_range` of ``net``) as
        ``clip_values="auto"``. Batch-norm running statistics are left as they
        were: only the training step's own forward pass updates them.
        """
        params = self.attack_params(attack_range(net))
        with batch_norm_frozen(net.module_):
            return attack_tensor(net.infer, X, y, **params)

    def transform_batch_kl(self, net, X, proba, *, random_state=None):
        """TRADES' batch transform (``adversarial_loss="trades"`` of a classifier).

        Moves the training batch ``X`` within the ball of radius ``eps`` to
        increase ``KL(proba || softmax(net.infer(X_adv)))``, the divergence of
        the network's prediction from its clean probabilities ``proba``
        (Zhang et al. 2019), with this perturber's ``eps``, ``n_iter``,
        ``step_size``, ``random_start`` and ``clip_values`` (``estimator`` and
        ``targeted`` are ignored). The divergence has no gradient at ``X``
        itself, so without ``random_start`` the search starts from ``X`` plus
        Gaussian noise of 0.001 of the range, as in Zhang et al.'s code.
        Batch-norm running statistics are left as they were.

        Parameters
        ----------
        net : fitted or fitting classifier
        X : torch.Tensor
            Raw input in the units ``net`` is fitted on.
        proba : torch.Tensor of shape (n_samples, n_classes)
            The network's probabilities on ``X`` (no gradient needed).
        random_state : ignored
            The random start uses the torch RNG, which the fit seeds.

        Returns
        -------
        X_adv : torch.Tensor, detached, same shape as ``X``
        """
        params = self.attack_params(attack_range(net))
        low, high = params["clip"]
        params.update(targeted=False, loss_fn=kl_from, init_std=1e-3 * (high - low))
        with batch_norm_frozen(net.module_):
            return attack_tensor(net.infer, X, proba.detach(), **params)

    def attack_params(self, auto_range):
        """Keyword arguments of :func:`attack_tensor` in absolute units.

        ``auto_range`` is the input range used when ``clip_values="auto"``
        (:func:`attack_range` of the model).
        """
        explicit = check_clip_values(self.clip_values)
        lo, hi = auto_range if explicit is None else explicit
        width = float(hi) - float(lo)
        step = self.step_size
        step = default_step(self.eps, self.n_iter) if step is None else step
        return dict(
            eps=self.eps * width,
            step=step * width,
            n_iter=self.n_iter,
            random_start=self.random_start,
            targeted=self.targeted,
            clip=(float(lo), float(hi)),
        )

    def get_feature_names_out(self, input_features=None):
        """One output per input feature (a perturbed pixel), with the same names."""
        # Without fit, the (fitted) model attacked says what the inputs are.
        owner = self if hasattr(self, "n_features_in_") else self._model()
        return same_feature_names_out(owner, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform works without fit when the estimator is fitted already.
        tags.requires_fit = not _is_fitted(self.estimator)
        tags.non_deterministic = self.random_start and self.random_state is None
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
