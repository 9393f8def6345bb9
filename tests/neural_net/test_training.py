"""The training step's seams: batch norm left alone by crafted batches,
callbacks that see unscaled float16 gradients."""

import pytest
import torch
from skorch.callbacks import Callback

from sklearn_mnist import CNNClassifier, MLPNetClassifier
from sklearn_mnist.adversarial import FGSMPerturber


def test_crafting_an_adversarial_batch_leaves_batch_norm_statistics(
    sample_split, small_cnn
):
    X, y, _, _ = sample_split
    clf = small_cnn(device="cpu").fit(X, y)
    norms = [m for m in clf.module_.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms
    before = [
        (m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.item())
        for m in norms
    ]
    clf.module_.train()  # as during fit: batch statistics in the forward pass
    xb = torch.as_tensor(X[:64], dtype=torch.float32).reshape(-1, 1, 28, 28)
    yb = torch.as_tensor(clf.label_encoder_.transform(y[:64]))
    perturber = FGSMPerturber(eps=0.2, n_iter=3, random_start=True)
    x_adv = perturber.transform_batch(clf, xb, yb, random_state=None)
    assert x_adv.shape == xb.shape and not torch.equal(x_adv, xb)
    for m, (mean, var, count) in zip(norms, before, strict=True):
        assert torch.equal(m.running_mean, mean)
        assert torch.equal(m.running_var, var)
        assert m.num_batches_tracked.item() == count
    # The clean forward pass of a training step does update them.
    clf.infer(xb)
    assert not torch.equal(norms[0].running_mean, before[0][0])


class _GradNorms(Callback):
    def initialize(self):
        self.norms = []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad for _, p in named_parameters if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.cat(
            [g.float().ravel() for g in grads]))))  # fmt: skip


@pytest.mark.parametrize("cls", [MLPNetClassifier, CNNClassifier])
def test_float16_callbacks_see_unscaled_gradients(cls, sample_split):
    X, y, _, _ = sample_split
    seen = {}
    for precision in (None, "float16"):
        spy = _GradNorms()
        cls(
            max_epochs=1, batch_size=128, random_state=0, device="cpu",
            mixed_precision=precision, callbacks=[("spy", spy)],
        ).fit(X[:512], y[:512])  # fmt: skip
        seen[precision] = spy.norms
    # The GradScaler starts at 65536: scaled gradients would be ~65536x larger.
    ratio = seen["float16"][0] / seen[None][0]
    assert 0.5 < ratio < 2, seen
