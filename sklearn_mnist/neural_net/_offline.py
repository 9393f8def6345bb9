"""Loading a model file reads no pretrained weights: no download, no path.

While :func:`sklearn_mnist.load` rebuilds a classifier, the weights come from
the model file; a backbone's pretrained ``weights`` parameter (``"imagenet"``,
a path) would only be read to be replaced, and a file from a stranger could
name ``"/etc/passwd"`` or make torchvision download. Inside
:func:`pretrained_weights_off`, :func:`~sklearn_mnist.neural_net.load_backbone`
builds every backbone randomly initialised instead, whatever module or
classifier asks for it.
"""

import contextlib
import contextvars

__all__ = ["pretrained_weights_off", "pretrained_weights_allowed"]

_OFF = contextvars.ContextVar("sklearn_mnist_pretrained_weights_off", default=False)


@contextlib.contextmanager
def pretrained_weights_off():
    """Within the block, backbones are built without reading any weights."""
    token = _OFF.set(True)
    try:
        yield
    finally:
        _OFF.reset(token)


def pretrained_weights_allowed():
    """False inside :func:`pretrained_weights_off`."""
    return not _OFF.get()
