import os
import pathlib
import random

import numpy as np
import pytest

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
