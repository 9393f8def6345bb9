"""TransferClassifier: real ImageNet weights offline, freezing, caching, errors."""

import functools
import hashlib
import http.server
import pickle
import threading

import numpy as np
import pytest
import torch
from skimage import data
from skimage.transform import resize
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier
from sklearn.model_selection import GridSearchCV
from torch import nn

from sklearn_mnist import (
    CNNClassifier,
    FGSMPerturber,
    TransferClassifier,
    load_mnist_sample,
)
from sklearn_mnist.neural_net import TransferModule, _backbones, load_backbone

CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO_OR_CUP = (967, 968)


@pytest.fixture(scope="module")
def sample():
    X, y = load_mnist_sample(return_X_y=True)  # sorted by digit
    order = np.random.RandomState(0).permutation(500)
    # 500 training + 500 test images, every digit, training order shuffled.
    return X[::10][order], y[::10][order], X[5::10], y[5::10]


def _imagenet_top1(backbone, image):
    x = resize(image, (224, 224), anti_aliasing=True)  # RGB floats in 0..1
    x = torch.tensor(x, dtype=torch.float32).permute(2, 0, 1)[None]
    mean = torch.tensor(backbone.mean).reshape(1, 3, 1, 1)
    std = torch.tensor(backbone.std).reshape(1, 3, 1, 1)
    model = backbone.imagenet_model().eval()
    with torch.no_grad():
        return int(model((x - mean) / std).argmax())


def test_offline_weights_are_imagenet_weights():
    pretrained = load_backbone("efficientnet_lite0", weights="imagenet")
    assert _imagenet_top1(pretrained, data.chelsea()) in CATS
    assert _imagenet_top1(pretrained, data.coffee()) in ESPRESSO_OR_CUP


def test_random_init_does_not_recognise_them():
    random_init = load_backbone("efficientnet_lite0", weights=None)
    cat = _imagenet_top1(random_init, data.chelsea()) in CATS
    coffee = _imagenet_top1(random_init, data.coffee()) in ESPRESSO_OR_CUP
    assert not (cat and coffee)
    assert not cat


def test_summed_stem_equals_grey_in_three_channels():
    x = torch.rand(4, 1, 28, 28)
    outputs = []
    for grey in ("sum", "repeat"):
        torch.manual_seed(0)
        module = TransferModule((1, 28, 28), 10, grey=grey).eval()
        assert module.summed_stem == (grey == "sum")
        with torch.no_grad():
            outputs.append(module.trainable(module.features(x)))
    # EfficientNet-Lite normalises all channels alike, so the fold is exact.
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-4, atol=1e-4)


def test_fit_predict_beats_chance_by_far(sample):
    X, y, X_test, y_test = sample
    clf = TransferClassifier(freeze=6, max_epochs=4, random_state=0, device="cpu")
    clf.fit(X, y)
    assert clf.predict(X_test).shape == y_test.shape
    assert set(clf.classes_) == set(range(10))
    assert np.mean(clf.predict(X_test) == y_test) > 0.6
    proba = clf.predict_proba(X_test[:7])
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)


def test_frozen_parameters_and_statistics_do_not_change(sample):
    X, y, *_ = sample
    torch.manual_seed(0)
    fresh = TransferModule((1, 28, 28), 10, freeze=2)
    clf = TransferClassifier(freeze=2, max_epochs=2, random_state=0).fit(X, y)
    before, after = fresh.frozen.state_dict(), clf.module_.frozen.state_dict()
    assert before.keys() == after.keys() and len(before) > 100
    for key in before:
        assert torch.equal(before[key], after[key]), key
    assert not any(p.requires_grad for p in clf.module_.frozen.parameters())
    trained, initial = clf.module_.trainable.state_dict(), fresh.trainable.state_dict()
    changed = [k for k in initial if not torch.equal(initial[k], trained[k])]
    assert len(changed) > 0.5 * len(initial)
    # Only trainable parameters reach the optimizer.
    optimised = {id(p) for g in clf.optimizer_.param_groups for p in g["params"]}
    assert optimised == {id(p) for p in clf.module_.parameters() if p.requires_grad}


def test_frozen_backbone_extracts_features_once(sample, monkeypatch):
    X, y, X_test, _ = sample
    calls = []
    original = TransferModule.features

    def counting(self, x):
        calls.append(len(x))
        return original(self, x)

    monkeypatch.setattr(TransferModule, "features", counting)
    kw = dict(
        freeze="backbone",
        input_size=16,
        max_epochs=3,
        batch_size=50,
        augment=None,
        random_state=0,
    )
    cached = TransferClassifier(**kw).fit(X, y)
    # A 2-image shape probe when the module is built, then every image once.
    assert calls == [2, len(X)]
    calls.clear()
    monkeypatch.setattr(TransferClassifier, "_caches_features", lambda self: False)
    uncached = TransferClassifier(**kw).fit(X, y)
    assert sum(calls) == 2 + 3 * len(X)  # every epoch's batches
    # The same computation either way.
    np.testing.assert_allclose(
        cached.predict_proba(X_test), uncached.predict_proba(X_test), atol=1e-4
    )


def test_augmentation_disables_the_cache_and_runs(sample):
    from sklearn_mnist import RandomAffineAugmenter

    X, y, *_ = sample
    clf = TransferClassifier(
        freeze="backbone",
        max_epochs=1,
        augment=RandomAffineAugmenter(rotation=10),
        random_state=0,
    )
    assert clf.fit(X[:100], y[:100]).predict(X[:5]).shape == (5,)


@pytest.mark.parametrize("backbone", ["resnet18", "mobilenet_v3_small"])
def test_torchvision_backbones(sample, backbone):
    X, y, *_ = sample
    clf = TransferClassifier(
        backbone=backbone, weights=None, freeze=1, max_epochs=1, random_state=0
    ).fit(X[:64], y[:64])
    assert clf.predict(X[:8]).shape == (8,)
    assert len(clf.module_.trainable) == 1


def test_user_module_backbone(sample):
    X, y, *_ = sample
    backbone = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.ReLU()
    )
    clf = TransferClassifier(
        backbone=backbone, input_size=None, freeze=2, max_epochs=2, random_state=0
    ).fit(X[:100], y[:100])
    assert clf.module_.n_features == 16
    assert not clf.module_.summed_stem or clf.module_.frozen[0].in_channels == 1
    # The estimator's own module is a copy: the user's object is untouched.
    assert backbone[0].in_channels == 3
    assert clf.predict(X[:3]).shape == (3,)
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    clf.set_params(backbone=other)
    assert clf.get_params()["backbone"] is other
    assert clf.fit(X[:50], y[:50]).module_.n_features == 4


def test_rgb_images(sample):
    X, y, *_ = sample
    rgb = np.repeat(X[:60].reshape(-1, 1, 28, 28), 3, axis=1)
    clf = TransferClassifier(freeze="backbone", max_epochs=1, random_state=0)
    clf.fit(rgb, y[:60])
    assert clf.image_shape_ == (3, 28, 28) and not clf.module_.summed_stem


def test_pickle_clone_and_reproducibility(sample):
    X, y, X_test, _ = sample
    kw = dict(freeze=3, max_epochs=1, random_state=0)
    a = TransferClassifier(**kw).fit(X[:200], y[:200])
    b = clone(a).fit(X[:200], y[:200])
    np.testing.assert_allclose(a.predict_proba(X_test), b.predict_proba(X_test))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict(X_test), a.predict(X_test))


def test_grid_search_and_voting(sample):
    X, y, X_test, y_test = sample
    grid = GridSearchCV(
        TransferClassifier(freeze="backbone", max_epochs=2, random_state=0),
        {"input_size": [16, 32]},
        cv=2,
    ).fit(X[:200], y[:200])
    assert grid.best_params_["input_size"] in (16, 32)
    vote = VotingClassifier(
        [
            ("transfer", TransferClassifier(freeze=4, max_epochs=2, random_state=0)),
            ("cnn", CNNClassifier(max_epochs=2, random_state=0)),
        ],
        voting="soft",
    ).fit(X, y)
    assert np.mean(vote.predict(X_test) == y_test) > 0.5


def test_fgsm_attacks_through_the_resize(sample):
    X, y, X_test, y_test = sample
    clf = TransferClassifier(freeze=4, max_epochs=3, random_state=0).fit(X, y)
    X_adv = FGSMPerturber(clf, eps=0.2).fit_transform(X_test[:200])
    assert np.abs(X_adv.astype(float) - X_test[:200]).max() <= 0.2 * 255 + 1
    clean = np.mean(clf.predict(X_test[:200]) == y_test[:200])
    attacked = np.mean(clf.predict(X_adv) == y_test[:200])
    assert attacked < clean - 0.2


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(backbone="resnet1"), "unknown backbone 'resnet1'"),
        (dict(backbone=3), "'backbone' parameter"),
        (dict(weights=5), "'weights' parameter"),
        (dict(weights="/nonexistent/weights.pth"), "does not exist"),
        (dict(freeze="head"), "'freeze' parameter"),
        (dict(freeze=19), "the backbone has 18"),
        (dict(input_size=4), "'input_size' parameter"),
        (dict(grey="mean"), "'grey' parameter"),
    ],
)
def test_bad_parameters(sample, params, match):
    X, y, *_ = sample
    with pytest.raises(ValueError, match=match):
        TransferClassifier(max_epochs=1, **params).fit(X[:20], y[:20])


def test_two_channel_images_are_rejected(sample):
    X, y, *_ = sample
    two = np.repeat(X[:20].reshape(-1, 1, 28, 28), 2, axis=1)
    with pytest.raises(ValueError, match="grey .* or RGB .* got 2 channels"):
        TransferClassifier(max_epochs=1).fit(two, y[:20])


def test_weights_file_for_another_architecture(tmp_path, sample):
    import torchvision

    X, y, *_ = sample
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    with pytest.raises(ValueError, match="do not fit backbone 'efficientnet_lite0'"):
        TransferClassifier(weights=str(path), max_epochs=1).fit(X[:20], y[:20])
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="cannot read weights file"):
        TransferClassifier(weights=garbage, max_epochs=1).fit(X[:20], y[:20])


def test_weights_file_for_the_right_architecture(tmp_path, sample):
    from efficientnet_lite_pytorch import EfficientNet

    X, y, *_ = sample
    model = EfficientNet.from_name("efficientnet-lite0", image_size=None)
    path = tmp_path / "lite0.pth"
    torch.save(model.state_dict(), path)  # the architecture's own key names
    loaded = load_backbone("efficientnet_lite0", weights=path)
    assert torch.equal(loaded.stages[0][0].weight, model._conv_stem.weight)
    assert torch.equal(
        loaded.stages[5].block._depthwise_conv.weight,
        model._blocks[4]._depthwise_conv.weight,
    )
    clf = TransferClassifier(weights=str(path), freeze="backbone", max_epochs=1)
    assert clf.fit(X[:20], y[:20]).predict(X[:2]).shape == (2,)


# ------------------------------------------------- torchvision weights API
@pytest.fixture
def weights_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(served)
    )
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_torchvision_weights_download_once_then_offline(
    tmp_path, monkeypatch, weights_server
):
    import torchvision

    served, url = weights_server
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    state = torchvision.models.resnet18().state_dict()
    body_path = served / "tmp.pth"
    torch.save(state, body_path)
    digest = hashlib.sha256(body_path.read_bytes()).hexdigest()
    name = f"resnet18-{digest[:8]}.pth"  # torch hub checks this hash prefix
    body_path.rename(served / name)
    monkeypatch.setattr(_backbones, "_torchvision_url", lambda w: f"{url}/{name}")
    loaded = load_backbone("resnet18", weights="imagenet")
    assert torch.equal(loaded.stages[0][0].weight, state["conv1.weight"])
    cached = tmp_path / "torch_home" / "hub" / "checkpoints" / name
    assert cached.exists()
    (served / name).unlink()  # "offline": the cache is enough now
    again = load_backbone("resnet18", weights="imagenet")
    assert torch.equal(again.stages[0][0].weight, state["conv1.weight"])


def test_torchvision_weights_offline_error_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(
        _backbones,
        "_torchvision_url",
        lambda w: "http://127.0.0.1:9/resnet18-f37072fd.pth",  # discard port
    )
    with pytest.raises(ValueError) as err:
        load_backbone("resnet18", weights="imagenet")
    message = str(err.value)
    assert "not in torch's cache" in message
    assert str(tmp_path / "torch_home" / "hub" / "checkpoints") in message
    assert "weights=<path to the file>" in message
    assert "efficientnet_lite0" in message
    # Nothing half-written in the cache.
    checkpoints = tmp_path / "torch_home" / "hub" / "checkpoints"
    assert not checkpoints.exists() or not any(checkpoints.iterdir())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_predicts_on_cpu(sample):  # pragma: no cover - GPU machines
    X, y, X_test, _ = sample
    clf = TransferClassifier(freeze=4, max_epochs=1, device="cuda").fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.predict(X_test).shape == (len(X_test),)
