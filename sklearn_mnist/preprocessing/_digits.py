"""``DigitNormalizer``: a picture of one handwritten digit to an MNIST-style image.

MNIST's digits were made by a fixed recipe (LeCun et al., "Gradient-based
learning applied to document recognition", 1998, and the data set's page):
white ink on black, the digit size-normalised to fit a 20x20 box with its
aspect ratio kept, anti-aliased, then placed in a 28x28 frame with its centre
of mass at the centre. A scan or a phone photo is none of that: dark ink on
light, unevenly lit paper, larger, off-centre, noisy. This transformer applies
the recipe to any picture of one digit, and to MNIST itself (where it changes
little), so that training and prediction see the same preprocessing.

Steps, each a parameter (so ``GridSearchCV`` can tune them):

1. grey levels to 0..1 (colour to luminance, ITU-R 601 weights as Pillow's
   ``"L"``);
2. ``invert``: ink made bright (``"auto"``: when the border of the picture is
   brighter than mid-grey, the ink is dark and the picture is inverted);
3. ``illumination``: uneven lighting removed, a quadratic surface fitted to the
   background pixels (below a first Otsu threshold) and subtracted;
4. ``threshold``: ink told from paper (Otsu's threshold, scikit-image, or a
   fixed level); the paper level is mapped to 0 and the ink's 99th percentile to
   1, and everything farther than a pixel or two from the ink is set to 0
   (paper texture and noise), keeping the anti-aliased edges of the strokes;
5. ``min_component``: specks removed (connected ink components smaller than
   that fraction of the largest one);
6. crop to the ink; ``deskew``: the slant straightened by a shear that sets the
   mixed second moment to zero (the classic MNIST deskewing);
7. scaled to fit a ``box`` x ``box`` square keeping the aspect ratio, with
   anti-aliasing (Pillow's resampling, which widens its filter when reducing);
8. placed in a ``size`` x ``size`` frame with its centre of mass (``center=
   "mass"``) or its bounding box's centre (``"box"``) at the frame's centre,
   grey levels 0..255 as MNIST's.
"""

import numbers
import warnings

import numpy as np
from PIL import Image
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array

from .._compat import Interval, StrOptions
from ..utils import (
    flat_for_container,
    image_layout,
    sample_shape,
    to_channels_first,
)

__all__ = ["DigitNormalizer", "normalize_digit"]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _to_unit_grey(image, name):
    """One picture as float32 grey levels in 0..1 (2-D)."""
    image = np.asarray(image)
    if image.dtype == object or image.dtype.kind not in "biuf":
        raise ValueError(
            f"{name}: expected a numeric image, got an array of dtype {image.dtype}"
        )
    if image.ndim == 3 and image.shape[-1] in (3, 4) and image.shape[0] > 4:
        luma = image[..., :3].astype(np.float32) @ _LUMA
        image = luma.round().astype(image.dtype) if image.dtype.kind in "ui" else luma
    elif image.ndim == 3 and image.shape[0] == 1:
        image = image[0]
    elif image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2 or min(image.shape) < 1:
        raise ValueError(
            f"{name}: expected a grey (h, w) or colour (h, w, 3|4) image, got an "
            f"array of shape {image.shape}"
        )
    grey = image.astype(np.float32, copy=False)
    if not np.isfinite(grey).all():
        raise ValueError(f"{name}: the image holds NaN or infinity")
    low, high = float(grey.min()), float(grey.max())
    if low < 0:
        raise ValueError(f"{name}: negative grey levels (minimum {low:g})")
    if image.dtype.kind == "b":
        scale = 1.0
    elif image.dtype.kind in "ui" and high > 255:
        if high > 65535:
            raise ValueError(
                f"{name}: grey levels up to {high:g}; expected 8-bit (0..255) or "
                "16-bit (0..65535) images"
            )
        scale = 65535.0
    elif high > 1 or image.dtype.kind in "ui":
        if high > 255:
            raise ValueError(
                f"{name}: float grey levels up to {high:g}; expected 0..1 or 0..255"
            )
        scale = 255.0
    else:
        scale = 1.0
    return grey / np.float32(scale) if scale != 1.0 else grey.copy()


def _otsu(values):
    """Otsu's threshold over 256 bins, or None when ``values`` hold a single
    level.

    scikit-image's ``threshold_otsu(hist=...)`` computes the same level (a
    test checks it on random data); this one counts the histogram with
    ``bincount`` and skips the argument checks, 5x faster per picture, which
    matters at two thresholds per picture and thousands of pictures.
    """
    if values.size == 0:
        return None
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-6:
        return None
    width = (high - low) / 256
    bins = np.minimum(((values - low) / width).astype(np.intp), 255)
    counts = np.bincount(bins.ravel(), minlength=256).astype(np.float64)
    centers = low + (np.arange(256) + 0.5) * width
    weight1 = np.cumsum(counts)
    weight2 = np.cumsum(counts[::-1])[::-1]
    mean1 = np.cumsum(counts * centers) / np.maximum(weight1, 1)
    mean2 = (np.cumsum((counts * centers)[::-1]) / np.maximum(weight2[::-1], 1))[::-1]
    between = weight1[:-1] * weight2[1:] * (mean1[:-1] - mean2[1:]) ** 2
    return float(centers[np.argmax(between)])


def _remove_illumination(grey):
    """Subtract a quadratic surface fitted to the background (below Otsu)."""
    h, w = grey.shape
    step = max(1, int(np.sqrt(h * w / 1024)))  # a smooth surface: 1,024 points
    yy, xx = np.mgrid[0:h:step, 0:w:step]
    sample = grey[::step, ::step]
    level = _otsu(sample)
    if level is None:
        return grey
    # the paper: below the threshold and away from the ink's soft edges
    background = ~ndimage.maximum_filter(sample >= level, size=5)
    if background.sum() < 12:
        return grey
    ys = yy[background].astype(np.float64) / h - 0.5
    xs = xx[background].astype(np.float64) / w - 0.5
    design = np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=1)
    # normal equations: a 6x6 solve (lstsq's SVD costs 10x more per picture)
    target = sample[background].astype(np.float64)
    try:
        coef = np.linalg.solve(design.T @ design, design.T @ target)
    except np.linalg.LinAlgError:
        return grey
    y = (np.arange(h, dtype=np.float32) / h - 0.5)[:, None]
    x = (np.arange(w, dtype=np.float32) / w - 0.5)[None, :]
    coef = coef.astype(np.float32)
    # separable: a row term, a column term and the one mixed term
    surface = (coef[0] + coef[1] * x + coef[3] * x * x) + (
        coef[2] * y + coef[5] * y * y
    )
    surface += (coef[4] * y) * x
    return grey - surface


def _deskew(ink):
    """Shear ``ink`` horizontally so that its mixed second moment is zero.

    The slant is ``mu11 / mu02`` (the regression of column on row); the shear
    ``x' = x - slant * (y - cy)`` keeps the centre of mass's row. The canvas
    widens to hold the sheared digit.
    """
    total = ink.sum()
    if total <= 0:
        return ink
    h, w = ink.shape
    rows = np.arange(h, dtype=np.float64)[:, None]
    cols = np.arange(w, dtype=np.float64)[None, :]
    cy = (ink * rows).sum() / total
    cx = (ink * cols).sum() / total
    mu02 = (ink * (rows - cy) ** 2).sum() / total
    if mu02 < 1e-6:
        return ink
    slant = float((ink * (rows - cy) * (cols - cx)).sum() / total / mu02)
    pad = int(np.ceil(abs(slant) * max(cy, h - 1 - cy))) + 1
    out_w = w + 2 * pad
    # output (r, c) samples input (r, c - pad + slant * (r - cy))
    matrix = np.array([[1.0, 0.0], [slant, 1.0]])
    offset = np.array([0.0, -pad - slant * cy])
    return ndimage.affine_transform(
        ink, matrix, offset=offset, output_shape=(h, out_w), order=1, cval=0.0
    )


def _crop(image, mask=None):
    mask = image > 0 if mask is None else mask
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not rows.size:
        return image[:0, :0]
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def normalize_digit(
    image,
    *,
    size=28,
    box=20,
    invert="auto",
    illumination=True,
    threshold="otsu",
    min_component=0.05,
    min_contrast=0.15,
    deskew=False,
    center="mass",
    name="image",
):
    """One picture of a digit as an MNIST-style ``(size, size)`` float32 image.

    The function behind :class:`DigitNormalizer`, for a single 2-D (grey) or
    ``(h, w, 3|4)`` (colour) array; see the class for the parameters. Returns
    grey levels in 0..255; a picture with no ink gives a black frame.
    """
    grey = _to_unit_grey(image, name)
    if invert == "auto":
        border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
        invert = bool(np.median(border) > 0.5)
    if invert:
        grey = 1.0 - grey
    if illumination:
        grey = _remove_illumination(grey)
    if threshold == "otsu":  # on at most ~4,096 pixels: the same level, faster
        step = max(1, int(np.sqrt(grey.size / 4096)))
        level = _otsu(grey[::step, ::step])
    else:
        level = float(threshold)
    frame = np.zeros((size, size), dtype=np.float32)
    if level is None:
        return frame
    ink = grey > level
    if not ink.any():
        return frame
    if min_component:
        labels, count = ndimage.label(ink)
        if count > 1:
            areas = np.bincount(labels.ravel())[1:]
            keep = np.concatenate([[False], areas >= min_component * areas.max()])
            ink = keep[labels]
    step = max(1, int(np.sqrt(grey.size / 1024)))
    paper_pixels = grey[::step, ::step][~ink[::step, ::step]]
    paper = float(np.median(paper_pixels)) if paper_pixels.size else 0.0
    # work on the ink's bounding box, with room for the dilation below
    near = max(1, int(round(max(grey.shape) / 56)))
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    r0, r1 = max(rows[0] - near, 0), rows[-1] + near + 1
    c0, c1 = max(cols[0] - near, 0), cols[-1] + near + 1
    grey, ink = grey[r0:r1, c0:c1], ink[r0:r1, c0:c1]
    levels = grey[ink]
    levels = levels[:: max(1, levels.size // 1024)]  # a percentile of ~1,024
    top = float(np.percentile(levels, 99))
    if top - paper < max(min_contrast, 1e-6):  # paper texture, not ink
        return frame
    near_ink = ndimage.maximum_filter(ink, size=2 * near + 1)
    grey = np.clip((grey - paper) / (top - paper), 0.0, 1.0) * near_ink
    grey[grey < 0.5 / 255] = 0.0  # below half a grey level: rounding residue
    digit = _crop(grey, near_ink & (grey > 0))
    if deskew:
        digit = _crop(_deskew(digit))
    if not digit.size:
        return frame
    h, w = digit.shape
    scale = box / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = Image.fromarray(np.ascontiguousarray(digit, dtype=np.float32), "F")
    digit = np.asarray(resized.resize((new_w, new_h), Image.Resampling.BILINEAR))
    digit = np.clip(digit, 0.0, 1.0)
    total = float(digit.sum())
    if total <= 0:
        return frame
    if center == "mass":
        cy = float((digit.sum(1) * np.arange(new_h)).sum() / total)
        cx = float((digit.sum(0) * np.arange(new_w)).sum() / total)
    else:
        cy, cx = (new_h - 1) / 2, (new_w - 1) / 2
    top_row = int(np.clip(round(size / 2 - cy), 0, size - new_h))
    left = int(np.clip(round(size / 2 - cx), 0, size - new_w))
    frame[top_row : top_row + new_h, left : left + new_w] = digit
    return frame * np.float32(255)


def _warn_if_one_picture(X, image_shape):
    """Flat rows that are not square images, with no ``image_shape``: most
    likely one picture ``(h, w)`` passed without its sample axis."""
    side = int(round(np.sqrt(X.shape[1])))
    if image_shape is None and side * side != X.shape[1] and len(X) > 1:
        warnings.warn(
            f"DigitNormalizer reads X of shape {X.shape} as {X.shape[0]} flat rows "
            f"of {X.shape[1]} pixels (one row of pixels each); if it is one "
            "picture, pass [picture] or picture[None]; for flat rows of "
            "non-square images pass image_shape=(h, w)",
            UserWarning,
            stacklevel=5,
        )


class DigitNormalizer(TransformerMixin, BaseEstimator):
    """Turn pictures of single handwritten digits into MNIST-style images.

    Stateless: ``transform`` works without ``fit``. Takes what an image reader
    gives: an image stack ``(n, h, w)``, colour ``(n, h, w, 3|4)`` or
    ``(n, 1, h, w)``, flat square rows ``(n, h*w)`` (or ``image_shape=``), or
    a list / object array of pictures of different sizes
    (:class:`~sklearn_mnist.preprocessing.ImageFileReader` with
    ``size="keep"``). Returns grey levels 0..255 (float32) as
    ``(n, size, size)`` images, or flat ``(n, size*size)`` rows for flat input.
    A picture without ink gives a black frame.

    The steps follow how MNIST itself was made (LeCun et al. 1998): ink made
    white on black, lighting and paper texture removed, specks dropped, the
    digit cropped, optionally deskewed, scaled into a ``box`` x ``box`` square
    keeping its aspect ratio with anti-aliasing, and centred by its centre of
    mass in a ``size`` x ``size`` frame. Use it before training as well as
    before predicting when you turn ``deskew`` on, so both see the same images.

    Parameters
    ----------
    size : int, default=28
        Side of the output frame.
    box : int, default=20
        Side of the square the digit is scaled to fit (MNIST: 20 in 28).
    invert : "auto" or bool, default="auto"
        Make the ink bright: ``"auto"`` inverts pictures whose border is
        brighter than mid-grey (dark ink on paper); True always, False never.
    illumination : bool, default=True
        Remove uneven lighting (a quadratic surface fitted to the paper).
    threshold : "otsu" or float in [0, 1), default="otsu"
        Grey level (after inversion, 0..1) that separates ink from paper.
    min_component : float in [0, 1), default=0.05
        Drop connected ink components smaller than this fraction of the
        largest one (specks, dirt); 0 keeps everything.
    min_contrast : float in [0, 1), default=0.15
        The least difference between ink and paper (grey levels 0..1, after
        the lighting correction) for a picture to hold a digit; below it the
        "ink" Otsu's threshold finds is paper texture and noise, and the
        picture gives a black frame (with the warning of blank pictures).
        Measured: photo-like digits of ``make_photo_digits`` 0.48 and more,
        their blank paper about 0.05; MNIST 0.99.
    deskew : bool, default=False
        Straighten the slant (shear that zeroes the mixed second moment).
    center : {"mass", "box"}, default="mass"
        Centre the digit's centre of mass (MNIST) or its bounding box.
    image_shape : tuple of int or None, default=None
        ``(h, w)`` of flat input rows that are not square.

    See Also
    --------
    ImageFileReader : image files to arrays.
    sklearn_mnist.datasets.load_image_folder : a folder of labelled images.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mnist.preprocessing import DigitNormalizer
    >>> photo = np.full((60, 40), 230, dtype=np.uint8)  # light paper
    >>> photo[10:50, 18:24] = 20  # a dark, off-centre stroke: a "1"
    >>> digit = DigitNormalizer().transform(photo[None])
    >>> digit.shape, digit.max() == 255, digit[0, :, :4].max()
    ((1, 28, 28), np.True_, np.float32(0.0))
    """

    _parameter_constraints = {
        "size": [Interval(numbers.Integral, 1, None, closed="left")],
        "box": [Interval(numbers.Integral, 1, None, closed="left")],
        "invert": [StrOptions({"auto"}), "boolean"],
        "illumination": ["boolean"],
        "threshold": [
            StrOptions({"otsu"}),
            Interval(numbers.Real, 0, 1, closed="left"),
        ],
        "min_component": [Interval(numbers.Real, 0, 1, closed="left")],
        "min_contrast": [Interval(numbers.Real, 0, 1, closed="left")],
        "deskew": ["boolean"],
        "center": [StrOptions({"mass", "box"})],
        "image_shape": [tuple, list, None],
    }

    def __init__(
        self,
        *,
        size=28,
        box=20,
        invert="auto",
        illumination=True,
        threshold="otsu",
        min_component=0.05,
        min_contrast=0.15,
        deskew=False,
        center="mass",
        image_shape=None,
    ):
        self.size = size
        self.box = box
        self.invert = invert
        self.illumination = illumination
        self.threshold = threshold
        self.min_component = min_component
        self.min_contrast = min_contrast
        self.deskew = deskew
        self.center = center
        self.image_shape = image_shape

    def _check_params(self):
        self._validate_params()
        if self.box > self.size:
            raise ValueError(
                f"box={self.box} does not fit in size={self.size}: the digit's box "
                "must be at most the frame's side"
            )

    def fit(self, X, y=None):
        """Check the parameters and the input; learns nothing.

        No ``n_features_in_`` either: the transformer takes pictures of any
        size, before and after ``fit`` (a fitted ``Pipeline`` reads one photo
        of its own size as readily as the training set)."""
        self._check_params()
        self._pictures(X)
        return self

    def _pictures(self, X):
        """``(pictures, flat)``: an array ``(n, h, w)`` / ``(n, h, w, c)`` or a
        list of 2-D/3-D pictures, and whether the input was flat rows (then
        the output is too)."""
        if isinstance(X, str | bytes):
            raise ValueError(
                "DigitNormalizer expects images, got a string; read image files "
                "with ImageFileReader first"
            )
        ragged = isinstance(X, list | tuple) or (
            isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1
        )
        if ragged:
            pictures = list(X)
            if not pictures:
                raise ValueError("DigitNormalizer got no images (0 samples)")
            for i, a in enumerate(pictures):
                if isinstance(a, str | bytes) or np.ndim(a) not in (1, 2, 3):
                    raise ValueError(
                        f"DigitNormalizer expects images; item {i} is "
                        f"{type(a).__name__} of shape {np.shape(a)}"
                    )
            shapes = {np.shape(a) for a in pictures}
            if len(shapes) > 1 or len(next(iter(shapes))) == 3:
                if any(np.ndim(a) == 1 for a in pictures):
                    raise ValueError(
                        "DigitNormalizer expects pictures (h, w) or (h, w, c) in a "
                        "list of pictures of different sizes; got a 1-D item"
                    )
                return pictures, False
            X = np.asarray(pictures)  # one size: an ordinary stack or rows
        X = check_array(X, allow_nd=True, dtype="numeric", ensure_min_features=1)
        if X.ndim > 4:
            raise ValueError(
                "DigitNormalizer expects images (n, h, w), (n, h, w, c), (n, c, h, "
                f"w) or flat rows (n, h*w); got an array of shape {X.shape}"
            )
        if X.size and X.min() < 0:
            raise ValueError(
                f"Negative values in data passed to DigitNormalizer: grey levels "
                f"must be >= 0 (minimum {X.min():g})"
            )
        if X.ndim == 2:
            _warn_if_one_picture(X, self.image_shape)
            c, h, w = sample_shape(X, self.image_shape)
            images = X.reshape(len(X), c, h, w)
            images = images[:, 0] if c == 1 else np.moveaxis(images, 1, -1)
            return images, True
        if X.ndim == 3 and X.shape[-1] in (3, 4) and min(X.shape[:2]) > 4:
            warnings.warn(
                f"DigitNormalizer reads X of shape {X.shape} as {X.shape[0]} "
                f"pictures of {X.shape[1]}x{X.shape[2]} pixels; if it is one colour "
                "picture (h, w, channels), pass [picture] or picture[None]",
                UserWarning,
                stacklevel=4,
            )
        if X.ndim == 4:
            layout = image_layout(X.shape)
            X = np.moveaxis(to_channels_first(X, layout), 1, -1)
            X = X[..., 0] if X.shape[-1] == 1 else X
        return X, False

    def transform(self, X):
        """Normalise every picture in ``X``.

        Parameters
        ----------
        X : array-like of images, flat square rows, or a list of pictures

        Returns
        -------
        X_out : ndarray of float32, shape (n, size, size) or (n, size*size)
            Grey levels 0..255, white ink on black.
        """
        self._check_params()
        pictures, flat = self._pictures(X)
        out = np.empty((len(pictures), self.size, self.size), dtype=np.float32)
        # every parameter but image_shape (how flat rows are read) is a step's
        params = self.get_params()
        del params["image_shape"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for i, picture in enumerate(pictures):
                out[i] = normalize_digit(picture, name=f"image {i}", **params)
        blank = np.flatnonzero(~out.reshape(len(out), -1).any(axis=1))
        if blank.size:
            shown = ", ".join(map(str, blank[:10])) + (
                " ..." if blank.size > 10 else ""
            )
            warnings.warn(
                f"{blank.size} of {len(out)} picture(s) have no ink that "
                "DigitNormalizer could find (blank or uniform): they become black "
                f"frames, which a classifier still labels; rows {shown}. A "
                "RejectOptionClassifier "
                "(trust_score='knn') rejects such inputs.",
                UserWarning,
                stacklevel=3,
            )
        if flat:
            return out.reshape(len(out), -1)
        return flat_for_container(self, out)

    def get_feature_names_out(self, input_features=None):
        """``pixel0`` ... one name per output pixel."""
        return np.asarray(
            [f"pixel{i}" for i in range(self.size * self.size)], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.positive_only = True
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
