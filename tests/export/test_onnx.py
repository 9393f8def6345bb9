"""ONNX export: the file against the model's own predict / predict_proba in
onnxruntime, its metadata, and the errors."""

import json
import os
import sys

import numpy as np
import pytest
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mnist import (
    CNNClassifier,
    FGSMPerturber,
    Flatten,
    MLPNetClassifier,
    Normalizer255,
    RandomAffineAugmenter,
    TransferClassifier,
    export_onnx,
    load_mnist_sample,
)
from sklearn_mnist.datasets import load_idx
from sklearn_mnist.export import OnnxVerification, verify_onnx
from sklearn_mnist.export._verify import onnx_session
from sklearn_mnist.utils import atomic_write

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
onnx = pytest.importorskip("onnx")

NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                  "eight", "nine"])  # fmt: skip
FAST = dict(max_epochs=2, batch_size=64, augment=None, random_state=0, device="cpu")
SMALL_CNN = dict(module__channels=(8, 16), module__hidden_units=32, **FAST)


@pytest.fixture(scope="module")
def digits():
    """1,000 sample digits to fit on (flat uint8 rows), 1,000 others to predict."""
    X, y = load_mnist_sample(return_X_y=True)
    return X[::5], y[::5], X[1::5]


def run(path, X):
    """(probabilities, label) from onnxruntime, one thread."""
    session = onnx_session(path, n_threads=1)
    return session.run(None, {"input": np.asarray(X, dtype=np.float32)})


def assert_same(model, path, X):
    """The file's labels equal predict's, probabilities within 1e-5."""
    proba, label = run(path, X)
    assert proba.dtype == np.float32 and label.dtype == np.int64
    np.testing.assert_array_equal(model.classes_[label], model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def mlp_pipe(digits):
    X, y, _ = digits
    mlp = MLPNetClassifier(module__hidden_units=(64,), **FAST)
    return make_pipeline(Normalizer255(), mlp).fit(X, y)


@pytest.fixture(scope="module")
def cnn_pipe(digits):
    X, y, _ = digits
    return make_pipeline(Normalizer255(), CNNClassifier(**SMALL_CNN)).fit(X, y)


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def exported(mlp_pipe, cnn_pipe, onnx_dir):
    """The two pipelines' files, exported once."""
    models = {"mlp_pipe": mlp_pipe, "cnn_pipe": cnn_pipe}
    return {
        name: export_onnx(m, onnx_dir / f"{name}.onnx") for name, m in models.items()
    }


# ------------------------------------------------------------------ agreement
@pytest.mark.parametrize("batch", [1, 1000])
@pytest.mark.parametrize("name", ["mlp_pipe", "cnn_pipe"])
def test_pipeline_matches_predict_and_predict_proba(name, batch, digits, request,
                                                    exported):  # fmt: skip
    path = exported[name]
    assert path.name == f"{name}.onnx" and path.is_file()
    assert_same(request.getfixturevalue(name), path, digits[2][:batch])


def test_cnn_alone_on_uint8_images_takes_their_float32_values(digits, tmp_path):
    """Fitted on uint8 (n, 28, 28) images without Normalizer255: the file takes
    the same pixel values as float32 (standardisation is inside)."""
    X, y, X_new = digits
    clf = CNNClassifier(**SMALL_CNN).fit(X.reshape(-1, 28, 28), y)
    path = export_onnx(clf, tmp_path / "cnn.onnx")
    images = X_new.reshape(-1, 28, 28)
    proba, label = run(path, images.astype(np.float32))
    np.testing.assert_array_equal(clf.classes_[label], clf.predict(images))
    np.testing.assert_allclose(proba, clf.predict_proba(images), atol=1e-5, rtol=0)
    (graph_input,) = onnx.load(path).graph.input
    dims = [d.dim_param or d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    assert dims == ["batch", 28, 28]
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


@pytest.mark.parametrize("channels", [1, 3])
def test_channels_last_fitted_cnn(channels, digits, tmp_path):
    """Fitted on (n, 28, 28, c): the file takes channels-last images, and moves
    the channels as predict does (with 3 channels a wrong order would show)."""
    X, y, X_new = digits

    def stack(flat):  # channels that differ, so their order matters
        images = np.repeat(flat.reshape(-1, 28, 28, 1), channels, axis=3)
        return (images // np.arange(1, channels + 1)).astype(np.uint8)

    clf = CNNClassifier(**SMALL_CNN).fit(stack(X), y)
    assert clf.input_layout_ == "channels_last"
    path = export_onnx(clf, tmp_path / "hwc.onnx")
    meta = onnx_session(path).get_modelmeta().custom_metadata_map
    assert json.loads(meta["input_shape"]) == [None, 28, 28, channels]
    assert meta["input_layout"] == "channels_last"
    assert json.loads(meta["image_shape"]) == [channels, 28, 28]
    assert verify_onnx(clf, path, stack(X_new)).passed


def test_string_labels_through_the_metadata(digits, tmp_path):
    X, y, X_new = digits
    model = make_pipeline(
        Normalizer255(), MLPNetClassifier(module__hidden_units=(32,), **FAST)
    ).fit(X, NAMES[y])
    path = export_onnx(model, tmp_path / "names.onnx")
    session = onnx_session(path)
    meta = session.get_modelmeta().custom_metadata_map
    classes = json.loads(meta["classes"])
    assert classes == sorted(NAMES.tolist())
    _, label = session.run(None, {"input": X_new.astype(np.float32)})
    predicted = [classes[i] for i in label]  # what a deployment without numpy does
    assert predicted == model.predict(X_new).tolist()


def test_metadata_names_and_dynamic_batch(mlp_pipe, onnx_dir):
    import sklearn_mnist

    path = export_onnx(mlp_pipe, onnx_dir / "meta.onnx", opset=18)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [
        18
    ]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["sklearn_mnist_version"] == sklearn_mnist.__version__
    assert meta["model"] == "Pipeline(Normalizer255 -> MLPNetClassifier)"
    assert json.loads(meta["classes"]) == list(range(10))
    assert np.dtype(meta["classes_dtype"]) == mlp_pipe.classes_.dtype
    assert json.loads(meta["input_shape"]) == [None, 784]
    assert json.loads(meta["input_range"]) == [0.0, 255.0]
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["probabilities", "label"]
    batch_dims = [
        value.type.tensor_type.shape.dim[0].dim_param
        for value in (*proto.graph.input, *proto.graph.output)
    ]
    assert batch_dims == ["batch"] * 3


def test_preprocessing_variants_fold_in(digits, tmp_path):
    """Flatten on images, an augmenter (the identity at prediction), a
    passthrough step, Normalizer255(clip=True) on out-of-range values."""
    X, y, X_new = digits
    images = X.reshape(-1, 28, 28)
    model = make_pipeline(
        Normalizer255(clip=True), RandomAffineAugmenter(random_state=0), "passthrough",
        Flatten(), CNNClassifier(**SMALL_CNN),
    ).fit(images, y)  # fmt: skip
    path = export_onnx(model, tmp_path / "variants.onnx")
    new = X_new.reshape(-1, 28, 28).astype(np.float32)
    new[:10, 0, 0], new[10:20, 5, 5] = -40.0, 600.0  # clipped by Normalizer255
    assert_same(model, path, new)


def test_transfer_classifier_exports(digits, tmp_path):
    """EfficientNet-Lite0 (the default backbone; 28x28 resized inside)."""
    X, y, X_new = digits
    clf = TransferClassifier(
        freeze="backbone", input_size=32, max_epochs=1, augment=None,
        random_state=0, device="cpu",
    )  # fmt: skip
    model = make_pipeline(Normalizer255(), clf).fit(X[::4], y[::4])
    path = export_onnx(model, tmp_path / "transfer.onnx")
    assert_same(model, path, X_new[:200])


def test_imbalanced_learn_sampler_is_left_out(digits, tmp_path):
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn_mnist.preprocessing import AugmentResampler

    X, y, X_new = digits
    model = imblearn_pipeline.make_pipeline(
        AugmentResampler(random_state=0), Normalizer255(),
        MLPNetClassifier(module__hidden_units=(32,), **FAST),
    ).fit(X, y)  # fmt: skip
    assert verify_onnx(model, export_onnx(model, tmp_path / "imb.onnx"), X_new).passed


def test_mixed_precision_is_exported_in_float32(digits, tmp_path):
    X, y, X_new = digits
    clf = MLPNetClassifier(
        module__hidden_units=(32,), mixed_precision="bfloat16", **FAST
    ).fit(X, y)
    with pytest.warns(UserWarning, match="computes in float32"):
        path = export_onnx(clf, tmp_path / "bf16.onnx")
    clf.set_params(mixed_precision=None)  # the same weights in float32
    assert verify_onnx(clf, path, X_new).passed


# ------------------------------------------------------------------ verify_onnx
def test_verify_onnx_reports_and_checks_shapes(cnn_pipe, digits, exported):
    path = exported["cnn_pipe"]
    result = verify_onnx(cnn_pipe, path.read_bytes(), digits[2][:100])
    assert isinstance(result, OnnxVerification) and result.passed
    assert result.n_samples == 100 and result.n_label_mismatches == 0
    assert 0 <= result.max_abs_diff <= 1e-5
    assert "100 samples: labels identical" in str(result)
    strict = verify_onnx(cnn_pipe, path, digits[2][:100], atol=-1.0)
    assert not strict.passed and "FAILED" in str(strict)
    with pytest.raises(ValueError, match=r"X.reshape\(len\(X\), \*\(784,\)\)"):
        verify_onnx(cnn_pipe, path, digits[2][:5].reshape(-1, 28, 28))
    with pytest.raises(ValueError, match=r"takes input of shape \(n, 784\)"):
        verify_onnx(cnn_pipe, path, digits[2][:5, :100])


# ------------------------------------------------------------------ errors
def test_unfitted_model_raises(tmp_path):
    for model in (CNNClassifier(), make_pipeline(Normalizer255(), CNNClassifier())):
        with pytest.raises(NotFittedError):
            export_onnx(model, tmp_path / "x.onnx")
    assert issubclass(NotFittedError, ValueError)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "model, got",
    [("hello", "str 'hello'"), (None, "NoneType"), (CNNClassifier, "the class"),
     (make_pipeline(Normalizer255(), "passthrough"), "final step str")],
    ids=["str", "None", "class", "passthrough-last"],
)  # fmt: skip
def test_what_is_not_an_estimator_is_a_clear_error(model, got, tmp_path):
    """export_onnx("hello") raised AttributeError about __sklearn_tags__."""
    error = ValueError if isinstance(model, type(make_pipeline())) else TypeError
    with pytest.raises(error, match=f"export.* sklearn_mnist's classifiers.*{got}"):
        export_onnx(model, tmp_path / "x.onnx")
    assert not list(tmp_path.iterdir())


def test_unsupported_models_raise_clear_errors(mlp_pipe, digits, tmp_path):
    X, y, _ = digits
    scaled = make_pipeline(StandardScaler(), MLPNetClassifier())
    with pytest.raises(ValueError, match=r"step 'standardscaler' \(StandardScaler\)"):
        export_onnx(scaled, tmp_path / "x.onnx")
    attacked = make_pipeline(FGSMPerturber(mlp_pipe), Normalizer255(), mlp_pipe[-1])
    with pytest.raises(ValueError, match="FGSMPerturber"):
        export_onnx(attacked, tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="got the classifier LogisticRegression"):
        export_onnx(LogisticRegression(), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="got the estimator StandardScaler"):
        export_onnx(StandardScaler(), tmp_path / "x.onnx")
    voting = VotingClassifier([("a", mlp_pipe)], voting="soft")
    with pytest.raises(ValueError, match="got the classifier VotingClassifier"):
        export_onnx(voting, tmp_path / "x.onnx")
    tiny = make_pipeline(Normalizer255(), MLPNetClassifier(**{**FAST, "max_epochs": 1}))
    search = GridSearchCV(tiny, {"normalizer255__clip": [False]}, cv=2)
    search.fit(X[:200], y[:200])
    with pytest.raises(ValueError, match="pass its best_estimator_"):
        export_onnx(search, tmp_path / "x.onnx")
    for opset in (0, 17, 99, 2.5, "18"):
        with pytest.raises(
            ValueError, match="opset must be None or an integer from 18"
        ):
            export_onnx(mlp_pipe, tmp_path / "x.onnx", opset=opset)
    assert not list(tmp_path.iterdir())


def test_a_failed_export_leaves_the_existing_file(mlp_pipe, tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"old")
    with pytest.raises(NotFittedError):
        export_onnx(CNNClassifier(), path)
    with pytest.raises(RuntimeError):
        with atomic_write(path) as out:
            out.write(b"half a ")
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.onnx"]


def test_missing_onnx_gives_the_pip_command(mlp_pipe, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import fails
    # the package is not on PyPI: the message says what works from a checkout
    with pytest.raises(ImportError, match=r"pip install -e '\.\[onnx\]'"):
        export_onnx(mlp_pipe, tmp_path / "x.onnx")


def test_package_imports_without_onnx(fresh_python):
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('onnx', 'onnxruntime', 'onnxscript'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import sklearn_mnist, sklearn_mnist.export\n"
        "assert callable(sklearn_mnist.export_onnx)\n"
        "assert not {'onnx', 'onnxruntime', 'onnxscript'} & set(sys.modules)\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    fresh_python(code, env=env)


# ------------------------------------------------------------------ real MNIST
def test_real_mnist_test_set(shared_mnist_dir, tmp_path):
    """A CNN fitted on 3,000 training images, one epoch: the file agrees with
    it on all 10,000 test images."""
    X_train = load_idx(shared_mnist_dir / "train-images-idx3-ubyte.gz")[:3000]
    y_train = load_idx(shared_mnist_dir / "train-labels-idx1-ubyte.gz")[:3000]
    X_test = load_idx(shared_mnist_dir / "t10k-images-idx3-ubyte.gz")
    model = make_pipeline(
        Normalizer255(), CNNClassifier(max_epochs=1, augment=None, random_state=0)
    ).fit(X_train, y_train)
    path = export_onnx(model, tmp_path / "mnist.onnx")
    proba, label = run(path, X_test.astype(np.float32))
    assert len(label) == 10000
    np.testing.assert_array_equal(model.classes_[label], model.predict(X_test))
    diff = np.abs(proba - model.predict_proba(X_test)).max()
    assert diff <= 1e-5, diff
