"""
Soft-voting ensemble of an MLP and a CNN pipeline
=================================================

scikit-learn's :class:`~sklearn.ensemble.VotingClassifier` averages the
``predict_proba`` of our classifiers like those of any other. Each member is a
``Pipeline`` (:class:`~sklearn_mnist.preprocessing.Normalizer255`, then the
network), fitted on 3,750 digits of the bundled MNIST sample and scored on the
other 1,250.
"""

# %%
# Fit the members and the ensemble
# --------------------------------
import matplotlib.pyplot as plt
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
from sklearn_mnist.metrics import plot_confusion_matrix

X, y = load_mnist_sample(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
mlp = MLPNetClassifier(max_epochs=6, random_state=0)
cnn = CNNClassifier(max_epochs=4, batch_size=64, random_state=0)
members = [
    ("mlp", make_pipeline(Normalizer255(), mlp)),
    ("cnn", make_pipeline(Normalizer255(), cnn)),
]
ensemble = VotingClassifier(members, voting="soft").fit(X_train, y_train)

scores = {
    "MLPNetClassifier\n(6 epochs)": ensemble.estimators_[0].score(X_test, y_test),
    "CNNClassifier\n(4 epochs)": ensemble.estimators_[1].score(X_test, y_test),
    "soft vote\nof both": ensemble.score(X_test, y_test),
}
for name, score in scores.items():
    print(f"{name.replace(chr(10), ' '):32s} {score:.3f}")

# %%
# Accuracy of each member and of the ensemble
# -------------------------------------------
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
bars = ax.bar(list(scores), [100 * s for s in scores.values()], color="C0")
bars[-1].set_color("C1")
ax.bar_label(bars, fmt="%.1f")
ax.set_ylim(80, 100)
ax.set_xlabel("model")
ax.set_ylabel("accuracy on 1,250 held-out digits (%)")
ax.set_title("Soft-voting ensemble of an MLP and a CNN pipeline\n"
             "trained on 3,750 MNIST sample digits")  # fmt: skip
plt.show()

# %%
# The ensemble's report and confusion matrix
# ------------------------------------------
# :func:`~sklearn_mnist.metrics.evaluate` gives scikit-learn's classification
# report, the confusion matrix and the most-confused pairs in one object.
result = evaluate(ensemble, X_test, y_test)
print(result)
plot_confusion_matrix(
    result,
    title=f"Soft-voting ensemble (MLP + CNN), 1,250 held-out digits\n"
    f"accuracy {result.accuracy:.3f}",
)
plt.show()
