"""The one skorch-based base class that every image classifier shares."""

import contextlib
import logging
import math

import numpy as np
import torch
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochTimer, PassthroughScoring, PrintLog
from torch import nn

from ..utils import (
    announce_fit,
    infer_clip_range,
    sample_shape,
    thread_budget,
    validate_images,
)
from ._batch import apply_batch_transform
from ._callbacks import OneCycle, ThreadShare
from ._data import InMemoryDataset, TensorBatchIterator
from ._device import resolve_device
from ._persist import save_safetensors
from ._precision import MixedPrecision

logger = logging.getLogger(__name__)

__all__ = ["BaseImageClassifier"]

_PREDICT_BATCH = 1024


class BaseImageClassifier(NeuralNetClassifier):
    """skorch ``NeuralNetClassifier`` with scikit-learn's contracts for images.

    Subclasses only choose the ``module`` and the defaults. What this class adds
    to skorch, each through skorch's own hooks:

    - input validation (``n_features_in_``, ``feature_names_in_``, clear
      ``ValueError`` for NaN, infinity, wrong feature counts, one class);
    - flat rows ``(n, h*w)``, images ``(n, h, w)`` or ``(n, c, h, w)``, uint8 or
      float, NumPy or pandas, reshaped to ``image_shape_``;
    - labels of any type, encoded in ``fit`` and decoded by ``predict``;
    - pixels standardised with the training set's mean and standard deviation
      inside ``infer`` (so 0..255 and 0..1 inputs give the same model, and
      gradients with respect to the raw pixels are available);
    - a fast data path (:class:`InMemoryDataset` / :class:`TensorBatchIterator`)
      in ``get_dataset`` / ``get_iterator``;
    - one path for a training batch: :meth:`transform_batch` (augmentation,
      then adversarial examples; see ``sklearn_mnist/neural_net/_batch.py``),
      then skorch's step;
    - ``device="auto"`` (resolved once per fit into the fitted attribute
      ``device_``; the parameter itself never changes) and ``random_state``.

    Parameters
    ----------
    module : type or nn.Module
        The network; built with ``in_shape`` and ``n_classes`` from the data and
        every ``module__*`` parameter.
    criterion, optimizer, lr, max_epochs, batch_size, train_split, callbacks
        As in skorch. ``train_split=None`` (the default) trains on all data, as
        scikit-learn estimators do; pass ``skorch.dataset.ValidSplit(0.1)`` for a
        validation split.
    device : str, default="auto"
        ``"auto"`` uses cuda, then mps, then cpu; or any torch device string.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling. The global torch RNG
        is left as it was.
    image_shape : tuple of int, default=None
        ``(h, w)`` or ``(c, h, w)`` of flat input. When None, flat input is
        taken as square one-channel images if the feature count is a square,
        else as one row of pixels ``(1, 1, n_features)``.
    channels_last : bool, default=True
        Feed batches in channels-last memory format (faster on CPU).
    augment : RandomAffineAugmenter or None, default=None
        Online augmentation: every training batch is distorted afresh (so every
        epoch sees new distortions); prediction never is. Any batch transform
        works (an object with ``transform_batch(net, X, y, *, random_state)``,
        see ``_batch.py``). Tunable from a grid search as ``augment__rotation``
        etc.
    adversarial : FGSMPerturber or None, default=None
        Adversarial training: in every training batch a fraction
        ``adversarial_ratio`` of the samples is replaced by adversarial examples
        made against the current network with this perturber's ``eps``,
        ``n_iter``, ``step_size``, ``random_start`` and ``clip_values`` (its
        ``estimator`` is ignored). Crafting them leaves batch-norm running
        statistics alone; only the training step's forward pass updates them.
        ``FGSMPerturber(eps=0.3, random_start=True, step_size=0.375)`` is Wong
        et al. (2020)'s fast FGSM training. Fit only: prediction never sees it.
        Tunable as ``adversarial__eps`` etc.
    adversarial_ratio : float, default=1.0
        Fraction of each batch replaced by adversarial examples. Keep 1.0 for
        networks with batch norm (the CNN): batches mixing clean and adversarial
        digits skew its running statistics (measured in benchmarks/RESULTS.md:
        75.84% clean accuracy with 0.8).
    mixed_precision : {None, "bfloat16", "float16"}, default=None
        Run the network under ``torch.autocast`` with this dtype (for CUDA
        GPUs with tensor cores; CPUs support it too but rarely gain).
        ``"float16"`` adds a gradient scaler against underflow. Weights stay
        float32 and predicted probabilities are float32.
    verbose : int, default=0
        skorch's epoch table when 1.
    **kwargs
        Any other skorch parameter, e.g. ``module__dropout=0.3`` or
        ``optimizer__weight_decay=1e-4``.
    """

    def __init__(
        self,
        module,
        *,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        max_epochs=10,
        batch_size=128,
        train_split=None,
        callbacks=None,
        device="auto",
        random_state=None,
        image_shape=None,
        channels_last=True,
        augment=None,
        adversarial=None,
        adversarial_ratio=1.0,
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
            verbose=verbose,
            **kwargs,
        )
        self.random_state = random_state
        self.image_shape = image_shape
        self.channels_last = channels_last
        self.augment = augment
        self.adversarial = adversarial
        self.adversarial_ratio = adversarial_ratio
        self.mixed_precision = mixed_precision

    # ------------------------------------------------------------------ skorch
    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("lr_schedule", OneCycle()),
            ("thread_share", ThreadShare()),
            ("print_log", PrintLog()),
        ]

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
        y_true = torch.as_tensor(y_true, device=self.device_)
        if isinstance(self.criterion_, nn.NLLLoss):  # as skorch's classifier
            y_pred = torch.log(y_pred + torch.finfo(y_pred.dtype).eps)
        loss = self.criterion_(y_pred, y_true)
        return self._mixed_precision().scale(loss) if training else loss

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.__dict__["_fit_precision"] = MixedPrecision(
            self.mixed_precision, self.device_, training=True
        )

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.__dict__.pop("_fit_precision", None)

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
        Xi = self.transform_batch(Xi, yi)
        return super().train_step_single((Xi, yi), **fit_params)

    def transform_batch(self, X, y):
        """The one place a training batch changes before the loss.

        ``augment`` distorts the whole batch, then ``adversarial`` replaces the
        first ``adversarial_ratio`` of it (batches are shuffled) by adversarial
        examples against the network as it trains. Both are batch transforms
        (``transform_batch(net, X, y, *, random_state)``).
        """
        rng = self.__dict__.get("_batch_rng")
        if self.augment is not None:
            X = apply_batch_transform(self.augment, self, X, y, rng)
        if self.adversarial is not None:
            k = int(round(self.adversarial_ratio * len(X)))
            if k:
                X_adv = apply_batch_transform(self.adversarial, self, X[:k], y[:k], rng)
                X = torch.cat([X_adv, X[k:]]) if k < len(X) else X_adv
        return X

    def get_dataset(self, X, y=None):
        if isinstance(X, np.ndarray | torch.Tensor):
            return InMemoryDataset(X, y)
        return super().get_dataset(X, y)

    def get_iterator(self, dataset, training=False):
        base = getattr(dataset, "dataset", dataset)
        if not isinstance(base, InMemoryDataset):
            return super().get_iterator(dataset, training=training)
        prefix = "iterator_train" if training else "iterator_valid"
        batch_size = self.get_params_for(prefix).get("batch_size", self.batch_size)
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
        if params:
            super().set_params(**params)
        for owner, sub_params in nested.items():
            if getattr(self, owner) is None:
                raise ValueError(
                    f"Cannot set {sorted(sub_params)} on {owner}=None; pass an "
                    f"object first, e.g. {owner}="
                    + (
                        "RandomAffineAugmenter()"
                        if owner == "augment"
                        else "FGSMPerturber()"
                    )
                )
            getattr(self, owner).set_params(**sub_params)
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

    def _validate_X(self, X, reset):
        X = validate_images(
            self, X, reset=reset, dtype=[np.float32, np.uint8, np.float64]
        )
        if X.dtype == np.float64:
            X = X.astype(np.float32)
        if reset:
            self.image_shape_ = sample_shape(X, self.image_shape)
        X = np.ascontiguousarray(X.reshape(len(X), *self.image_shape_))
        # torch cannot wrap read-only memory (memmaps); copy those.
        return X if X.flags.writeable else X.copy()

    def _validate_y(self, X, y):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None"
            )
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        self.label_encoder_ = LabelEncoder().fit(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, got 1 class: {self.classes_[0]!r}"
            )
        return self.label_encoder_.transform(y).astype(np.int64)

    def _fit_input_stats(self, X):
        """Set what ``_standardize`` and the attacks need from the training X."""
        self.input_mean_, self.input_std_ = self._pixel_stats(X)
        self.input_range_ = infer_clip_range(X)

    @staticmethod
    def _pixel_stats(X):
        if X.dtype == np.uint8:
            counts = np.bincount(X.ravel(), minlength=256).astype(np.float64)
            values = np.arange(256.0)
            mean = counts @ values / counts.sum()
            var = counts @ (values - mean) ** 2 / counts.sum()
        else:
            flat = X.reshape(len(X), -1)
            mean = float(np.mean(flat, dtype=np.float64))
            var = float(np.mean((flat - mean) ** 2, dtype=np.float64))
        return float(mean), float(np.sqrt(var)) if var > 0 else 1.0

    @contextlib.contextmanager
    def _fitting(self):
        """Seeds and the thread budget for one fit."""
        if self.mixed_precision not in (None, "bfloat16", "float16"):
            raise ValueError(
                "mixed_precision must be None, 'bfloat16' or 'float16', got "
                f"{self.mixed_precision!r}"
            )
        # thread_budget also undoes the per-batch changes of ThreadShare.
        with announce_fit(), thread_budget(), self._seeded():
            try:
                yield
            finally:
                self.__dict__.pop("_fit_precision", None)

    @contextlib.contextmanager
    def _seeded(self):
        if self.random_state is None:
            self.__dict__["_batch_rng"] = np.random.RandomState()
            try:
                yield
            finally:
                self.__dict__.pop("_batch_rng", None)
            return
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            # Plain __dict__ entry: transient, never a parameter or fitted state.
            self.__dict__["_shuffle_generator"] = torch.Generator().manual_seed(
                seed + 1
            )
            self.__dict__["_batch_rng"] = np.random.RandomState(seed + 2)
            try:
                yield
            finally:
                self.__dict__.pop("_shuffle_generator", None)
                self.__dict__.pop("_batch_rng", None)

    def fit(self, X, y, **fit_params):
        """Validate the data, then train the network from scratch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n, h, w) or (n, c, h, w)
            uint8 or float pixels, NumPy or pandas.
        y : array-like of shape (n_samples,)
            Labels of any type.
        **fit_params
            Passed to skorch's ``fit``.

        Returns
        -------
        self
        """
        if self.adversarial is not None and not hasattr(
            self.adversarial, "transform_batch"
        ):
            raise ValueError(
                "adversarial must be None or an FGSMPerturber (a batch transform "
                f"with a transform_batch method), got {self.adversarial!r}"
            )
        if self.augment is not None and not (
            hasattr(self.augment, "transform_batch")
            or hasattr(self.augment, "augment_tensor")
        ):
            raise ValueError(
                "augment must be None or an augmenter with a transform_batch method "
                f"such as RandomAffineAugmenter(), got {self.augment!r}"
            )
        X = self._validate_X(X, reset=True)
        y = self._validate_y(X, y)
        self._fit_input_stats(X)
        with self._fitting():
            super().fit(X, y, **fit_params)
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising.

        On a net that is not fitted yet this is ``fit``. ``y`` must hold only
        labels seen in the first fit.
        """
        if fit_params.get("_routing_method") == "fit":  # skorch's fit calls here
            return super().partial_fit(X, y, classes=classes, **fit_params)
        if not getattr(self, "initialized_", False) or not hasattr(
            self, "label_encoder_"
        ):
            return self.fit(X, y, **fit_params)
        X = self._validate_X(X, reset=False)
        y = self.label_encoder_.transform(column_or_1d(y)).astype(np.int64)
        with self._fitting():
            super().partial_fit(X, y, **fit_params)
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
        check_is_fitted(self)
        if math.prod(x.shape[1:]) != self.n_features_in_:
            raise ValueError(
                f"x has {math.prod(x.shape[1:])} features per sample, but "
                f"{type(self).__name__} is expecting {self.n_features_in_}"
            )
        x = x.to(self.device_, torch.float32).reshape(x.shape[0], *self.image_shape_)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        self.module_.eval()
        return self.infer(x)

    def save_safetensors(self, path):
        """Export the network's weights (``module_.state_dict()``) to safetensors.

        Read them back with ``safetensors.torch.load_file`` and
        ``module_.load_state_dict`` on a net initialised with the same
        parameters, or in any other tool that reads safetensors.
        """
        check_is_fitted(self)
        save_safetensors(self.module_, path)
