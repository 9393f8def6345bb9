"""Against the canonical MNIST files in ../shared/data/mnist (skipped when absent)."""

import hashlib
import shutil
import time

import numpy as np
import pytest

from sklearn_mnist.datasets import _fetch, fetch_mnist, load_idx, load_mnist_sample

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def data_home(shared_mnist_dir, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    (home / "mnist").mkdir()
    for path in shared_mnist_dir.glob("*.gz"):
        shutil.copy(path, home / "mnist" / path.name)
    return home


def test_shared_files_match_the_published_checksums(shared_mnist_dir):
    for name, expected in _fetch._VARIANTS["mnist"]["sha256"].items():
        assert (
            hashlib.sha256((shared_mnist_dir / name).read_bytes()).hexdigest()
            == expected
        )


def test_fetch_offline_shapes_and_label_counts(data_home):
    fetch_mnist(data_home=data_home, download_if_missing=False)  # warm the OS cache
    start = time.perf_counter()
    train = fetch_mnist(data_home=data_home, download_if_missing=False)
    test = fetch_mnist(subset="test", data_home=data_home, download_if_missing=False)
    elapsed = time.perf_counter() - start
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (
        10000,
        28,
        28,
    )
    assert np.bincount(train.target).tolist() == TRAIN_COUNTS
    assert np.bincount(test.target).tolist() == TEST_COUNTS
    assert abs(train.data.mean() / 255 - 0.13066) < 1e-4
    # Generous bound; the 2 s target is measured in benchmarks/.
    assert elapsed < 20


def test_all_is_train_then_test(data_home):
    X, y = fetch_mnist(
        subset="all", data_home=data_home, download_if_missing=False, return_X_y=True
    )
    assert X.shape == (70000, 784)
    np.testing.assert_array_equal(np.bincount(y), np.add(TRAIN_COUNTS, TEST_COUNTS))


def test_sample_images_are_taken_from_the_training_set(shared_mnist_dir):
    train = load_idx(shared_mnist_dir / "train-images-idx3-ubyte.gz")[:5848]
    labels = load_idx(shared_mnist_dir / "train-labels-idx1-ubyte.gz")[:5848]
    sample = load_mnist_sample()
    index = {
        img.tobytes(): lab
        for img, lab in zip(train.reshape(5848, -1), labels, strict=True)
    }
    found = [index.get(row.tobytes()) for row in sample.data]
    assert None not in found
    np.testing.assert_array_equal(np.asarray(found), sample.target)
