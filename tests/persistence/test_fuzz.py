"""Fuzzing ``load``: a mutated model file either loads into a model whose
``predict`` works or raises the documented ``ValueError``, quickly and
without much memory."""

import io
import json
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sklearn_mnist import MLPNetClassifier, load, load_mnist_sample, save

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    X, y = load_mnist_sample(return_X_y=True)
    net = MLPNetClassifier(
        module__hidden_units=(8,), max_epochs=1, batch_size=50, random_state=0
    ).fit(X[::25], y[::25])
    path = save(net, tmp_path_factory.mktemp("fuzz") / "valid.skmnist")
    with zipfile.ZipFile(path) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    with zipfile.ZipFile(io.BytesIO(files["model.skops"])) as zf:
        skops_files = {name: zf.read(name) for name in zf.namelist()}
    return path.read_bytes(), files, skops_files, X[:5]


def _json_nodes(schema):
    """Every JsonNode of the schema (a dict whose ``content`` is JSON text)."""
    out, stack = [], [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("__loader__") == "JsonNode":
                out.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _check(path, X):
    """load(path) -> a working model or a ValueError; bounded time and memory."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        model = load(path)
    except ValueError:
        model = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - start < 10
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MiB"
    if model is not None:
        assert len(model.predict(X)) == len(X)


@FUZZ
@given(data=st.data())
def test_mutated_bytes(valid, tmp_path, data):
    raw, _, _, X = valid
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    path = tmp_path / "mutated.skmnist"
    path.write_bytes(bytes(raw))
    _check(path, X)


_VALUES = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["meta", "xpu", "cuda:99", "", "784", "channels_last"]),
    st.none(),
    st.booleans(),
    st.lists(st.integers(-5, 5000), max_size=5),
)


@FUZZ
@given(data=st.data())
def test_mutated_values(valid, tmp_path, data):
    _, files, skops_files, X = valid
    schema = json.loads(skops_files["schema.json"])
    nodes = _json_nodes(schema)
    for _ in range(data.draw(st.integers(1, 3))):
        node = nodes[data.draw(st.integers(0, len(nodes) - 1))]
        node["content"] = json.dumps(data.draw(_VALUES))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in {**skops_files, "schema.json": json.dumps(schema)}.items():
            zf.writestr(name, content)
    path = tmp_path / "values.skmnist"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, content in {**files, "model.skops": out.getvalue()}.items():
            zf.writestr(name, content)
    _check(path, X)


def test_the_fuzzed_file_loads_unmutated(valid, tmp_path):
    raw, _, _, X = valid
    path = tmp_path / "valid.skmnist"
    path.write_bytes(raw)
    assert np.asarray(load(path).predict(X)).shape == (5,)
