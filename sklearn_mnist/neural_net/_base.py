"""The one skorch-based base class that every image classifier shares."""

import contextlib
import logging
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.callbacks import (
    EarlyStopping,
    EpochTimer,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)
from skorch.dataset import ValidSplit
from torch import nn

from ..utils import (
    announce_fit,
    image_layout,
    sample_shape,
    thread_budget,
    to_channels_first,
    validate_images,
)
from ._batch import (
    apply_batch_transform,
    batch_norm_frozen,
    craft_kl_batch,
    kl_divergence,
)
from ._callbacks import OneCycle, ThreadShare
from ._data import InMemoryDataset, TensorBatchIterator
from ._device import resolve_device
from ._inputs import (
    check_input_range,
    encode_labels,
    fit_label_encoder,
    loss_weights,
    pixel_stats,
    training_weights,
)
from ._optim import AdamW
from ._persist import save_safetensors
from ._plan import AutoDefaults, plan_training
from ._precision import MixedPrecision

logger = logging.getLogger(__name__)

__all__ = ["BaseImageClassifier"]

_PREDICT_BATCH = 1024


def _noop(*args, **kwargs):
    pass


class BaseImageClassifier(NeuralNetClassifier):
    """skorch ``NeuralNetClassifier`` with scikit-learn's contracts for images.

    Subclasses only choose the ``module`` and the defaults. What this class adds
    to skorch, each through skorch's own hooks:

    - input validation (``n_features_in_``, ``feature_names_in_``, clear
      ``ValueError`` for NaN, infinity, wrong feature counts, one class) and
      every parameter checked at fit (``_parameter_constraints``);
    - flat rows ``(n, h*w)``, images ``(n, h, w)``, ``(n, c, h, w)`` or
      channels-last ``(n, h, w, c)`` with 1, 3 or 4 channels, uint8 or float,
      NumPy or pandas; ``predict`` takes the layout seen at fit or the same
      images channels-first/last, and refuses other shapes;
    - labels of any type, encoded in ``fit`` and decoded by ``predict``;
      ``sample_weight`` and ``class_weight``;
    - pixels standardised with the training set's mean and standard deviation
      inside ``infer`` (so 0..255 and 0..1 inputs give the same model, and
      gradients with respect to the raw pixels are available); a warning when
      ``predict`` gets data scaled differently;
    - training length, batch size and augmentation that adapt to the data size
      (``"auto"``, see ``_plan.py``), scikit-learn-style early stopping;
    - a fast data path (:class:`InMemoryDataset` / :class:`TensorBatchIterator`)
      in ``get_dataset`` / ``get_iterator``;
    - one path for a training batch: :meth:`transform_batch` (augmentation,
      then adversarial examples; see ``sklearn_mnist/neural_net/_batch.py``),
      then skorch's step, whose :meth:`get_loss` adds TRADES' robust term
      (``adversarial_loss="trades"``);
    - ``device="auto"`` (resolved once per fit into the fitted attribute
      ``device_``; the parameter itself never changes) and ``random_state``.

    Parameters
    ----------
    module : type or nn.Module
        The network; built with ``in_shape`` and ``n_classes`` from the data and
        every ``module__*`` parameter.
    criterion, optimizer, lr, train_split, callbacks
        As in skorch. The default optimizer, :class:`AdamW`, is
        ``torch.optim.AdamW``'s algorithm without its first-use import of the
        torch compiler (about 5 s of a fresh process's first fit); any torch
        optimizer works. ``train_split=None`` (the default) trains on all data, as
        scikit-learn estimators do; ``early_stopping=True`` holds out a
        validation set itself.
    max_epochs : int or "auto", default="auto"
        Passes over the training data. ``"auto"``: the classifier's epochs for
        large data, but at least its minimum number of optimizer steps, so
        small training sets get enough updates (resolved per fit into
        ``max_epochs_``).
    batch_size : int or "auto", default="auto"
        ``"auto"``: the classifier's batch size on large data, at most a
        quarter of the training set (at least 16) on small data
        (``batch_size_``).
    device : str, default="auto"
        ``"auto"`` uses cuda, then mps, then cpu; or any torch device string.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling, augmentation and the
        validation split. The global torch RNG is left as it was.
    image_shape : tuple of int, default=None
        ``(h, w)`` or ``(c, h, w)`` of flat input (and of four-dimensional
        stacks whose channel axis is ambiguous). When None, flat input is
        taken as square one-channel images if the feature count is a square,
        else as one row of pixels ``(1, 1, n_features)``.
    channels_last : bool, default=True
        Feed batches in channels-last memory format (faster on CPU).
    augment : "auto", augmenter or None, default="auto"
        Online augmentation: every training batch is distorted afresh (so every
        epoch sees new distortions); prediction never is. ``"auto"`` uses
        ``RandomAffineAugmenter()`` (rotation 10, shift 0.1, zoom 0.1) on
        image-like data (1, 3 or 4 channels, sides of 8 pixels or more) when
        the classifier's defaults say so, and nothing on other data; None
        never augments. Any batch transform works (an object with
        ``transform_batch(net, X, y, *, random_state)``, see ``_batch.py``).
        Tunable from a grid search as ``augment__rotation`` once an augmenter
        is set.
    adversarial : FGSMPerturber or None, default=None
        Adversarial training against the current network, with this
        perturber's ``eps``, ``n_iter``, ``step_size``, ``random_start`` and
        ``clip_values`` (its ``estimator`` is ignored); ``eps`` is a fraction
        of the training data's range (``clip_values="auto"``: 0..255 or 0..1
        pixels, else the training min..max; see
        :func:`~sklearn_mnist.adversarial.attack_range`). How the adversarial
        examples enter the loss is ``adversarial_loss``. Crafting them leaves
        batch-norm running statistics alone; only the training step's clean
        forward pass updates them. ``FGSMPerturber(eps=0.3, random_start=True,
        step_size=0.375)`` is Wong et al. (2020)'s fast FGSM training,
        ``FGSMPerturber(eps=0.3, n_iter=5, random_start=True)`` PGD training
        (Madry et al. 2018). Fit only: prediction never sees it. Tunable as
        ``adversarial__eps`` etc.
    adversarial_ratio : float in (0, 1], default=1.0
        Fraction of each batch made adversarial (the first samples of each
        shuffled batch).
    adversarial_loss : {"replace", "trades"}, default="replace"
        ``"replace"``: those samples are replaced by adversarial examples
        (cross-entropy), made by ``adversarial.transform_batch``.
        ``"trades"``: TRADES (Zhang et al. 2019), the loss of each sample is
        ``CE(f(x), y) + adversarial_beta * KL(f(x) || f(x_adv))`` with
        ``x_adv`` made by ``adversarial.transform_batch_kl`` to increase that
        divergence (the KL term only for the first ``adversarial_ratio`` of
        the batch). Ignored when ``adversarial`` is None.
    adversarial_beta : float >= 0, default=6.0
        TRADES' weight of the robust term (Zhang et al. use 6 on MNIST and
        CIFAR-10; larger trades clean accuracy for robustness; 0 is plain
        training). Used with ``adversarial_loss="trades"`` only.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified) and
        stop when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; the best epoch's weights are kept. As in
        scikit-learn's ``MLPClassifier``; built on skorch's ``EarlyStopping``.
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn
        (``{label: weight}``, or ``"balanced"``: inversely proportional to
        class frequencies); multiplied with ``sample_weight``.
    warm_start : bool, default=False
        ``fit`` continues from the fitted network, keeping its classes, label
        encoding and input statistics (labels it has not seen are refused);
        each such fit runs a new learning-rate cycle.
    mixed_precision : {None, "bfloat16", "float16"}, default=None
        Run the network under ``torch.autocast`` with this dtype (for CUDA
        GPUs with tensor cores; CPUs support it too but rarely gain).
        ``"float16"`` adds a gradient scaler against underflow. Weights stay
        float32 and predicted probabilities are float32.
    verbose : int, default=0
        Silent by default, as scikit-learn's estimators; 1 prints skorch's
        epoch table and a per-batch progress bar (skorch's ``ProgressBar``).
    **kwargs
        Any other skorch parameter, e.g. ``module__dropout=0.3`` or
        ``optimizer__weight_decay=1e-4``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.
    image_shape_ : tuple of int
        ``(channels, height, width)`` the network sees.
    input_layout_ : {"channels_first", "channels_last"}
        How the training images were laid out (flat rows of channels-last
        images are read channels-last too).
    input_shape_ : tuple of int
        Shape of one training sample as ``fit`` received it: ``(n_features,)``
        for flat rows, ``(h, w)``, ``(c, h, w)`` or ``(h, w, c)`` for images
        (what :func:`~sklearn_mnist.export_onnx` gives the exported model).
    input_mean_, input_std_ : float
        Pixel statistics of the training data (standardisation).
    input_range_ : (float, float)
        The valid input range attacks use: (0, 255) or (0, 1).
    data_range_ : (float, float)
        The smallest and largest training value.
    batch_size_, max_epochs_, steps_per_epoch_ : int
        The resolved training plan.
    augment_ : augmenter or None
        The augmenter the fit used.
    n_iter_ : int
        Epochs run (fewer than ``max_epochs_`` after early stopping).
    device_ : str
        The torch device the network is on.
    """

    #: What "auto" means for this classifier (see _plan.py); subclasses override.
    auto_defaults = AutoDefaults(batch_size=128, epochs=10, min_steps=1000)

    _parameter_constraints = {
        "module": [type, nn.Module],
        "criterion": [type, nn.Module],
        "optimizer": [type],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "train_split": [None, callable],
        "callbacks": [None, list, StrOptions({"disable"})],
        "device": [str, torch.device, None],
        "random_state": ["random_state"],
        "image_shape": [None, tuple, list],
        "channels_last": ["boolean"],
        "augment": [
            None,
            StrOptions({"auto"}),
            HasMethods(["transform_batch"]),
            HasMethods(["augment_tensor"]),
        ],
        "adversarial": [None, HasMethods(["transform_batch"])],
        "adversarial_ratio": [Interval(Real, 0, 1, closed="right")],
        "adversarial_loss": [StrOptions({"replace", "trades"})],
        "adversarial_beta": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "class_weight": [None, dict, StrOptions({"balanced"})],
        "warm_start": ["boolean"],
        "mixed_precision": [None, StrOptions({"bfloat16", "float16"})],
        "verbose": ["verbose"],
        "classes": [None, "array-like"],
    }

    def __init__(
        self,
        module,
        *,
        criterion=nn.CrossEntropyLoss,
        optimizer=AdamW,
        lr=1e-3,
        max_epochs="auto",
        batch_size="auto",
        train_split=None,
        callbacks=None,
        device="auto",
        random_state=None,
        image_shape=None,
        channels_last=True,
        augment="auto",
        adversarial=None,
        adversarial_ratio=1.0,
        adversarial_loss="replace",
        adversarial_beta=6.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        class_weight=None,
        warm_start=False,
        mixed_precision=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            callbacks=callbacks,
            device=device,
            warm_start=warm_start,
            verbose=verbose,
            **kwargs,
        )
        self.random_state = random_state
        self.image_shape = image_shape
        self.channels_last = channels_last
        self.augment = augment
        self.adversarial = adversarial
        self.adversarial_ratio = adversarial_ratio
        self.adversarial_loss = adversarial_loss
        self.adversarial_beta = adversarial_beta
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.class_weight = class_weight
        self.mixed_precision = mixed_precision

    # ------------------------------------------------------------------ skorch
    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("lr_schedule", OneCycle()),
            ("thread_share", ThreadShare()),
        ]
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        threshold=self.tol,
                        threshold_mode="abs",
                        load_best=True,
                        sink=print if self.verbose else _noop,
                    ),
                )
            )
        if self.verbose:
            # Per-batch bar beside the epoch table; "count": our batch size
            # may be "auto", so the bar learns the batches in the first epoch.
            callbacks.append(("progress_bar", ProgressBar(batches_per_epoch="count")))
        return callbacks + [("print_log", PrintLog())]

    def initialize(self):
        # The one place "auto" is resolved; skorch's own code that would move
        # things to ``self.device`` is overridden below to use ``device_``.
        self.device_ = resolve_device(self.device)
        return super().initialize()

    def _initialize_module(self, reason=None):
        with self._current_init_context("module"):
            self.initialize_module()
            module = self.module_.to(self.device_)
            self.module_ = self.torch_compile(module, name="module")
        return self

    def _initialize_criterion(self, reason=None):
        with self._current_init_context("criterion"):
            self.initialize_criterion()
            if isinstance(self.criterion_, nn.Module):
                criterion = self.criterion_.to(self.device_)
                self.criterion_ = self.torch_compile(criterion, name="criterion")
        return self

    def initialize_criterion(self):
        # Per-sample losses, so sample weights can weigh them (get_loss).
        kwargs = self.get_params_for("criterion")
        if isinstance(self.criterion, type) and issubclass(
            self.criterion, nn.modules.loss._Loss
        ):
            kwargs.setdefault("reduction", "none")
        self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        return self

    def _module_defaults(self):
        """Arguments a module class gets unless ``module__*`` sets them."""
        return {"in_shape": self.image_shape_, "n_classes": len(self.classes_)}

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        if isinstance(self.module, type):
            for key, value in self._module_defaults().items():
                kwargs.setdefault(key, value)
        self.module_ = self.initialized_instance(self.module, kwargs)
        if self.channels_last:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    def _mixed_precision(self):
        """The fit's :class:`MixedPrecision` (with its loss scaler) during fit,
        a scaler-free one for inference otherwise."""
        current = self.__dict__.get("_fit_precision")
        if current is not None:
            return current
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
        rng = self.__dict__.get("_batch_rng")
        X_adv = craft_kl_batch(self.adversarial, self, X[:k], log_p[:k], rng)
        with batch_norm_frozen(self.module_):
            log_q = self._log_proba(self.infer(X_adv))
        return torch.cat([kl_divergence(log_p[:k], log_q), kl[k:]])

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.__dict__["_fit_precision"] = MixedPrecision(
            self.mixed_precision, self.device_, training=True
        )

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.__dict__.pop("_fit_precision", None)
        self.n_iter_ = len(self.history)

    def on_grad_computed(self, net, named_parameters, **kwargs):
        # skorch notifies the net before any callback: callbacks (gradient
        # clipping) see true gradients, not float16-scaled ones.
        self._mixed_precision().unscale(self._optimizer_list())

    def _optimizer_list(self):
        return [getattr(self, name + "_") for name in self._optimizers]

    def _step_optimizer(self, step_fn):
        precision = self.__dict__.get("_fit_precision")
        if precision is None or precision.scaler is None or step_fn is None:
            return super()._step_optimizer(step_fn)
        step_fn()
        precision.step(self._optimizer_list())

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
        rng = self.__dict__.get("_batch_rng")
        augment = getattr(self, "augment_", None)
        if augment is not None:
            X = apply_batch_transform(augment, self, X, y, rng)
        if self.adversarial is not None and self.adversarial_loss == "replace":
            k = int(round(self.adversarial_ratio * len(X)))
            if k:
                X_adv = apply_batch_transform(self.adversarial, self, X[:k], y[:k], rng)
                X = torch.cat([X_adv, X[k:]]) if k < len(X) else X_adv
        return X

    def get_dataset(self, X, y=None):
        if isinstance(X, np.ndarray | torch.Tensor):
            return InMemoryDataset(X, y)
        return super().get_dataset(X, y)

    def get_split_datasets(self, X, y=None, **fit_params):
        if not self.early_stopping:
            return super().get_split_datasets(X, y, **fit_params)
        dataset = self.get_dataset(X, y)
        counts = np.bincount(np.asarray(y))
        stratified = bool(counts[counts > 0].min() >= 2)
        split = ValidSplit(
            self.validation_fraction,
            stratified=stratified,
            random_state=self.__dict__.get("_split_seed"),
        )
        return split(dataset, y if stratified else None)

    def get_iterator(self, dataset, training=False):
        base = getattr(dataset, "dataset", dataset)
        if not isinstance(base, InMemoryDataset):
            return super().get_iterator(dataset, training=training)
        prefix = "iterator_train" if training else "iterator_valid"
        batch_size = self.get_params_for(prefix).get("batch_size", self.batch_size_)
        if not training:
            batch_size = max(batch_size, _PREDICT_BATCH)
        return TensorBatchIterator(
            dataset,
            batch_size,
            shuffle=training,
            generator=self.__dict__.get("_shuffle_generator"),
            device=self.device_,
            channels_last=self.channels_last,
            drop_single=training,
        )

    def fit_loop(self, X, y=None, epochs=None, *, _routing_method="fit", **kw):
        if epochs is None:  # a user's partial_fit is one pass, as in scikit-learn
            epochs = 1 if _routing_method == "partial_fit" else self.max_epochs_
        return super().fit_loop(
            X, y, epochs=epochs, _routing_method=_routing_method, **kw
        )

    def load_params(self, *args, **kwargs):
        """skorch's ``load_params``, mapping tensors to ``device_``.

        skorch reads (and may rewrite) ``self.device`` while loading; it sees
        the resolved device and ``device`` is the user's value again after.
        """
        if not hasattr(self, "device_"):
            self.initialize()
        requested = self.__dict__["device"]
        self.__dict__["device"] = self.device_
        try:
            return super().load_params(*args, **kwargs)
        finally:
            self.__dict__["device_"] = self.__dict__["device"]
            self.__dict__["device"] = requested

    def __setstate__(self, state):
        requested = state["device"]
        # Unpickle onto the device the tensors were saved from; skorch maps
        # them to the CPU on a machine without that GPU.
        state["device"] = state.get("device_", "cpu")
        super().__setstate__(state)
        if "device_" in state:  # an unfitted net stays without one (deepcopy)
            self.__dict__["device_"] = self.__dict__["device"]
        self.__dict__["device"] = requested

    # ------------------------------------------------------------ scikit-learn
    def set_params(self, **params):
        """skorch's ``set_params``, plus nested ``augment__*`` / ``adversarial__*``."""
        nested = {}
        for key in list(params):
            owner, _, sub = key.partition("__")
            if owner in ("augment", "adversarial") and sub:
                nested.setdefault(owner, {})[sub] = params.pop(key)
        if "callbacks" in params:
            # skorch rebuilds the callbacks as soon as they are set, from the
            # value it finds: store the new one first. A value it cannot build
            # is kept as it is and refused at fit, where scikit-learn's
            # estimators validate parameters.
            callbacks = vars(self)["callbacks"] = params["callbacks"]
            if not (callbacks is None or isinstance(callbacks, list | str)):
                del params["callbacks"]
        if params:
            super().set_params(**params)
        for owner, sub_params in nested.items():
            target = getattr(self, owner)
            if target is None or isinstance(target, str):
                example = (
                    "RandomAffineAugmenter()"
                    if owner == "augment"
                    else "FGSMPerturber()"
                )
                raise ValueError(
                    f"Cannot set {sorted(sub_params)} on {owner}={target!r}; pass an "
                    f"object first, e.g. {owner}={example}"
                )
            target.set_params(**sub_params)
        return self

    def _get_param_names(self):
        # skorch lists every __dict__ key not ending in "_", which includes its
        # private bookkeeping (_params_to_validate); parameters are public names.
        return [k for k in super()._get_param_names() if not k.startswith("_")]

    @property
    def classes_(self):
        try:
            return self.label_encoder_.classes_
        except AttributeError:
            raise AttributeError(
                f"{type(self).__name__} has no attribute 'classes_' before fit"
            ) from None

    def __sklearn_is_fitted__(self):
        return hasattr(self, "label_encoder_") and getattr(self, "initialized_", False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        return tags

    def _check_parameters(self):
        """Every parameter against ``_parameter_constraints``, nested ones too."""
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        for name in ("augment", "adversarial"):
            nested = getattr(self, name)
            if hasattr(nested, "_validate_params"):
                nested._validate_params()
        if self._trades() and not hasattr(self.adversarial, "transform_batch_kl"):
            raise ValueError(
                "adversarial_loss='trades' needs an adversarial transform with "
                "transform_batch_kl(net, X, proba, *, random_state), such as "
                f"FGSMPerturber; got {type(self.adversarial).__name__}"
            )
        if self.early_stopping and self.train_split is not None:
            raise ValueError(
                "early_stopping=True holds out validation_fraction of the data "
                "itself; leave train_split=None (got "
                f"train_split={self.train_split!r})"
            )

    def _validate_X(self, X, reset):
        X = validate_images(
            self, X, reset=reset, dtype=[np.float32, np.uint8, np.float64]
        )
        if X.dtype == np.float64:
            X = X.astype(np.float32)
        if reset:
            declared = self.image_shape
            layout = image_layout(X.shape, declared)
            self.image_shape_ = sample_shape(X, declared)
            self.input_shape_ = tuple(int(d) for d in X.shape[1:])
            self.input_layout_ = (
                "channels_last" if layout == "hwc" else ("channels_first")
            )
            X = to_channels_first(X, layout)
        else:
            X = self._to_fitted_layout(X)
            check_input_range(type(self).__name__, X, self.data_range_)
        X = np.ascontiguousarray(X.reshape(len(X), *self.image_shape_))
        # torch cannot wrap read-only memory (memmaps); copy those.
        return X if X.flags.writeable else X.copy()

    def _fitted_layout(self, shape):
        """How a batch of ``shape`` maps to the fitted images: ``"as_is"`` or
        ``"from_last"`` (channels-last, or flat rows of channels-last images).

        Raises a ValueError for any other image shape.
        """
        c, h, w = self.image_shape_
        sample = tuple(int(s) for s in shape[1:])
        if len(sample) == 1:
            last = self.input_layout_ == "channels_last" and c > 1
            return "from_last" if last else "as_is"
        if sample == (h, w) and c == 1:
            return "as_is"
        first, last = sample == (c, h, w), sample == (h, w, c)
        if first and last:
            last = self.input_layout_ == "channels_last"
        if last or first:
            return "from_last" if last else "as_is"
        fitted = (c, h, w) if self.input_layout_ == "channels_first" else (h, w, c)
        raise ValueError(
            f"X has images of shape {sample}, but {type(self).__name__} was fitted on "
            f"images of shape {fitted} ({self.input_layout_.replace('_', '-')}); "
            f"pass flat rows of {c * h * w} values, images of shape {(c, h, w)} or "
            f"{(h, w, c)}" + (f" or {(h, w)}" if c == 1 else "")
        )

    def _to_fitted_layout(self, X):
        """``X`` (NumPy) as channels-first images of ``image_shape_``."""
        if self._fitted_layout(X.shape) == "as_is":
            return X
        c, h, w = self.image_shape_
        return np.moveaxis(X.reshape(len(X), h, w, c), -1, 1)

    def _fit_input_stats(self, X, weight=None):
        """Set what ``_standardize``, the attacks and the range check need."""
        self.input_mean_, self.input_std_ = pixel_stats(X, weight)
        if X.size:
            self.data_range_ = (float(X.min()), float(X.max()))
        else:
            self.data_range_ = (0.0, 1.0)
        low, high = self.data_range_
        self.input_range_ = (
            (0.0, 255.0) if X.dtype == np.uint8 or high > 1 else (0.0, 1.0)
        )

    def _plan(self, n_samples):
        """Resolve ``"auto"`` batch size, epochs and augmentation for this fit."""
        n_train = n_samples
        if self.early_stopping:
            n_train = max(1, int(n_samples * (1 - self.validation_fraction)))
        plan = plan_training(self, n_train, self.auto_defaults)
        self.batch_size_ = plan.batch_size
        self.max_epochs_ = plan.epochs
        self.steps_per_epoch_ = plan.steps_per_epoch
        self.augment_ = plan.augment

    def _training_data(self, X, y, sample_weight):
        """``(dataset, codes)`` for skorch: zero-weight samples dropped."""
        weight = training_weights(X, self.classes_[y], sample_weight, self.class_weight)
        if weight is not None and not weight.all():
            keep = weight > 0
            X, y, weight = X[keep], y[keep], weight[keep]
        return X, y, weight

    def _dataset(self, X, y, weight):
        return InMemoryDataset(X, y, loss_weights(weight))

    @contextlib.contextmanager
    def _fitting(self, offset=0):
        """Seeds (``random_state`` moved on by ``offset``) and the thread budget."""
        # thread_budget also undoes the per-batch changes of ThreadShare.
        with announce_fit(), thread_budget(), self._seeded(offset):
            try:
                yield
            finally:
                self.__dict__.pop("_fit_precision", None)

    @contextlib.contextmanager
    def _seeded(self, offset=0):
        transients = ("_shuffle_generator", "_batch_rng", "_split_seed")
        if self.random_state is None:
            self.__dict__["_batch_rng"] = np.random.RandomState()
            self.__dict__["_split_seed"] = None
            try:
                yield
            finally:
                for name in transients:
                    self.__dict__.pop(name, None)
            return
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        seed = (seed + 7919 * offset) % (2**31 - 8)
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            # Plain __dict__ entries: transient, never parameters or fitted state.
            self.__dict__["_shuffle_generator"] = torch.Generator().manual_seed(
                seed + 1
            )
            self.__dict__["_batch_rng"] = np.random.RandomState(seed + 2)
            self.__dict__["_split_seed"] = seed + 3
            try:
                yield
            finally:
                for name in transients:
                    self.__dict__.pop(name, None)

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Validate the data, then train the network.

        From scratch, or, with ``warm_start=True`` on a fitted model, further
        from where it is (same classes, encoding and input statistics).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n, h, w), (n, c, h, w)
            or (n, h, w, c)
            uint8 or float pixels, NumPy or pandas.
        y : array-like of shape (n_samples,)
            Labels of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in the loss (a weighted mean over each
            batch); samples of weight 0 are left out.
        **fit_params
            Passed to skorch's ``fit`` (and the module's ``forward``).

        Returns
        -------
        self
        """
        self._check_parameters()
        warm = self.warm_start and self.__sklearn_is_fitted__()
        name = type(self).__name__
        X = self._validate_X(X, reset=not warm)
        if warm:
            _, codes = encode_labels(name, X, y, self.label_encoder_)
        elif self.classes is not None:
            self.label_encoder_ = fit_label_encoder(name, y, self.classes)
            _, codes = encode_labels(name, X, y, self.label_encoder_)
        else:
            self.label_encoder_, codes = encode_labels(name, X, y)
        X, codes, weight = self._training_data(X, codes, sample_weight)
        if not warm:
            self._fit_input_stats(X, weight)
        self._plan(len(X))
        if warm:
            for _, callback in self.callbacks_:
                if isinstance(callback, OneCycle):
                    callback.initialize()  # each warm fit is a new cycle
        with self._fitting(offset=len(self.history) if warm else 0):
            super().fit(self._dataset(X, codes, weight), codes, **fit_params)
        return self

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """One pass over ``(X, y)``, continuing from the current network.

        The first call (on an unfitted model) sets up the classes, input
        statistics and training plan; later calls keep them and continue the
        learning-rate schedule (``max_epochs_`` calls of this size make one
        cycle, then a new one starts).

        Parameters
        ----------
        X, y : training data, as in :meth:`fit`
        classes : array-like, default=None
            Every class the model will see, required on the first call when
            ``y`` may not hold all of them (as in scikit-learn); later calls
            must pass the same classes or None.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        if fit_params.get("_routing_method") == "fit":  # skorch's fit calls here
            return super().partial_fit(X, y, classes=classes, **fit_params)
        name = type(self).__name__
        first = not self.__sklearn_is_fitted__()
        if first:
            self._check_parameters()
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight='balanced' needs every sample at once; with "
                    "partial_fit pass a dict of class weights"
                )
            X = self._validate_X(X, reset=True)
            source = classes if classes is not None else self.classes
            if source is None:
                self.label_encoder_, codes = encode_labels(name, X, y)
            else:
                self.label_encoder_ = fit_label_encoder(name, y, source)
                _, codes = encode_labels(name, X, y, self.label_encoder_)
        else:
            if classes is not None and not np.array_equal(
                np.unique(np.asarray(classes).ravel()), self.classes_
            ):
                raise ValueError(
                    f"classes={list(classes)!r} differs from the classes of the first "
                    f"partial_fit call ({self.classes_.tolist()})"
                )
            X = self._validate_X(X, reset=False)
            _, codes = encode_labels(name, X, y, self.label_encoder_)
        X, codes, weight = self._training_data(X, codes, sample_weight)
        if first:
            self._fit_input_stats(X, weight)
            self._plan(len(X))
        # Each call draws new batches and distortions (the seed moves on).
        with self._fitting(offset=0 if first else len(self.history)):
            if first:
                self.initialize()
            super().partial_fit(self._dataset(X, codes, weight), codes, **fit_params)
        return self

    def predict_proba(self, X):
        """Class probabilities; columns follow ``classes_``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float32
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        with thread_budget():
            return super().predict_proba(X)

    def predict(self, X):
        """Predicted labels, from ``classes_``."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def decision_function(self, X):
        """Logits (before softmax); columns follow ``classes_``.

        For two classes, scikit-learn's convention: one score per sample,
        positive for ``classes_[1]``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        with thread_budget():
            logits = np.concatenate(
                [out.float().numpy() for out in self.forward_iter(X, training=False)]
            )
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def torch_logits(self, x):
        """Logits for a float tensor ``x`` in the units and layout ``predict`` takes.

        Differentiable with respect to ``x`` (the network is in eval mode), so
        attacks such as :class:`~sklearn_mnist.adversarial.FGSMPerturber` get
        gradients with respect to the raw pixels.
        """
        x = self.torch_images(x).to(self.device_)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        self.module_.eval()
        return self.infer(x)

    def torch_images(self, x):
        """``x`` (a tensor in the layout ``predict`` takes) as float32 images
        ``(n, c, h, w)`` of ``image_shape_``, on ``x``'s device.

        The layout handling of ``predict`` on tensors, differentiable and
        traceable (``torch.export``); ``torch_logits`` and
        :func:`~sklearn_mnist.export_onnx` start with it.
        """
        check_is_fitted(self)
        if math.prod(x.shape[1:]) != self.n_features_in_:
            raise ValueError(
                f"x has {math.prod(x.shape[1:])} features per sample, but "
                f"{type(self).__name__} is expecting {self.n_features_in_}"
            )
        c, h, w = self.image_shape_
        if self._fitted_layout(x.shape) == "from_last":
            x = x.reshape(x.shape[0], h, w, c).movedim(-1, 1)
        return x.to(torch.float32).reshape(x.shape[0], c, h, w)

    def save_safetensors(self, path):
        """Export the network's weights (``module_.state_dict()``) to safetensors.

        Read them back with ``safetensors.torch.load_file`` and
        ``module_.load_state_dict`` on a net initialised with the same
        parameters, or in any other tool that reads safetensors.
        """
        check_is_fitted(self)
        save_safetensors(self.module_, path)
