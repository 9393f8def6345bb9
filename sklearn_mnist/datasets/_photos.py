"""``make_photo_digits``: MNIST digits rendered as photos of ink on paper.

For trying the path from a user's own pictures to predictions without a
camera: each MNIST-style digit becomes a colour picture of dark ink on
unevenly lit, tinted paper, larger than MNIST, off-centre, tilted, blurred,
noisy and JPEG-compressed, of its own size. The benchmark
``benchmarks/bench_own_images.py``, the gallery example and the tests use it.
"""

import io
import numbers

import numpy as np
from PIL import Image
from scipy import ndimage
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

__all__ = ["make_photo_digits"]


def _render(digit, rng, rotation, jpeg_quality):
    ink = Image.fromarray(digit.astype(np.float32) / 255.0, "F")
    side = int(round(digit.shape[0] * rng.uniform(1.6, 3.6)))
    ink = ink.resize((side, side), Image.Resampling.BICUBIC)
    ink = ink.rotate(
        rng.uniform(-rotation, rotation), Image.Resampling.BILINEAR, expand=True
    )
    mask = np.clip(np.asarray(ink), 0.0, 1.0)
    h, w = mask.shape
    height = int(round(h * rng.uniform(1.2, 2.0)))
    width = int(round(w * rng.uniform(1.2, 2.0)))
    top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
    canvas = np.zeros((height, width), dtype=np.float32)
    canvas[top : top + h, left : left + w] = mask
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    paper = (
        rng.uniform(0.72, 0.92)
        + rng.uniform(-0.12, 0.12) * (xx / width - 0.5)
        + rng.uniform(-0.12, 0.12) * (yy / height - 0.5)
    )
    tint = np.array([1.0, rng.uniform(0.94, 1.0), rng.uniform(0.82, 0.98)])
    ink_rgb = rng.uniform(0.02, 0.3) * np.array([rng.uniform(0.4, 1.0), 0.6, 1.0])
    rgb = (paper[..., None] * tint) * (1 - canvas[..., None]) + ink_rgb * canvas[
        ..., None
    ]
    rgb = ndimage.gaussian_filter(rgb, sigma=(rng.uniform(0.3, 1.0),) * 2 + (0,))
    rgb = rgb + rng.normal(0.0, rng.uniform(0.01, 0.04), size=rgb.shape)
    rgb = (np.clip(rgb, 0.0, 1.0) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(
        buffer, "JPEG", quality=int(rng.integers(jpeg_quality[0], jpeg_quality[1] + 1))
    )
    buffer.seek(0)
    with Image.open(buffer) as jpeg:
        return np.asarray(jpeg.convert("RGB"))


def make_photo_digits(
    images, *, rotation=8.0, jpeg_quality=(50, 90), random_state=None
):
    """Render MNIST-style digits as photo-like colour pictures of ink on paper.

    Each digit (white on black, as MNIST) is scaled up 1.6-3.6 times (bicubic),
    tilted by up to ``rotation`` degrees, placed at a random position on a
    canvas 1.2-2 times its size, drawn in dark ink (grey level 0.02-0.3, bluish
    or black) on paper of level 0.72-0.92 with a tint and a linear lighting
    gradient of up to +-0.12 across the picture, blurred (Gaussian, sigma
    0.3-1 px), given Gaussian noise (sigma 0.01-0.04) and saved as a JPEG of
    quality ``jpeg_quality``; every value is drawn per picture.

    Parameters
    ----------
    images : array-like of shape (n, h, w) or (n, h*w) with square h*w
        Grey levels 0..255, white ink on black (MNIST).
    rotation : float, default=8.0
        Largest tilt in degrees (each picture: uniform in +-rotation).
    jpeg_quality : (int, int), default=(50, 90)
        Range of the JPEG quality drawn per picture (1..95).
    random_state : int, RandomState instance or None, default=None
        Seeds every draw.

    Returns
    -------
    photos : list of ndarray of uint8, each of shape (height, width, 3)
        One picture per digit; sizes differ.

    Examples
    --------
    >>> from sklearn_mnist.datasets import load_mnist_sample, make_photo_digits
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> photos = make_photo_digits(X[:3], random_state=0)
    >>> len(photos), photos[0].dtype, photos[0].ndim
    (3, dtype('uint8'), 3)
    """
    X = check_array(images, allow_nd=True, dtype=np.float32)
    if X.ndim == 2:
        side = int(round(np.sqrt(X.shape[1])))
        if side * side != X.shape[1]:
            raise ValueError(
                f"make_photo_digits expects square images; got rows of {X.shape[1]} "
                "values"
            )
        X = X.reshape(len(X), side, side)
    if X.ndim != 3:
        raise ValueError(
            f"make_photo_digits expects images (n, h, w); got shape {X.shape}"
        )
    if X.min() < 0 or X.max() > 255:
        raise ValueError("make_photo_digits expects grey levels in 0..255")
    if not isinstance(rotation, numbers.Real) or not 0 <= rotation <= 180:
        raise ValueError(f"rotation must be in [0, 180] degrees, got {rotation!r}")
    low, high = (int(q) for q in jpeg_quality)
    if not 1 <= low <= high <= 95:
        raise ValueError(
            f"jpeg_quality must be (low, high) with 1 <= low <= high <= 95, got "
            f"{jpeg_quality!r}"
        )
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    return [_render(x, rng, rotation, (low, high)) for x in X]
