import os
import pathlib
import random
import subprocess
import sys

import numpy as np
import pytest

# The suite runs torch on one thread. Many tests compare two fits or two
# predictions bit for bit; the package's thread count follows the cores other
# processes leave free (utils.rebalance), and another count sums floats in
# another order. One thread is a count the user chose (never adapted), the same
# on a quiet or a busy CI machine, and it never waits for a descheduled thread.
# Tests of the adaptation set their own count; fresh interpreters have torch's.
try:
    import torch
except ImportError:  # pragma: no cover
    pass
else:
    torch.set_num_threads(1)

SHARED_MNIST = (
    pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
)


@pytest.fixture(autouse=True)
def _seed():
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def shared_mnist_dir():
    """The real MNIST files in ../shared/data/mnist, or skip."""
    path = pathlib.Path(os.environ.get("SKLEARN_MNIST_SHARED", SHARED_MNIST))
    if not (path / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST files not found in {path} (shared/data/mnist absent)")
    return path


@pytest.fixture
def fresh_python():
    """Run Python code in a new interpreter (this one's executable) and return
    what it printed; a non-zero exit fails with the child's stderr."""

    def run(code, *args, env=None, timeout=None):
        done = subprocess.run(
            [sys.executable, "-c", code, *map(str, args)],
            capture_output=True, text=True, env=env, timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


@pytest.fixture
def assert_nothing_clipped():
    """A check that everything a figure draws (titles, labels, ticks, legends)
    lies inside it, so nothing is cut off when it is saved."""

    def check(fig, tolerance=0.02):
        fig.canvas.draw()
        drawn = fig.get_tightbbox(fig.canvas.get_renderer())  # inches
        page = fig.bbox_inches
        inside = (
            drawn.x0 >= page.x0 - tolerance
            and drawn.y0 >= page.y0 - tolerance
            and drawn.x1 <= page.x1 + tolerance
            and drawn.y1 <= page.y1 + tolerance
        )
        assert inside, f"drawn {drawn.bounds} outside the figure {page.bounds}"

    return check


@pytest.fixture(scope="session")
def sample_split():
    """``(X_train, y_train, X_test, y_test)``: 1,200 and 400 bundled digits
    (flat uint8 rows; the sample is sorted by label, so the training part
    holds digits 0, 1 and 2 only: enough for the mechanics it tests)."""
    from sklearn_mnist import load_mnist_sample

    X, y = load_mnist_sample(return_X_y=True)
    return X[:1200], y[:1200], X[4000:4400], y[4000:4400]


@pytest.fixture(scope="session")
def small_cnn():
    """A factory of quick CNNs (two epochs of a narrow network)."""
    from sklearn_mnist import CNNClassifier

    def make(**kw):
        return CNNClassifier(
            module__channels=(8, 16), module__hidden_units=32, max_epochs=2,
            batch_size=64, random_state=0, **kw,
        )  # fmt: skip

    return make


@pytest.fixture(scope="session")
def shuffled_sample():
    """The bundled sample's 5,000 digits (flat uint8 rows) and labels, in one
    fixed random order (the sample itself is sorted by label)."""
    from sklearn_mnist import load_mnist_sample

    X, y = load_mnist_sample(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    return X[order], y[order]
