"""``PredictProbaModule``: ``predict_proba`` of a fitted model as one ``nn.Module``."""

import copy

import torch
from torch import nn

__all__ = ["PredictProbaModule"]


class PredictProbaModule(nn.Module):
    """What ``predict_proba`` and ``predict`` compute, from the raw input, in torch.

    ``forward(x)`` runs, on a float32 batch in the units and layout the model
    takes:

    1. each preprocessing step's ``torch_transform`` (the hook
       :class:`~sklearn_mnist.adversarial.FGSMPerturber` takes gradients
       through: ``Normalizer255`` scales, ``Flatten`` reshapes, the augmenters
       are the identity, as at prediction time);
    2. the classifier's layout handling
       (:meth:`~sklearn_mnist.neural_net.BaseImageClassifier.torch_images`) and
       its standardisation (``_standardize``);
    3. a copy of its network on the CPU, in eval mode, in float32 (no
       autocast, whatever ``mixed_precision`` the model was fitted with);
    4. skorch's prediction nonlinearity (softmax for the cross-entropy loss).

    It returns ``(probabilities, label)``: float32 ``(n, n_classes)`` with
    columns in the order of ``classes_``, and the int64 index of the largest
    probability (the first one on ties, as ``numpy.argmax``).

    Parameters
    ----------
    steps : list of transformers
        The fitted preprocessing steps, each with ``torch_transform``.
    classifier : BaseImageClassifier
        The fitted classifier. Its own network is not changed (the module
        holds a copy).
    """

    def __init__(self, steps, classifier):
        super().__init__()
        self.steps = list(steps)
        self.classifier = classifier
        network = classifier.module_
        network = getattr(network, "_orig_mod", network)  # torch.compile'd
        self.network = copy.deepcopy(network).to(
            "cpu", memory_format=torch.contiguous_format
        )
        self.nonlinearity = classifier._get_predict_nonlinearity()
        self.eval()

    def train(self, mode=True):
        # Always a prediction: dropout off, batch-norm running statistics.
        return super().train(False)

    def forward(self, x):
        for step in self.steps:
            x = step.torch_transform(x)
        x = self.classifier._standardize(self.classifier.torch_images(x))
        out = self.network(x)
        if isinstance(out, tuple):  # as skorch's predict_proba: the first output
            out = out[0]
        proba = self.nonlinearity(out).to(torch.float32)
        return proba, proba.argmax(dim=1)
