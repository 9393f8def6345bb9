"""
Tuning augmentation strength with a Pipeline and GridSearchCV
=============================================================

A :class:`~sklearn_mnist.neural_net.CNNClassifier` with online augmentation
(:class:`~sklearn_mnist.preprocessing.RandomAffineAugmenter`) sits in a
scikit-learn ``Pipeline`` after :class:`~sklearn_mnist.preprocessing.Normalizer255`.
The augmenter is a parameter of the classifier, so ``GridSearchCV`` tunes its
strength like any other parameter, as ``cnnclassifier__augment__rotation``.

Settings are small so that the example runs in seconds: 1,500 training digits
from the bundled MNIST sample, 6 epochs, 3-fold cross-validation.
"""

# %%
# Data and pipeline
# -----------------
# 1,500 digits to tune on, 1,000 held out for the final check.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import classification_report
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_mnist import (
    CNNClassifier,
    Normalizer255,
    RandomAffineAugmenter,
    load_mnist_sample,
)

X, y = load_mnist_sample(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=1500, test_size=1000, stratify=y, random_state=0
)
pipe = make_pipeline(
    Normalizer255(),
    CNNClassifier(
        augment=RandomAffineAugmenter(shift=0.1, random_state=0),
        max_epochs=6,
        batch_size=64,
        random_state=0,
    ),
)

# %%
# The search
# ----------
# Every training batch is rotated by a fresh random angle in
# ``[-rotation, rotation]`` degrees (and shifted by up to 10%); the validation
# folds and the test set are scored on clean digits.
rotations = [0, 15, 30, 45]
search = GridSearchCV(pipe, {"cnnclassifier__augment__rotation": rotations}, cv=3)
search.fit(X_train, y_train)
print("best:", search.best_params_)
print(classification_report(y_test, search.predict(X_test), digits=3))

# %%
# Cross-validated accuracy against the augmentation strength
# ----------------------------------------------------------
# Error bars are one standard deviation over the 3 folds. Small rotations cost
# nothing on clean digits; large ones make the training digits unlike the test
# digits (a 6 rotated by 45 degrees is no longer a typical 6).
mean = 100 * search.cv_results_["mean_test_score"]
std = 100 * search.cv_results_["std_test_score"]
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.errorbar(rotations, mean, yerr=std, marker="o", capsize=4)
ax.set_xticks(rotations)
ax.set_xlabel("maximum random rotation (degrees)")
ax.set_ylabel("3-fold CV accuracy (%)")
ax.set_title(
    "CNNClassifier + RandomAffineAugmenter (shift 0.1)\n"
    "1,500 MNIST sample digits, 6 epochs"
)
ax.grid(True, alpha=0.3)
best = int(np.argmax(mean))
ax.plot(rotations[best], mean[best], "*", color="C1", markersize=16,
        label=f"best: {rotations[best]} degrees")  # fmt: skip
ax.legend()
plt.show()
