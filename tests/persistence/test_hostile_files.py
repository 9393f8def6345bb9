"""The threat model of docs/persistence.rst: what a hostile model file can
make ``sklearn_mnist.load`` do. Every file here is forged by the test from a
small model the test fits; none is committed."""

import builtins
import copy
import io
import json
import os
import socket
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest
import skops.io
import torch
from sklearn.pipeline import make_pipeline

from sklearn_mnist import (
    CNNClassifier,
    FGSMPerturber,
    MLPNetClassifier,
    Normalizer255,
    load,
    load_mnist_sample,
    save,
)

SKOPS = "model.skops"
WEIGHTS = "nets/0.safetensors"


@pytest.fixture(scope="module")
def data():
    X, y = load_mnist_sample(return_X_y=True)
    return X[::25], y[::25]  # 200 images, every class


@pytest.fixture(scope="module")
def mlp_file(data, tmp_path_factory):
    X, y = data
    net = MLPNetClassifier(
        module__hidden_units=(16,), max_epochs=1, batch_size=50, random_state=0
    ).fit(X, y)
    return save(net, tmp_path_factory.mktemp("mlp") / "mlp.skmnist")


@pytest.fixture(scope="module")
def cnn_file(data, tmp_path_factory):
    X, y = data
    net = CNNClassifier(
        module__channels=(4,), module__hidden_units=8, max_epochs=1, batch_size=50,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    return save(net, tmp_path_factory.mktemp("cnn") / "cnn.skmnist")


# ------------------------------------------------------------------ forging
def members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write(path, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def skeleton(path):
    """The skops part of a model file as objects (NetStates for classifiers)."""
    data = members(path)[SKOPS]
    return skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))


def forge(src, dst, edit):
    """``src`` with its skops part loaded, passed to ``edit`` (which changes
    it in place or returns a replacement) and written back by skops."""
    skel = skeleton(src)
    skel = edit(skel) or skel
    return write(dst, {**members(src), SKOPS: skops.io.dumps(skel)})


DELETE = object()


def edit_params(**params):
    def edit(state):
        state.params.update(params)
        for key in [k for k, v in params.items() if v is DELETE]:
            del state.params[key]

    return edit


def edit_fitted(**fitted):
    def edit(state):
        state.fitted.update(fitted)

    return edit


def with_schema(src, dst, edit, extra=None):
    """``src`` with the skops part's schema.json passed through ``edit``, and
    ``extra`` members (name -> bytes, deflated) added to the skops part."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(members(src)[SKOPS])) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for name in zin.namelist():
            data = zin.read(name)
            if name == "schema.json":
                data = json.dumps(edit(json.loads(data)))
            zout.writestr(name, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return write(dst, {**members(src), SKOPS: out.getvalue()})


def fitted_node(schema):
    return schema["content"]["content"]["fitted"]["content"]


def npy_bytes(n_bytes, step=16384):
    """A ``.npy`` of ``n_bytes`` zeros with a random byte every ``step``: it
    deflates about 840 times, under the 1000x a zip member may expand."""
    arr = np.zeros(n_bytes, dtype=np.uint8)
    arr[::step] = np.random.default_rng(0).integers(1, 256, len(arr[::step]))
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def array_refs(member, n):
    """A list node of ``n`` arrays, each a new reference to ``member``."""
    return {
        "__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
        "__id__": 1,
        "content": [
            {"__class__": "ndarray", "__module__": "numpy", "__loader__": "NdArrayNode",
             "type": "numpy", "file": member, "__id__": 1000 + i}
            for i in range(n)
        ],
    }  # fmt: skip


def peak_mib(fn):
    """``(result or exception, peak MiB traced)`` of ``fn()``."""
    tracemalloc.start()
    try:
        try:
            out = fn()
        except Exception as exc:
            out = exc
        return out, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


# ------------------------------------------------------- 1. memory amplified
def test_one_array_referenced_40_times_is_refused_cheaply(mlp_file, tmp_path):
    # Before: skops read the member once per reference (the size check saw
    # it once): 40 x 20 MB here, 5.9 GB for the prober's 123 KB file.
    def edit(schema):
        fitted_node(schema)["input_shape_"] = array_refs("big.npy", 40)
        return schema

    bad = with_schema(mlp_file, tmp_path / "amp.skmnist", edit,
                      {"big.npy": npy_bytes(20 * 2**20)})  # fmt: skip
    assert bad.stat().st_size < 200_000
    error, peak = peak_mib(lambda: load(bad))
    assert isinstance(error, ValueError), error
    assert "42 array references" in str(error)  # 40, and the classes'
    assert "each reference counted" in str(error)
    assert "max_bytes" in str(error)
    assert peak < 100, f"{peak:.0f} MiB traced"


def test_max_bytes_raises_the_budget_for_a_trusted_file(mlp_file, tmp_path):
    def edit(schema):
        fitted_node(schema)["input_shape_"] = array_refs("big.npy", 3)
        return schema

    bad = with_schema(mlp_file, tmp_path / "amp.skmnist", edit,
                      {"big.npy": npy_bytes(30 * 2**20)})  # fmt: skip
    with pytest.raises(ValueError, match="5 array references"):
        load(bad)
    # Trusted: the budget passes; the forged input_shape_ is then refused.
    with pytest.raises(ValueError, match="input_shape_"):
        load(bad, max_bytes=2**30)


def test_schema_of_many_json_values_is_refused_before_parsing(mlp_file, tmp_path):
    node = {"__class__": "int", "__module__": "builtins", "__loader__": "JsonNode",
            "content": "0", "is_json": True}  # fmt: skip

    def edit(schema):
        fitted_node(schema)["input_shape_"] = {
            "__class__": "list",
            "__module__": "builtins",
            "__loader__": "ListNode",
            "content": [node] * 200_000,
        }
        return schema

    bad = with_schema(mlp_file, tmp_path / "nodes.skmnist", edit)
    assert bad.stat().st_size < 400_000
    error, peak = peak_mib(lambda: load(bad))
    assert isinstance(error, ValueError) and "JSON values" in str(error), error
    assert peak < 100, f"{peak:.0f} MiB traced"


@pytest.mark.parametrize("depth", [100, 5000, 100_000])
def test_deeply_nested_schema(mlp_file, tmp_path, depth):
    def edit(schema):
        fitted_node(schema)["input_shape_"] = "@@"
        return schema

    bad = with_schema(mlp_file, tmp_path / "deep.skmnist", edit)
    with zipfile.ZipFile(io.BytesIO(members(bad)[SKOPS])) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    nested = "[" * depth + "]" * depth
    parts["schema.json"] = parts["schema.json"].replace(b'"@@"', nested.encode())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    write(bad, {**members(bad), SKOPS: out.getvalue()})
    with pytest.raises(ValueError, match="MAX_DEPTH|not valid JSON|JSON values"):
        load(bad)


def test_array_reference_to_a_missing_member(mlp_file, tmp_path):
    def edit(schema):
        fitted_node(schema)["input_shape_"] = array_refs("nope.npy", 1)
        return schema

    with pytest.raises(ValueError, match="missing array member"):
        load(with_schema(mlp_file, tmp_path / "m.skmnist", edit))


def test_file_larger_than_max_bytes(mlp_file):
    with pytest.raises(ValueError, match="max_bytes=1000"):
        load(mlp_file, max_bytes=1000)


@pytest.mark.parametrize("value", [0, -1, 1.5, "1e9", True])
def test_invalid_limits(mlp_file, value):
    with pytest.raises(ValueError, match="max_bytes must be"):
        load(mlp_file, max_bytes=value)
    with pytest.raises(ValueError, match="max_params must be"):
        load(mlp_file, max_params=value)


# ------------------------------------------- 2. networks before any check
@pytest.mark.parametrize(
    "params",
    [
        {"module__hidden_units": [2000] * 300},
        {"module__hidden_units": 4_000_000},
    ],
    ids=["300-layers", "wide"],
)
def test_huge_declared_mlp_is_refused_before_allocation(mlp_file, tmp_path, params):
    bad = forge(mlp_file, tmp_path / "big.skmnist", edit_params(**params))
    error, peak = peak_mib(lambda: load(bad))
    assert isinstance(error, ValueError), error
    assert "max_params=100,000,000" in str(error)
    assert peak < 50, f"{peak:.0f} MiB traced"


def test_huge_declared_cnn_is_refused(cnn_file, tmp_path):
    bad = forge(cnn_file, tmp_path / "big.skmnist",
                edit_params(module__channels=[4096] * 3))  # fmt: skip
    with pytest.raises(ValueError, match="max_params"):
        load(bad)


def test_network_not_matching_the_weights_is_refused_before_allocation(
    mlp_file, tmp_path
):
    bad = forge(mlp_file, tmp_path / "w.skmnist",
                edit_params(module__hidden_units=(4000, 4000)))  # fmt: skip
    load(mlp_file)  # imports done
    error, peak = peak_mib(lambda: load(bad))
    assert isinstance(error, ValueError) and "do not match" in str(error), error
    assert peak < 20, f"{peak:.0f} MiB traced"  # the network: 76 MiB


def test_max_params_is_raised_for_a_trusted_file(mlp_file, tmp_path):
    with pytest.raises(ValueError, match="max_params=100"):
        load(mlp_file, max_params=100)
    assert isinstance(load(mlp_file, max_params=20_000), MLPNetClassifier)


def test_too_many_layers(mlp_file, tmp_path):
    bad = forge(mlp_file, tmp_path / "l.skmnist",
                edit_params(module__hidden_units=[1] * 5000))  # fmt: skip
    with pytest.raises(ValueError, match="5000 entries"):
        load(bad)


@pytest.mark.parametrize(
    "backbone, message",
    [("resnet18", "max_params=1,000,000"), ("vit_l_16", "cannot cut into stages")],
)
def test_large_torchvision_backbone_is_refused(mlp_file, tmp_path, backbone, message):
    # Before: vit_l_16 took 2.0 GB before its error.
    import torchvision  # noqa: F401  (imported outside the memory trace)

    from sklearn_mnist.neural_net import TransferModule

    bad = forge(mlp_file, tmp_path / "vit.skmnist", edit_params(
        module=TransferModule, module__backbone=backbone, module__weights=None,
        module__input_size=224, module__hidden_units=DELETE,
    ))  # fmt: skip
    # resnet18 has 11.7M parameters: over a limit of 1M (100M by default)
    error, peak = peak_mib(lambda: load(bad, max_params=1_000_000))
    assert isinstance(error, ValueError) and message in str(error), error
    assert peak < 100, f"{peak:.0f} MiB traced"


# ------------------------------------------ 3. no network, no other file
@pytest.fixture
def no_network_no_files(monkeypatch):
    """Fail on any download or socket; record every file opened."""
    opened = []
    real_open = builtins.open

    def spy_open(file, *args, **kwargs):
        opened.append(os.fspath(file) if not isinstance(file, int) else file)
        return real_open(file, *args, **kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("load reached the network")

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(torch, "load", refuse)  # any weights file
    return opened


@pytest.mark.parametrize("weights", ["imagenet", "/etc/passwd"])
def test_backbone_weights_are_never_read_while_loading(
    mlp_file, tmp_path, no_network_no_files, weights
):
    # Before: module=TransferModule on an MLP started a download from load(),
    # and weights="/etc/passwd" made load() open that path.
    from sklearn_mnist.neural_net import TransferModule

    bad = forge(mlp_file, tmp_path / "net.skmnist", edit_params(
        module=TransferModule, module__backbone="resnet18", module__weights=weights,
        module__input_size=32, module__hidden_units=DELETE,
    ))  # fmt: skip
    no_network_no_files.clear()
    with pytest.raises(ValueError, match="do not match"):
        load(bad)  # an MLP's weights in a resnet: refused, without reading any
    assert no_network_no_files == [str(bad)]


def test_load_opens_the_named_file_only(mlp_file, no_network_no_files):
    no_network_no_files.clear()
    assert isinstance(load(mlp_file), MLPNetClassifier)
    assert no_network_no_files == [str(mlp_file)]


# ------------------------------------------------ 4. hangs: loops, devices
def test_attack_loop_count_from_a_file_is_bounded(data, tmp_path):
    pipe = make_pipeline(
        FGSMPerturber(MLPNetClassifier()), Normalizer255()
    )  # unfitted: parameters only
    path = save(pipe, tmp_path / "pipe.skmnist")

    def edit(skel):
        skel.steps[0][1].n_iter = 10**9

    bad = forge(path, tmp_path / "hang.skmnist", edit)
    with pytest.raises(ValueError, match=r"n_iter=1000000000 .*n_iter <= 1000"):
        load(bad)
    assert load(path).steps[0][1].n_iter == 1


def test_estimator_parameters_are_validated(tmp_path):
    path = save(make_pipeline(Normalizer255(), FGSMPerturber(MLPNetClassifier())),
                tmp_path / "p.skmnist")  # fmt: skip

    def edit(skel):
        skel.steps[1][1].eps = float("nan")

    with pytest.raises(ValueError, match="FGSMPerturber"):
        load(forge(path, tmp_path / "bad.skmnist", edit))


def test_device_file_is_refused_up_front():
    error, peak = peak_mib(lambda: load("/dev/zero"))
    assert isinstance(error, ValueError) and "a device" in str(error), error
    assert peak < 5


def _finishes(fn, timeout=10):
    box = []
    thread = threading.Thread(target=lambda: box.append(peak_mib(fn)[0]), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "load blocked"
    return box[0]


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.skmnist"
    os.mkfifo(fifo)
    error = _finishes(lambda: load(fifo))
    assert isinstance(error, ValueError) and "a FIFO" in str(error), error


def test_socket_is_refused(tmp_path):
    path = tmp_path / "s.skmnist"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(ValueError, match="a socket"):
            load(path)


def test_missing_and_folder_keep_their_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.skmnist")
    with pytest.raises(IsADirectoryError):
        load(tmp_path)


# ------------------------------------------------- 5. fitted state checked
@pytest.mark.parametrize(
    "edit, message",
    [
        (edit_params(device="meta"), "device='meta'"),
        (edit_params(device="xpu"), "device='xpu'"),
        (edit_params(lr=float("inf")), "lr"),
        (edit_params(optimizer__lr=float("inf")), "optimizer__lr"),
        (edit_params(max_epochs=0), "max_epochs"),
        (edit_fitted(input_std_=0.0), "input_std_ must be a finite number > 0"),
        (edit_fitted(input_std_=float("nan")), "input_std_"),
        (edit_fitted(input_mean_=float("inf")), "input_mean_"),
        (edit_fitted(n_features_in_="784"), "n_features_in_ must be an int"),
        (edit_fitted(n_features_in_=785), "image_shape_"),
        (edit_fitted(image_shape_=(1, 28)), "image_shape_"),
        (edit_fitted(input_layout_="sideways"), "input_layout_"),
        (edit_fitted(data_range_=(0.0, float("inf"))), "data_range_"),
        (edit_fitted(input_range_=(1.0, 1.0)), "input_range_"),
        (edit_fitted(batch_size_=-3), "batch_size_"),
        (edit_fitted(device_="meta"), "device_, which loading rebuilds"),
        (edit_fitted(module_="x"), "module_"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_invalid_values_are_refused(mlp_file, tmp_path, edit, message):
    bad = forge(mlp_file, tmp_path / "bad.skmnist", edit)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        load(bad)


def test_fitted_device_no_machine_has(mlp_file, tmp_path):
    def edit(state):
        state.device = "meta"

    with pytest.raises(ValueError, match="fitted on='meta'"):
        load(forge(mlp_file, tmp_path / "meta.skmnist", edit))


def test_classes_with_nan_are_refused(mlp_file, tmp_path):
    def edit(state):
        encoder = copy.deepcopy(state.fitted["label_encoder_"])
        encoder.classes_ = np.array([*range(9), np.nan])
        state.fitted["label_encoder_"] = encoder

    with pytest.raises(ValueError, match="label_encoder_"):
        load(forge(mlp_file, tmp_path / "nan.skmnist", edit))


def test_trusted_must_be_names_or_types(mlp_file):
    with pytest.raises(TypeError, match="trusted must be"):
        load(mlp_file, trusted=123)
    with pytest.raises(TypeError, match="trusted must be"):
        load(mlp_file, trusted=[1.5])


def test_history_of_older_files_still_loads(mlp_file, tmp_path, data):
    X, _ = data

    def as_list(state):
        state.history = json.loads(state.history)

    older = forge(mlp_file, tmp_path / "old.skmnist", as_list)
    a, b = load(older), load(mlp_file)
    assert len(a.history_) == len(b.history_) == 1
    assert np.array_equal(a.predict(X), b.predict(X))


def test_one_weights_member_is_one_network(tmp_path):
    """Entries sharing a weights member (30 copies of one MLP from a 23 MB
    file took +745 MiB) are refused; a model holding one classifier twice
    still round-trips."""
    import json
    import zipfile

    from sklearn.ensemble import VotingClassifier

    from sklearn_mnist import MLPNetClassifier, load, load_mnist_sample, save

    X, y = load_mnist_sample(return_X_y=True)
    X, y = X[::25], y[::25]
    mlp = MLPNetClassifier(max_epochs=1, module__hidden_units=(8,), random_state=0)
    twice = VotingClassifier([("a", mlp), ("b", mlp)]).fit(X, y)
    path = save(twice, tmp_path / "twice.skmnist")
    assert load(path).predict(X[:3]).shape == (3,)
    single = save(mlp.fit(X, y), tmp_path / "one.skmnist")
    with zipfile.ZipFile(single) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    skeleton = [n for n in members if n.endswith(".skops")][0]
    with zipfile.ZipFile(io.BytesIO(members[skeleton])) as inner:
        parts = {n: inner.read(n) for n in inner.namelist()}
    schema = json.loads(parts["schema.json"])
    parts["schema.json"] = json.dumps(
        {
            "__class__": "list",
            "__module__": "builtins",
            "__loader__": "ListNode",
            "content": [schema, schema],
            "is_safe": True,
        }  # fmt: skip
    ).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as inner:
        for name, data in parts.items():
            inner.writestr(name, data)
    members[skeleton] = buffer.getvalue()
    forged = tmp_path / "copies.skmnist"
    with zipfile.ZipFile(forged, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ValueError, match="same weights|schema|not a valid"):
        load(forged)
