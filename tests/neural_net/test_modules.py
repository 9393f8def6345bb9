"""The torch modules: the CPU dropout, channels-last gradients."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn


@settings(max_examples=25, deadline=None)
@given(
    p=st.floats(0.05, 0.95),
    shape=st.sampled_from([(64, 1568), (128, 800), (7, 3, 5, 5)]),
    seed=st.integers(0, 2**16),
)
def test_dropout_is_nn_dropout_with_a_faster_mask(p, shape, seed):
    from sklearn_mnist.neural_net._modules import Dropout

    torch.manual_seed(seed)
    x = (torch.rand(shape) + 0.5).requires_grad_()  # no zeros: masks are visible
    drop = Dropout(p)
    out = drop(x)
    kept = out != 0
    # every element dropped or scaled by 1 / (1 - p), as nn.Dropout does
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    # keep rate within 5 binomial standard deviations of 1 - p
    n = kept.numel()
    assert abs(kept.float().mean().item() - (1 - p)) < 5 * (p * (1 - p) / n) ** 0.5
    out.sum().backward()  # the gradient is the mask, scaled
    torch.testing.assert_close(x.grad, kept.float() / (1 - p))
    # the same seed, the same mask; eval mode and p=0 are the identity
    torch.manual_seed(seed)
    torch.rand(shape)
    torch.testing.assert_close(Dropout(p)(x), out)
    torch.testing.assert_close(drop.eval()(x), x)
    torch.testing.assert_close(Dropout(0.0)(x), x)


def test_dropout_edge_cases_match_nn_dropout():
    from sklearn_mnist.neural_net._modules import Dropout

    x = torch.rand(4, 10) + 0.5
    assert torch.equal(Dropout(1.0)(x), nn.Dropout(1.0)(x))  # all zeros
    assert isinstance(Dropout(0.2), nn.Dropout) and repr(Dropout(0.2)) == repr(
        nn.Dropout(0.2)
    )
    y = x.clone()
    Dropout(0.5, inplace=True)(y)  # inplace falls back to nn.Dropout
    assert ((y == 0) | torch.isclose(y, 2 * x)).all()


@pytest.mark.parametrize("hidden_units", [128, 0])
def test_cnn_gradient_comes_back_channels_last_with_the_same_numbers(
    hidden_units, monkeypatch
):
    # Flatten's gradient arrived in (c, h, w) order on channels-last features,
    # sending the last ReLU / batch norm backward down a slow mixed-layout path.
    from sklearn_mnist.neural_net import _modules

    x = torch.randn(8, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.arange(8) % 10
    layouts, grads = [], {}
    original = _modules._channels_last

    def spy(grad):
        out = original(grad)
        layouts.append(out.is_contiguous(memory_format=torch.channels_last))
        return out

    for name in ("fixed", "plain"):
        torch.manual_seed(0)
        module = _modules.CNNModule((1, 28, 28), 10, hidden_units=hidden_units)
        module = module.to(memory_format=torch.channels_last).eval()
        if name == "plain":
            monkeypatch.setattr(_modules, "_strided_channels_last", lambda x: False)
        else:
            monkeypatch.setattr(_modules, "_channels_last", spy)
        nn.functional.cross_entropy(module(x), y).backward()
        grads[name] = [p.grad for p in module.parameters()]
        with torch.no_grad():  # no hook without a graph (inference, export)
            module(x)
    assert layouts == [True]
    for fixed, plain in zip(grads["fixed"], grads["plain"], strict=True):
        torch.testing.assert_close(fixed, plain, rtol=1e-5, atol=1e-6)
