"""The training step: the path a training batch takes through the classifier.

``TrainingMixin`` holds the skorch hooks a training batch goes through, in the
order it goes through them::

    train_step_single -> transform_batch (augment, adversarial)
                      -> infer (standardise, module; autocast)
                      -> get_loss (weights, TRADES) -> backward
    on_grad_computed (unscale float16 gradients) -> _step_optimizer

Per-fit state (the batch random source, the loss scaler) comes from the
net's ``fit_state`` (``_fitting.py``). It is a mixin of
:class:`~sklearn_mnist.neural_net.BaseImageClassifier` only.
"""

import numpy as np
import torch
from torch import nn

from ._batch import (
    apply_batch_transform,
    batch_norm_frozen,
    craft_kl_batch,
    kl_divergence,
)
from ._precision import MixedPrecision

__all__ = ["TrainingMixin"]

_MODULE_TRAIN = nn.Module.train


class TrainingMixin:
    """The training-step hooks of :class:`BaseImageClassifier`."""

    def _mixed_precision(self):
        """The fit's :class:`MixedPrecision` (with its loss scaler) during fit,
        a scaler-free one for inference otherwise."""
        state = self.fit_state
        if state is not None and state.precision is not None:
            return state.precision
        return MixedPrecision(self.mixed_precision, self.device_)

    def infer(self, x, **fit_params):
        x = torch.as_tensor(x, device=self.device_)
        if x.is_floating_point():
            x = self._standardize(x)
        with self._mixed_precision().autocast():
            out = self.module_(x, **fit_params)
        return out if self.mixed_precision is None else out.float()

    def _standardize(self, x):
        """Map raw pixels to what the module takes (the hook subclasses change)."""
        return (x - self.input_mean_) * (1.0 / self.input_std_)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The mean loss of the batch, weighted by the sample weights if any.

        ``y_true`` is the labels, or ``(labels, weights)`` when the fit has
        sample weights (:class:`TensorBatchIterator` yields them so). In
        training with ``adversarial_loss="trades"``, each sample's loss is
        ``CE(f(x), y) + adversarial_beta * KL(f(x) || f(x_adv))`` (Zhang et al.
        2019), ``x_adv`` crafted from the clean batch ``X`` by
        ``adversarial.transform_batch_kl``.
        """
        labels, weight = y_true if isinstance(y_true, tuple) else (y_true, None)
        labels = torch.as_tensor(labels, device=self.device_)
        losses = self.criterion_(self._log_proba_input(y_pred), labels)
        if training and X is not None and self._trades():
            robust = self.adversarial_beta * self._trades_kl(y_pred, X)
            losses = losses + (robust if losses.ndim else robust.mean())
        if training and X is not None and self.outlier_exposure is not None:
            losses = losses + self._outlier_loss(X)
        if losses.ndim == 0:  # a criterion that reduces by itself
            if weight is not None:
                raise ValueError(
                    f"sample weights need per-sample losses, but criterion "
                    f"{type(self.criterion_).__name__} returns one number; use a "
                    "criterion with a reduction parameter"
                )
            loss = losses
        elif weight is None:
            loss = losses.mean()
        else:  # weights scaled to mean 1 over the training set (loss_weights)
            loss = (losses * weight.to(losses.device, losses.dtype)).mean()
        return self._mixed_precision().scale(loss) if training else loss

    def _log_proba_input(self, y_pred):
        """What the criterion takes: log-probabilities for ``NLLLoss`` (as
        skorch's classifier, whose modules then output probabilities)."""
        if isinstance(self.criterion_, nn.NLLLoss):
            return torch.log(y_pred + torch.finfo(y_pred.dtype).eps)
        return y_pred

    def _log_proba(self, y_pred):
        if isinstance(self.criterion_, nn.NLLLoss):
            return self._log_proba_input(y_pred.float())
        return torch.log_softmax(y_pred.float(), dim=1)

    def _outlier_loss(self, X):
        """Outlier exposure's term for the batch ``X`` (a number, added to
        every sample's loss: its mean is the term itself). The outliers' forward
        pass leaves batch-norm running statistics alone."""
        exposure = self.outlier_exposure
        rng = self._batch_rng()
        X_out = exposure.outlier_batch(X, self.input_range_, rng)
        with batch_norm_frozen(self.module_):
            log_q = self._log_proba(self.infer(X_out))
        return exposure.loss(log_q)

    def _trades(self):
        return self.adversarial is not None and self.adversarial_loss == "trades"

    def _trades_kl(self, y_pred, X):
        """TRADES' ``KL(f(x) || f(x_adv))`` per sample; 0 past the first
        ``adversarial_ratio`` of the batch.

        ``x_adv`` is crafted from the clean probabilities of this very forward
        pass; the adversarial forward pass leaves batch-norm running statistics
        alone, so only the clean pass updates them, as in plain training.
        """
        log_p = self._log_proba(y_pred)
        kl = log_p.new_zeros(len(log_p))
        k = int(round(self.adversarial_ratio * len(X)))
        if not k:
            return kl
        rng = self._batch_rng()
        X_adv = craft_kl_batch(self.adversarial, self, X[:k], log_p[:k], rng)
        with batch_norm_frozen(self.module_):
            log_q = self._log_proba(self.infer(X_adv))
        return torch.cat([kl_divergence(log_p[:k], log_q), kl[k:]])

    def _batch_rng(self):
        """The fit's source of batch randomness (a fresh one outside fit)."""
        state = self.fit_state
        if state is None or state.batch_rng is None:
            return np.random.RandomState()
        return state.batch_rng

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.fit_state.precision = MixedPrecision(
            self.mixed_precision, self.device_, training=True
        )

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.n_iter_ = len(self.history)

    def on_grad_computed(self, net, named_parameters, **kwargs):
        # skorch notifies the net before any callback: callbacks (gradient
        # clipping) see true gradients, not float16-scaled ones.
        self._mixed_precision().unscale(self._optimizer_list())

    def _optimizer_list(self):
        return [getattr(self, name + "_") for name in self._optimizers]

    def _step_optimizer(self, step_fn):
        state = self.fit_state
        precision = None if state is None else state.precision
        if precision is None or precision.scaler is None or step_fn is None:
            return super()._step_optimizer(step_fn)
        step_fn()
        precision.step(self._optimizer_list())

    def _set_training(self, training=True):
        # skorch sets the mode of every module on every batch (twice per
        # training step here); Module.train walks and re-assigns them all,
        # about 2% of a default CNN fit. Skipped only where every submodule
        # is in the mode already and none has a train() of its own (which
        # may do more, as TransferModule's keeps its backbone frozen).
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, nn.Module) and any(
                m.training != training
                or type(m).train is not _MODULE_TRAIN
                or "train" in vars(m)
                for m in module.modules()
            ):
                module.train(training)

    def train_step_single(self, batch, **fit_params):
        Xi, yi = batch
        self._set_training(True)
        labels = yi[0] if isinstance(yi, tuple) else yi
        Xi = self.transform_batch(Xi, labels)
        return super().train_step_single((Xi, yi), **fit_params)

    def transform_batch(self, X, y):
        """The one place a training batch changes before the loss.

        ``augment_`` distorts the whole batch, then, with
        ``adversarial_loss="replace"``, ``adversarial`` replaces the first
        ``adversarial_ratio`` of it (batches are shuffled) by adversarial
        examples against the network as it trains. Both are batch transforms
        (``transform_batch(net, X, y, *, random_state)``). TRADES keeps the
        clean batch here and adds its robust term in :meth:`get_loss`.
        """
        rng = self._batch_rng()
        augment = getattr(self, "augment_", None)
        if augment is not None:
            X = apply_batch_transform(augment, self, X, y, rng)
        if self.adversarial is not None and self.adversarial_loss == "replace":
            k = int(round(self.adversarial_ratio * len(X)))
            if k:
                X_adv = apply_batch_transform(self.adversarial, self, X[:k], y[:k], rng)
                X = torch.cat([X_adv, X[k:]]) if k < len(X) else X_adv
        return X
