"""
Soft-voting ensemble of an MLP and a CNN pipeline
=================================================

scikit-learn's :class:`~sklearn.ensemble.VotingClassifier` averages the
``predict_proba`` of our classifiers like any others.
"""

from sklearn.ensemble import VotingClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_mnist import (
    CNNClassifier,
    MLPNetClassifier,
    Normalizer255,
    evaluate,
    load_mnist_sample,
)

X, y = load_mnist_sample(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
members = [
    ("mlp", make_pipeline(Normalizer255(), MLPNetClassifier(random_state=0))),
    (
        "cnn",
        make_pipeline(
            Normalizer255(), CNNClassifier(batch_size=64, max_epochs=4, random_state=0)
        ),
    ),  # fmt: skip
]
ensemble = VotingClassifier(members, voting="soft").fit(X_train, y_train)
for name, member in zip(["mlp", "cnn"], ensemble.estimators_, strict=True):
    print(f"{name}: {member.score(X_test, y_test):.3f}")
print(evaluate(ensemble, X_test, y_test))
