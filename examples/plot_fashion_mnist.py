"""
The classifiers on Fashion-MNIST, from local files
==================================================

Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017) has MNIST's format, 28x28 grey
images in 10 classes, with photos of clothes and shoes instead of digits.
:func:`~sklearn_mnist.datasets.fetch_mnist` downloads it with
``variant="fashion"``; this example reads local files instead, so that it runs
offline, in the first place that has them:

1. scikit-learn's data home (``~/scikit_learn_data/fashion/``, the cache of
   ``fetch_mnist(variant="fashion")``), through ``fetch_mnist(...,
   download_if_missing=False)``, which checks every file's published SHA-256;
2. a folder holding the four IDX files, through
   :func:`~sklearn_mnist.datasets.load_idx`: ``$FASHION_MNIST_DIR``, or where
   Debian's ``dataset-fashion-mnist`` package installs them,
   ``/usr/share/datasets/fashion-mnist/``. (Debian re-compressed the files, so
   their SHA-256 differs from the published one and ``fetch_mnist`` refuses
   them; ``load_idx`` reads and validates the IDX content without a checksum.)

Without either, the example says so and uses the bundled MNIST sample instead,
so that it still runs. See the user guide's "Local files" section for the ways
to give ``fetch_mnist`` files of your own.
"""

# %%
# Load the data
# -------------
import os
import pathlib

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_mnist import (
    CNNClassifier,
    MLPNetClassifier,
    TransferClassifier,
    evaluate,
    fetch_mnist,
    load_idx,
    load_mnist_sample,
)
from sklearn_mnist.metrics import plot_confusion_matrix

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip
FOLDER = pathlib.Path(
    os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
)


def load_fashion():
    """``(X_train, y_train, X_test, y_test, class names, source)`` or None."""
    try:
        train, test = (
            fetch_mnist(variant="fashion", subset=subset, download_if_missing=False)
            for subset in ("train", "test")
        )
        return (train.images, train.target, test.images, test.target,
                train.target_names, "fetch_mnist cache")  # fmt: skip
    except OSError:
        pass  # not in the data home
    names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]  # fmt: skip
    if all((FOLDER / name).exists() for name in names):
        arrays = [load_idx(FOLDER / name) for name in names]
        return (*arrays, CLASSES, str(FOLDER))
    return None


data = load_fashion()
if data is not None:
    X_train, y_train, X_test, y_test, class_names, source = data
    dataset = "Fashion-MNIST"
    print(f"Fashion-MNIST from {source}: {len(X_train):,} train, {len(X_test):,} test")
else:
    print(
        "Fashion-MNIST files not found (not in scikit-learn's data home, not in "
        f"{FOLDER}; set FASHION_MNIST_DIR or run fetch_mnist(variant='fashion') "
        "once online). Using the bundled MNIST sample instead."
    )
    sample = load_mnist_sample()
    X_train, X_test, y_train, y_test = train_test_split(
        sample.images, sample.target, test_size=1000, stratify=sample.target,
        random_state=0,
    )  # fmt: skip
    class_names, dataset = sample.target_names, "MNIST sample (fallback)"

# Small subsets, so that the example runs in seconds: 2,000 training and 1,000
# test images, drawn at random.
rng = np.random.RandomState(0)
train = rng.choice(len(X_train), 2000, replace=False)
test = rng.choice(len(X_test), 1000, replace=False)
X_train, y_train = X_train[train], np.asarray(y_train)[train]
X_test, y_test = X_test[test], np.asarray(y_test)[test]

fig, axes = plt.subplots(2, 5, figsize=(7.5, 3.8), layout="constrained")
for label, ax in enumerate(axes.ravel()):
    ax.imshow(X_train[np.flatnonzero(y_train == label)[0]], cmap="gray_r")
    ax.set_title(str(class_names[label]), fontsize=9)
    ax.axis("off")
fig.suptitle(f"{dataset}: one training image per class (panel titles: true class)")
plt.show()

# %%
# Fit each classifier
# -------------------
models = {
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
    model.fit(X_train, y_train)
    accuracy[name] = 100 * model.score(X_test, y_test)
    print(f"{name.replace(chr(10), ' '):42s} {accuracy[name]:.1f}%")

fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
bars = ax.bar(list(accuracy), list(accuracy.values()))
ax.bar_label(bars, fmt="%.1f")
ax.set_ylim(0, 100)
ax.tick_params(axis="x", labelsize=8)
ax.set_xlabel("classifier")
ax.set_ylabel("accuracy on 1,000 test images (%)")
ax.set_title(f"Each classifier on {dataset}\n2,000 training images")
plt.show()

# %%
# Where the CNN errs
# ------------------
# On Fashion-MNIST, shirts, T-shirts, pullovers and coats are the classes that
# get confused: they share a silhouette at 28x28 pixels.
result = evaluate(models["CNNClassifier\n(10 epochs)"], X_test, y_test,
                  target_names=class_names)  # fmt: skip
print(result)
plot_confusion_matrix(
    result,
    title=f"CNNClassifier on {dataset}\n10 epochs, 2,000 training images\n"
    f"1,000 test images, accuracy {result.accuracy:.3f}",
)
plt.show()
