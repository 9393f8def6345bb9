"""Model files written by an earlier release still load and predict the same.

``tests/persistence/data/*.skmnist`` were written by the code before the one-fit-path
refactor (``release_models.json`` says which commit) with the predictions
they made then; the current code must read them and agree.
"""

import json
import pathlib

import numpy as np
import pytest

from sklearn_mnist import load, load_mnist_sample

DATA = pathlib.Path(__file__).parent / "data"
EXPECTED = json.loads((DATA / "release_models.json").read_text())


@pytest.mark.parametrize(
    "name, filename",
    [
        ("cnn_pipeline", "cnn_pipeline_0.1.0.dev0.skmnist"),
        ("mlp", "mlp_0.1.0.dev0.skmnist"),
    ],
)
def test_a_file_of_the_previous_release_loads_and_predicts_the_same(name, filename):
    X, _ = load_mnist_sample(return_X_y=True)
    X = X[EXPECTED["sample_indices"]]
    model = load(DATA / filename)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba, EXPECTED[name], atol=2e-5)
    assert (proba.argmax(1) == np.argmax(EXPECTED[name], axis=1)).all()
