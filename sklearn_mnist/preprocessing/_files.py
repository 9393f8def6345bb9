"""``ImageFileReader``: file paths in, image arrays out, so a Pipeline starts
from files."""

import os
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._compat import Interval, StrOptions
from ..datasets import (
    DEFAULT_MAX_PIXELS,
    check_image_size,
    read_images,
)
from ..utils import flat_for_container

__all__ = ["ImageFileReader"]


class ImageFileReader(TransformerMixin, BaseEstimator):
    """Read image files into an image array: paths in, uint8 images out.

    The first step of a Pipeline that predicts from files::

        pipe = make_pipeline(ImageFileReader(size=(28, 28)), Normalizer255(),
                             CNNClassifier())
        pipe.fit(train_paths, train_labels)
        pipe.predict(["scan1.png", "scan2.jpg"])

    Stateless: ``fit`` only checks the parameters and the paths, ``transform``
    works without it. Each file is read as
    :func:`~sklearn_mnist.datasets.load_image_folder` reads it (the same
    function: PNG, JPEG, BMP, TIFF, WebP, GIF's first frame, PGM/PPM; EXIF
    orientation; transparency on white; the ``max_pixels`` limit checked before
    decoding; FIFOs and devices refused unopened). Paths are read as given:
    symbolic links are followed (there is no root folder to keep them in).

    Parameters
    ----------
    size : (height, width), None or "keep", default=None
        ``(height, width)``: every image resized to it (antialiased). None:
        every image must have the same size (a ``ValueError`` names the first
        that does not). ``"keep"``: each keeps its own size and ``transform``
        returns a 1-D object array of uint8 arrays (the form
        :class:`~sklearn_mnist.preprocessing.DigitNormalizer` accepts).
    mode : {"L", "RGB"}, default="L"
        Grey images ``(n, h, w)`` or colour images ``(n, h, w, 3)``.
    on_error : {"raise"}, default="raise"
        A file that cannot be read always raises a ``ValueError`` naming it.
        ``"skip"`` (which :func:`~sklearn_mnist.datasets.load_image_folder`
        offers) is refused here: a transformer must return one image per path,
        and dropping rows would pair the remaining images with the wrong labels
        in ``fit`` and the predictions with the wrong files in ``predict``; a
        stand-in image would give a confident answer for a file that was never
        read. Filter the paths first (or read a folder with
        ``load_image_folder(..., on_error="skip")``).
    max_pixels : int, default=8192 * 8192
        Largest width * height read; a file that declares more is refused
        before decoding, as a possible decompression bomb.

    See Also
    --------
    sklearn_mnist.datasets.load_image_folder : a folder of class sub-folders
        as a Bunch.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from sklearn_mnist.preprocessing import ImageFileReader
    >>> path = os.path.join(tempfile.mkdtemp(), "digit.png")
    >>> Image.fromarray(np.full((50, 40), 255, dtype=np.uint8)).save(path)
    >>> images = ImageFileReader(size=(28, 28)).transform([path, path])
    >>> images.shape, images.dtype.name
    ((2, 28, 28), 'uint8')
    """

    _parameter_constraints = {
        "size": [None, StrOptions({"keep"}), tuple, list],
        "mode": [StrOptions({"L", "RGB"})],
        "on_error": [StrOptions({"raise", "skip"})],
        "max_pixels": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self, size=None, mode="L", on_error="raise", max_pixels=DEFAULT_MAX_PIXELS
    ):
        self.size = size
        self.mode = mode
        self.on_error = on_error
        self.max_pixels = max_pixels

    def _check_params(self):
        self._validate_params()
        if self.on_error != "raise":
            raise ValueError(
                "ImageFileReader(on_error='skip') cannot skip files: a transformer "
                "returns one image per path, and dropping one would pair the other "
                "images with the wrong labels or predictions with the wrong files. "
                "Use on_error='raise' (the default) and filter the paths first, or "
                "read a folder with load_image_folder(..., on_error='skip')"
            )
        return check_image_size(self.size)

    def fit(self, X, y=None):
        """Check the parameters and that ``X`` is a list of paths; reads nothing.

        Parameters
        ----------
        X : list, tuple, ndarray or pandas Series of str or path-like
            The files.
        y : None
            Ignored.

        Returns
        -------
        self : ImageFileReader
        """
        self._check_params()
        _check_paths(X)
        return self

    def transform(self, X):
        """Read the files, in order, into one array.

        Parameters
        ----------
        X : list, tuple, ndarray or pandas Series of str or path-like
            The files (a single string is refused: wrap it in a list). A 2-D
            array or DataFrame with one column is read as that column.

        Returns
        -------
        images : ndarray of uint8, shape (n, h, w) or (n, h, w, 3)
            Or a 1-D object array of such images for ``size="keep"``; flat rows
            ``(n, h*w)`` under ``set_output(transform="pandas")``.

        Raises
        ------
        ValueError
            For a single path, something that is not a path, or a file that
            cannot be read (naming it), or images of different sizes with
            ``size=None``.
        """
        size = self._check_params()
        paths = _check_paths(X)
        images, _, _ = read_images(
            paths, size=size, mode=self.mode, max_pixels=self.max_pixels
        )
        if size == "keep":
            return images
        return flat_for_container(self, images)

    def get_feature_names_out(self, input_features=None):
        """``pixel_<i>`` for each value of one image (row-major); needs a
        ``size=(height, width)``, since otherwise the count depends on the files.
        """
        size = self._check_params()
        if not isinstance(size, tuple):
            raise ValueError(
                f"ImageFileReader(size={self.size!r}) has no fixed number of output "
                "features; pass size=(height, width) to name them (for "
                "set_output(transform='pandas'))"
            )
        n = size[0] * size[1] * (3 if self.mode == "RGB" else 1)
        return np.asarray([f"pixel_{i}" for i in range(n)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.string = True
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags


def _check_paths(X):
    """``X`` as a list of str paths, or a ValueError saying what arrived."""
    if isinstance(X, str | bytes | os.PathLike):
        raise ValueError(
            "ImageFileReader expects an iterable of file paths (list, array, "
            f"pandas Series), got a single {type(X).__name__}: {X!r}; wrap it in "
            "a list, [path]"
        )
    if hasattr(X, "to_numpy"):  # pandas Series / DataFrame
        X = X.to_numpy()
    try:
        paths = np.asarray(X, dtype=object)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"ImageFileReader expects a list of file paths, got {type(X).__name__} "
            f"({exc})"
        ) from None
    if paths.ndim == 2 and paths.shape[1] == 1:
        paths = paths[:, 0]
    if paths.ndim != 1:
        raise ValueError(
            "ImageFileReader expects a 1-D list of file paths (or one column), got "
            f"an array of shape {paths.shape}"
        )
    if not len(paths):
        raise ValueError("ImageFileReader got no paths: expected at least one file")
    out = []
    for i, path in enumerate(paths):
        if not isinstance(path, str | os.PathLike):
            raise ValueError(
                f"ImageFileReader expects file paths (str or path-like), got "
                f"{type(path).__name__} {path!r} at position {i}"
            )
        name = os.fspath(path)
        if not isinstance(name, str):
            name = os.fsdecode(name)
        out.append(name)
    return out
