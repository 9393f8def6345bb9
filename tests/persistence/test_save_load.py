"""sklearn_mnist.save / load: round trips, and hostile files give ValueError."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import safetensors.torch
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback

import sklearn_mnist
from sklearn_mnist import (
    CNNClassifier,
    Flatten,
    MLPNetClassifier,
    Normalizer255,
    RandomAffineAugmenter,
    TransferClassifier,
    load,
    load_mnist_sample,
    save,
)
from sklearn_mnist.persistence import FORMAT_VERSION
from sklearn_mnist.preprocessing import ElasticDistortion

NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                  "eight", "nine"])  # fmt: skip
SMALL_MLP = dict(module__hidden_units=(32,), max_epochs=2, batch_size=32)
SMALL_CNN = dict(
    module__channels=(4, 8), module__hidden_units=16, max_epochs=2, batch_size=32
)


def mlp(**kw):
    return MLPNetClassifier(**{**SMALL_MLP, "random_state": 0, **kw})


def cnn(**kw):
    return CNNClassifier(**{**SMALL_CNN, "random_state": 0, **kw})


@pytest.fixture(scope="module")
def data():
    X, y = load_mnist_sample(return_X_y=True)
    return X[::20], y[::20]  # 250 images, every class


def _models():
    """name -> (model, how to fit it); small fits only."""
    return {
        "mlp": lambda X, y: mlp().fit(X, y),
        "cnn-string-labels": lambda X, y: cnn().fit(X, NAMES[y]),
        "transfer": lambda X, y: TransferClassifier(
            freeze="backbone", input_size=16, max_epochs=1, random_state=0
        ).fit(X[:100], y[:100]),
        "pipeline-augmenters": lambda X, y: make_pipeline(
            RandomAffineAugmenter(random_state=0),
            Normalizer255(),
            Flatten(),
            mlp(augment=ElasticDistortion(random_state=0)),
        ).fit(X, y),
        "voting-of-pipelines": lambda X, y: VotingClassifier(
            [
                ("mlp", make_pipeline(Normalizer255(), mlp())),
                ("cnn", make_pipeline(Normalizer255(), cnn())),
            ],
            voting="soft",
        ).fit(X, NAMES[y]),
        "stacking": lambda X, y: StackingClassifier(
            [("mlp", make_pipeline(Normalizer255(), mlp()))],
            final_estimator=LogisticRegression(max_iter=200),
            cv=2,
        ).fit(X, y),
        "pandas": lambda X, y: mlp().fit(
            pd.DataFrame(X.reshape(len(X), -1)).add_prefix("px"), NAMES[y]
        ),
    }


@pytest.fixture(scope="module", params=sorted(_models()))
def fitted(request, data):
    X, y = data
    model = _models()[request.param](X, y)
    if request.param == "pandas":
        X = pd.DataFrame(X.reshape(len(X), -1)).add_prefix("px")
    return request.param, model, X


@pytest.fixture(scope="module")
def saved_cnn(data, tmp_path_factory):
    """A fitted CNN and its file (do not modify the file: copy it)."""
    X, y = data
    model = cnn().fit(X, y)
    path = tmp_path_factory.mktemp("cnn") / "cnn.skmnist"
    save(model, path)
    return model, path


def same_params(a, b):
    """get_params(deep=False) equal, estimators compared by type and params."""
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    assert pa.keys() == pb.keys()
    for key in pa:
        va, vb = pa[key], pb[key]
        if hasattr(va, "get_params") and not isinstance(va, type):
            assert type(va) is type(vb), key
            same_params(va, vb)
        elif isinstance(va, list) and va and isinstance(va[0], tuple):
            for (na, ea), (nb, eb) in zip(va, vb, strict=True):
                assert na == nb
                same_params(ea, eb)
        else:
            assert va == vb or va is vb, key


def nets(model):
    """The package's classifiers in a fitted model."""
    if isinstance(model, sklearn_mnist.neural_net.BaseImageClassifier):
        return [model]
    if hasattr(model, "steps"):
        return nets(model.steps[-1][1])
    return [n for est in model.estimators_ for n in nets(est)]


def test_round_trip_predicts_the_same(fitted, tmp_path):
    name, model, X = fitted
    path = save(model, tmp_path / "model.skmnist")
    loaded = load(path)
    assert type(loaded) is type(model)
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(loaded.classes_, model.classes_)
    same_params(loaded, model)
    for a, b in zip(nets(loaded), nets(model), strict=True):
        assert a.device == b.device and a.device_ == b.device_ == "cpu"
        assert a.image_shape_ == b.image_shape_
        assert (a.input_mean_, a.input_std_) == (b.input_mean_, b.input_std_)
        assert len(a.history_) == len(b.history_)
    if name == "pandas":
        assert list(loaded.feature_names_in_) == list(model.feature_names_in_)


def test_fitted_attributes_round_trip_without_being_listed(data, tmp_path):
    """Attributes a later version adds survive if skops can store them."""
    X, y = data
    model = mlp().fit(X, y)
    model.input_layout_ = "channels_last"
    model.data_range_ = (0.0, 255.0)
    model.steps_seen_ = np.arange(5, dtype=np.int32)
    model.n_iter_ = np.int64(2)
    loaded = load(save(model, tmp_path / "m.skmnist"))
    assert loaded.input_layout_ == "channels_last"
    assert loaded.data_range_ == (0.0, 255.0)
    assert loaded.steps_seen_.dtype == np.int32
    assert np.array_equal(loaded.steps_seen_, np.arange(5))
    assert loaded.n_iter_ == 2


def test_unfitted_model_round_trip_then_fit(data, tmp_path):
    X, y = data
    pipe = make_pipeline(Normalizer255(), mlp(augment=RandomAffineAugmenter()))
    loaded = load(save(pipe, tmp_path / "unfitted.skmnist"))
    same_params(loaded, pipe)
    assert not hasattr(loaded[-1], "module_")
    assert loaded.fit(X, y).score(X, y) > 0.1


def test_cuda_fitted_model_loads_on_cpu(data, tmp_path):
    """Fake a CUDA fit: device and device_ say cuda in the saved state."""
    X, y = data
    model = mlp().fit(X, y)
    expected = model.predict_proba(X)
    vars(model).update(device="cuda", device_="cuda")
    path = save(model, tmp_path / "gpu.skmnist")
    manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
    assert manifest["nets"][0]["device"] == "cuda"
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the fake needs a CPU-only machine")
    loaded = load(path)
    assert loaded.device == "cuda" and loaded.device_ == "cpu"
    assert np.array_equal(loaded.predict_proba(X), expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_real_cuda_model_loads_on_cpu(data, tmp_path):
    X, y = data
    model = mlp(device="cuda").fit(X, y)
    path = save(model, tmp_path / "gpu.skmnist")
    loaded = load(path, device="cpu")
    assert loaded.device_ == "cpu" and loaded.device == "cuda"
    np.testing.assert_allclose(
        loaded.predict_proba(X), model.predict_proba(X), atol=1e-5
    )
    assert load(path).device_.startswith("cuda")


def test_load_never_unpickles(saved_cnn, monkeypatch):
    model, path = saved_cnn

    def refuse(*args, **kwargs):
        raise AssertionError("load unpickled something")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr("joblib.load", refuse)
    monkeypatch.setattr("skorch.net.NeuralNet.__setstate__", refuse)
    assert isinstance(load(path), CNNClassifier)


def test_save_is_atomic(saved_cnn, tmp_path, monkeypatch):
    model, original = saved_cnn
    path = tmp_path / "model.skmnist"
    path.write_bytes(original.read_bytes())

    def fail(net):
        raise RuntimeError("disk full")

    monkeypatch.setattr("sklearn_mnist.persistence._api.net_weights", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        save(model, path)
    assert path.read_bytes() == original.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.skmnist"]


def test_saved_file_gets_umask_permissions(saved_cnn, tmp_path):
    model, _ = saved_cnn
    old = os.umask(0o022)
    try:
        path = save(model, tmp_path / "m.skmnist")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_save_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="scikit-learn estimators"):
        save({"a": 1}, tmp_path / "d.skmnist")
    weighted = mlp(criterion__weight=torch.ones(10))
    with pytest.raises(ValueError, match=r"criterion__weight.*torch Tensor"):
        save(weighted, tmp_path / "t.skmnist")
    assert not list(tmp_path.iterdir())


def test_save_refuses_a_fitted_model_whose_parameters_cannot_build_it(data, tmp_path):
    # The file would hold module__foo beside weights of the network built
    # without it: a file no one can load.
    X, y = data
    clf = cnn().fit(X[:100], y[:100]).set_params(module__foo=3)
    with pytest.raises(ValueError, match="module__foo"):
        save(clf, tmp_path / "m.skmnist")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("params", [dict(optimizer__weight_decay="abc"),
                                    dict(optimizer__betas=(2, 3))])  # fmt: skip
def test_save_refuses_optimizer_values_that_cannot_build_it(params, data, tmp_path):
    # Applied to the live optimizer's param groups only, they were saved,
    # and the file then failed to load.
    X, y = data
    clf = cnn().fit(X[:100], y[:100]).set_params(**params)
    with pytest.raises(ValueError, match="optimizer"):
        save(clf, tmp_path / "m.skmnist")
    assert not list(tmp_path.iterdir())


class Doubler(TransformerMixin, BaseEstimator):
    """A transformer the default allow-list does not know."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X * 2


def test_untrusted_types_need_trusted(data, tmp_path):
    X, y = data
    pipe = make_pipeline(Doubler(), mlp()).fit(X, y)
    path = save(pipe, tmp_path / "custom.skmnist")
    with pytest.raises(ValueError, match=r"not trusted: .*Doubler.*trusted="):
        load(path)
    loaded = load(path, trusted=[Doubler])
    assert np.array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    assert isinstance(load(path, trusted=f"{__name__}.Doubler")[0], Doubler)


def _halve(X):
    return X / 2


def test_save_refuses_what_could_never_load(tmp_path):
    """A lambda (or a function or class defined inside a function) has no
    import path: save wrote a file that no load could read back."""
    from sklearn.preprocessing import FunctionTransformer

    def local(X):
        return X

    class Local(Doubler):
        pass

    for step, name in [
        (FunctionTransformer(lambda X: X), r"<lambda>"),
        (FunctionTransformer(local), r"test_save_load\.local:"),
        (Local(), r"Local"),
        (mlp(callbacks=[("c", type("Cb", (Callback,), {})())]), r"\.Cb"),
    ]:
        with pytest.raises(ValueError, match=name + ".*could never be loaded"):
            save(make_pipeline(step, mlp()), tmp_path / "m.skmnist")
        assert not list(tmp_path.iterdir())
    # a function at the top level of a module is stored, and loads when trusted
    path = save(make_pipeline(FunctionTransformer(_halve), mlp()), tmp_path / "f")
    assert load(path, trusted=[f"{__name__}._halve"])[0].func is _halve


# ---------------------------------------------------------------- hostile files
def rewrite(src, dst, *, compression=zipfile.ZIP_STORED, **changes):
    """Copy the zip ``src`` to ``dst`` with members replaced (bytes), removed
    (None) or added; ``__`` in a keyword stands for ``/``."""
    changes = {key.replace("__", "/"): value for key, value in changes.items()}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for name in zin.namelist():
            data = changes.pop(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)
        for name, data in changes.items():
            zout.writestr(name, data)
    return dst


def edit_schema(skops_bytes, edit):
    """``model.skops`` with its schema.json passed through ``edit(dict)``."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(skops_bytes)) as zin,
        zipfile.ZipFile(out, "w") as zout,
    ):
        for name in zin.namelist():
            data = zin.read(name)
            if name == "schema.json":
                data = json.dumps(edit(json.loads(data)))
            zout.writestr(name, data)
    return out.getvalue()


def find_node(state, module, cls):
    stack = [state]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("__module__") == module and item.get("__class__") == cls:
                return item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise LookupError(f"{module}.{cls}")


def member(path, name):
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def test_truncated_file(saved_cnn, tmp_path):
    _, path = saved_cnn
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        bad = tmp_path / f"cut{cut}.skmnist"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="truncated"):
            load(bad)


def test_corrupted_bytes(saved_cnn, tmp_path):
    _, path = saved_cnn
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("nets/0.safetensors")
    start = info.header_offset + 30 + len(info.filename) + 500  # in the weights
    data[start : start + 64] = bytes(64)
    bad = tmp_path / "flipped.skmnist"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="Bad CRC-32 for file 'nets/0.safetensors'"):
        load(bad)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a model\n", pickle.dumps({"a": 1})],
    ids=["empty", "text", "pickle"],
)
def test_not_a_zip(tmp_path, content):
    bad = tmp_path / "x.skmnist"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match="not a sklearn-mnist model file"):
        load(bad)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.skmnist")
    with pytest.raises(IsADirectoryError):
        load(tmp_path)


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil", "nets/../../x", "x.txt"])
def test_unexpected_member_names(saved_cnn, tmp_path, name):
    _, path = saved_cnn
    bad = rewrite(path, tmp_path / "evil.skmnist", **{name: b"print('hi')"})
    with pytest.raises(ValueError, match="unexpected member"):
        load(bad)


def test_compressed_members_are_refused(saved_cnn, tmp_path):
    _, path = saved_cnn
    bad = rewrite(path, tmp_path / "deflated.skmnist", compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match="compressed"):
        load(bad)


@pytest.mark.parametrize(
    "manifest, message",
    [
        ({"format": "sklearn-mnist-model", "format_version": 99}, "upgrade"),
        ({"format": "sklearn-mnist-model", "format_version": "1"}, "version '1'"),
        ({"format": "sklearn-mnist-model"}, "version None"),
        ({"format": "other"}, "not a sklearn-mnist model file"),
        ([1, 2], "not a sklearn-mnist model file"),
        (b"{not json", "not valid JSON"),
    ],
)
def test_bad_manifest(saved_cnn, tmp_path, manifest, message):
    _, path = saved_cnn
    data = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    bad = rewrite(path, tmp_path / "m.skmnist", **{"manifest.json": data})
    with pytest.raises(ValueError, match=message):
        load(bad)


def test_format_version_is_written(saved_cnn):
    _, path = saved_cnn
    manifest = json.loads(member(path, "manifest.json"))
    assert manifest["format_version"] == FORMAT_VERSION == 1
    assert manifest["nets"][0]["weights"] == "nets/0.safetensors"


def test_plain_skops_file_is_not_a_model_file(tmp_path):
    import skops.io

    path = tmp_path / "plain.skops"
    skops.io.dump(LogisticRegression(), path)
    with pytest.raises(ValueError, match="without manifest.json"):
        load(path)


def test_class_outside_the_allow_list(saved_cnn, tmp_path):
    _, path = saved_cnn

    def to_os_system(schema):
        node = find_node(schema, "sklearn_mnist.neural_net._cnn", "CNNClassifier")
        node.update(__module__="os", __class__="system")
        return schema

    skel = edit_schema(member(path, "model.skops"), to_os_system)
    bad = rewrite(path, tmp_path / "os.skmnist", **{"model.skops": skel})
    with pytest.raises(ValueError, match=r"not trusted: os\.system"):
        load(bad)


def test_classifier_instance_in_the_skops_part_is_refused(saved_cnn, tmp_path):
    """skorch's __setstate__ unpickles: a net may appear only as a class."""
    _, path = saved_cnn

    def to_instance(schema):
        node = find_node(schema, "sklearn_mnist.neural_net._cnn", "CNNClassifier")
        node.update(__loader__="ObjectNode", content={
            "__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
            "content": {}, "key_types": {"__class__": "list", "__module__": "builtins",
                                         "__loader__": "ListNode", "content": []},
        })  # fmt: skip
        return schema

    skel = edit_schema(member(path, "model.skops"), to_instance)
    bad = rewrite(path, tmp_path / "inst.skmnist", **{"model.skops": skel})
    with pytest.raises(ValueError, match="only name as a class"):
        load(bad)


def test_not_a_classifier_class_in_a_net_entry(saved_cnn, tmp_path):
    _, path = saved_cnn

    def to_normalizer(schema):
        node = find_node(schema, "sklearn_mnist.neural_net._cnn", "CNNClassifier")
        node.update(__module__="sklearn_mnist.preprocessing._normalizer")
        node.update(__class__="Normalizer255", __loader__="TypeNode")
        return schema

    skel = edit_schema(member(path, "model.skops"), to_normalizer)
    bad = rewrite(path, tmp_path / "norm.skmnist", **{"model.skops": skel})
    with pytest.raises(ValueError, match="not a classifier class"):
        load(bad)


def test_garbage_skops_part(saved_cnn, tmp_path):
    _, path = saved_cnn
    for skel in (b"garbage", edit_schema(member(path, "model.skops"), lambda s: [])):
        bad = rewrite(path, tmp_path / "g.skmnist", **{"model.skops": skel})
        with pytest.raises(ValueError, match="skops part is corrupted"):
            load(bad)


def test_weights_with_wrong_shapes(saved_cnn, tmp_path):
    _, path = saved_cnn
    tensors = safetensors.torch.load(member(path, "nets/0.safetensors"))
    key = next(k for k in tensors if k.endswith("weight"))
    tensors[key] = torch.zeros(3, 3)
    bad = rewrite(
        path, tmp_path / "shape.skmnist",
        **{"nets/0.safetensors": safetensors.torch.save(tensors)},
    )  # fmt: skip
    with pytest.raises(ValueError, match=rf"{key} is torch.float32 \(3, 3\)"):
        load(bad)


def test_weights_missing_or_extra(saved_cnn, tmp_path):
    _, path = saved_cnn
    tensors = safetensors.torch.load(member(path, "nets/0.safetensors"))
    first = sorted(tensors)[0]
    fewer = {k: v for k, v in tensors.items() if k != first}
    more = {**tensors, "module.extra": torch.zeros(1)}
    for i, variant in enumerate([fewer, more]):
        bad = rewrite(
            path, tmp_path / f"w{i}.skmnist",
            **{"nets/0.safetensors": safetensors.torch.save(variant)},
        )  # fmt: skip
        with pytest.raises(ValueError, match="do not match"):
            load(bad)
    for data, message in [(None, "weights of fitted"), (b"xx", "not a valid safe")]:
        bad = rewrite(path, tmp_path / "w.skmnist", **{"nets/0.safetensors": data})
        with pytest.raises(ValueError, match=message):
            load(bad)


def test_weights_of_no_classifier(saved_cnn, tmp_path):
    _, path = saved_cnn
    bad = rewrite(
        path, tmp_path / "x.skmnist",
        **{"nets/7.safetensors": member(path, "nets/0.safetensors")},
    )  # fmt: skip
    with pytest.raises(ValueError, match="belongs to no classifier"):
        load(bad)
