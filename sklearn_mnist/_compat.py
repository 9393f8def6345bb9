"""The one place scikit-learn's private helpers are imported.

scikit-learn keeps these under underscored names (parameter validation, sample
weights, feature names, the fit context, output configuration); every module
of the package takes them from here, so a rename in a scikit-learn release is
one edit in this file.
"""

from sklearn.base import _fit_context as fit_context
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import _safe_indexing as safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils._set_output import _get_output_config as get_output_config
from sklearn.utils.validation import _check_feature_names_in as check_feature_names_in
from sklearn.utils.validation import _check_sample_weight as check_sample_weight
from sklearn.utils.validation import _num_samples as num_samples

__all__ = [
    "BaseSearchCV",
    "HasMethods",
    "Interval",
    "StrOptions",
    "check_feature_names_in",
    "check_sample_weight",
    "fit_context",
    "get_output_config",
    "num_samples",
    "safe_indexing",
    "validate_parameter_constraints",
]
