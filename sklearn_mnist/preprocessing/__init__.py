"""Transformers for image data."""

from ._augment import (
    BaseAugmenter,
    RandomAffineAugmenter,
    random_affine_matrices,
    warp_affine,
)
from ._elastic import ElasticDistortion
from ._flatten import Flatten
from ._normalizer import Normalizer255
from ._resample import AugmentResampler

__all__ = [
    "AugmentResampler",
    "BaseAugmenter",
    "ElasticDistortion",
    "Flatten",
    "Normalizer255",
    "RandomAffineAugmenter",
    "random_affine_matrices",
    "warp_affine",
]
