"""The one skorch-based base class that every image classifier shares."""

import contextlib
import inspect
import logging
import math
import numbers

import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.callbacks import (
    EarlyStopping,
    EpochTimer,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)
from torch import nn

from ..utils import (
    announce_fit,
    resolve_device,
    settle_allocator,
    state_tensors,
    thread_budget,
)
from ._callbacks import OneCycle, ThreadShare
from ._data import DataPathMixin
from ._inputs import (
    InputMixin,
    encode_labels,
    fit_label_encoder,
)
from ._optim import AdamW
from ._params import (
    BASE_CONSTRAINTS,
    check_batch_size,
    check_parameters,
    skorch_can_build,
)
from ._plan import AutoDefaults, plan_training
from ._training import TrainingMixin

_COMPONENTS = ("module", "criterion", "optimizer")  # skorch's build order

logger = logging.getLogger(__name__)

__all__ = ["BaseImageClassifier"]


def _noop(*args, **kwargs):
    pass


def _on(flag):
    """A boolean (or verbosity) parameter is set; any other value (refused at
    fit by the constraints) counts as off, so that building the default
    callbacks never fails in ``__init__`` / ``set_params``."""
    return isinstance(flag, numbers.Integral | np.bool_) and bool(flag)


def _full_signature(cls):
    """``cls.__init__``'s signature with the keyword arguments it passes on.

    A subclass's ``__init__`` names only what it changes (``module``, ``lr``)
    and passes the rest through ``**kwargs`` to this class and skorch's
    ``NeuralNet``. scikit-learn reads defaults from the signature (the repr
    that shows changed parameters only, in a ``Pipeline`` too), so the
    signature lists every parameter once, the nearest class's default first.
    """
    own = inspect.signature(cls.__dict__["__init__"]).parameters.values()
    params = [p for p in own if p.kind is not p.VAR_KEYWORD]
    seen = {p.name for p in params}
    for klass in cls.__mro__[1:]:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name in seen or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            if p.default is p.empty:  # positional in skorch, given by a subclass
                continue
            seen.add(p.name)
            params.append(p.replace(kind=p.KEYWORD_ONLY))
    params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(params)


class BaseImageClassifier(
    TrainingMixin, DataPathMixin, InputMixin, NeuralNetClassifier
):
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
        else as one row of pixels ``(1, 1, n_features)``. A declared shape
        that contradicts image stacks, or reads like TensorFlow's
        ``(h, w, c)``, is refused at fit.
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
        of the training data's range (``clip_values="auto"``: ``input_range_``
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
    outlier_exposure : OutlierExposure or None, default=None
        Outlier exposure (Hendrycks et al. 2019): every training step also
        pushes the network's prediction on synthetic non-digit images made
        from the batch (noise, filled shapes, shuffled tiles, inverted,
        overlaid and thickened digits) towards the uniform distribution, so
        that probabilities, logits and features tell such inputs from digits
        (for :class:`~sklearn_mnist.reject.RejectOptionClassifier`). See
        :class:`~sklearn_mnist.neural_net.OutlierExposure`; fit only, tunable
        as ``outlier_exposure__weight``.
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
        The pixel scale of the training data, which attacks use: (0, 255) for
        8-bit images (uint8, or values brighter than 127), (0, 1) for values
        within 0..1, otherwise (0, brightest training value).
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

    _parameter_constraints = BASE_CONSTRAINTS

    # scikit-learn's repr (changed parameters only), not skorch's (which shows
    # the network once fitted and hides parameters set in __init__).
    __repr__ = BaseEstimator.__repr__

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__.__signature__ = _full_signature(cls)

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
        outlier_exposure=None,
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
        self.outlier_exposure = outlier_exposure
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
        if _on(self.early_stopping):
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        threshold=self.tol,
                        threshold_mode="abs",
                        load_best=True,
                        sink=print if _on(self.verbose) else _noop,
                    ),
                )
            )
        if _on(self.verbose):
            # Per-batch bar beside the epoch table; "count": our batch size
            # may be "auto", so the bar learns the batches in the first epoch.
            callbacks.append(("progress_bar", ProgressBar(batches_per_epoch="count")))
        return callbacks + [("print_log", PrintLog())]

    def initialize(self):
        # The one place "auto" is resolved; skorch's own code that would move
        # things to ``self.device`` is overridden below to use ``device_``.
        self.device_ = resolve_device(self.device)
        try:
            super().initialize()
        except ValueError:
            if self.__dict__.get("initialized_"):  # a fitted net, part rebuilt
                self.__dict__["_stale"] = set(_COMPONENTS)
            raise
        self.__dict__.pop("_stale", None)
        return self

    @contextlib.contextmanager
    def _building(self, prefix):
        """A component that cannot be built from its parameters is a
        ValueError naming them, not a TypeError from deep inside torch."""
        try:
            yield
        except (TypeError, ValueError, AttributeError) as exc:
            owner = getattr(self, prefix)
            what = getattr(owner, "__name__", type(owner).__name__)
            raise ValueError(
                f"{type(self).__name__} cannot build its {prefix} ({what}) from "
                f"{prefix}={owner!r} and the {prefix}__* parameters: {exc}"
            ) from exc

    def _initialize_module(self, reason=None):
        with self._building("module"), self._current_init_context("module"):
            self.initialize_module()
            module = self.module_.to(self.device_)
            self.module_ = self.torch_compile(module, name="module")
        return self

    def _initialize_criterion(self, reason=None):
        with self._building("criterion"), self._current_init_context("criterion"):
            self.initialize_criterion()
            if isinstance(self.criterion_, nn.Module):
                criterion = self.criterion_.to(self.device_)
                self.criterion_ = self.torch_compile(criterion, name="criterion")
        return self

    def _initialize_optimizer(self, reason=None):
        with self._building("optimizer"):
            return super()._initialize_optimizer(reason=reason)

    def _rebuild(self, components):
        """Rebuild ``components`` (in skorch's order) of a fitted net; one that
        cannot be built stays stale with those after it, to be rebuilt (or
        refused) before the next training."""
        stale = self.__dict__.setdefault("_stale", set())
        todo = [c for c in _COMPONENTS if c in components or c in stale]
        for i, component in enumerate(todo):
            try:
                getattr(self, f"_initialize_{component}")()
            except ValueError:
                stale.update(todo[i:])
                return
            stale.discard(component)
        if not stale:
            self.__dict__.pop("_stale")

    def _rebuild_stale(self):
        """Before a warm fit or a later partial_fit: rebuild what set_params
        left stale, or refuse its parameters."""
        stale = self.__dict__.get("_stale")
        if stale:
            for component in _COMPONENTS:
                if component in stale:
                    getattr(self, f"_initialize_{component}")()
            self.__dict__.pop("_stale")

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

    def _module_kwargs(self):
        """What a module class is built with: ``module__*``, then defaults."""
        kwargs = self.get_params_for("module")
        if isinstance(self.module, type):
            for key, value in self._module_defaults().items():
                kwargs.setdefault(key, value)
        return kwargs

    def initialize_module(self):
        kwargs = self._module_kwargs()
        self.module_ = self.initialized_instance(self.module, kwargs)
        if self.channels_last:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

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
        """skorch's ``set_params``, plus nested ``augment__*`` / ``adversarial__*``
        / ``outlier_exposure__*``."""
        nested = {}
        for key in list(params):
            owner, _, sub = key.partition("__")
            if owner in ("augment", "adversarial", "outlier_exposure") and sub:
                nested.setdefault(owner, {})[sub] = params.pop(key)
        if "callbacks" in params:
            # skorch rebuilds the callbacks as soon as they are set, from the
            # value it finds: store the new one first. A value it cannot build
            # is kept as it is and refused at fit, where scikit-learn's
            # estimators validate parameters.
            vars(self)["callbacks"] = params["callbacks"]
            if not skorch_can_build(params["callbacks"]):
                del params["callbacks"]
        if params and self.initialized_:
            self._set_params_fitted(params)
        elif params:
            super().set_params(**params)
        for owner, sub_params in nested.items():
            target = getattr(self, owner)
            if target is None or isinstance(target, str):
                example = {
                    "augment": "RandomAffineAugmenter()",
                    "adversarial": "FGSMPerturber()",
                    "outlier_exposure": "OutlierExposure()",
                }[owner]
                raise ValueError(
                    f"Cannot set {sorted(sub_params)} on {owner}={target!r}; pass an "
                    f"object first, e.g. {owner}={example}"
                )
            target.set_params(**sub_params)
        return self

    def _set_params_fitted(self, params):
        """skorch's ``set_params`` on a fitted net, which stores the values, then
        rebuilds the module / criterion / optimizer they belong to at once. A
        value that cannot build its component is kept and refused at the next
        fit, as scikit-learn validates at fit (skorch raised from the rebuild,
        and "Something went wrong" for ``optimizer=`` / ``iterator_*=`` /
        ``dataset=``); until then the fitted network predicts as before."""
        self.__dict__["initialized_"] = False  # store only (skorch's early exit)
        try:
            super().set_params(**params)
        finally:
            self.__dict__["initialized_"] = True
        for key, value in params.items():
            # skorch applies optimizer__* to the live optimizer only; stored
            # too, as on an unfitted net, get_params, clone and fit see them.
            if self._is_virtual_param(key):
                setattr(self, key, value)
                self._params_to_validate.add(key)
        heads = {
            key.split("__", 1)[0] for key in params if not self._is_virtual_param(key)
        }
        components = set()
        if heads & set(self._modules):
            components = {"module", "criterion", "optimizer"}
        elif heads & set(self._criteria):
            components = {"criterion", "optimizer"}
        elif heads & set(self._optimizers):
            components = {"optimizer"}
        if components:
            self._rebuild(components)
        elif any(self._is_virtual_param(key) for key in params):
            self._check_optimizer_arguments()

    def _check_optimizer_arguments(self):
        """skorch writes ``optimizer__*`` set after fit into the live
        optimizer's param groups, unchecked: build a spare optimizer from
        them, and leave the optimizer stale (refused at the next fit and by
        save) when it cannot be built."""
        try:
            with self._building("optimizer"):
                args, kwargs = self.get_params_for_optimizer(
                    "optimizer", self.get_all_learnable_params()
                )
                self.optimizer(*args, **kwargs)
        except ValueError:
            self.__dict__.setdefault("_stale", set()).add("optimizer")
            return
        if "optimizer" in self.__dict__.get("_stale", ()):
            self._rebuild({"optimizer"})  # good values again: build it now

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

    def _n_train(self, n_samples):
        """The samples a fit on ``n_samples`` trains on (early stopping holds
        out ``validation_fraction``)."""
        if self.early_stopping:
            return max(1, int(n_samples * (1 - self.validation_fraction)))
        return n_samples

    def _plan(self, n_samples):
        """Resolve ``"auto"`` batch size, epochs and augmentation for this fit."""
        plan = plan_training(self, self._n_train(n_samples), self.auto_defaults)
        self.batch_size_ = plan.batch_size
        self.max_epochs_ = plan.epochs
        self.steps_per_epoch_ = plan.steps_per_epoch
        self.augment_ = plan.augment
        return plan

    @contextlib.contextmanager
    def _fitting(self, offset=0):
        """Seeds (``random_state`` moved on by ``offset``) and the thread budget."""
        settle_allocator()  # once per process: no first fit of page faults
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
        check_parameters(self)
        warm = self.warm_start and self.__sklearn_is_fitted__()
        if warm:
            self._rebuild_stale()
            return self._fit(X, y, sample_weight, warm, **fit_params)
        try:
            return self._fit(X, y, sample_weight, warm, **fit_params)
        except BaseException:
            # A fit from scratch that fails leaves no half-fitted model (new
            # input statistics, a re-initialised network) for predict to use.
            self.__dict__.pop("label_encoder_", None)
            raise

    def _fit(self, X, y, sample_weight, warm, **fit_params):
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
            self._restart_cycle()  # each warm fit is a new cycle
        with self._fitting(offset=len(self.history) if warm else 0):
            super().fit(self._dataset(X, codes, weight), codes, **fit_params)
        self._restart_cycle()  # the cycle ends with the fit (early stop)
        return self

    def _restart_cycle(self):
        """The learning-rate cycle starts anew at the next training step."""
        for _, callback in self.callbacks_:
            if isinstance(callback, OneCycle):
                callback.initialize()

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """One pass over ``(X, y)``, continuing from the current network.

        The first call (on an unfitted model) sets up the classes, input
        statistics and training plan; later calls keep them and continue the
        learning-rate schedule: ``max_epochs_`` calls of this size make one
        cycle, then a new one starts (``max_epochs="auto"``: the classifier's
        epochs on large data, e.g. 3 calls for the CNN).

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
        check_parameters(self)  # every call, as scikit-learn's partial_fit
        if first:
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
            self._rebuild_stale()
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
        # A cycle spans max_epochs_ calls of this call's size (after fit, not
        # fit's epochs of fit's batches). The step floor of "auto" is for a
        # whole fit; here the calls are the user's: a cycle spans the
        # classifier's large-data epochs in calls (a floor-sized cycle of many
        # calls kept dozens of calls in its warm-up, at a 25th of lr).
        batch_size = check_batch_size(self, "iterator_train")
        self.steps_per_epoch_ = max(1, math.ceil(self._n_train(len(X)) / batch_size))
        if self.max_epochs == "auto":
            self.max_epochs_ = self.auto_defaults.epochs
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

    def save_safetensors(self, path):
        """Export the network's weights (``module_.state_dict()``) to safetensors.

        Read them back with ``safetensors.torch.load_file`` and
        ``module_.load_state_dict`` on a net initialised with the same
        parameters, or in any other tool that reads safetensors.
        """
        check_is_fitted(self)
        save_file(state_tensors(self.module_), path)


BaseImageClassifier.__init__.__signature__ = _full_signature(BaseImageClassifier)
