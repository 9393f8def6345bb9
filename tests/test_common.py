"""scikit-learn's estimator checks over every estimator in the package."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mnist.preprocessing import Flatten, Normalizer255

ESTIMATORS = [Normalizer255(), Normalizer255(dtype="float64"), Flatten()]

# check name -> reason, per estimator class. Keep this short and honest.
EXPECTED_FAILED = {}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
