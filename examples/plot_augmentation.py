"""
Online augmentation with RandomAffineAugmenter
==============================================

Show a few random distortions of one digit, then train a CNN that sees new
distortions at every epoch while predictions stay on clean data.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklearn_mnist import CNNClassifier, RandomAffineAugmenter, load_mnist_sample  # noqa: E402

digits = load_mnist_sample()
augmenter = RandomAffineAugmenter(rotation=15, shift=0.1, zoom=0.1, random_state=0)
copies = augmenter.fit_transform(digits.images[[0] * 8])

fig, axes = plt.subplots(1, 9, figsize=(9, 1.3))
for ax, image, title in zip(
    axes, [digits.images[0], *copies], ["original"] + [""] * 8, strict=True
):
    ax.imshow(image, cmap="gray_r")
    ax.set_title(title, fontsize=8)
    ax.axis("off")
fig.savefig("augmentations.png", dpi=80)

X_train, X_test, y_train, y_test = train_test_split(
    digits.images, digits.target, test_size=0.25, stratify=digits.target, random_state=0
)
clf = CNNClassifier(augment=augmenter, max_epochs=4, batch_size=64, random_state=0)
accuracy = clf.fit(X_train, y_train).score(X_test, y_test)
print(f"test accuracy with online augmentation: {accuracy:.3f}")
