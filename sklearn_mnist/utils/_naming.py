"""How figures and reports name a model."""

__all__ = ["estimator_name"]


def estimator_name(estimator):
    """``"CNNClassifier"``, ``"CNNClassifier pipeline"``, ``"VotingClassifier"``."""
    steps = getattr(estimator, "steps", None)
    if steps:
        return f"{type(steps[-1][1]).__name__} pipeline"
    return type(estimator).__name__
