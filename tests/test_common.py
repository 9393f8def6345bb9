"""scikit-learn's estimator checks over every estimator in the package."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mnist import load_mnist_sample
from sklearn_mnist.adversarial import FGSMPerturber
from sklearn_mnist.neural_net import (
    CNNClassifier,
    MLPNetClassifier,
    TransferClassifier,
)
from sklearn_mnist.preprocessing import (
    AugmentResampler,
    DigitNormalizer,
    ElasticDistortion,
    Flatten,
    Normalizer255,
    RandomAffineAugmenter,
)

# Small settings so the checks run in seconds; lr raised to learn in few epochs.
_NET = dict(max_epochs=20, lr=1e-2, batch_size=32, random_state=0, device="cpu")


def _fitted_cnn():
    X, y = load_mnist_sample(return_X_y=True)
    return CNNClassifier(max_epochs=2, augment=None, random_state=0).fit(
        X[::10], y[::10]
    )


ESTIMATORS = [
    Normalizer255(),
    Normalizer255(dtype="float64"),
    Flatten(),
    DigitNormalizer(),
    DigitNormalizer(deskew=True, illumination=False),
    RandomAffineAugmenter(random_state=0),
    ElasticDistortion(random_state=0),
    MLPNetClassifier(module__hidden_units=(16,), **_NET),
    CNNClassifier(module__channels=(4,), module__hidden_units=8, **_NET),
    # A frozen pretrained backbone on 16x16 resized input: features computed
    # once per fit, so the checks' many fits stay fast.
    # 60 epochs: the 3 batches of the checks' data need ~180 steps to fit
    # check_class_weight_classifiers' noisy blobs.
    TransferClassifier(freeze=2, input_size=16, **{**_NET, "max_epochs": 60}),
    # The defaults, exactly as a user constructs them.
    MLPNetClassifier(),
    CNNClassifier(),
    TransferClassifier(),
    AugmentResampler(random_state=0),
    FGSMPerturber(CNNClassifier(**_NET), random_state=0),
    FGSMPerturber(_fitted_cnn()),
]

# check name -> reason, per estimator class. Keep this short and honest.
_SKORCH_INIT = (
    "skorch's NeuralNet.__init__ creates history_, initialized_ and virtual_params_ "
    "and stores routed module__* arguments as attributes; that is skorch's design "
    "and get_params/clone still round-trip"
)
_TRAINING_ONLY = (
    "by design fit_transform augments and transform passes data through (as "
    "sklearn's TargetEncoder), so fit_transform(X) != fit(X).transform(X)"
)
_BATCH_NUMERICS = (
    "oneDNN picks different convolution kernels for a batch of 1 and a batch of "
    "many; through EfficientNet's 18 stages the logits then differ by up to 4e-4 "
    "relative (measured in CI), above the check's rtol of 1e-4; the check "
    "passes on some runs"
)
_MINIBATCH = (
    "minibatch training: repeating a sample adds a sample to the epoch and changes "
    "which samples share a batch and how many steps run, so it is not the same "
    "fit as doubling its weight (weights match repetition in expectation, not "
    "sample for sample; scikit-learn's own SGD-based estimators are in the same "
    "position). Zero weights equal leaving samples out exactly, which "
    "tests/neural_net/test_fit.py checks"
)
_NET_CHECKS = {
    "check_no_attributes_set_in_init": _SKORCH_INIT,
    "check_sample_weight_equivalence_on_dense_data": _MINIBATCH,
}
EXPECTED_FAILED = {
    **{name: _NET_CHECKS for name in ("MLPNetClassifier", "CNNClassifier")},
    "TransferClassifier": {
        **_NET_CHECKS,
        "check_methods_subset_invariance": _BATCH_NUMERICS,
    },
    **{
        name: {
            "check_transformer_general": _TRAINING_ONLY,
            "check_transformer_data_not_an_array": _TRAINING_ONLY,
        }
        for name in ("RandomAffineAugmenter", "ElasticDistortion")
    },
    "DigitNormalizer": {
        name: (
            "DigitNormalizer takes pictures of any size before and after fit "
            "(it scales every digit into its own frame): it has no "
            "n_features_in_ to record or check, by design"
        )
        for name in ("check_n_features_in", "check_n_features_in_after_fitting")
    },
}


_PREFITTED = (
    "around a fitted classifier the perturber needs no fit (requires_fit=False), "
    "but the check transforms with clone(perturber), and clone() returns an "
    "unfitted copy of the classifier it holds, which cannot be attacked"
)


def _expected_failed_checks(estimator):
    expected = dict(EXPECTED_FAILED.get(type(estimator).__name__, {}))
    if isinstance(estimator, FGSMPerturber) and hasattr(
        estimator.estimator, "classes_"
    ):
        expected["check_transformers_unfitted_stateless"] = _PREFITTED
    return expected


# The checks feed Normalizer255 random floats in 0..1, which it rightly flags,
# and DigitNormalizer uniform pictures, which it rightly calls blank, and rows of
# 2-5 values, which it rightly asks about.
@pytest.mark.filterwarnings("ignore:Normalizer255 got floats:UserWarning")
@pytest.mark.filterwarnings("ignore:.*have no ink:UserWarning")
@pytest.mark.filterwarnings("ignore:DigitNormalizer reads X:UserWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
