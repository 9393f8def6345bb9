"""verify_onnx on files that are not a valid export of the model: one error
type, OnnxFileError, whatever is wrong with the file (issue 26, item 7)."""

import json
import os

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from sklearn_mnist import MLPNetClassifier, Normalizer255, load_mnist_sample
from sklearn_mnist.export import OnnxFileError, OnnxVerification, verify_onnx

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
onnx = pytest.importorskip("onnx")

FAST = dict(max_epochs=1, batch_size=64, augment=None, random_state=0, device="cpu")
PREFIX = "^this file is not a valid export of this model: "


@pytest.fixture(scope="module")
def digits():
    X, y = load_mnist_sample(return_X_y=True)
    return X[::10], y[::10], X[1::50]


@pytest.fixture(scope="module")
def model(digits):
    X, y, _ = digits
    mlp = MLPNetClassifier(module__hidden_units=(16,), **FAST)
    return make_pipeline(Normalizer255(), mlp).fit(X, y)


@pytest.fixture(scope="module")
def good(model, tmp_path_factory):
    """The model's export: its path and bytes."""
    from sklearn_mnist import export_onnx

    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "mlp.onnx")
    return path, path.read_bytes()


def _edited(data, edit):
    """The file's bytes after ``edit(proto)``."""
    proto = onnx.load_from_string(data)
    edit(proto)
    return proto.SerializeToString()


def _meta(**changes):
    """An edit of metadata_props: a value set, or the key dropped (None)."""

    def edit(proto):
        props = {p.key: p.value for p in proto.metadata_props}
        for key, value in changes.items():
            if value is None:
                props.pop(key, None)
            else:
                props[key] = value
        del proto.metadata_props[:]
        for key, value in props.items():
            proto.metadata_props.add(key=key, value=value)

    return edit


def test_the_good_file_passes(model, good, digits):
    path, data = good
    for source in (path, str(path), data):
        result = verify_onnx(model, source, digits[2])
        assert isinstance(result, OnnxVerification) and result.passed
    assert issubclass(OnnxFileError, ValueError)


# ------------------------------------------------------------------ bytes
@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda d: b"", "the bytes given are empty"),
        (lambda d: d[:100], "onnxruntime cannot read it"),
        (lambda d: d[: len(d) // 2], "onnxruntime cannot read it"),
        (lambda d: d[:-1], "onnxruntime cannot read it"),
        (lambda d: b"\x00" * 1000, "onnxruntime cannot read it"),
        (lambda d: b"hello, not a model\n", "onnxruntime cannot read it"),
        (lambda d: b"\xff" * 64 + d, "onnxruntime cannot read it"),
    ],
    ids=["empty", "first-100", "half", "last-byte-cut", "zeros", "text", "prefix"],
)
def test_damaged_bytes(model, good, digits, damage, reason):
    with pytest.raises(OnnxFileError, match=PREFIX + reason):
        verify_onnx(model, damage(good[1]), digits[2])


@pytest.mark.parametrize("seed", range(12))
def test_flipped_bytes_give_a_result_or_onnx_file_error(model, good, digits, seed):
    """Altered bytes onnxruntime still reads give a verification (the caller
    reads ``passed``); any others, OnnxFileError; nothing else."""
    data = bytearray(good[1])
    rng = np.random.default_rng(seed)
    for at in rng.integers(0, len(data), size=1 + seed % 4):
        data[at] ^= 1 << int(rng.integers(8))
    try:
        result = verify_onnx(model, bytes(data), digits[2][:20])
    except OnnxFileError as exc:
        assert str(exc).startswith(PREFIX[1:])
    else:
        assert isinstance(result, OnnxVerification)


# ------------------------------------------------------------------ paths
def test_paths_that_are_not_an_onnx_file(model, good, digits, tmp_path):
    X = digits[2]
    cases = {
        tmp_path / "missing.onnx": "no such file",
        tmp_path: "is a folder, not an ONNX file",
        tmp_path / "empty.onnx": "is empty",
        tmp_path / "text.onnx": "onnxruntime cannot read it",
        tmp_path / "cut.onnx": "onnxruntime cannot read it",
    }
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "text.onnx").write_text("not a model")
    (tmp_path / "cut.onnx").write_bytes(good[1][:5000])
    if os.path.exists("/dev/null"):
        cases["/dev/null"] = "not a regular file"
    for path, reason in cases.items():
        with pytest.raises(OnnxFileError, match=PREFIX + ".*" + reason):
            verify_onnx(model, path, X)
    with pytest.raises(TypeError, match="path of an ONNX file .* or its content"):
        verify_onnx(model, 123, X)


# ------------------------------------------------------------------ metadata
@pytest.mark.parametrize(
    "changes, reason",
    [
        (dict(input_shape=None), "has no 'input_shape'"),
        (dict(classes=None), "has no 'classes'"),
        (dict(classes_dtype=None), "has no 'classes_dtype'"),
        (dict(input_shape="not json"), "'input_shape' is not JSON"),
        (dict(input_shape="[" * 100_000), "'input_shape' is not JSON"),
        (dict(input_shape='"784"'), "'input_shape' is '\"784\"', not"),
        (dict(input_shape="[]"), "'input_shape' is '\\[\\]', not"),
        (dict(input_shape="[null, -1]"), "'input_shape' is"),
        (dict(input_shape="[null, 1e9]"), "'input_shape' is"),
        (dict(input_shape="[null, true]"), "'input_shape' is"),
        (dict(input_shape="[null, 28, 28]"), "its graph takes input of shape"),
        (dict(input_shape="[null, 783]"), "its graph takes input of shape"),
        (dict(classes="{"), "'classes' is not JSON"),
        (dict(classes="[]"), "'classes' is '\\[\\]', not a JSON list"),
        (dict(classes="[[0, 1], [2]]"), "not a JSON list of labels"),
        (dict(classes="[" * 5000 + "]" * 5000), "'classes'"),
        (dict(classes_dtype="not-a-dtype"), "'classes_dtype' 'not-a-dtype' does not"),
        (dict(classes='["a", "b"]'), "'classes_dtype' '<i8' does not hold"),
        (dict(classes="[0]"), "its classes \\[0\\] are not the model's"),
        (dict(classes=json.dumps(list(range(9, -1, -1)))), "are not the model's"),
        (dict(classes=json.dumps(list(range(11)))), "are not the model's"),
        (dict(reject_label="{"), "'reject_label' is not JSON"),
        (dict(reject_label='"rejected"'), "outputs"),
        (dict(input_shape="[null, 784]" + " " * 2_000_000), "characters long"),
    ],
    ids=lambda v: "-".join(f"{k}={str(x)[:12]}" for k, x in v.items())
    if isinstance(v, dict) else "",
)  # fmt: skip
def test_tampered_metadata(model, good, digits, changes, reason):
    data = _edited(good[1], _meta(**changes))
    with pytest.raises(OnnxFileError, match=PREFIX + ".*" + reason):
        verify_onnx(model, data, digits[2])


def test_tampered_graph(model, good, digits):
    def rename_input(proto):
        proto.graph.input[0].name = "pixels"
        for node in proto.graph.node:
            node.input[:] = ["pixels" if n == "input" else n for n in node.input]

    def drop_label(proto):
        kept = [o for o in proto.graph.output if o.name != "label"]
        del proto.graph.output[:]
        proto.graph.output.extend(kept)

    for edit, reason in [(rename_input, "inputs \\['pixels'\\]"),
                         (drop_label, "outputs \\['probabilities'\\]")]:  # fmt: skip
        with pytest.raises(OnnxFileError, match=PREFIX + ".*" + reason):
            verify_onnx(model, _edited(good[1], edit), digits[2])


def test_a_file_of_another_model(good, digits):
    """Exported from a model with other classes: refused, not compared."""
    X, y, X_new = digits
    three = make_pipeline(Normalizer255(), MLPNetClassifier(**FAST))
    three.fit(X[y < 3], y[y < 3])
    with pytest.raises(OnnxFileError, match="are not the model's \\[0, 1, 2\\]"):
        verify_onnx(three, good[0], X_new)
    letters = make_pipeline(Normalizer255(), MLPNetClassifier(**FAST))
    letters.fit(X, np.array(list("abcdefghij"))[y])
    with pytest.raises(OnnxFileError, match="exported from another model"):
        verify_onnx(letters, good[0], X_new)
