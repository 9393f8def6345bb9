"""Searches for the package's classifiers that cost minutes, not hours.

:class:`HalvingGridSearchCV` and :class:`HalvingRandomSearchCV` have the
interface of scikit-learn's successive-halving searches, with training epochs
as the resource and one difference that matters: a candidate that survives a
round keeps its models and trains on, instead of starting again.
"""

from ._halving import HalvingGridSearchCV, HalvingRandomSearchCV

__all__ = ["HalvingGridSearchCV", "HalvingRandomSearchCV"]
