"""The units of an attack: the valid input range of the fitted model.

``clip_values="auto"`` and the unit of ``eps`` come from here, for
:class:`FGSMPerturber` and for adversarial training alike. They depend on the
model only, never on the data being attacked.
"""

import math
from numbers import Real

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["attack_range", "check_clip_values"]


def attack_range(estimator):
    """The valid input range of a fitted model, in the units it takes.

    What ``clip_values="auto"`` means, and so the unit of ``eps``:
    ``eps=0.1`` moves a value by at most a tenth of ``high - low``.

    - A Pipeline: the range declared by its first step that declares one
      (``Normalizer255`` takes 0..255). Steps that declare none (``Flatten``,
      the augmenters) keep values as they are; when no step declares a range,
      it is the classifier's.
    - A classifier: the pixel range of its training input (``input_range_``:
      (0, 255) for 8-bit images (uint8, or values brighter than 127), (0, 1)
      for values within 0..1, otherwise 0 to the brightest training value,
      e.g. (0, 16) for scikit-learn's ``load_digits``) when the training data
      lie within it; otherwise, e.g. for standardised data, the smallest and
      largest training value (``data_range_``).

    Parameters
    ----------
    estimator : fitted classifier, or Pipeline ending in one
        One of sklearn_mnist's classifiers, alone or after sklearn_mnist
        transformers.

    Returns
    -------
    low, high : float

    Raises
    ------
    NotFittedError
        When the classifier is not fitted.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_mnist import MLPNetClassifier, Normalizer255, load_mnist_sample
    >>> from sklearn_mnist.adversarial import attack_range
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = MLPNetClassifier(max_epochs=1, random_state=0).fit(X[::10] / 255, y[::10])
    >>> attack_range(clf)
    (0.0, 1.0)
    >>> attack_range(make_pipeline(Normalizer255(), clf))
    (0.0, 255.0)
    """
    steps, final = [], estimator
    if isinstance(estimator, Pipeline):
        *head, (_, final) = estimator.steps
        steps = [step for _, step in head if step not in (None, "passthrough")]
    check_is_fitted(final)
    for step in steps:
        declared = getattr(step, "input_range", None)
        if callable(declared):
            low, high = declared()
            return float(low), float(high)
    low, high = final.input_range_
    x_min, x_max = final.data_range_
    if x_min < low or x_max > high:
        low, high = x_min, (x_max if x_max > x_min else x_min + 1.0)
    return float(low), float(high)


def check_clip_values(clip_values):
    """``clip_values`` as ``(low, high)`` floats, or None for ``"auto"``.

    Raises
    ------
    ValueError
        Unless ``clip_values`` is ``"auto"`` or two finite numbers with
        ``low < high``.
    """
    if isinstance(clip_values, str) and clip_values == "auto":
        return None
    valid = (
        isinstance(clip_values, tuple | list)
        and len(clip_values) == 2
        and all(isinstance(v, Real) and not isinstance(v, bool) for v in clip_values)
    )
    if valid:
        low, high = (float(v) for v in clip_values)
        valid = math.isfinite(low) and math.isfinite(high) and low < high
    if not valid:
        raise ValueError(
            "clip_values must be 'auto' or (low, high): two finite numbers with "
            f"low < high, in the units of the input; got {clip_values!r}"
        )
    return low, high
