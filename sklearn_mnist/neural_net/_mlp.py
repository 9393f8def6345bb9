"""``MLPNetClassifier``: the fully connected network."""

from ._base import BaseImageClassifier
from ._modules import MLPModule
from ._plan import AutoDefaults

__all__ = ["MLPNetClassifier"]


class MLPNetClassifier(BaseImageClassifier):
    """Fully connected network classifier (skorch + PyTorch).

    Defaults: :class:`MLPModule` with one hidden layer of 800 ReLU units (Simard
    et al. 2003) and dropout 0.2, AdamW with a one-cycle schedule peaking at
    ``lr``; with ``"auto"`` training length 6 epochs of batches of 128 on
    large data, but at least 1,000 optimizer steps, and random affine
    augmentation of image batches.

    Architecture knobs are ``module__hidden_units`` and ``module__dropout``.
    Every parameter of :class:`BaseImageClassifier` applies; ``module``, ``lr``
    and ``channels_last`` are the ones whose defaults this class changes.

    Parameters
    ----------
    module : type or nn.Module, default=MLPModule
        The network; built with ``in_shape`` and ``n_classes`` from the data
        and every ``module__*`` parameter.
    lr : float, default=2e-3
        Peak learning rate of the one-cycle schedule.
    channels_last : bool, default=False
        Feed batches in channels-last memory format (no gain for a fully
        connected network).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    image_shape_ : tuple of int
    module_ : MLPModule

    See Also
    --------
    CNNClassifier : the convolutional counterpart.
    sklearn.neural_network.MLPClassifier : scikit-learn's own MLP.

    Examples
    --------
    >>> from sklearn_mnist import MLPNetClassifier, load_mnist_sample
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = MLPNetClassifier(max_epochs=2, random_state=0).fit(X[::5], y[::5])
    >>> clf.predict_proba(X[1::500]).shape
    (10, 10)
    """

    auto_defaults = AutoDefaults(batch_size=128, epochs=6, min_steps=1000)

    def __init__(self, module=MLPModule, *, lr=2e-3, channels_last=False, **kwargs):
        super().__init__(module, lr=lr, channels_last=channels_last, **kwargs)
