"""Outlier exposure: teach the network to be unsure about things that are not digits.

A classifier trained on digits alone has never been asked about anything else,
and answers noise, clothing or photographs with high confidence. Outlier
exposure (Hendrycks, Mazeika and Dietterich, "Deep anomaly detection with
outlier exposure", ICLR 2019) adds to every training step the cross-entropy
between the network's prediction on a batch of outliers and the uniform
distribution. Here the outliers are synthetic, made from each training batch
on the fly (no extra data set to download), so they never include the
out-of-distribution sets a benchmark tests on.
"""

import numbers

import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator

from .._compat import Interval, StrOptions

__all__ = ["OutlierExposure", "OUTLIER_KINDS"]


def _noise(X, lo, hi, gen):
    """Uniform noise over the pixel range."""
    return lo + (hi - lo) * torch.rand(X.shape, generator=gen, device=X.device)


def _blobs(X, lo, hi, gen):
    """Smooth random shapes of one grey level with a little texture: filled,
    object-like silhouettes (bicubic upsampling of 5x5 noise, thresholded)."""
    n, c, h, w = X.shape
    device = X.device
    coarse = torch.rand((n, 1, 5, 5), generator=gen, device=device)
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    level = 0.45 + 0.3 * torch.rand((n, 1, 1, 1), generator=gen, device=device)
    grey = 0.4 + 0.6 * torch.rand((n, 1, 1, 1), generator=gen, device=device)
    texture = 0.8 + 0.2 * torch.rand((n, 1, h, w), generator=gen, device=device)
    shape = (field > level).to(X.dtype) * grey * texture
    return lo + (hi - lo) * shape.expand(-1, c, -1, -1)


def _shuffled(X, lo, hi, gen, grid=4):
    """The batch's own digits cut into a 4x4 grid of tiles, tiles permuted:
    strokes of the right width and contrast, no digit shape."""
    n, c, h, w = X.shape
    th, tw = h // grid, w // grid
    if th == 0 or tw == 0:
        return _noise(X, lo, hi, gen)
    core = X[:, :, : th * grid, : tw * grid]
    tiles = core.reshape(n, c, grid, th, grid, tw).permute(0, 2, 4, 1, 3, 5)
    tiles = tiles.reshape(n, grid * grid, c, th, tw)
    order = torch.argsort(
        torch.rand((n, grid * grid), generator=gen, device=X.device), dim=1
    )
    tiles = tiles[torch.arange(n, device=X.device)[:, None], order]
    out = X.clone()
    out[:, :, : th * grid, : tw * grid] = (
        tiles.reshape(n, grid, grid, c, th, tw)
        .permute(0, 3, 1, 4, 2, 5)
        .reshape(n, c, th * grid, tw * grid)
    )
    return out


def _inverted(X, lo, hi, gen):
    """Dark digits on a light background."""
    return (hi + lo) - X


def _overlay(X, lo, hi, gen):
    """Two different digits of the batch drawn over each other, the second
    shifted by 3 to 6 pixels on each axis (never a digit on itself)."""
    n = len(X)
    other = X.roll(1, dims=0) if n > 1 else X
    magnitude = torch.randint(3, 7, (2,), generator=gen, device=X.device)
    sign = torch.randint(0, 2, (2,), generator=gen, device=X.device) * 2 - 1
    return torch.maximum(X, torch.roll(other, (magnitude * sign).tolist(), (2, 3)))


def _thick(X, lo, hi, gen):
    """Digits dilated into blobs (a 7x7 maximum filter)."""
    return F.max_pool2d(X, 7, stride=1, padding=3)


OUTLIER_KINDS = {
    "noise": _noise,
    "blobs": _blobs,
    "shuffled": _shuffled,
    "inverted": _inverted,
    "overlay": _overlay,
    "thick": _thick,
}


class OutlierExposure(BaseEstimator):
    """Outlier exposure with synthetic non-digit images, for ``outlier_exposure=``.

    Every training step also runs the network on a batch of outliers made
    from the training batch and adds ``weight`` times the cross-entropy of
    its predictions to the uniform distribution (Hendrycks et al. 2019), so
    the probabilities and logits of the fitted model are low on inputs that
    are not digits. This makes the probability-based trust scores of
    :class:`~sklearn_mnist.reject.RejectOptionClassifier` detect such inputs,
    and sharpens the feature-space ones (``benchmarks/RESULTS.md``, "Knowing
    when not to answer"). The outliers never reach batch-norm running
    statistics; prediction is unchanged in cost.

    Parameters
    ----------
    weight : float >= 0, default=0.5
        Weight of the outlier term (Hendrycks et al. use 0.5).
    kinds : "all" or list of str, default="all"
        Which outliers, one drawn per image: ``"noise"`` (uniform pixels),
        ``"blobs"`` (smooth filled shapes of one grey level), ``"shuffled"``
        (the batch's digits cut into 4x4 tiles, tiles permuted),
        ``"inverted"`` (dark digits on light), ``"overlay"`` (two digits over
        each other) and ``"thick"`` (digits dilated into blobs).
    ratio : float in (0, 4], default=1.0
        Outliers per training image in each step.

    Examples
    --------
    >>> from sklearn_mnist import CNNClassifier, load_mnist_sample
    >>> from sklearn_mnist.neural_net import OutlierExposure
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, outlier_exposure=OutlierExposure(),
    ...                     random_state=0).fit(X[::5], y[::5])
    """

    _parameter_constraints = {
        "weight": [Interval(numbers.Real, 0, None, closed="left")],
        "kinds": [StrOptions({"all"}), list, tuple],
        "ratio": [Interval(numbers.Real, 0, 4, closed="right")],
    }

    def __init__(self, weight=0.5, kinds="all", ratio=1.0):
        self.weight = weight
        self.kinds = kinds
        self.ratio = ratio

    def _kinds(self):
        kinds = list(OUTLIER_KINDS) if self.kinds == "all" else list(self.kinds)
        unknown = [k for k in kinds if k not in OUTLIER_KINDS]
        if not kinds or unknown:
            raise ValueError(
                f"OutlierExposure kinds must be 'all' or a non-empty list of "
                f"{sorted(OUTLIER_KINDS)}; got {self.kinds!r}"
            )
        return kinds

    def check(self):
        """Validate the parameters (at the classifier's fit)."""
        self._validate_params()
        self._kinds()

    def outlier_batch(self, X, input_range, random_state):
        """``round(ratio * len(X))`` outliers made from the training batch ``X``.

        Parameters
        ----------
        X : tensor (n, c, h, w)
            Raw pixels in the classifier's units.
        input_range : (float, float)
            The pixel range (the classifier's ``input_range_``).
        random_state : numpy RandomState or None
            The fit's batch generator; seeds the draws.
        """
        kinds = self._kinds()
        n = max(1, int(round(self.ratio * len(X))))
        seed = 0 if random_state is None else int(random_state.randint(2**31))
        gen = torch.Generator(device=X.device).manual_seed(seed)
        source = X[torch.randint(len(X), (n,), generator=gen, device=X.device)]
        lo, hi = (float(v) for v in input_range)
        pick = torch.randint(len(kinds), (n,), generator=gen, device=X.device)
        out = torch.empty_like(source)
        for i, kind in enumerate(kinds):
            mask = pick == i
            if mask.any():  # made from the whole batch: overlay pairs any two
                made = OUTLIER_KINDS[kind](source, lo, hi, gen)
                out[mask] = made[mask].to(source.dtype)
        return out

    def loss(self, log_proba):
        """``weight`` times the cross-entropy to the uniform distribution."""
        return self.weight * -log_proba.mean(dim=1).mean()
