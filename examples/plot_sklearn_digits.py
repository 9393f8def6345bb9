"""
The classifiers on scikit-learn's 8x8 digits
============================================

Nothing in the classifiers is specific to 28x28 MNIST: they read the image
shape from the data. Here each of them is fitted on scikit-learn's own
:func:`~sklearn.datasets.load_digits` (1,797 digits of 8x8 pixels, grey levels
0..16), next to scikit-learn's ``LogisticRegression`` as a reference.

The classifiers take the grey levels as they are: the pixel scale of a fit is
0..255 for 8-bit images (uint8, or values brighter than 127), 0..1 for values
within it, and otherwise 0 to the brightest training value, here 0..16
(``input_range_``). That matters for
:class:`~sklearn_mnist.neural_net.TransferClassifier`, which maps that range
to the input its ImageNet-pretrained backbone expects (0..16 read as 0..255
would be nearly black) and resizes the digits to 32x32, and for the attacks,
whose ``eps`` is a fraction of it;
:class:`~sklearn_mnist.neural_net.MLPNetClassifier` and
:class:`~sklearn_mnist.neural_net.CNNClassifier` standardise their input inside
the network and do not mind.
"""

# %%
# Fit the classifiers
# -------------------
# 70% of the digits to train, 30% (540 digits) to test. The networks take the
# images, shape ``(n, 8, 8)``, directly.
import time

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mnist import (
    CNNClassifier,
    Flatten,
    MLPNetClassifier,
    TransferClassifier,
)
from sklearn_mnist.metrics import plot_misclassified

digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    digits.images, digits.target, test_size=0.3, stratify=digits.target,
    random_state=0,
)  # fmt: skip
models = {
    "LogisticRegression\n(scikit-learn)": make_pipeline(
        Flatten(), StandardScaler(), LogisticRegression(max_iter=1000)
    ),
    "MLPNetClassifier\n(6 epochs)": MLPNetClassifier(max_epochs=6, random_state=0),
    "CNNClassifier\n(10 epochs)": CNNClassifier(
        max_epochs=10, batch_size=64, random_state=0
    ),
    "TransferClassifier\n(freeze=3, 4 epochs)": TransferClassifier(
        freeze=3, max_epochs=4, random_state=0
    ),
}
accuracy = {}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    accuracy[name] = 100 * model.score(X_test, y_test)
    seconds = time.perf_counter() - start
    print(f"{name.replace(chr(10), ' '):42s} {accuracy[name]:.1f}% ({seconds:.1f} s)")

# %%
# Test accuracy
# -------------
# With 1,257 labelled digits, labels are not scarce, and 8x8 digits scaled up to
# 32x32 are far from the photos the backbone was trained on: the small CNN
# trained from scratch does better than the pretrained network, in a fraction of
# the time. Transfer learning pays off when labels are few (see the
# few-labels example).
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
bars = ax.bar(list(accuracy), list(accuracy.values()), color="C0")
bars[0].set_color("grey")
ax.bar_label(bars, fmt="%.1f")
ax.set_ylim(80, 100)
ax.tick_params(axis="x", labelsize=8)
ax.set_xlabel("classifier")
ax.set_ylabel("accuracy on 540 test digits (%)")
ax.set_title("Each classifier on scikit-learn's load_digits (8x8 pixels)\n"
             "1,257 training digits")  # fmt: skip
plt.show()

# %%
# What the CNN gets wrong
# -----------------------
cnn = models["CNNClassifier\n(10 epochs)"]
plot_misclassified(
    X_test, y_test, cnn.predict(X_test), n=10, n_cols=10,
    title="CNNClassifier (10 epochs) on load_digits, 540 test digits",
)  # fmt: skip
plt.show()
