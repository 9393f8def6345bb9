"""Transformers for image data."""

from ._augment import (
    BaseAugmenter,
    RandomAffineAugmenter,
    random_affine_matrices,
    warp_affine,
)
from ._corrupt import LEVELS as CORRUPTION_LEVELS  # noqa: F401 (internal API)
from ._corrupt import Corruption
from ._corrupt import resolve_kinds as resolve_kinds  # internal API
from ._digits import DigitNormalizer
from ._elastic import ElasticDistortion
from ._files import ImageFileReader
from ._flatten import Flatten
from ._normalizer import Normalizer255
from ._resample import AugmentResampler

__all__ = [
    "AugmentResampler",
    "BaseAugmenter",
    "Corruption",
    "DigitNormalizer",
    "ElasticDistortion",
    "Flatten",
    "ImageFileReader",
    "Normalizer255",
    "RandomAffineAugmenter",
    "random_affine_matrices",
    "warp_affine",
]
