"""``fetch_mnist``: MNIST, Fashion-MNIST and Kuzushiji-MNIST, the scikit-learn way."""

import logging
import os

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch

from ._download import download, sha256sum
from ._idx import load_idx

logger = logging.getLogger(__name__)

__all__ = ["fetch_mnist", "MIRROR_ENV_VAR"]

#: Environment variable that sets the download base URL when ``mirror=None``.
MIRROR_ENV_VAR = "SKLEARN_MNIST_MIRROR"

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# SHA-256 of the canonical gzipped files. MNIST: checked against the byte-identical
# files in shared/data/mnist; Fashion-MNIST and KMNIST: the values published with
# TensorFlow Datasets, which agree with torchvision's Ruby port (KMNIST) and with
# the file sizes of the canonical distribution.
_VARIANTS = {
    "mnist": {
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ],
        "sha256": {
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # noqa: E501
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # noqa: E501
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",  # noqa: E501
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",  # noqa: E501
        },
        "target_names": [str(d) for d in range(10)],
        "title": "MNIST handwritten digits (LeCun, Cortes and Burges)",
    },
    "fashion": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "sha256": {
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",  # noqa: E501
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",  # noqa: E501
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",  # noqa: E501
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",  # noqa: E501
        },
        "target_names": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],  # fmt: skip
        "title": "Fashion-MNIST article images (Xiao, Rasul and Vollgraf, 2017)",
    },
    "kmnist": {
        "mirrors": ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"],
        "sha256": {
            "train-images-idx3-ubyte.gz": "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",  # noqa: E501
            "train-labels-idx1-ubyte.gz": "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",  # noqa: E501
            "t10k-images-idx3-ubyte.gz": "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",  # noqa: E501
            "t10k-labels-idx1-ubyte.gz": "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",  # noqa: E501
        },
        "target_names": ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"],
        "title": "Kuzushiji-MNIST cursive Japanese characters (Clanuwat et al., 2018)",
    },
}

_DESCR = """\
.. _{variant}_dataset:

{title}
{underline}

**Data Set Characteristics:**

:Number of Instances: {n_samples} ({subset} subset; 60,000 train, 10,000 test)
:Number of Attributes: 784 (28x28 grey-level pixels, 0 = background, 255 = ink)
:Classes: {n_classes}: {classes}
:Source files: {files}

Images come in their original order; with ``subset="all"`` the 60,000 training
images come first, then the 10,000 test images. Every cached file is checked
against its published SHA-256 before it is used.
"""


def _mirrors(variant, mirror):
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV_VAR)
    bases = [mirror] if mirror else _VARIANTS[variant]["mirrors"]
    return [b.format(variant=variant).rstrip("/") + "/" for b in bases]


def _cached_file(name, variant, directory, bases, download_if_missing, **dl_kw):
    """Path of a verified copy of ``name``, downloading it if needed."""
    path = os.path.join(directory, name)
    expected = _VARIANTS[variant]["sha256"][name]
    if os.path.exists(path):
        if sha256sum(path) == expected:
            return path
        if not download_if_missing:
            raise OSError(
                f"Cached file {path} does not match its SHA-256 {expected} and "
                "download_if_missing is False; delete it to download it again"
            )
        logger.warning("Cached file %s is corrupted; downloading it again", path)
    elif not download_if_missing:
        raise OSError(
            f"Data not found and download_if_missing is False: no {name} in {directory}"
        )
    os.makedirs(directory, exist_ok=True)
    return download(
        [b + name for b in bases], path, expected, hint=_local_hint(directory), **dl_kw
    )


def _local_hint(directory):
    """How to use files one already has, for the error when every mirror failed."""
    return (
        "To use local copies instead, put the files under their canonical names in "
        f"{os.path.join(directory, '')} (<data_home>/<variant>/, see data_home=): "
        "they are checksum-verified and used without downloading. Or point the "
        f"{MIRROR_ENV_VAR} environment variable or mirror= at a folder holding "
        'them, e.g. fetch_mnist(mirror="file:///path/to/folder/").'
    )


def fetch_mnist(
    *,
    variant="mnist",
    subset="train",
    data_home=None,
    download_if_missing=True,
    mirror=None,
    return_X_y=False,
    as_frame=False,
    n_retries=3,
    delay=1.0,
    timeout=30.0,
):
    """Load MNIST, Fashion-MNIST or Kuzushiji-MNIST, downloading it if needed.

    Files are cached as ``<data_home>/<variant>/<canonical file name>`` and every
    file is verified by SHA-256 before use. Downloads go to a temporary file that
    is renamed into the cache only after its checksum passed, so an interrupted,
    truncated or corrupted download leaves nothing behind.

    Parameters
    ----------
    variant : {"mnist", "fashion", "kmnist"}, default="mnist"
        Which data set.
    subset : {"train", "test", "all"}, default="train"
        60,000 training images, 10,000 test images, or all 70,000 (train first).
    data_home : str or path-like, default=None
        Cache folder. By default scikit-learn's ``get_data_home()``
        (``~/scikit_learn_data`` or ``$SCIKIT_LEARN_DATA``).
    download_if_missing : bool, default=True
        If False, raise an ``OSError`` when the data are not cached.
    mirror : str, default=None
        Base URL to download from instead of the canonical mirrors, for users
        behind a firewall: ``http(s)://``, ``ftp://`` or ``file://`` with an
        absolute path, such as ``"file:///path/to/folder/"`` for a local folder
        holding the files under their canonical names (percent-encode special
        characters, or use ``pathlib.Path(folder).absolute().as_uri()``). Files
        fetched from it are checksum-verified and copied into the cache like
        downloads. ``{variant}`` in it is replaced by the variant name. When
        None, the environment variable ``SKLEARN_MNIST_MIRROR`` is used if set.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame, ``target`` a Series and
        ``frame`` a DataFrame holding both.
    n_retries : int, default=3
        Extra attempts per mirror after an error that may be transient: a
        timeout, a reset connection, a server error (5xx), a truncated or
        corrupted download. Other errors (unknown host, connection refused,
        404, any error on a ``file://`` mirror) move on to the next mirror at
        once.
    delay : float, default=1.0
        Seconds between attempts on the same mirror.
    timeout : float, default=30.0
        Seconds to wait for the server before an attempt counts as failed.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (n, 784) uint8, ``images`` (n, 28, 28) uint8 (the same memory),
        ``target`` (n,) int64, ``feature_names``, ``target_names``, ``frame``
        (None unless ``as_frame``) and ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ValueError
        For an unknown ``variant`` or ``subset``.
    OSError
        If the data are missing and cannot be downloaded; when every mirror
        failed, the message ends with how to use local files instead.

    Notes
    -----
    Offline, or with the files at hand, there are two ways to skip the
    download. Copy them, under their canonical names (for example
    ``train-images-idx3-ubyte.gz``), into ``<data_home>/<variant>/``: files
    found there are verified by SHA-256 and used as they are. Or pass
    ``mirror="file:///path/to/folder/"`` (or set ``SKLEARN_MNIST_MIRROR`` to
    it): they are then verified and copied into the cache. Cached files get
    the permissions the umask allows (0644 under umask 022), so a cache can be
    shared.

    Examples
    --------
    >>> from sklearn_mnist.datasets import fetch_mnist
    >>> mnist = fetch_mnist(subset="test")  # doctest: +SKIP
    >>> mnist.data.shape, mnist.images.shape  # doctest: +SKIP
    ((10000, 784), (10000, 28, 28))
    """
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be one of {sorted(_VARIANTS)}, got {variant!r}")
    if subset not in ("train", "test", "all"):
        raise ValueError(
            f"subset must be one of ['all', 'test', 'train'], got {subset!r}"
        )
    directory = os.path.join(get_data_home(data_home=data_home), variant)
    bases = _mirrors(variant, mirror)
    dl_kw = dict(n_retries=n_retries, delay=delay, timeout=timeout)
    parts = ["train", "test"] if subset == "all" else [subset]

    images, labels, files = [], [], []
    for part in parts:
        image_name, label_name = _FILES[part]
        image_path, label_path = (
            _cached_file(n, variant, directory, bases, download_if_missing, **dl_kw)
            for n in (image_name, label_name)
        )
        files += [image_name, label_name]
        X, y = load_idx(image_path), load_idx(label_path)
        if X.ndim != 3 or y.ndim != 1 or X.shape[0] != y.shape[0]:
            raise ValueError(
                f"{image_name} / {label_name}: expected images (n, h, w) and labels "
                f"(n,), got shapes {X.shape} and {y.shape}"
            )
        images.append(X)
        labels.append(y)

    images = images[0] if len(images) == 1 else np.concatenate(images)
    target = np.concatenate(labels).astype(np.int64)
    n, h, w = images.shape
    data = images.reshape(n, h * w)
    meta = _VARIANTS[variant]
    feature_names = [f"pixel_{i}" for i in range(h * w)]
    descr = _DESCR.format(
        variant=variant,
        title=meta["title"],
        underline="-" * len(meta["title"]),
        n_samples=f"{n:,}",
        subset=subset,
        n_classes=len(meta["target_names"]),
        classes=", ".join(meta["target_names"]),
        files=", ".join(files),
    )
    frame = None
    if as_frame:
        import pandas as pd

        data = pd.DataFrame(data, columns=feature_names, copy=False)
        target = pd.Series(target, name="class")
        frame = pd.concat([data, target], axis=1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=images,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=list(meta["target_names"]),
        DESCR=descr,
    )
