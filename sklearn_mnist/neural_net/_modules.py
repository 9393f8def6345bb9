"""Plain ``nn.Module``s behind the classifiers, built from ``module__*`` parameters.

Every module takes ``in_shape=(channels, height, width)`` and ``n_classes``, which
the classifier fills in at fit time from the data; all other arguments are
architecture knobs that ``GridSearchCV`` can tune as ``module__<name>``.
"""

import math
import numbers

import torch
from torch import nn

__all__ = ["MLPModule", "CNNModule", "Dropout"]


class Dropout(nn.Dropout):
    """``nn.Dropout`` with its mask drawn by ``torch.rand`` on the CPU.

    The same operation (each element kept with probability ``1 - p`` and
    scaled by ``1 / (1 - p)``, drawn from torch's default generator), but
    PyTorch's CPU dropout draws its Bernoulli mask about 3x slower than
    ``torch.rand`` draws uniforms: 5.6 ms vs 1.6 ms for a 256 x 1568 batch on
    2 cores, a fifth of a default ``CNNClassifier`` training step
    (``benchmarks/RESULTS.md``). Other devices, ``inplace=True`` and eval mode
    use ``nn.Dropout`` itself.
    """

    def forward(self, x):
        if not self.training or self.p == 0 or x.device.type != "cpu" or self.inplace:
            return super().forward(x)
        if self.p == 1:
            return x * 0
        keep = torch.rand(x.shape, device=x.device) >= self.p
        return x * keep.to(x.dtype).mul_(1 / (1 - self.p))


def _is_int(value, low):
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and value >= low
    )


def _widths(name, value, *, allow_empty=False):
    """``value`` (a positive int or a sequence of them) as a tuple, checked."""
    values = (value,) if isinstance(value, numbers.Integral) else value
    try:
        values = tuple(values)
        ok = (allow_empty or len(values) > 0) and all(_is_int(v, 1) for v in values)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(
            f"module__{name} must be a positive integer or a sequence of them, got "
            f"{value!r}"
        )
    return values


def _int(name, value, low):
    if not _is_int(value, low):
        what = "a positive integer" if low == 1 else "an integer >= 0 (0: none)"
        raise ValueError(f"module__{name} must be {what}, got {value!r}")
    return int(value)


def _probability(name, value):
    if not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"module__{name} must be a number in [0, 1), got {value!r}")
    return float(value)


class MLPModule(nn.Module):
    """Fully connected network: ``hidden_units`` ReLU layers with dropout.

    Parameters
    ----------
    in_shape : tuple of int
        ``(channels, height, width)`` of one sample.
    n_classes : int
        Number of outputs (logits).
    hidden_units : int or tuple of int, default=(800,)
        Width of each hidden layer (Simard et al. 2003 used one layer of 800).
    dropout : float, default=0.2
        Dropout probability after every hidden layer.
    """

    def __init__(self, in_shape, n_classes, hidden_units=(800,), dropout=0.2):
        super().__init__()
        hidden_units = _widths("hidden_units", hidden_units, allow_empty=True)
        dropout = _probability("dropout", dropout)
        layers, width = [nn.Flatten()], math.prod(in_shape)
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU(inplace=True)]
            if dropout:
                layers.append(Dropout(dropout))
            width = units
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def _conv(c_in, c_out, kernel_size, stride):
    return [
        nn.Conv2d(
            c_in,
            c_out,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            bias=False,
        ),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


def _conv_block(c_in, c_out, kernel_size, depth):
    layers = _conv(c_in, c_out, kernel_size, stride=2)
    for _ in range(depth - 1):
        layers += _conv(c_out, c_out, 3, stride=1)
    return layers


class CNNModule(nn.Module):
    """Small strided convolutional network with batch norm, sized for CPU speed.

    Every convolution block halves the resolution with stride 2 (the first uses
    a 5x5 kernel, the others 3x3), so a 28x28 digit is 7x7 after two blocks; a
    hidden fully connected layer and a linear layer give the logits. Strided
    convolutions instead of max pooling make it about 3x faster on a CPU at the
    same accuracy (``benchmarks/bench_classifiers.py``).

    Parameters
    ----------
    in_shape : tuple of int
        ``(channels, height, width)`` of one sample.
    n_classes : int
        Number of outputs (logits).
    channels : tuple of int, default=(16, 32)
        Output channels of each convolution block.
    hidden_units : int, default=128
        Width of the fully connected layer; 0 for none.
    dropout : float, default=0.2
        Dropout before each fully connected layer (0.2 gained 0.05-0.5 points
        of MNIST test accuracy from 100 to 60,000 training images, measured).
    depth : int, default=1
        Convolutions per block: the strided one, then ``depth - 1`` 3x3
        convolutions at the block's resolution (more capacity, slower).
    """

    def __init__(
        self,
        in_shape,
        n_classes,
        channels=(16, 32),
        hidden_units=128,
        dropout=0.2,
        depth=1,
    ):
        super().__init__()
        channels = _widths("channels", channels)
        hidden_units = _int("hidden_units", hidden_units, 0)
        dropout = _probability("dropout", dropout)
        depth = _int("depth", depth, 1)
        layers, (c_in, h, w) = [], in_shape
        for i, c_out in enumerate(channels):
            layers += _conv_block(c_in, c_out, 5 if i == 0 else 3, depth)
            c_in, h, w = c_out, (h + 1) // 2, (w + 1) // 2
        self.features = nn.Sequential(*layers)
        head, width = [nn.Flatten()], c_in * h * w
        if hidden_units:
            head += [Dropout(dropout), nn.Linear(width, hidden_units)]
            head += [nn.ReLU(inplace=True)]
            width = hidden_units
        head += [Dropout(dropout), nn.Linear(width, n_classes)]
        self.head = nn.Sequential(*(m for m in head if not _is_noop(m)))

    def forward(self, x):
        x = self.features(x)
        if x.requires_grad and _strided_channels_last(x):
            x.register_hook(_channels_last)
        return self.head(x)


def _strided_channels_last(x):
    return (
        x.dim() == 4
        and x.is_contiguous(memory_format=torch.channels_last)
        and not x.is_contiguous()
    )


def _channels_last(grad):
    """The gradient of channels-last features, channels-last again.

    ``Flatten`` copies channels-last features into (c, h, w) order, so their
    gradient comes back in that order; the last ReLU's and batch norm's
    backward then mix layouts and take a slow path (ReLU: 1.3 ms instead of
    0.06 ms for 256 x 32 x 7 x 7 on 2 cores). One small copy puts it back:
    the same numbers, about 5% of a default ``CNNClassifier`` training step
    (``benchmarks/RESULTS.md``).
    """
    return grad.contiguous(memory_format=torch.channels_last)


def _is_noop(module):
    return isinstance(module, nn.Dropout) and module.p == 0
