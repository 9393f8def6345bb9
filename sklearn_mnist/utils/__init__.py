"""Helpers shared across sklearn_mnist."""

from ._device import resolve_device
from ._files import atomic_folder, atomic_write, open_temp_beside
from ._layout import channels_first, image_layout, to_channels_first
from ._memory import settle_allocator
from ._naming import estimator_name
from ._output import flat_for_container, same_feature_names_out
from ._parallel import (
    announce_fit,
    dask_worker_slot,
    fit_threads,
    in_worker_pool,
    rebalance,
    round_robin_device,
    thread_budget,
)
from ._tensors import state_tensors
from ._validation import (
    infer_clip_range,
    infer_image_shape,
    pixel_range,
    sample_shape,
    validate_images,
)

__all__ = [
    "announce_fit",
    "atomic_folder",
    "atomic_write",
    "channels_first",
    "dask_worker_slot",
    "estimator_name",
    "fit_threads",
    "flat_for_container",
    "image_layout",
    "in_worker_pool",
    "rebalance",
    "open_temp_beside",
    "infer_clip_range",
    "infer_image_shape",
    "pixel_range",
    "resolve_device",
    "round_robin_device",
    "same_feature_names_out",
    "sample_shape",
    "settle_allocator",
    "state_tensors",
    "thread_budget",
    "to_channels_first",
    "validate_images",
]
