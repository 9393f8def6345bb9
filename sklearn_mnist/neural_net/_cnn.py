"""``CNNClassifier``: the convolutional network, fast by default."""

import inspect

from ._base import BaseImageClassifier
from ._modules import CNNModule
from ._plan import AutoDefaults

__all__ = ["CNNClassifier"]


class CNNClassifier(BaseImageClassifier):
    """Convolutional network classifier for MNIST-style images (skorch + PyTorch).

    Defaults work at every data size: :class:`CNNModule` (strided convolutions
    16-32, a 128-unit hidden layer, batch norm), AdamW with a one-cycle
    learning-rate schedule peaking at ``lr``; with ``"auto"`` training length 3
    epochs of batches of 256 on large data (about 99.1-99.2% test accuracy on full
    MNIST in about 10 s on a shared 2-core CPU, 6-14 s by the day), but at least 1,250
    optimizer steps of batches of 128 on up to 25,000 images (as many samples' worth
    in proportionally fewer batches of 256 above); on up to 20,000 training images,
    regularisation: random affine augmentation of image batches and the module's
    dropout (0.2), none on more (see ``benchmarks/RESULTS.md`` for the learning
    curve from 100 images up).

    Architecture knobs are ``module__channels``, ``module__hidden_units`` and
    ``module__dropout`` (set, it applies at every data size). Every parameter of
    :class:`BaseImageClassifier` applies; ``module`` and ``lr`` are the ones
    whose defaults this class changes.

    Parameters
    ----------
    module : type or nn.Module, default=CNNModule
        The network; built with ``in_shape`` and ``n_classes`` from the data
        and every ``module__*`` parameter.
    lr : float, default=8e-3
        Peak learning rate of the one-cycle schedule.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str (only when fitted on a DataFrame)
    image_shape_ : tuple of int
        ``(channels, height, width)`` the network sees.
    module_ : CNNModule
    dropout_ : float or None
        The dropout ``module_`` was built with: ``module__dropout`` if set,
        else 0.2 on up to 20,000 training samples and 0.0 above (None for a
        module other than :class:`CNNModule`).
    history_ : skorch History (also ``history``)

    See Also
    --------
    MLPNetClassifier : the fully connected counterpart.

    Examples
    --------
    >>> from sklearn_mnist import CNNClassifier, load_mnist_sample
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=2, random_state=0).fit(X[::5], y[::5])
    >>> clf.predict(X[1::500]).shape
    (10,)
    """

    auto_defaults = AutoDefaults(
        batch_size=256,
        epochs=3,
        min_steps=1250,
        full_until=25000,
        augment_until=20000,
        small_batch_size=128,
    )

    def __init__(self, module=CNNModule, *, lr=8e-3, **kwargs):
        super().__init__(module, lr=lr, **kwargs)

    def _builds_cnn_module(self):
        return isinstance(self.module, type) and issubclass(self.module, CNNModule)

    def _module_defaults(self):
        defaults = super()._module_defaults()
        if self._builds_cnn_module():
            state = self.fit_state
            if state is not None and state.plan is not None:
                # Dropout regularises small data; on large data (no
                # augmentation either) the three epochs end as accurate
                # without it, and the fit is 15-25% faster (RESULTS.md).
                auto = _MODULE_DROPOUT if state.plan.regularise else 0.0
            else:  # a rebuild after fit, a loaded model: what it was built with
                auto = getattr(self, "dropout_", None)
            defaults["dropout"] = _MODULE_DROPOUT if auto is None else auto
        return defaults

    def initialize_module(self):
        # Also where set_params(module__...) rebuilds a fitted network.
        super().initialize_module()
        self.dropout_ = None
        if self._builds_cnn_module():
            self.dropout_ = self._module_kwargs()["dropout"]
        return self


_MODULE_DROPOUT = inspect.signature(CNNModule).parameters["dropout"].default
