"""Data: the MNIST fetcher, the IDX reader/writer and an offline sample."""

from ._fetch import MIRROR_ENV_VAR, fetch_mnist
from ._idx import load_idx, save_idx
from ._images import load_image_folder
from ._photos import make_photo_digits
from ._sample import load_mnist_sample

__all__ = [
    "MIRROR_ENV_VAR",
    "fetch_mnist",
    "load_idx",
    "load_image_folder",
    "load_mnist_sample",
    "make_photo_digits",
    "save_idx",
]
