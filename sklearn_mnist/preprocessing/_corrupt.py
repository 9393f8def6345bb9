"""``Corruption``: the MNIST-C corruptions (Mu and Gilmer, 2019), per sample.

Every corruption is a function ``f(x, level, gen, s) -> tensor`` of a float
batch ``x`` of shape ``(n, c, h, w)`` in the unit range 0..1, the parameters
``level`` of one severity, a :class:`numpy.random.Generator` ``gen`` for its
random draws and the length scale ``s = min(h, w) / 28``. The parameters per
severity are those of ``corruptions.py`` in google-research/mnist-c (commit
aa07569; the four corruptions MNIST-C only kept in its extended list,
``gaussian_noise``, ``gaussian_blur``, ``defocus_blur`` and ``contrast``, come
from the same file). Lengths in pixels are MNIST-C's at 28x28, times ``s``.
"""

import functools
import math
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, StrOptions
from ..utils import infer_clip_range, sample_shape, validate_images
from ._augment import BaseAugmenter, warp_affine

__all__ = ["Corruption"]

# /////////////// parameters per severity (google-research/mnist-c) ///////////////

#: MNIST-C's 15 corruptions, in the order of its ``CORRUPTIONS`` list.
MNIST_C_KINDS = (
    "shot_noise",
    "impulse_noise",
    "glass_blur",
    "motion_blur",
    "shear",
    "scale",
    "rotate",
    "brightness",
    "translate",
    "stripe",
    "fog",
    "spatter",
    "dotted_line",
    "zigzag",
    "canny_edges",
)
#: ``kind="all"``: MNIST-C's 15 and four of its extended list.
ALL_KINDS = (*MNIST_C_KINDS, "gaussian_noise", "gaussian_blur", "defocus_blur",
             "contrast")  # fmt: skip

#: The parameters of severities 1..5, from mnist-c's ``corruptions.py``.
LEVELS = {
    "gaussian_noise": [0.08, 0.12, 0.18, 0.26, 0.38],  # standard deviation
    "shot_noise": [60, 25, 12, 5, 3],  # photons at full intensity
    "impulse_noise": [0.03, 0.06, 0.09, 0.17, 0.27],  # fraction of pixels
    "gaussian_blur": [1, 2, 3, 4, 6],  # sigma
    # (sigma, max_delta, iterations)
    "glass_blur": [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)],
    # (radius, alias_blur)
    "defocus_blur": [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)],
    # ImageMagick's (radius, sigma)
    "motion_blur": [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)],
    "shear": [0.2, 0.4, 0.6, 0.8, 1.0],  # radians, random sign
    "scale": [1 / 0.9, 1 / 0.8, 1 / 0.7, 1 / 0.6, 1 / 0.5],  # inverse zoom
    "rotate": [0.2, 0.4, 0.6, 0.8, 1.0],  # radians, random sign
    "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],  # added to HSV value
    "translate": [1, 2, 3, 4, 5],  # pixels, random sign per axis
    "fog": [(1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)],
    # (loc, scale, sigma, threshold, sigma of the mask); mnist-c's sixth
    # value (a "mud" flag) is unused there.
    "spatter": [
        (0.65, 0.3, 4, 0.69, 0.6),
        (0.65, 0.3, 3, 0.68, 0.6),
        (0.65, 0.3, 2, 0.68, 0.5),
        (0.65, 0.3, 1, 0.65, 1.5),
        (0.67, 0.4, 1, 0.65, 1.5),
    ],
    "contrast": [0.4, 0.3, 0.2, 0.1, 0.05],  # factor about the mean
}
#: ``severity="mnist_c"``: the default ``severity`` of each function in
#: mnist-c's ``corruptions.py``, the fixed severities of the MNIST-C data set.
MNIST_C_SEVERITY = {
    "gaussian_noise": 5,
    "shot_noise": 5,
    "impulse_noise": 4,
    "gaussian_blur": 2,
    "glass_blur": 1,
    "defocus_blur": 1,
    "motion_blur": 1,
    "shear": 2,
    "scale": 3,
    "rotate": 2,
    "brightness": 5,
    "translate": 3,
    "fog": 5,
    "spatter": 4,
    "contrast": 4,
}


def corruption_level(kind, severity):
    """The parameters of ``kind`` at ``severity`` (1..5, a float interpolates
    linearly between the two neighbouring rows); None for the corruptions
    without severity (stripe, dotted_line, zigzag, canny_edges, identity)."""
    if kind not in LEVELS:
        return None
    if isinstance(severity, str):
        severity = MNIST_C_SEVERITY[kind]
    rows = np.asarray(LEVELS[kind], dtype=float)
    low = min(int(math.floor(severity)), 4)
    t = float(severity) - low
    value = rows[low - 1] * (1 - t) + rows[low] * t if t else rows[low - 1]
    return tuple(value) if value.ndim else float(value)


# /////////////// helpers on (n, c, h, w) tensors ///////////////


def _tensor(array, like):
    return torch.as_tensor(array, dtype=like.dtype, device=like.device)


def _numpy(x):
    return x.detach().cpu().numpy()


def _pad_index(size, before, after, mode):
    """Source index of every padded position: scipy.ndimage's ``"nearest"``
    (repeat the edge) or ``"mirror"`` (reflect about the edge pixel, OpenCV's
    BORDER_REFLECT_101), for pads of any width."""
    i = np.arange(-before, size + after)
    if mode == "nearest" or size == 1:
        return np.clip(i, 0, size - 1)
    period = 2 * (size - 1)
    i = np.mod(i, period)
    return np.where(i >= size, period - i, i)


def _pad(x, ph, pw, mode):
    h, w = x.shape[-2:]
    rows = torch.from_numpy(_pad_index(h, ph, ph, mode)).to(x.device)
    cols = torch.from_numpy(_pad_index(w, pw, pw, mode)).to(x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def _gaussian_kernel1d(sigma, truncate=4.0):
    """scipy.ndimage's Gaussian: radius ``int(truncate * sigma + 0.5)``."""
    radius = int(truncate * sigma + 0.5)
    t = np.arange(-radius, radius + 1) / sigma
    kernel = np.exp(-0.5 * t * t)
    return kernel / kernel.sum()


@functools.lru_cache(maxsize=64)
def _filter_matrix(size, kernel, mode):
    """The ``(size, size)`` matrix of a 1-D correlation with ``kernel`` (a
    tuple, centred) whose out-of-image taps are folded back per ``mode``."""
    r = len(kernel) // 2
    rows = np.repeat(np.arange(size), len(kernel))
    taps = np.tile(np.arange(len(kernel)), size)
    cols = _pad_index(size, r, r, mode)[rows + taps]
    matrix = np.zeros((size, size))
    np.add.at(matrix, (rows, cols), np.asarray(kernel)[taps])
    return matrix


def gaussian(x, sigma):
    """``scipy.ndimage.gaussian_filter`` of each image, mode ``"nearest"``
    (:func:`skimage.filters.gaussian`'s defaults): separable, so one matrix
    product per axis, ``A_h @ x @ A_w.T``, for the whole batch."""
    if sigma <= 0:
        return x
    kernel = tuple(_gaussian_kernel1d(sigma))
    h, w = x.shape[-2:]
    rows = _tensor(_filter_matrix(h, kernel, "nearest"), x)
    cols = _tensor(_filter_matrix(w, kernel, "nearest"), x)
    return rows @ x @ cols.T


def correlate(x, kernel, mode):
    """``scipy.ndimage.correlate(image, kernel, mode=mode)`` of each image and
    channel; ``kernel`` of odd sides, centred."""
    n, c, h, w = x.shape
    kh, kw = kernel.shape
    y = _pad(x.reshape(n * c, 1, h, w), kh // 2, kw // 2, mode)
    return F.conv2d(y, _tensor(kernel, x).view(1, 1, kh, kw)).view(n, c, h, w)


def shift_sum(x, dy, dx, weights):
    """``sum_t weights[t] * x[i, :, y + dy[i, t], x + dx[i, t]]`` with the
    edge repeated outside the image: a different set of integer shifts per
    image, one gather per tap."""
    n, c, h, w = x.shape
    pad = int(max(np.abs(dy).max(), np.abs(dx).max(), 0))
    padded = _pad(x, pad, pad, "nearest").reshape(n, c, -1)
    width = w + 2 * pad
    rows = torch.arange(h, device=x.device)[:, None] + pad
    base = (rows * width + torch.arange(w, device=x.device) + pad).reshape(1, 1, -1)
    shifts = torch.from_numpy(dy * width + dx).to(x.device)
    out = torch.zeros(n, c, h * w, dtype=x.dtype, device=x.device)
    for t, weight in enumerate(weights):
        index = (base + shifts[:, t, None, None]).expand(n, c, h * w)
        out.add_(torch.gather(padded, 2, index), alpha=float(weight))
    return out.view(n, c, h, w)


def _signs(gen, size):
    """MNIST-C's ``np.random.choice([-1, 1])``: -1 or 1, equally likely."""
    return gen.integers(0, 2, size=size) * 2 - 1


def _about_centre(x, linear, shift=None):
    """Warp with output-to-input maps ``linear`` (n, 2, 2) that keep the image
    centre fixed (mnist-c's ``13.5 * (1 - a1 - a2)``), plus ``shift`` (n, 2),
    bilinear, zeros outside: skimage's ``warp(x, inverse_map=aff)``."""
    n, _, h, w = x.shape
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    M = np.zeros((n, 3, 3))
    M[:, :2, :2] = linear
    M[:, :2, 2] = centre - linear @ centre
    if shift is not None:
        M[:, :2, 2] += shift
    M[:, 2, 2] = 1.0
    return warp_affine(x, M)


# /////////////// the corruptions ///////////////


def _identity(x, level, gen, s):
    return x.clone()


def _gaussian_noise(x, sigma, gen, s):
    """``clip(x + N(0, sigma^2))``: skimage's ``random_noise(mode="gaussian")``."""
    noise = gen.normal(0.0, sigma, size=x.shape)
    return (x + _tensor(noise, x)).clamp_(0, 1)


def _shot_noise(x, photons, gen, s):
    """``clip(Poisson(x * photons) / photons)``."""
    counts = gen.poisson(np.maximum(_numpy(x).astype(np.float64), 0) * photons)
    return _tensor(counts / photons, x).clamp_(0, 1)


def _impulse_noise(x, amount, gen, s):
    """Salt and pepper: skimage's ``random_noise(mode="s&p", amount=amount)``
    (a pixel is hit with probability ``amount``; hits are 0 or 1 evenly)."""
    flipped = _tensor(gen.random(x.shape) <= amount, x).bool()
    salted = _tensor(gen.random(x.shape) <= 0.5, x)
    return torch.where(flipped, salted, x)


def _gaussian_blur(x, sigma, gen, s):
    return gaussian(x, sigma * s).clamp_(0, 1)


def _glass_blur(x, level, gen, s):
    """Blur, truncate to 8 bits, swap pixels with random neighbours, blur.

    Positions are visited in mnist-c's order (rows, then columns, from the
    bottom right); at each a coin decides whether the pixel swaps with the one
    ``(dy, dx)`` away, both in ``[-max_delta, max_delta)``. Draws: the coins
    ``gen.random((iterations, positions, n)) < 0.5``, then the offsets
    ``gen.integers(-d, d, size=(iterations, positions, n, 2))`` as ``(dx, dy)``.
    """
    sigma, delta, iterations = level
    sigma, delta, iterations = sigma * s, max(1, round(delta * s)), round(iterations)
    n, c, h, w = x.shape
    positions = [
        (row, col)
        for row in range(h - delta, delta, -1)
        for col in range(w - delta, delta, -1)
    ]
    swap = gen.random((iterations, len(positions), n)) < 0.5
    offsets = gen.integers(-delta, delta, size=(iterations, len(positions), n, 2))
    # mnist-c: np.uint8(blurred * 255), which truncates
    q = np.floor(_numpy(gaussian(x, sigma)).transpose(0, 2, 3, 1) * 255)
    # Rows of the flat (n * h * w, c) pixels; an image whose coin says no
    # swaps its pixel with itself.
    q = q.reshape(n * h * w, c)
    here = np.array([row * w + col for row, col in positions], dtype=np.int64)
    first = np.arange(n) * (h * w)
    src = here[:, None] + first  # (positions, n)
    dst = src + np.where(swap, offsets[..., 1] * w + offsets[..., 0], 0)
    for it in range(iterations):
        for k in range(len(here)):
            a, b = src[k], dst[it, k]
            pixel = q[a]
            q[a] = q[b]
            q[b] = pixel
    q = q.reshape(n, h, w, c)
    shuffled = _tensor(q.transpose(0, 3, 1, 2) / 255, x)
    return gaussian(shuffled, sigma).clamp_(0, 1)


def defocus_kernel(radius, alias_blur, s=1.0):
    """mnist-c's ``disk``: a disk of ``radius`` on a grid of at least 17x17,
    normalised, then blurred by OpenCV's ``GaussianBlur`` (3x3, or 5x5 for
    radii above 8; reflect-101 borders) with ``sigma=alias_blur``."""
    from scipy.ndimage import correlate1d

    radius, alias_blur, half = radius * s, alias_blur * s, max(1, round(8 * s))
    if radius <= half:
        size, ksize = half, 3
    else:
        size, ksize = math.ceil(radius), 5
    L = np.arange(-size, size + 1)
    X, Y = np.meshgrid(L, L)
    disk = (X**2 + Y**2 <= radius**2).astype(np.float64)
    disk /= disk.sum()
    t = np.arange(ksize) - ksize // 2  # OpenCV's getGaussianKernel(ksize, sigma)
    g = np.exp(-(t**2) / (2 * max(alias_blur, 1e-12) ** 2))
    g /= g.sum()
    disk = correlate1d(disk, g, axis=0, mode="mirror")
    return correlate1d(disk, g, axis=1, mode="mirror")


def _defocus_blur(x, level, gen, s):
    """OpenCV's ``filter2D(x, -1, disk)``: correlation, reflect-101 borders."""
    return correlate(x, defocus_kernel(*level, s=s), "mirror").clamp_(0, 1)


def motion_kernel(radius, sigma, angles):
    """ImageMagick's ``MotionBlurImage`` taps: weights ``exp(-i^2 / 2 sigma^2)``
    (normalised) for ``i < width = 2 * ceil(radius) + 1`` and, per angle in
    degrees, integer offsets ``(dy, dx)`` of shape (n, width) along it."""
    width = 2 * math.ceil(radius) + 1
    i = np.arange(width)
    weights = np.exp(-(i**2) / (2.0 * sigma**2))
    weights /= weights.sum()
    a = np.deg2rad(np.asarray(angles, dtype=float))[:, None]
    px, py = width * np.sin(a), width * np.cos(a)
    hyp = np.hypot(px, py)
    dx = np.ceil(i * py / hyp - 0.5).astype(np.int64)
    dy = np.ceil(i * px / hyp - 0.5).astype(np.int64)
    return weights, dy, dx


def _motion_blur(x, level, gen, s):
    """mnist-c's Wand ``motion_blur(radius, sigma, angle)``, angle uniform in
    [-45, 45] degrees per image: a one-sided Gaussian trail along the angle,
    edge pixels repeated outside the image."""
    radius, sigma = level
    weights, dy, dx = motion_kernel(radius * s, sigma * s, gen.uniform(-45, 45, len(x)))
    return shift_sum(x, dy, dx, weights).clamp_(0, 1)


def shear_maps(c, signs):
    """mnist-c's ``AffineTransform(shear=c)`` as scikit-image wrote it in 2019
    (``[[1, -sin c], [0, cos c]]``; scikit-image 0.22+ means ``tan`` by it)."""
    c = c * np.asarray(signs, dtype=float)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack([np.stack([one, -np.sin(c)], -1),
                     np.stack([zero, np.cos(c)], -1)], -2)  # fmt: skip


def rotation_maps(c, signs):
    c = c * np.asarray(signs, dtype=float)
    return np.stack([np.stack([np.cos(c), -np.sin(c)], -1),
                     np.stack([np.sin(c), np.cos(c)], -1)], -2)  # fmt: skip


def _shear(x, c, gen, s):
    return _about_centre(x, shear_maps(c, _signs(gen, len(x))))


def _rotate(x, c, gen, s):
    return _about_centre(x, rotation_maps(c, _signs(gen, len(x))))


def _scale(x, c, gen, s):
    return _about_centre(x, np.tile(np.eye(2) * c, (len(x), 1, 1)))


def _translate(x, c, gen, s):
    shift = c * s * _signs(gen, (len(x), 2))  # (dx, dy)
    return _about_centre(x, np.tile(np.eye(2), (len(x), 1, 1)), shift)


def _brightness(x, c, gen, s):
    """Add ``c`` to the HSV value (mnist-c: gray -> RGB -> HSV -> RGB -> gray,
    which is ``clip(x + c)`` for one channel); colour images keep hue and
    saturation: every channel scales by ``min(V + c, 1) / V``."""
    if x.shape[1] == 1:
        return (x + c).clamp_(0, 1)
    v = x.amax(dim=1, keepdim=True)
    bright = (v + c).clamp(0, 1)
    safe = torch.where(v > 0, v, torch.ones_like(v))
    return torch.where(v > 0, x * bright / safe, bright.expand_as(x)).clamp_(0, 1)


def _contrast(x, c, gen, s):
    mean = x.mean(dim=(2, 3), keepdim=True)
    return ((x - mean) * c + mean).clamp_(0, 1)


def _stripe(x, level, gen, s):
    """Invert the left and right quarters (mnist-c: columns ``:7`` and ``21:``)."""
    k = x.shape[-1] // 4
    out = x.clone()
    out[..., :k] = 1 - x[..., :k]
    if k:
        out[..., -k:] = 1 - x[..., -k:]
    return out


def plasma_fractal(n, mapsize=256, decay=3.0, gen=None):
    """mnist-c's diamond-square height maps, ``n`` at once, each in [0, 1].

    Draws ``gen.uniform(-wibble, wibble, (n, *shape))`` at each step in
    mnist-c's order (squares, then the two diamond sets), so ``n=1`` makes
    exactly the draws of the original with ``np.random`` replaced by ``gen``.
    """
    maps = np.empty((n, mapsize, mapsize))
    maps[:, 0, 0] = 0
    step, wibble = mapsize, 100.0

    def wibbled_mean(a):
        return a / 4 + wibble * gen.uniform(-wibble, wibble, a.shape)

    while step >= 2:
        half = step // 2
        corner = maps[:, 0:mapsize:step, 0:mapsize:step]
        square = corner + np.roll(corner, -1, axis=1)
        square += np.roll(square, -1, axis=2)
        maps[:, half:mapsize:step, half:mapsize:step] = wibbled_mean(square)
        dr = maps[:, half:mapsize:step, half:mapsize:step]
        ul = maps[:, 0:mapsize:step, 0:mapsize:step]
        left = dr + np.roll(dr, 1, axis=1) + ul + np.roll(ul, -1, axis=2)
        maps[:, 0:mapsize:step, half:mapsize:step] = wibbled_mean(left)
        top = dr + np.roll(dr, 1, axis=2) + ul + np.roll(ul, -1, axis=1)
        maps[:, half:mapsize:step, 0:mapsize:step] = wibbled_mean(top)
        step //= 2
        wibble /= decay
    maps -= maps.min(axis=(1, 2), keepdims=True)
    return maps / maps.max(axis=(1, 2), keepdims=True)


def _fog(x, level, gen, s):
    """``clip((x + c * fractal) * max(x) / (max(x) + c))`` with the top left
    corner of a 256x256 plasma fractal (at least the image's size)."""
    c, decay = level
    n, _, h, w = x.shape
    mapsize = max(256, 1 << (max(h, w) - 1).bit_length())
    fractal = np.concatenate(
        [plasma_fractal(min(8, n - i), mapsize, decay, gen)[:, :h, :w]
         for i in range(0, n, 8)]
    )  # fmt: skip
    peak = x.amax(dim=(1, 2, 3), keepdim=True)
    return ((x + c * _tensor(fractal, x)[:, None]) * peak / (peak + c)).clamp_(0, 1)


def _spatter(x, level, gen, s):
    """Mud: Gaussian noise blurred and thresholded into blobs, blurred again;
    where the mask is at least 0.8 the pixel blends to 63/255 gray."""
    loc, scale, sigma, threshold, sigma_mask = level
    n, _, h, w = x.shape
    liquid = gaussian(_tensor(gen.normal(loc, scale, size=(n, 1, h, w)), x), sigma * s)
    mask = gaussian((liquid > threshold).to(x.dtype), sigma_mask * s)
    mask = torch.where(mask < 0.8, torch.zeros_like(mask), mask)
    return (x * (1 - mask) + 63 / 255 * mask).clamp_(0, 1)


def line_maps(c0, r0, c1, r1, h, w, thickness=2.3):
    """mnist-c's ``line_from_points`` for arrays of end points: intensity
    ``log(1 - d / thickness) + 1`` (clipped to 0..1) at vertical distance ``d``
    from the line, between columns ``floor(c0)`` and ``ceil(c1)``; returns
    shape ``(*c0.shape, h, w)``; vertical segments are empty."""
    c0, r0, c1, r1 = (np.asarray(v, dtype=float) for v in (c0, r0, c1, r1))
    cols, rows = np.arange(w, dtype=float), np.arange(h, dtype=float)[:, None]
    valid = c1 != c0
    slope = (r1 - r0) / np.where(valid, c1 - c0, 1.0)
    centre = slope[..., None] * (cols - c0[..., None]) + r0[..., None]
    dist = np.clip(np.abs(rows - centre[..., None, :]), 0, thickness - 1e-10)
    line = np.clip(np.log(1 - dist / thickness) + 1, 0, 1)
    inside = (cols >= np.floor(c0)[..., None]) & (cols < np.ceil(c1)[..., None])
    return line * (inside & valid[..., None])[..., None, :]


def _dotted_line(x, level, gen, s):
    """A dashed line from the left to the right edge, rows drawn uniformly."""
    n, _, h, w = x.shape
    r0, r1 = gen.integers(0, max(h - 1, 1), size=(2, n))
    line = line_maps(np.zeros(n), r0, np.full(n, w - 1.0), r1, h, w, 2.3 * s)
    dash = max(1, round(2 * s))
    line[..., (np.arange(w) // dash) % 2 == 0] = 0
    return (x + _tensor(line, x)[:, None]).clamp_(0, 1)


def zigzag_points(c0, c1, r0, r1, a=2.0, b=2.0):
    """mnist-c's zigzag corners ``(columns, rows)``: teeth ``a`` long and ``b``
    high along the line from ``(r0, c0)`` to ``(r1, c1)``, quirks included."""
    theta = np.arctan((r1 - r0) / (c1 - c0))
    d = (c1 - c0) / np.cos(theta)
    points = [(0.0, 0.0)]
    for i in range(int((d - a) // (2 * a)) + 1):
        points.append(((2 * i + 1) * a, (-1) ** i * b))
    max_c = (2 * a) * (d // (2 * a))
    if d != max_c:
        points.append((d, points[-1][1] / (2 * (d - max_c))))
    cos, sin = np.cos(theta), np.sin(theta)
    cs, rs = np.array([[cos, -sin], [sin, cos]]) @ np.array(points).T
    return cs + c0, rs + r0


def _zigzag(x, level, gen, s):
    n, _, h, w = x.shape
    a = 2.0 * s
    c0, c1 = 2 * s, (w - 1) - 2 * s
    k = max(1, round(5 * s))
    r0 = gen.integers(0, max(h - 1, 1), size=n)
    r1 = r0 + gen.integers(-k, k, size=n)
    corners = [zigzag_points(c0, c1, r0[i], r1[i], a, a) for i in range(n)]
    m = max(len(cs) for cs, _ in corners) - 1
    seg = np.zeros((4, n, m))  # c0, r0, c1, r1 of each segment; unused: empty
    for i, (cs, rs) in enumerate(corners):
        j = len(cs) - 1
        seg[:, i, :j] = cs[:-1], rs[:-1], cs[1:], rs[1:]
    lines = line_maps(*seg, h, w, 2.3 * s).sum(axis=1)
    return (x + _tensor(lines, x)[:, None]).clamp_(0, 1)


def _canny_edges(x, level, gen, s):
    """:func:`skimage.feature.canny` (sigma 1 at 28x28) of each image and
    channel: 1 on the edges, 0 elsewhere."""
    from skimage.feature import canny

    images = _numpy(x)
    edges = np.empty(images.shape, dtype=bool)
    for i in np.ndindex(images.shape[:2]):
        edges[i] = canny(images[i], sigma=1.0 * s)
    return _tensor(edges, x)


CORRUPTIONS = {
    "identity": _identity,
    "gaussian_noise": _gaussian_noise,
    "shot_noise": _shot_noise,
    "impulse_noise": _impulse_noise,
    "gaussian_blur": _gaussian_blur,
    "glass_blur": _glass_blur,
    "defocus_blur": _defocus_blur,
    "motion_blur": _motion_blur,
    "shear": _shear,
    "scale": _scale,
    "rotate": _rotate,
    "brightness": _brightness,
    "translate": _translate,
    "stripe": _stripe,
    "fog": _fog,
    "spatter": _spatter,
    "dotted_line": _dotted_line,
    "zigzag": _zigzag,
    "canny_edges": _canny_edges,
    "contrast": _contrast,
}
_KIND_CHOICES = {*CORRUPTIONS, "all", "mnist_c"}


def resolve_kinds(kind):
    """``kind`` as a tuple of corruption names; ValueError naming the choices."""
    if isinstance(kind, str):
        names = {"all": ALL_KINDS, "mnist_c": MNIST_C_KINDS}.get(kind, (kind,))
    else:
        names = tuple(kind)
    bad = [k for k in names if not isinstance(k, str) or k not in CORRUPTIONS]
    if not names or bad:
        raise ValueError(
            f"kind must be one of {sorted(CORRUPTIONS)}, 'all', 'mnist_c' or a "
            f"non-empty list of corruption names; got {kind!r}"
        )
    return names


def _check_severity(severity):
    """``(low, high)`` for a pair of integer severities, else None."""
    if not isinstance(severity, tuple | list):
        return None
    if not (
        len(severity) == 2
        and all(isinstance(v, Integral) and not isinstance(v, bool) for v in severity)
        and 1 <= severity[0] <= severity[1] <= 5
    ):
        raise ValueError(
            "severity must be a number in [1, 5], 'mnist_c' or a pair (low, high) "
            f"of integers with 1 <= low <= high <= 5; got {severity!r}"
        )
    return int(severity[0]), int(severity[1])


class Corruption(BaseAugmenter):
    """MNIST-C's image corruptions (Mu and Gilmer, 2019), each with a severity.

    The 15 corruptions of the MNIST-C robustness benchmark (shot noise,
    impulse noise, glass blur, motion blur, shear, scale, rotate, brightness,
    translate, stripe, fog, spatter, dotted line, zigzag, canny edges) and four
    of its extended list (Gaussian noise, Gaussian blur, defocus blur,
    contrast), with the parameters of severities 1 to 5 from MNIST-C's own
    code (``corruptions.py`` of google-research/mnist-c; the values are in the
    ``LEVELS`` table of this module, each corruption's steps in its function's
    docstring). Pixels are read in the range the data were fitted in (0..255
    for uint8 or brighter than 127, 0..1 for floats within it), so uint8 and
    0..1 float images are corrupted alike; lengths in pixels (blur widths,
    shifts, line widths) are MNIST-C's at 28x28, scaled by
    ``min(height, width) / 28`` for other image sizes.

    Two uses:

    - **evaluation**: :meth:`corrupt` returns a corrupted copy of a test set
      (it needs no ``fit``); :func:`~sklearn_mnist.metrics.corruption_robustness`
      reports the accuracy per corruption and severity;
    - **training augmentation**: ``CNNClassifier(augment=Corruption("all"))``
      corrupts every training batch afresh, and like every
      :class:`BaseAugmenter`, ``fit_transform`` corrupts while ``transform``
      returns its input unchanged, so in a ``Pipeline`` ``predict`` sees clean
      data (``fit_resample`` adds ``n_copies`` corrupted copies).

    All images of a call are corrupted in vectorised batch operations (torch
    for filters, warps and overlays, on the batch's device); the random draws
    come from a NumPy generator seeded by ``random_state``. Canny edges
    (:func:`skimage.feature.canny`) and glass blur's pixel swaps run on the
    CPU.

    ================  ==================================================
    kind              severity 1 .. 5 (MNIST-C's severity in brackets)
    ================  ==================================================
    gaussian_noise    add N(0, s^2), s = .08 .12 .18 .26 .38 [5]
    shot_noise        Poisson(x * p) / p, p = 60 25 12 5 3 [5]
    impulse_noise     salt and pepper on .03 .06 .09 .17 .27 of pixels [4]
    gaussian_blur     sigma 1 2 3 4 6 [2]
    glass_blur        blur, local pixel swaps, blur (sigma .7 to 1.5) [1]
    defocus_blur      disk of radius 3 4 6 8 10 [1]
    motion_blur       ImageMagick radius 10-20, sigma 3-15, angle
                      uniform in +-45 degrees [1]
    shear             shear angle .2 .4 .6 .8 1 rad, random sign [2]
    scale             zoom out by .9 .8 .7 .6 .5 [3]
    rotate            .2 .4 .6 .8 1 rad, random sign [2]
    brightness        HSV value + .1 .2 .3 .4 .5 [5]
    translate         1 2 3 4 5 pixels, random sign per axis [3]
    fog               plasma fractal, strength 1.5 2 2.5 2.5 3 [5]
    spatter           mud blobs, blur 4 3 2 1 1 [4]
    contrast          (x - mean) * .4 .3 .2 .1 .05 + mean [4]
    stripe            left and right quarters inverted (no severity)
    dotted_line       a dashed line across (no severity)
    zigzag            a zigzag line across (no severity)
    canny_edges       the Canny edge map (no severity)
    identity          unchanged
    ================  ==================================================

    Parameters
    ----------
    kind : str or list of str, default="all"
        A corruption name from the table, ``"all"`` (the 19 corruptions, not
        ``identity``), ``"mnist_c"`` (MNIST-C's 15), or a list of names. With
        several, each image gets one drawn uniformly.
    severity : int, float, "mnist_c" or (int, int), default=3
        1 (mildest) to 5; a float in [1, 5] interpolates linearly between the
        parameters of the neighbouring integer severities; ``"mnist_c"`` uses
        each corruption's severity in the MNIST-C data set (the default
        ``severity`` of its function in MNIST-C's ``corruptions.py``, in
        brackets in the table); a pair ``(low, high)`` draws an integer
        severity per image uniformly from ``low..high``. The four corruptions
        without severity ignore it.
    image_shape : tuple of int, default=None
        ``(h, w)`` or ``(c, h, w)`` of flat input. When None: square if the
        feature count is a square, else one row of pixels.
    n_copies : int, default=1
        Corrupted copies per sample added by :meth:`fit_resample`.
    probability : float in [0, 1], default=1.0
        The chance that an image is corrupted; the others pass unchanged.
        For training, ``probability=0.5`` keeps half of each batch clean, which
        keeps the clean accuracy close to a model trained without corruptions
        (``benchmarks/RESULTS.md``, "Knowing when not to answer").
    random_state : int, RandomState instance or None, default=None
        Seeds the draws; with an int, every call draws the same corruptions.

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(c, h, w)`` of one sample.
    input_range_ : (float, float)
        The pixel range corruptions work in: (0, 255) for uint8 data or
        values brighter than 127, (0, 1) for values within 0..1, else 0 to the
        largest value (or the data's min to max when negative). During a
        classifier's training (``augment=``) the classifier's own
        ``input_range_`` is used instead.
    n_features_in_ : int

    See Also
    --------
    sklearn_mnist.metrics.corruption_robustness : accuracy per corruption.
    RandomAffineAugmenter, ElasticDistortion : other training augmenters.

    References
    ----------
    N. Mu and J. Gilmer, "MNIST-C: A Robustness Benchmark for Computer
    Vision", ICML 2019 Workshop on Uncertainty and Robustness in Deep
    Learning, arXiv:1906.02337; code at github.com/google-research/mnist-c.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mnist.preprocessing import Corruption
    >>> X = np.zeros((4, 28, 28), dtype=np.uint8); X[:, 8:20, 12:16] = 255
    >>> Xc = Corruption("gaussian_blur", severity=2, random_state=0).corrupt(X)
    >>> Xc.shape, Xc.dtype.name, int(Xc[0, 14, 10]) > 0
    ((4, 28, 28), 'uint8', True)
    >>> float(Corruption("fog").corrupt(X / 255).max()) <= 1.0  # 0..1 stays 0..1
    True
    """

    _parameter_constraints = {
        "kind": [StrOptions(_KIND_CHOICES), list, tuple],
        "severity": [
            Interval(Real, 1, 5, closed="both"),
            StrOptions({"mnist_c"}),
            list,
            tuple,
        ],
        "image_shape": [tuple, list, None],
        "n_copies": [Interval(Integral, 0, None, closed="left")],
        "probability": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(
        self, kind="all", *, severity=3, image_shape=None, n_copies=1,
        probability=1.0, random_state=None,
    ):  # fmt: skip
        self.kind = kind
        self.severity = severity
        self.image_shape = image_shape
        self.n_copies = n_copies
        self.probability = probability
        self.random_state = random_state

    def _check_params(self):
        self._validate_params()
        kinds = resolve_kinds(self.kind)
        _check_severity(self.severity)
        return kinds

    def fit(self, X, y=None):
        """Check the parameters; record the image shape and the pixel range."""
        from ..utils import pixel_range

        self._check_params()
        X = validate_images(self, X, reset=True, dtype="numeric")
        self.image_shape_ = sample_shape(X, self.image_shape)
        if not X.size:
            self.input_range_ = (0.0, 1.0)
        elif X.min() < 0:
            low, high = float(X.min()), float(X.max())
            self.input_range_ = (low, high if high > low else low + 1.0)
        else:
            self.input_range_ = pixel_range(X.dtype, float(X.max()))
        return self

    def corrupt(self, X, random_state=None):
        """A corrupted copy of ``X``, for evaluation (or a corrupted test set).

        Needs no ``fit``: an unfitted instance reads the pixel range and image
        shape from ``X`` (``self`` stays unfitted); a fitted one uses what it
        learnt in ``fit`` and checks ``X`` against it.

        Parameters
        ----------
        X : array-like, flat ``(n, h*w)`` or images ``(n, h, w)`` / ``(n, c, h, w)``
        random_state : int, RandomState or None, default=None
            Overrides ``self.random_state`` for this call.

        Returns
        -------
        X_corrupt : ndarray, same shape and dtype as ``X``, within its range.
        """
        try:
            check_is_fitted(self)
            fitted = self
        except NotFittedError:
            fitted = clone(self).fit(X)
        return fitted.augment(X, random_state=random_state)

    def transform_batch(self, net, X, y, *, random_state=None):
        """Corrupt a training batch (the classifiers' ``augment=`` protocol),
        in the units of the classifier being fitted (its ``input_range_``)."""
        return self._corrupt_tensor(X, random_state, _units(net))

    def augment_tensor(self, images, random_state=None):
        """Corrupt a float tensor batch ``(n, c, h, w)`` on its own device."""
        return self._corrupt_tensor(images, random_state, None)

    def _corrupt_tensor(self, images, random_state, units):
        self._check_params()
        if units is None:
            units = getattr(self, "input_range_", None) or infer_clip_range(images)
        rng = check_random_state(random_state)
        n, _, h, w = images.shape
        out = self._apply(images, self._draw(n, h, w, rng), rng, units)
        return out.clamp_(*units)

    def _range(self, images):
        return self.input_range_

    def _draw(self, n, h, w, rng):
        """Per image: the index of its corruption and its severity (or 0)."""
        kinds = resolve_kinds(self.kind)
        draws = np.zeros((n, 2), dtype=np.int64)
        if len(kinds) > 1:
            draws[:, 0] = rng.randint(len(kinds), size=n)
        pair = _check_severity(self.severity)
        if pair is not None:
            draws[:, 1] = rng.randint(pair[0], pair[1] + 1, size=n)
        if self.probability < 1:  # the others stay clean (index -1)
            draws[rng.random_sample(n) >= self.probability, 0] = -1
        return draws

    def _warp(self, images, params, rng):
        return self._apply(images, params, rng, self.input_range_)

    def _apply(self, images, draws, rng, units):
        if not len(images):
            return images.clone()
        low, high = (float(u) for u in units)
        kinds = resolve_kinds(self.kind)
        gen = np.random.default_rng(rng.randint(2**63 - 1, dtype=np.int64))
        s = min(images.shape[-2:]) / 28

        def run(batch, k, severity):
            kind = kinds[int(k)] if k >= 0 else "identity"
            if kind == "identity":
                return batch.clone()
            level = corruption_level(kind, severity if severity else self.severity)
            x = (batch - low) / (high - low)
            return CORRUPTIONS[kind](x, level, gen, s) * (high - low) + low

        groups = np.unique(np.asarray(draws), axis=0)
        if len(groups) == 1:
            return run(images, *groups[0])
        out = torch.empty_like(images)
        for k, severity in groups:
            rows = np.flatnonzero((draws[:, 0] == k) & (draws[:, 1] == severity))
            index = torch.from_numpy(rows).to(images.device)
            out[index] = run(images[index], k, severity)
        return out


def _units(net):
    """The pixel range of the classifier being fitted, as ``attack_range``
    reads it (its ``input_range_``, or its data's range when outside)."""
    units = getattr(net, "input_range_", None)
    if units is None:
        return None
    low, high = (float(v) for v in units)
    data = getattr(net, "data_range_", None)
    if data is not None and (data[0] < low or data[1] > high):
        low, high = float(data[0]), float(data[1])
        high = high if high > low else low + 1.0
    return low, high
