"""``TransferModule``: a pretrained backbone adapted to small grey images."""

import numbers

import numpy as np
import torch
from torch import nn

from ._backbones import EFFICIENTNET_LITE0, load_backbone
from ._modules import Dropout

__all__ = ["TransferModule"]


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
            Dropout(dropout),
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
