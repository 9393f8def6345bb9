"""``ElasticDistortion``: Simard et al. (2003)'s elastic deformations, per sample."""

from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F

from .._compat import Interval
from ._augment import BaseAugmenter, RandomAffineAugmenter

__all__ = ["ElasticDistortion"]


def _gaussian_kernel(sigma):
    radius = max(1, int(np.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    return kernel / kernel.sum()


class ElasticDistortion(BaseAugmenter):
    """Random elastic deformations (Simard, Steinkraus and Platt, 2003).

    For every sample, a displacement field of uniform noise in [-1, 1] per pixel
    and direction is smoothed with a Gaussian of width ``sigma`` and scaled by
    ``alpha`` (in pixels); the image is resampled bilinearly along it. Simard et
    al. used ``alpha=34, sigma=4`` on MNIST. The same training-time semantics as
    :class:`RandomAffineAugmenter` (``fit_transform`` distorts, ``transform``
    passes through, ``fit_resample``, ``augment=`` on a classifier): both are
    :class:`BaseAugmenter` s and differ only in how they move pixels.

    Parameters
    ----------
    alpha : float, default=34.0
        Scale of the displacement in pixels, in [0, 1e6].
    sigma : float, default=4.0
        Width of the Gaussian smoothing, in pixels, in [0.01, 100].
    fill, image_shape, n_copies, random_state
        As in :class:`RandomAffineAugmenter`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mnist.preprocessing import ElasticDistortion
    >>> X = np.zeros((3, 28, 28), dtype=np.uint8); X[:, 8:20, 12:16] = 255
    >>> Xe = ElasticDistortion(random_state=0).fit_transform(X)
    >>> Xe.shape, bool((Xe != X).any())
    ((3, 28, 28), True)
    """

    _parameter_constraints = {
        **{
            k: v
            for k, v in RandomAffineAugmenter._parameter_constraints.items()
            if k in ("fill", "image_shape", "n_copies", "random_state")
        },
        # Bounded so that every value is finite: beyond 1e6 pixels every
        # pixel has long left the image (and float32 grids overflow); below
        # 0.01 the blur is the identity already (and 2 sigma^2 underflows to
        # 0: NaN images); above 100 the kernel is wider than any image.
        "alpha": [Interval(Real, 0, 1e6, closed="both")],
        "sigma": [Interval(Real, 0.01, 100, closed="both")],
    }

    def __init__(
        self, *, alpha=34.0, sigma=4.0, fill=0.0, image_shape=None, n_copies=1,
        random_state=None,
    ):  # fmt: skip
        self.alpha = alpha
        self.sigma = sigma
        self.fill = fill
        self.image_shape = image_shape
        self.n_copies = n_copies
        self.random_state = random_state

    def _draw(self, n, h, w, rng):
        return None  # fields are drawn per chunk in _warp: they are large

    def _warp(self, images, params, rng):
        n, _, h, w = images.shape
        noise = torch.from_numpy(rng.uniform(-1.0, 1.0, size=(n * 2, 1, h, w)))
        kernel = _gaussian_kernel(self.sigma)
        k = len(kernel)
        # Separable Gaussian blur, zero padding ("constant" in Simard et al.).
        field = F.conv2d(noise, kernel.view(1, 1, 1, k), padding=(0, k // 2))
        field = F.conv2d(field, kernel.view(1, 1, k, 1), padding=(k // 2, 0))
        field = (self.alpha * field).view(n, 2, h, w)
        # Pixel displacements to normalised grid offsets (align_corners=False).
        scale = torch.tensor([2.0 / w, 2.0 / h], dtype=torch.float64).view(1, 2, 1, 1)
        xs = (torch.arange(w, dtype=torch.float64) * 2 + 1) / w - 1
        ys = (torch.arange(h, dtype=torch.float64) * 2 + 1) / h - 1
        base = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=0)  # (2, h, w)
        grid = (base + field * scale).permute(0, 2, 3, 1)
        grid = grid.to(device=images.device, dtype=images.dtype)
        fill = float(self.fill)
        shifted = images - fill if fill else images
        out = F.grid_sample(
            shifted, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )
        return out + fill if fill else out
