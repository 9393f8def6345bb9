"""Image layouts: flat rows, ``(n, h, w)``, channels-first and channels-last stacks.

Every estimator works on channels-first images ``(n, c, h, w)`` inside. A
four-dimensional stack is read as channels-last ``(n, h, w, c)`` when its last
axis holds at most 4 values (grey, RGB, RGBA...) and its second axis more than
4; as channels-first when it is the other way round. Anything else is ambiguous
and refused unless ``image_shape=(c, h, w)`` says which axes are which, so an
image is never silently read along the wrong axes.
"""

import numpy as np

__all__ = [
    "CHANNELS",
    "channels_first",
    "image_layout",
    "looks_channels_last",
    "to_channels_first",
]

#: Channel counts recognised on the last axis (grey, RGB, RGBA).
CHANNELS = (1, 3, 4)


def looks_channels_last(dims):
    """True when three image axes read as ``(h, w, c)``: the last holds at most
    4 values and the first more (the rule of :func:`image_layout`)."""
    return int(dims[-1]) <= 4 < int(dims[0])


def image_layout(shape, image_shape=None):
    """``"flat"``, ``"hw"``, ``"chw"`` or ``"hwc"`` for a batch of ``shape``.

    Parameters
    ----------
    shape : tuple of int
        The shape of the whole batch, ``(n, ...)``.
    image_shape : tuple of int, default=None
        ``(c, h, w)`` or ``(h, w)`` the user declared; settles ambiguous stacks.

    Raises
    ------
    ValueError
        For a four-dimensional stack whose channel axis cannot be told.
    """
    ndim = len(shape)
    if ndim <= 2:
        return "flat"
    if ndim == 3:
        return "hw"
    a, b, d = (int(s) for s in shape[1:])
    if image_shape is not None and len(image_shape) == 3:
        c, h, w = (int(s) for s in image_shape)
        if (a, b, d) == (c, h, w):
            return "chw"
        if (a, b, d) == (h, w, c):
            return "hwc"
    if looks_channels_last((a, b, d)):
        return "hwc"
    if looks_channels_last((d, b, a)):
        return "chw"
    raise ValueError(
        f"Cannot tell whether images of shape {tuple(shape[1:])} are channels-first "
        "(c, h, w) or channels-last (h, w, c); pass image_shape=(channels, height, "
        "width), or reshape them to (n, c, h, w)"
    )


def to_channels_first(X, layout):
    """A channels-last stack moved to ``(n, c, h, w)``; other layouts unchanged."""
    return np.moveaxis(X, -1, 1) if layout == "hwc" else X


def channels_first(shape, layout):
    """The ``(c, h, w)`` of one sample of a batch of ``shape`` in ``layout``."""
    if layout == "hwc":
        return (int(shape[3]), int(shape[1]), int(shape[2]))
    return tuple(int(s) for s in shape[1:])
