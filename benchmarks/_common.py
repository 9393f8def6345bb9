"""Shared helpers for the benchmark scripts: real MNIST from ../shared, timers."""

import pathlib
import shutil
import tempfile

from sklearn_mnist.datasets import fetch_mnist

# CNNClassifier's defaults in the first release (commit 794dfbb), passed
# explicitly to the current code: it must reproduce that release's figures.
FIRST_RELEASE = dict(max_epochs=3, batch_size=256, augment=None, module__dropout=0.0)
FIRST_RELEASE_TEXT = ", ".join(f"{k}={v!r}" for k, v in FIRST_RELEASE.items())

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def load_full_mnist(shared=SHARED):
    """(X_train, y_train, X_test, y_test) as uint8 images, via fetch_mnist."""
    home = pathlib.Path(tempfile.mkdtemp())
    (home / "mnist").mkdir()
    for path in pathlib.Path(shared).glob("*.gz"):
        shutil.copy(path, home / "mnist" / path.name)
    train = fetch_mnist(data_home=home, download_if_missing=False)
    test = fetch_mnist(subset="test", data_home=home, download_if_missing=False)
    shutil.rmtree(home)
    return train.images, train.target, test.images, test.target
