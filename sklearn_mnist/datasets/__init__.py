"""Data: the MNIST fetcher, the IDX reader/writer and an offline sample."""

# ``name as name``: the package's internal API (used by preprocessing and the
# command line), importable by the other subpackages but not in __all__.
from ._fetch import MIRROR_ENV_VAR, fetch_mnist
from ._idx import load_idx, save_idx
from ._images import DEFAULT_MAX_PIXELS as DEFAULT_MAX_PIXELS
from ._images import IMAGE_EXTENSIONS as IMAGE_EXTENSIONS
from ._images import ImageFileError as ImageFileError
from ._images import ImageScan as ImageScan
from ._images import check_image_size as check_image_size
from ._images import load_image_folder
from ._images import read_image as read_image
from ._images import read_images as read_images
from ._images import stat_regular_file as stat_regular_file
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
