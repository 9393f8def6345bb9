"""scikit-learn's ``set_output`` for transformers that return images."""

from sklearn.utils.validation import check_is_fitted

from .._compat import check_feature_names_in, get_output_config

__all__ = ["flat_for_container", "same_feature_names_out"]


def flat_for_container(estimator, X):
    """``X`` as flat rows when ``set_output`` asks for DataFrames.

    pandas and polars containers hold two-dimensional data only; a pipeline
    configured with ``set_output(transform="pandas")`` and fed image stacks
    gets one column per pixel (named by ``get_feature_names_out``) instead of
    "Must pass 2-d input". The default NumPy output keeps the image shape.
    """
    if X.ndim > 2 and get_output_config("transform", estimator)["dense"] != "default":
        return X.reshape(len(X), -1)
    return X


def same_feature_names_out(estimator, input_features=None):
    """Feature names of a transformer whose outputs match its inputs one to one."""
    check_is_fitted(estimator, "n_features_in_")
    return check_feature_names_in(estimator, input_features)
