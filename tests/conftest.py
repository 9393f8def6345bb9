import os
import pathlib
import random
import subprocess
import sys

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
