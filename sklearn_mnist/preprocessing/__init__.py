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

__all__ = [
    "BaseAugmenter",
    "ElasticDistortion",
    "Flatten",
    "Normalizer255",
    "RandomAffineAugmenter",
    "random_affine_matrices",
    "warp_affine",
]
