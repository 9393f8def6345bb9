"""Shared helpers for the benchmark scripts: real MNIST from ../shared, timers."""

import os
import pathlib
import shutil
import tempfile

from sklearn_mnist.datasets import fetch_mnist

# CNNClassifier's defaults in the first release (commit 794dfbb), passed
# explicitly to the current code: it must reproduce that release's figures.
FIRST_RELEASE = dict(max_epochs=3, batch_size=256, augment=None, module__dropout=0.0)
FIRST_RELEASE_TEXT = ", ".join(f"{k}={v!r}" for k, v in FIRST_RELEASE.items())

# MNIST_DIR overrides it (a machine without ../shared beside the checkout).
SHARED = pathlib.Path(
    os.environ.get("MNIST_DIR")
    or pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
)
# Real Fashion-MNIST from Debian's dataset-fashion-mnist package.
FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")


def load_full_mnist(shared=SHARED, variant="mnist"):
    """(X_train, y_train, X_test, y_test) as uint8 images, via fetch_mnist.

    ``variant="fashion"`` reads Fashion-MNIST from :data:`FASHION` with
    ``load_idx`` (Debian recompressed the files, so their SHA-256 differs
    from the upstream ones fetch_mnist checks; the IDX contents are parsed
    as strictly).
    """
    if variant == "fashion":
        from sklearn_mnist.datasets import load_idx

        folder = FASHION if shared == SHARED else pathlib.Path(shared)
        return tuple(
            load_idx(folder / f"{name}-ubyte.gz")
            for name in ("train-images-idx3", "train-labels-idx1",
                         "t10k-images-idx3", "t10k-labels-idx1")
        )  # fmt: skip
    home = pathlib.Path(tempfile.mkdtemp())
    try:
        (home / variant).mkdir()
        for path in pathlib.Path(shared).glob("*.gz"):
            shutil.copy(path, home / variant / path.name)
        kw = dict(variant=variant, data_home=home, download_if_missing=False)
        try:
            train = fetch_mnist(**kw)
            test = fetch_mnist(subset="test", **kw)
        except OSError as exc:
            raise SystemExit(
                f"the benchmarks read real MNIST (the four .gz files) from {shared}, "
                f"which does not hold them ({exc}); set MNIST_DIR to the folder that "
                "does"
            ) from exc
    finally:
        shutil.rmtree(home)
    return train.images, train.target, test.images, test.target


def print_test_errors(n_models, fit_s, y_test, pred):
    """The closing lines of the accuracy benchmarks: fit time, test accuracy and
    errors, per-class recall and the confusion matrix of ``pred``."""
    import numpy as np
    from sklearn.metrics import confusion_matrix

    errors = int((pred != y_test).sum())
    print(f"{n_models} model(s): fit {fit_s:.0f} s ({fit_s / 60:.1f} min), "
          f"test accuracy {(pred == y_test).mean():.2%} ({errors} errors)")  # fmt: skip
    cm = confusion_matrix(y_test, pred)
    print("per-class recall (%):", " ".join(
        f"{d}:{100 * cm[d, d] / cm[d].sum():.2f}" for d in range(len(cm))))  # fmt: skip
    print("confusion matrix (rows true, columns predicted):")
    print(np.array2string(cm, max_line_width=120))
