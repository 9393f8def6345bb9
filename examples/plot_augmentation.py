"""
Online augmentation with RandomAffineAugmenter and ElasticDistortion
====================================================================

What the two augmenters do to one digit, and a
:class:`~sklearn_mnist.neural_net.CNNClassifier` trained with and without
online augmentation (a fresh distortion of every training batch at every epoch;
predictions always see clean digits).
"""

# %%
# Random affine distortions
# -------------------------
# Each panel is a new draw of a rotation (up to 15 degrees), a shift (up to 10%
# of the side) and a zoom (up to 10%).
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from sklearn_mnist import CNNClassifier, RandomAffineAugmenter, load_mnist_sample
from sklearn_mnist.metrics import plot_augmentations
from sklearn_mnist.preprocessing import ElasticDistortion

digits = load_mnist_sample()
affine = RandomAffineAugmenter(rotation=15, shift=0.1, zoom=0.1, random_state=0)
plot_augmentations(affine, digits.images[0], n=15)
plt.show()

# %%
# Elastic distortions
# -------------------
# Simard et al. (2003): a random displacement field smoothed by a Gaussian of
# width ``sigma`` and scaled by ``alpha`` pixels.
plot_augmentations(ElasticDistortion(alpha=34, sigma=4), digits.images[0], n=15)
plt.show()

# %%
# Training with and without augmentation
# --------------------------------------
# 2,000 training digits, 1,000 held out, 6 epochs each. Scored on the clean
# held-out digits and on a rotated copy of them (up to 30 degrees), which shows
# what augmentation buys: robustness to distortions the training set lacks.
X_train, X_test, y_train, y_test = train_test_split(
    digits.images, digits.target, train_size=2000, test_size=1000,
    stratify=digits.target, random_state=0,
)  # fmt: skip
X_rotated = RandomAffineAugmenter(
    rotation=30, shift=0, zoom=0, random_state=1
).fit_transform(X_test)

scores = {}
for name, augment in [("no augmentation", None), ("RandomAffineAugmenter", affine)]:
    clf = CNNClassifier(augment=augment, max_epochs=6, batch_size=64, random_state=0)
    clf.fit(X_train, y_train)
    scores[name] = [100 * clf.score(X_test, y_test), 100 * clf.score(X_rotated, y_test)]
    print(f"{name:22s} clean {scores[name][0]:.1f}%, rotated {scores[name][1]:.1f}%")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
width = 0.38
for k, (name, (clean, rotated)) in enumerate(scores.items()):
    bars = ax.bar([k * width, 1 + k * width], [clean, rotated], width, label=name)
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
ax.set_xticks([width / 2, 1 + width / 2], ["clean test digits", "rotated up to 30°"])
ax.set_xlabel("held-out digits (1,000)")
ax.set_ylabel("accuracy (%)")
ax.set_ylim(0, 118)
ax.set_title("CNNClassifier, 2,000 MNIST sample digits, 6 epochs:\n"
             "with and without online augmentation")  # fmt: skip
ax.legend(loc="upper center", ncols=2)
plt.show()
