"""Corruption (MNIST-C's corruptions) and the corruption robustness report.

Each corruption is checked against a straightforward per-image reference
written after google-research/mnist-c's ``corruptions.py`` with scikit-image /
SciPy / NumPy, given the same random draws (a ``numpy.random.Generator`` with
the same seed, drawn in the order each function's docstring states).
"""

import math
import pickle

import matplotlib
import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import color, feature, transform, util
from skimage.filters import gaussian as sk_gaussian
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklearn_mnist
from sklearn_mnist import CNNClassifier, load_mnist_sample
from sklearn_mnist.metrics import corruption_robustness, plot_corruption_robustness
from sklearn_mnist.preprocessing import Corruption
from sklearn_mnist.preprocessing._corrupt import (
    ALL_KINDS,
    CORRUPTIONS,
    LEVELS,
    MNIST_C_KINDS,
    corruption_level,
    plasma_fractal,
)

matplotlib.use("Agg")

SAMPLE = load_mnist_sample()
DIGITS = SAMPLE.images[::250]  # 20 real digits, 2 per class, uint8
SEVERITIES = [1, 2, 3, 4, 5]


def _batch(seed, n=3, h=28, w=28):
    """Random 0..1 images and real digits, float64 (n, 1, h, w)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, size=(n, 1, h, w))
    if (h, w) == (28, 28):
        x[: n // 2 + 1, 0] = DIGITS[rng.choice(20, n // 2 + 1)] / 255
    return x


def _ours(kind, x, severity, seed, s=None):
    s = min(x.shape[-2:]) / 28 if s is None else s
    level = corruption_level(kind, severity)
    out = CORRUPTIONS[kind](torch.from_numpy(x.copy()), level, _gen(seed), s)
    return out.numpy()


def _gen(seed):
    return np.random.default_rng(seed)


def _per_image(f, x):
    return np.stack([[f(ch) for ch in img] for img in x])


# ------------------------------------------------- references after mnist-c
def ref_line(c0, r0, c1, r1, size=28):
    if c1 == c0:
        return np.zeros((size, size))
    grid = np.linspace(0, size - 1, size)
    cc, rr = np.meshgrid(grid, grid, sparse=True)
    slope = (r1 - r0) / (c1 - c0)
    dist = np.clip(np.abs(rr - (slope * (cc - c0) + r0)), 0, 2.3 - 1e-10)
    line = np.clip(np.log(1 - dist / 2.3) + 1, 0, 1)
    line[:, : int(np.floor(c0))] = 0
    line[:, int(np.ceil(c1)) :] = 0
    return line


def ref_disk(radius, alias_blur):
    """mnist-c's ``disk`` with OpenCV's GaussianBlur written out (REFLECT_101
    borders are NumPy's ``pad(mode="reflect")``)."""
    if radius <= 8:
        L, ksize = np.arange(-8, 9), 3
    else:
        L, ksize = np.arange(-radius, radius + 1), 5
    X, Y = np.meshgrid(L, L)
    disk = (X**2 + Y**2 <= radius**2).astype(float)
    disk /= disk.sum()
    t = np.arange(ksize) - ksize // 2
    g = np.exp(-(t**2) / (2 * alias_blur**2))
    g /= g.sum()
    p = np.pad(disk, ksize // 2, mode="reflect")
    n = len(L)
    return sum(
        g[a] * g[b] * p[a : a + n, b : b + n]
        for a in range(ksize)
        for b in range(ksize)
    )


def ref_motion_blur(img, radius, sigma, angle):
    """ImageMagick's MotionBlurImage as a 2-D kernel, edge virtual pixels."""
    width = 2 * math.ceil(radius) + 1
    weights = np.array([math.exp(-(i * i) / (2 * sigma**2)) for i in range(width)])
    weights /= weights.sum()
    kernel = np.zeros((2 * width + 1, 2 * width + 1))
    for i, weight in enumerate(weights):
        dx = math.ceil(i * math.cos(math.radians(angle)) - 0.5)
        dy = math.ceil(i * math.sin(math.radians(angle)) - 0.5)
        kernel[width + dy, width + dx] += weight
    return ndi.correlate(img, kernel, mode="nearest")


def ref_warp(img, linear, translation=None):
    """mnist-c: ``warp(x, inverse_map=aff)``, the centre kept by
    ``a3 = 13.5 * (1 - a1 - a2)`` (here ``(side - 1) / 2``)."""
    c = (img.shape[0] - 1) / 2
    M = np.eye(3)
    M[:2, :2] = linear
    if translation is None:
        M[0, 2] = c * (1 - M[0, 0] - M[0, 1])
        M[1, 2] = c * (1 - M[1, 0] - M[1, 1])
    else:
        M[:2, 2] = translation
    return transform.warp(img, inverse_map=transform.AffineTransform(matrix=M))


def ref_plasma(mapsize, decay, gen):
    """mnist-c's plasma_fractal, ``np.random`` replaced by ``gen``."""
    maparray = np.empty((mapsize, mapsize))
    maparray[0, 0] = 0
    stepsize, wibble = mapsize, 100

    def wibbledmean(array):
        return array / 4 + wibble * gen.uniform(-wibble, wibble, array.shape)

    while stepsize >= 2:
        half = stepsize // 2
        ref = maparray[0:mapsize:stepsize, 0:mapsize:stepsize]
        acc = ref + np.roll(ref, shift=-1, axis=0)
        acc += np.roll(acc, shift=-1, axis=1)
        maparray[half:mapsize:stepsize, half:mapsize:stepsize] = wibbledmean(acc)
        dr = maparray[half:mapsize:stepsize, half:mapsize:stepsize]
        ul = maparray[0:mapsize:stepsize, 0:mapsize:stepsize]
        lt = dr + np.roll(dr, 1, axis=0) + ul + np.roll(ul, -1, axis=1)
        maparray[0:mapsize:stepsize, half:mapsize:stepsize] = wibbledmean(lt)
        tt = dr + np.roll(dr, 1, axis=1) + ul + np.roll(ul, -1, axis=0)
        maparray[half:mapsize:stepsize, 0:mapsize:stepsize] = wibbledmean(tt)
        stepsize //= 2
        wibble /= decay
    maparray -= maparray.min()
    return maparray / maparray.max()


def ref_zigzag(img, r0, r1):
    a = b = 2.0
    c0, c1 = 2, 25
    theta = np.arctan((r1 - r0) / (c1 - c0))
    d = (c1 - c0) / np.cos(theta)
    endpoints = [(0, 0)]
    for i in range(int((d - a) // (2 * a)) + 1):
        r_i = (-1) ** i * b
        endpoints.append(((2 * i + 1) * a, r_i))
    max_c = (2 * a) * (d // (2 * a))
    if d != max_c:
        endpoints.append((d, r_i / (2 * (d - max_c))))
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    cs, rs = rot.dot(np.array(endpoints).T)
    cs, rs = cs + c0, rs + r0
    x = img.copy()
    for i in range(1, len(cs)):
        x = np.clip(x + ref_line(cs[i - 1], rs[i - 1], cs[i], rs[i]), 0, 1)
    return x


def reference(kind, x, severity, seed):
    """mnist-c's corruption of every image of ``x`` (n, 1, 28, 28) in 0..1."""
    level = corruption_level(kind, severity)
    gen = _gen(seed)
    n = len(x)
    if kind == "identity":
        return x
    if kind == "gaussian_noise":
        return util.random_noise(x, mode="gaussian", var=level**2, rng=gen)
    if kind == "shot_noise":
        return np.clip(gen.poisson(x * level) / level, 0, 1)
    if kind == "impulse_noise":
        return util.random_noise(x, mode="s&p", amount=level, rng=gen)
    if kind == "gaussian_blur":
        return _per_image(lambda im: np.clip(sk_gaussian(im, sigma=level), 0, 1), x)
    if kind == "glass_blur":
        sigma, d, iterations = level[0], int(level[1]), int(level[2])
        positions = [(h, w) for h in range(28 - d, d, -1) for w in range(28 - d, d, -1)]
        swap = gen.random((iterations, len(positions), n)) < 0.5
        offsets = gen.integers(-d, d, size=(iterations, len(positions), n, 2))
        out = []
        for i in range(n):
            im = np.uint8(sk_gaussian(x[i, 0], sigma=sigma) * 255)
            for it in range(iterations):
                for k, (h, w) in enumerate(positions):
                    if swap[it, k, i]:
                        dx, dy = offsets[it, k, i]
                        hp, wp = h + dy, w + dx
                        im[h, w], im[hp, wp] = im[hp, wp], im[h, w]
            out.append(np.clip(sk_gaussian(im / 255.0, sigma=sigma), 0, 1))
        return np.stack(out)[:, None]
    if kind == "defocus_blur":
        kernel = ref_disk(*level)
        return _per_image(
            lambda im: np.clip(ndi.correlate(im, kernel, mode="mirror"), 0, 1), x
        )
    if kind == "motion_blur":
        angles = gen.uniform(-45, 45, n)
        return np.stack(
            [np.clip(ref_motion_blur(x[i, 0], *level, angles[i]), 0, 1)
             for i in range(n)]
        )[:, None]  # fmt: skip
    if kind in ("shear", "rotate"):
        signs = gen.integers(0, 2, size=n) * 2 - 1
        out = []
        for i in range(n):
            c = level * signs[i]
            if kind == "shear":  # scikit-image <= 0.19's AffineTransform(shear=c)
                linear = [[1, -np.sin(c)], [0, np.cos(c)]]
            else:
                linear = transform.AffineTransform(rotation=c).params[:2, :2]
            out.append(ref_warp(x[i, 0], linear))
        return np.clip(np.stack(out), 0, 1)[:, None]
    if kind == "scale":
        linear = transform.AffineTransform(scale=(level, level)).params[:2, :2]
        return _per_image(lambda im: np.clip(ref_warp(im, linear), 0, 1), x)
    if kind == "translate":
        signs = gen.integers(0, 2, size=(n, 2)) * 2 - 1
        return np.stack(
            [ref_warp(x[i, 0], np.eye(2), level * signs[i]) for i in range(n)]
        )[:, None]
    if kind == "brightness":

        def bright(im):
            hsv = color.rgb2hsv(color.gray2rgb(im))
            hsv[:, :, 2] = np.clip(hsv[:, :, 2] + level, 0, 1)
            return np.clip(color.rgb2gray(color.hsv2rgb(hsv)), 0, 1)

        return _per_image(bright, x)
    if kind == "contrast":
        means = x.mean(axis=(2, 3), keepdims=True)
        return np.clip((x - means) * level + means, 0, 1)
    if kind == "stripe":
        out = x.copy()
        out[..., :7] = 1 - x[..., :7]
        out[..., 21:] = 1 - x[..., 21:]
        return out
    if kind == "fog":
        assert n == 1  # one image: the batched draws are the original's
        fractal = ref_plasma(256, level[1], gen)[:28, :28]
        peak = x.max()
        return np.clip((x + level[0] * fractal) * peak / (peak + level[0]), 0, 1)
    if kind == "spatter":
        loc, scale, sigma, threshold, sigma_mask = level
        liquid = gen.normal(loc, scale, size=(n, 1, 28, 28))
        out = []
        for i in range(n):
            layer = sk_gaussian(liquid[i, 0], sigma=sigma)
            layer[layer < threshold] = 0
            m = np.where(layer > threshold, 1, 0)
            m = sk_gaussian(m.astype(np.float32), sigma=sigma_mask)
            m[m < 0.8] = 0
            out.append(np.clip(x[i, 0] * (1 - m) + 63 / 255 * m, 0, 1))
        return np.stack(out)[:, None]
    if kind == "dotted_line":
        r0, r1 = gen.integers(0, 27, size=(2, n))
        out = []
        for i in range(n):
            line = ref_line(0, r0[i], 27, r1[i])
            off = True
            for k in range(1, 15):
                if off:
                    line[:, 2 * (k - 1) : 2 * k] = 0
                off = not off
            out.append(np.clip(x[i, 0] + line, 0, 1))
        return np.stack(out)[:, None]
    if kind == "zigzag":
        r0 = gen.integers(0, 27, size=n)
        r1 = r0 + gen.integers(-5, 5, size=n)
        return np.stack([ref_zigzag(x[i, 0], r0[i], r1[i]) for i in range(n)])[:, None]
    if kind == "canny_edges":
        return _per_image(lambda im: feature.canny(im).astype(float), x)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_every_corruption_matches_its_reference(kind):
    severities = SEVERITIES if kind in LEVELS else [1]
    for severity in severities:
        seed = 100 * severity + len(kind)
        x = _batch(seed, n=1 if kind == "fog" else 3)
        np.testing.assert_allclose(
            _ours(kind, x, severity, seed),
            reference(kind, x, severity, seed),
            atol=1e-6 if kind in ("spatter",) else 1e-9,
            err_msg=f"{kind} at severity {severity}",
        )


def test_reference_helpers_check_out():
    # the references' own building blocks against independent ones
    assert ref_disk(3, 0.1).sum() == pytest.approx(1.0)
    kernel = ref_disk(3, 0.1)
    assert kernel[8, 8] == kernel.max() and (kernel[8, 8 + 4] < 1e-12)
    # the batched plasma fractal makes mnist-c's draws for one map
    gen_a, gen_b = _gen(5), _gen(5)
    np.testing.assert_allclose(plasma_fractal(1, 64, 1.7, gen_a)[0],
                               ref_plasma(64, 1.7, gen_b))  # fmt: skip
    maps = plasma_fractal(3, 32, 2.0, _gen(0))
    np.testing.assert_allclose(maps.min(axis=(1, 2)), 0)
    np.testing.assert_allclose(maps.max(axis=(1, 2)), 1)
    assert not np.allclose(maps[0], maps[1])


@pytest.mark.parametrize("kind", ["gaussian_blur", "defocus_blur", "motion_blur",
                                  "rotate", "contrast", "stripe"])  # fmt: skip
def test_other_image_sizes_scale_lengths(kind):
    # 20x33 images: pixel lengths times 20 / 28, references on each image
    x = _batch(7, n=2, h=20, w=33)
    s = 20 / 28
    ours = _ours(kind, x, 4, seed=3)
    level = corruption_level(kind, 4)
    gen = _gen(3)
    if kind == "gaussian_blur":
        ref = _per_image(lambda im: sk_gaussian(im, sigma=level * s), x)
    elif kind == "defocus_blur":
        from sklearn_mnist.preprocessing._corrupt import defocus_kernel

        kernel = defocus_kernel(*level, s=s)
        assert kernel.shape == (13, 13)  # half width round(8 * 20 / 28) = 6
        ref = _per_image(lambda im: ndi.correlate(im, kernel, mode="mirror"), x)
    elif kind == "motion_blur":
        angles = gen.uniform(-45, 45, 2)
        ref = np.stack([ref_motion_blur(x[i, 0], level[0] * s, level[1] * s, a)
                        for i, a in enumerate(angles)])[:, None]  # fmt: skip
    elif kind == "rotate":
        signs = gen.integers(0, 2, size=2) * 2 - 1
        ref = []
        for i in range(2):
            rot = transform.AffineTransform(rotation=level * signs[i]).params
            centre = np.array([16.0, 9.5])  # ((w - 1) / 2, (h - 1) / 2)
            M = np.eye(3)
            M[:2, :2] = rot[:2, :2]
            M[:2, 2] = centre - rot[:2, :2] @ centre
            ref.append(transform.warp(x[i, 0], transform.AffineTransform(matrix=M)))
        ref = np.stack(ref)[:, None]
    elif kind == "contrast":
        ref = reference("contrast", x, 4, 3)
    else:
        ref = x.copy()
        ref[..., :8] = 1 - x[..., :8]  # 33 // 4 columns at each side
        ref[..., -8:] = 1 - x[..., -8:]
    np.testing.assert_allclose(ours, np.clip(ref, 0, 1), atol=1e-9)


def test_brightness_of_colour_images_is_the_hsv_value():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(4, 3, 9, 11))
    x[0, :, :2] = 0  # black pixels: V = 0
    ours = _ours("brightness", x, 2, seed=0)
    ref = []
    for img in x:
        hsv = color.rgb2hsv(img.transpose(1, 2, 0))
        hsv[..., 2] = np.clip(hsv[..., 2] + 0.2, 0, 1)
        ref.append(color.hsv2rgb(hsv).transpose(2, 0, 1))
    np.testing.assert_allclose(ours, np.stack(ref), atol=1e-9)


def test_float_severities_interpolate_the_table():
    assert corruption_level("gaussian_noise", 2.5) == pytest.approx(0.15)
    assert corruption_level("gaussian_noise", 5.0) == pytest.approx(0.38)
    np.testing.assert_allclose(corruption_level("fog", 1.25), (1.625, 2.0))
    assert corruption_level("stripe", 3) is None
    assert corruption_level("shot_noise", "mnist_c") == 3  # severity 5
    assert set(MNIST_C_KINDS) < set(ALL_KINDS) and len(MNIST_C_KINDS) == 15
    assert len(ALL_KINDS) == 19 and "identity" not in ALL_KINDS


# ------------------------------------------------- the transformer's contract
def _images(side_h, side_w, seed):
    """Three real digits resized to (h, w), float 0..255."""
    return np.stack(
        [transform.resize(d.astype(float), (side_h, side_w), preserve_range=True)
         for d in DIGITS[seed % 17 : seed % 17 + 3]]
    )  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(sorted(CORRUPTIONS)),
    severity=st.one_of(st.integers(1, 5), st.floats(1, 5), st.just("mnist_c")),
    dtype=st.sampled_from(["uint8", "float32", "float64"]),
    layout=st.sampled_from(["flat", "images", "channels"]),
    h=st.integers(8, 36),
    w=st.integers(8, 36),
    seed=st.integers(0, 2**31 - 1),
)
def test_shape_dtype_range_kept_and_reproducible(
    kind, severity, dtype, layout, h, w, seed
):
    X = _images(h, w, seed)
    X = X.round().astype(np.uint8) if dtype == "uint8" else (X / 255).astype(dtype)
    X = {"flat": X.reshape(3, -1), "images": X, "channels": X[:, None]}[layout]
    high = 255 if dtype == "uint8" else 1
    corruption = Corruption(kind, severity=severity, image_shape=(h, w),
                            random_state=seed)  # fmt: skip
    out = corruption.corrupt(X)
    assert out.shape == X.shape and out.dtype == X.dtype
    assert out.min() >= 0 and out.max() <= high
    np.testing.assert_array_equal(out, corruption.corrupt(X))  # reproducible
    if kind == "identity":
        np.testing.assert_array_equal(out, X)
    assert not hasattr(corruption, "image_shape_")  # corrupt() needs no fit


def _rms(a, b):
    return float(np.sqrt(np.mean((np.asarray(a, float) - b) ** 2)))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
@pytest.mark.parametrize(
    "kind",
    ["gaussian_noise", "shot_noise", "impulse_noise", "gaussian_blur",
     "glass_blur", "defocus_blur", "motion_blur", "contrast", "brightness"],
)  # fmt: skip
def test_distance_from_the_clean_image_grows_with_severity(kind, seed):
    X = DIGITS / 255
    distances = [
        _rms(Corruption(kind, severity=s, random_state=seed).corrupt(X), X)
        for s in SEVERITIES
    ]
    assert np.all(np.diff(distances) > 0), distances


@settings(max_examples=20, deadline=None)
@given(
    kind=st.sampled_from(["gaussian_noise", "impulse_noise", "gaussian_blur",
                          "contrast", "brightness"]),
    s=st.lists(st.floats(1, 5), min_size=2, max_size=2, unique=True),
    seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_float_severities_are_monotone_too(kind, s, seed):
    low, high = sorted(s)
    X = DIGITS[:6] / 255
    d_low = _rms(Corruption(kind, severity=low, random_state=seed).corrupt(X), X)
    d_high = _rms(Corruption(kind, severity=high, random_state=seed).corrupt(X), X)
    assert d_low <= d_high + 1e-12


@pytest.mark.parametrize("kind", sorted(set(CORRUPTIONS) - {"canny_edges"}))
def test_uint8_and_float_images_are_corrupted_alike(kind):
    X = DIGITS[:6]
    as_uint8 = Corruption(kind, severity=4, random_state=1).corrupt(X)
    as_float = Corruption(kind, severity=4, random_state=1).corrupt(X / 255)
    as_255 = Corruption(kind, severity=4, random_state=1).corrupt(X.astype(float))
    assert as_float.max() <= 1
    np.testing.assert_allclose(as_uint8, as_float * 255, atol=0.51 + 1e-6)
    np.testing.assert_allclose(as_255, as_float * 255, atol=1e-6)


def test_canny_edges_are_the_edge_map_in_the_input_units():
    X = DIGITS[:4]
    out = Corruption("canny_edges").corrupt(X)
    assert set(np.unique(out)) == {0, 255}
    expected = np.stack([feature.canny(d / 255) for d in X]) * 255
    np.testing.assert_array_equal(out, expected)


def test_transform_is_the_identity_and_fit_transform_corrupts():
    X = DIGITS.reshape(20, -1)
    corruption = Corruption("gaussian_noise", random_state=0)
    out = corruption.fit_transform(X)
    assert (out != X).any() and corruption.input_range_ == (0.0, 255.0)
    np.testing.assert_array_equal(corruption.transform(X), X)
    np.testing.assert_array_equal(corruption.augment(X), corruption.corrupt(X))
    X_res, y_res = corruption.set_params(n_copies=2).fit_resample(X, np.arange(20))
    assert X_res.shape == (60, 784) and (y_res == np.tile(np.arange(20), 3)).all()
    with pytest.raises(ValueError, match="784 features"):
        corruption.corrupt(X[:, :100])  # a fitted one checks X


def test_several_kinds_draw_one_per_image():
    X = np.repeat(DIGITS[:1] / 255, 200, axis=0)
    out = Corruption(["identity", "stripe"], random_state=0).corrupt(X)
    clean = (out == X).all(axis=(1, 2))
    striped = np.isclose(out[:, :, :7], 1 - X[:, :, :7]).all(axis=(1, 2))
    assert (clean ^ striped).all() and 60 < clean.sum() < 140
    # a severity range: an integer severity per image
    zeros = np.zeros((300, 8, 8))
    out = Corruption("brightness", severity=(1, 3), random_state=0).corrupt(zeros)
    values = np.unique(out.reshape(300, -1), axis=1)
    assert values.shape[1] == 1  # one value per image
    assert set(np.round(np.unique(values), 6)) == {0.1, 0.2, 0.3}
    # "all": each corruption for about one image in 19
    out = Corruption("all", random_state=0).corrupt(np.repeat(DIGITS[:1], 400, 0))
    for kind in ["stripe", "scale", "contrast", "brightness", "canny_edges",
                 "gaussian_blur", "defocus_blur"]:  # fmt: skip
        alone = Corruption(kind).corrupt(DIGITS[:1])
        assert 5 <= (out == alone).all(axis=(1, 2)).sum() <= 45, kind


def test_probability_leaves_the_other_images_clean():
    X = np.repeat(DIGITS[:1] / 255, 300, axis=0)
    out = Corruption("stripe", probability=0.3, random_state=0).corrupt(X)
    clean = (out == X).all(axis=(1, 2))
    assert 170 < clean.sum() < 250  # about 70% untouched
    striped = np.isclose(out[:, :, :7], 1 - X[:, :, :7]).all(axis=(1, 2))
    assert (clean ^ striped).all()
    assert (Corruption("stripe", probability=0.0).corrupt(X) == X).all()
    # 1.0 (the default) draws exactly as before the parameter existed
    np.testing.assert_array_equal(
        Corruption("all", severity=(1, 5), probability=1.0, random_state=1).corrupt(X),
        Corruption("all", severity=(1, 5), random_state=1).corrupt(X),
    )


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(probability=1.5), "'probability' parameter"),
        (dict(kind="blur"), "gaussian_blur"),
        (dict(kind=["fog", "nope"]), "gaussian_blur.*'all', 'mnist_c'"),
        (dict(kind=[]), "non-empty list"),
        (dict(kind=3), "'kind' parameter"),
        (dict(severity=0), r"range \[1.0, 5.0\]"),
        (dict(severity=5.5), r"range \[1.0, 5.0\]"),
        (dict(severity="max"), "mnist_c"),
        (dict(severity=(0, 3)), r"1 <= low <= high <= 5"),
        (dict(severity=(4, 2)), r"1 <= low <= high <= 5"),
        (dict(severity=(1.5, 2)), r"pair \(low, high\) of integers"),
        (dict(severity=(1, 2, 3)), r"pair \(low, high\)"),
    ],
)
def test_bad_parameters_name_the_choices(params, match):
    with pytest.raises(ValueError, match=match):
        Corruption(**params).fit(DIGITS)
    with pytest.raises(ValueError, match=match):
        Corruption(**params).corrupt(DIGITS)


def test_transform_batch_works_in_the_units_of_the_net():
    class Net:
        input_range_ = (0.0, 255.0)
        data_range_ = (0.0, 255.0)

    zeros = torch.zeros(5, 1, 28, 28)
    corruption = Corruption("brightness", severity=1)
    out = corruption.transform_batch(Net(), zeros, None, random_state=0)
    torch.testing.assert_close(out, torch.full_like(zeros, 25.5))
    Net.input_range_ = Net.data_range_ = (0.0, 1.0)
    out = corruption.transform_batch(Net(), zeros, None, random_state=0)
    torch.testing.assert_close(out, torch.full_like(zeros, 0.1))
    out = corruption.augment_tensor(zeros + 200, random_state=0)  # 0..255 guessed
    torch.testing.assert_close(out, torch.full_like(zeros, 225.5))


def test_clone_pickle_and_grid_search_over_severity():
    corruption = Corruption(["fog", "zigzag"], severity=(2, 4), random_state=3)
    assert clone(corruption).get_params() == corruption.get_params()
    X = DIGITS[:5]
    again = pickle.loads(pickle.dumps(corruption.fit(X)))
    np.testing.assert_array_equal(again.corrupt(X), corruption.corrupt(X))
    X, y = SAMPLE.data[::20] / 255, SAMPLE.target[::20]
    pipe = make_pipeline(Corruption("gaussian_noise", random_state=0),
                         RidgeClassifier())  # fmt: skip
    search = GridSearchCV(pipe, {"corruption__severity": [1, 5]}, cv=2).fit(X, y)
    assert search.cv_results_["param_corruption__severity"].tolist() == [1, 5]
    assert search.best_params_["corruption__severity"] in (1, 5)


# ------------------------------------------------- classifiers and the report
@pytest.fixture(scope="module")
def tiny_cnn():
    X, y = SAMPLE.data[::16], SAMPLE.target[::16]  # 313 digits, uint8
    augment = Corruption("all", severity=(1, 5), random_state=0)
    return CNNClassifier(max_epochs=1, random_state=0, augment=augment).fit(X, y)


def test_augment_corrupts_every_training_batch(monkeypatch):
    calls = []
    original = Corruption.transform_batch

    def spy(self, net, X, y, *, random_state=None):
        out = original(self, net, X, y, random_state=random_state)
        calls.append((net.input_range_, float((out - X).abs().mean())))
        return out

    monkeypatch.setattr(Corruption, "transform_batch", spy)
    X, y = SAMPLE.data[8::16], SAMPLE.target[8::16]
    clf = CNNClassifier(max_epochs=1, random_state=0,
                        augment=Corruption("gaussian_noise", severity=5))  # fmt: skip
    clf.fit(X, y)
    assert calls and all(units == (0.0, 255.0) for units, _ in calls)
    # noise of sd 0.38 of the range, clipped: tens of grey levels per pixel
    assert all(20 < change < 80 for _, change in calls)
    assert isinstance(clf.augment_, Corruption)


def test_a_classifier_with_a_corruption_saves_and_loads(tiny_cnn, tmp_path):
    loaded = sklearn_mnist.load(sklearn_mnist.save(tiny_cnn, tmp_path / "m.skmnist"))
    assert isinstance(loaded.augment, Corruption)
    assert loaded.augment.get_params() == tiny_cnn.augment.get_params()
    X = SAMPLE.data[1::50]
    np.testing.assert_array_equal(loaded.predict(X), tiny_cnn.predict(X))


def test_corruption_robustness_on_a_tiny_model(tiny_cnn):
    X, y = SAMPLE.data[3::50], SAMPLE.target[3::50]
    kinds = ["identity", "stripe", "gaussian_noise"]
    result = corruption_robustness(tiny_cnn, X, y, kinds=kinds, severities=(1, 5),
                                   random_state=0)  # fmt: skip
    assert result.accuracy.shape == (3, 2) and list(result.kinds) == kinds
    assert result.clean_accuracy == pytest.approx(tiny_cnn.score(X, y))
    np.testing.assert_allclose(result.accuracy[0], result.clean_accuracy)
    assert result.accuracy[1, 0] == result.accuracy[1, 1]  # no severity
    assert result.mean_accuracy == pytest.approx(result.accuracy.mean())
    np.testing.assert_allclose(result.kind_accuracy, result.accuracy.mean(axis=1))
    assert list(result.frame.columns) == [1, 5, "mean"]
    assert list(result.frame.index) == kinds and result.n_samples == 100
    again = corruption_robustness(tiny_cnn, X, y, kinds=kinds, severities=(1, 5),
                                  random_state=0)  # fmt: skip
    np.testing.assert_array_equal(again.accuracy, result.accuracy)
    fig = plot_corruption_robustness(result)
    assert isinstance(fig, matplotlib.figure.Figure)


class _KnowsTheCleanImages(ClassifierMixin, BaseEstimator):
    """Right on the clean images, wrong on anything else."""

    def __init__(self, X=None, y=None):
        self.X, self.y = X, y

    def fit(self, X, y):
        return self

    def predict(self, X):
        same = (np.asarray(X) == self.X).all(axis=1)
        return np.where(same, self.y, -1)


def test_the_report_puts_each_accuracy_in_its_row_and_column():
    X, y = SAMPLE.data[::100], SAMPLE.target[::100]
    model = _KnowsTheCleanImages(X, y)
    result = corruption_robustness(model, X, y, kinds=["contrast", "identity"],
                                   severities="mnist_c")  # fmt: skip
    np.testing.assert_array_equal(result.accuracy, [[0.0], [1.0]])
    assert result.clean_accuracy == 1.0 and result.mean_accuracy == 0.5
    assert list(result.severities) == ["mnist_c"]
    result = corruption_robustness(model, X, y, severities=[2.5])
    assert result.accuracy.shape == (19, 1) and list(result.kinds) == list(ALL_KINDS)
    for bad in [(0,), (), "worst", (1, 6)]:
        with pytest.raises(ValueError, match="severities"):
            corruption_robustness(model, X, y, severities=bad)
    with pytest.raises(ValueError, match="kind must be one of"):
        corruption_robustness(model, X, y, kinds=["fogg"])


def test_plot_draws_a_bar_per_corruption_and_the_clean_line(assert_nothing_clipped):
    import matplotlib.pyplot as plt
    from sklearn.utils import Bunch

    accuracy = np.array([[0.9, 0.5], [0.8, 0.8], [0.3, 0.1]])
    result = Bunch(kinds=np.array(["fog", "stripe", "zigzag"]),
                   severities=np.array([1, 5]), accuracy=accuracy,
                   kind_accuracy=accuracy.mean(axis=1), clean_accuracy=0.95,
                   mean_accuracy=float(accuracy.mean()),
                   estimator_name="CNNClassifier", n_samples=1000)  # fmt: skip
    fig = plot_corruption_robustness(result)
    ax = fig.axes[0]
    widths = [p.get_width() for p in ax.patches]
    np.testing.assert_allclose(widths, [70, 80, 20])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["fog", "stripe", "zigzag"]
    (clean,) = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert clean.get_xdata()[0] == pytest.approx(95)
    assert "1,000 images" in ax.get_title() and "clean 95.0%" in ax.get_title()
    assert_nothing_clipped(fig)
    _, ax = plt.subplots()
    ax.set_title("mine")
    assert plot_corruption_robustness(result, ax=ax) is ax.figure
    assert ax.get_title() == "mine"
    plt.close("all")


def test_exported_where_users_look():
    assert sklearn_mnist.Corruption is Corruption
    assert "Corruption" in sklearn_mnist.__all__
    import sklearn_mnist.metrics as metrics
    import sklearn_mnist.preprocessing as preprocessing

    assert "Corruption" in preprocessing.__all__
    assert {"corruption_robustness", "plot_corruption_robustness"} <= set(
        metrics.__all__
    )


_NOT_TRANSFORM = {
    "check_transformer_general": "fit_transform corrupts, transform passes data "
    "through (training-time augmenter, as RandomAffineAugmenter)",
    "check_transformer_data_not_an_array": "as check_transformer_general",
}


@parametrize_with_checks(
    [Corruption(random_state=0), Corruption("identity"),
     Corruption(["fog", "canny_edges"], severity=(1, 5), random_state=0)],
    expected_failed_checks=lambda est: {} if est.kind == "identity" else _NOT_TRANSFORM,
)  # fmt: skip
def test_sklearn_checks(estimator, check):
    check(estimator)
