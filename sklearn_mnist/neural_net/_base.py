"""The one skorch-based base class that every image classifier shares.

It holds scikit-learn's contract (parameters, ``fit`` / ``partial_fit``,
tags); every other job is a mixin named by its file:

- ``_inputs.py``: validation, layouts, labels, pixel statistics, weights;
- ``_data.py``: the in-memory dataset and batch iterator, early stopping's split;
- ``_training.py``: the training step (augmentation, adversarial examples,
  outlier exposure, mixed precision, the loss);
- ``_components.py``: building and rebuilding module / criterion / optimizer;
- ``_loading.py``: saved state back onto ``device_``;
- ``_inference.py``: prediction and the safetensors export;
- ``_fitting.py``: the state of one fit (:class:`FitState`), seeds, threads;
- ``_plan.py``: what ``"auto"`` resolves to; ``_signature.py``: the signature.
"""

from sklearn.base import BaseEstimator
from skorch import NeuralNetClassifier
from torch import nn

from ._callbacks import default_callbacks, raised_by_callback
from ._components import ComponentsMixin
from ._data import DataPathMixin
from ._finite import TrainingDivergedError
from ._fitting import FitState, fitting
from ._inference import InferenceMixin
from ._inputs import InputMixin
from ._loading import LoadingMixin
from ._optim import AdamW
from ._params import BASE_CONSTRAINTS, check_parameters
from ._plan import AutoDefaults, PlanMixin
from ._signature import full_signature
from ._training import TrainingMixin

__all__ = ["BaseImageClassifier"]

_NESTED = {  # objects a parameter holds, tunable as owner__param
    "augment": "RandomAffineAugmenter()",
    "adversarial": "FGSMPerturber()",
    "outlier_exposure": "OutlierExposure()",
}


class BaseImageClassifier(
    InferenceMixin,
    TrainingMixin,
    ComponentsMixin,
    LoadingMixin,
    DataPathMixin,
    PlanMixin,
    InputMixin,
    NeuralNetClassifier,
):
    """skorch ``NeuralNetClassifier`` with scikit-learn's contracts for images.

    Subclasses only choose the ``module`` and the defaults. What this class adds
    to skorch, each through skorch's own hooks: input validation and every
    parameter checked at fit (clear ``ValueError`` for NaN, infinity, wrong
    feature counts, one class); flat rows, ``(n, h, w)``, channels-first or
    -last stacks of 1, 3 or 4 channels, uint8 or float, NumPy or pandas;
    labels of any type, ``sample_weight`` and ``class_weight``; pixels
    standardised inside ``infer`` (0..255 and 0..1 inputs give the same
    model, and gradients with respect to the raw pixels); ``"auto"`` training
    length, batch size and augmentation for the data size; scikit-learn-style
    early stopping; one path for a training batch (augmentation, adversarial
    examples, outlier exposure, TRADES; see ``_training.py``); ``device``
    and ``random_state``.

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
        else as one row of pixels ``(1, 1, n_features)``, with a
        ``UserWarning`` at fit when there are 64 features or more (image-like:
        783 pixels, or 28x28 images cut to 780, are likely a mistake; fewer
        are taken as tabular data, silently). A declared shape
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
    classes, iterator_train, iterator_valid, dataset
        As in skorch's ``NeuralNetClassifier``; rarely changed (the classifier
        feeds batches through its own in-memory dataset and iterator).
    predict_nonlinearity, compile, use_caching, torch_load_kwargs
        As in skorch's ``NeuralNetClassifier``.
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

    #: The FitState of the fit in progress (set by ``fitting``), else None.
    _fit_state = None

    # scikit-learn's repr (changed parameters only), not skorch's (which shows
    # the network once fitted and hides parameters set in __init__).
    __repr__ = BaseEstimator.__repr__

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__.__signature__ = full_signature(cls)

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

    @property
    def _default_callbacks(self):
        return default_callbacks(self)

    # ------------------------------------------------------------ scikit-learn
    def set_params(self, **params):
        """skorch's ``set_params``, plus nested ``augment__*`` / ``adversarial__*``
        / ``outlier_exposure__*``."""
        nested = {}
        for key in list(params):
            owner, _, sub = key.partition("__")
            if owner in _NESTED and sub:
                nested.setdefault(owner, {})[sub] = params.pop(key)
        self._set_own_params(params)
        for owner, sub_params in nested.items():
            target = getattr(self, owner)
            if target is None or isinstance(target, str):
                raise ValueError(
                    f"Cannot set {sorted(sub_params)} on {owner}={target!r}; pass an "
                    f"object first, e.g. {owner}={_NESTED[owner]}"
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

    @property
    def fit_state(self):
        """The :class:`~sklearn_mnist.neural_net._fitting.FitState` of the fit
        in progress (for callbacks and batch transforms); None outside fit."""
        return self._fit_state

    def __sklearn_is_fitted__(self):
        return hasattr(self, "label_encoder_") and getattr(self, "initialized_", False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        return tags

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Validate the data, then train the network.

        From scratch, or, with ``warm_start=True`` on a fitted model, further
        from where it is (same classes, encoding and input statistics; a new
        learning-rate cycle).

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
            Passed to the module's ``forward``.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=False, **fit_params)

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
        return self._fit(
            X, y, sample_weight, incremental=True, classes=classes, **fit_params
        )

    def _fit(self, X, y, sample_weight, *, incremental, classes=None, **fit_params):
        """The one path of ``fit``, warm ``fit`` and ``partial_fit``.

        ``first``: the call starts a new model (``fit`` without warm start,
        or the first call on an unfitted one): classes, input statistics and
        the network are set up, and a failure leaves the model unfitted.
        Otherwise it continues the fitted network (``incremental``: one
        pass in the running learning-rate cycle; a warm ``fit``: a new plan
        and cycle).
        """
        check_parameters(self)  # every call, as scikit-learn's partial_fit
        fitted = self.__sklearn_is_fitted__()
        first = not fitted or not (incremental or self.warm_start)
        if first and incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' needs every sample at once; with "
                "partial_fit pass a dict of class weights"
            )
        if not first:
            self._check_same_classes(classes)
            self._rebuild_stale()
        try:
            X = self._validate_X(X, reset=first)
            codes = self._training_labels(X, y, classes, first)
            X, codes, weight = self._training_data(X, codes, sample_weight)
            if first:
                self._fit_input_stats(X, weight)
            state = FitState(incremental=incremental, first=first)
            if first or not incremental:
                state.plan = self._plan(len(X))
            if incremental:
                self._plan_pass(len(X))
            state.epochs = 1 if incremental else self.max_epochs_
            state.new_cycle = not incremental
            with fitting(self, state, offset=0 if first else len(self.history)):
                if first:
                    self.initialize()
                self._train(self._dataset(X, codes, weight), codes, state, fit_params)
        except BaseException as exc:
            # no half-fitted model (new statistics, a new network), and none
            # whose weights a diverging loss made NaN
            if first or isinstance(exc, TrainingDivergedError):
                self.__dict__.pop("label_encoder_", None)
            raise
        return self

    def _train(self, dataset, y, state, fit_params):
        """skorch's training loop, called directly: ``on_train_begin``, the
        epochs, ``on_train_end``. skorch's callbacks stop training by raising
        ``KeyboardInterrupt`` (``EarlyStopping``), which ends the epochs as in
        skorch; a real Ctrl-C is not swallowed (skorch's ``partial_fit`` ended
        training quietly on it, and a search then took a fit cut short for a
        finished one): it ends the call."""
        self.notify("on_train_begin", X=dataset, y=y)
        method = "partial_fit" if state.incremental else "fit"
        try:
            self.fit_loop(
                dataset, y, epochs=state.epochs, _routing_method=method, **fit_params
            )
        except KeyboardInterrupt as exc:
            if not raised_by_callback(exc):
                raise
        self.notify("on_train_end", X=dataset, y=y)


BaseImageClassifier.__init__.__signature__ = full_signature(BaseImageClassifier)
