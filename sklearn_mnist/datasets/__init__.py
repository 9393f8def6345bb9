"""Data: the MNIST fetcher, the IDX reader/writer and an offline sample."""

from ._fetch import MIRROR_ENV_VAR, fetch_mnist
from ._idx import load_idx, save_idx
from ._sample import load_mnist_sample

__all__ = ["MIRROR_ENV_VAR", "fetch_mnist", "load_idx", "load_mnist_sample", "save_idx"]
