"""The structure the package promises: one path for a training batch, no
parameter mutated after __init__, thread-safe prediction, import direction."""

import ast
import pathlib
import sys
import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skorch.callbacks import Callback
from torch import nn

from sklearn_mnist import CNNClassifier, MLPNetClassifier, load_mnist_sample
from sklearn_mnist.adversarial import FGSMPerturber

PACKAGE = pathlib.Path(__file__).parents[1] / "sklearn_mnist"


@pytest.fixture(scope="module")
def data():
    X, y = load_mnist_sample(return_X_y=True)
    return X[:1200], y[:1200], X[4000:4400], y[4000:4400]


def _small_cnn(**kw):
    return CNNClassifier(
        module__channels=(8, 16), module__hidden_units=32, max_epochs=2,
        batch_size=64, random_state=0, **kw,
    )  # fmt: skip


def _same_params(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] is b[key] or a[key] == b[key], key


def test_get_params_returns_what_the_user_set_before_and_after_fit(data):
    X, y, X_te, _ = data
    clf = _small_cnn(device="auto")
    before = clf.get_params(deep=False)
    assert before["device"] == "auto"
    clf.fit(X, y)
    _same_params(before, clf.get_params(deep=False))
    clf.predict(X_te)
    clf.predict_proba(X_te)
    clf.decision_function(X_te)
    clf.torch_logits(torch.zeros(2, 784))
    _same_params(before, clf.get_params(deep=False))
    assert clf.device_ in ("cpu", "cuda", "mps")
    assert clf.device == "auto"


def test_concurrent_predict_from_four_threads(data):
    X, y, X_te, _ = data
    clf = _small_cnn(device="auto").fit(X, y)
    params = clf.get_params(deep=False)
    expected = clf.predict_proba(X_te)
    results, errors = [None] * 4, []
    start = threading.Barrier(4)

    def work(i):
        try:
            start.wait()
            for _ in range(5):
                out = clf.predict_proba(X_te)
                assert np.array_equal(out, expected)
                assert clf.get_params(deep=False)["device"] == "auto"
            results[i] = out
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for out in results:
        np.testing.assert_array_equal(out, expected)
    _same_params(params, clf.get_params(deep=False))


def test_crafting_an_adversarial_batch_leaves_batch_norm_statistics(data):
    X, y, _, _ = data
    clf = _small_cnn(device="cpu").fit(X, y)
    norms = [m for m in clf.module_.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms
    before = [
        (m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.item())
        for m in norms
    ]
    clf.module_.train()  # as during fit: batch statistics in the forward pass
    xb = torch.as_tensor(X[:64], dtype=torch.float32).reshape(-1, 1, 28, 28)
    yb = torch.as_tensor(clf.label_encoder_.transform(y[:64]))
    perturber = FGSMPerturber(eps=0.2, n_iter=3, random_start=True)
    x_adv = perturber.transform_batch(clf, xb, yb, random_state=None)
    assert x_adv.shape == xb.shape and not torch.equal(x_adv, xb)
    for m, (mean, var, count) in zip(norms, before, strict=True):
        assert torch.equal(m.running_mean, mean)
        assert torch.equal(m.running_var, var)
        assert m.num_batches_tracked.item() == count
    # The clean forward pass of a training step does update them.
    clf.infer(xb)
    assert not torch.equal(norms[0].running_mean, before[0][0])


class _GradNorms(Callback):
    def initialize(self):
        self.norms = []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad for _, p in named_parameters if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.cat(
            [g.float().ravel() for g in grads]))))  # fmt: skip


@pytest.mark.parametrize("cls", [MLPNetClassifier, CNNClassifier])
def test_float16_callbacks_see_unscaled_gradients(cls, data):
    X, y, _, _ = data
    seen = {}
    for precision in (None, "float16"):
        spy = _GradNorms()
        cls(
            max_epochs=1, batch_size=128, random_state=0, device="cpu",
            mixed_precision=precision, callbacks=[("spy", spy)],
        ).fit(X[:512], y[:512])  # fmt: skip
        seen[precision] = spy.norms
    # The GradScaler starts at 65536: scaled gradients would be ~65536x larger.
    ratio = seen["float16"][0] / seen[None][0]
    assert 0.5 < ratio < 2, seen


def test_neural_net_never_imports_adversarial():
    """Not at module level, not lazily inside a function (ast.walk sees both)."""
    for path in (PACKAGE / "neural_net").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = ("." * node.level) + (node.module or "")
                assert "adversarial" not in module, (path.name, module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert "adversarial" not in alias.name, (path.name, alias.name)


def test_modules_and_estimators_live_in_separate_files():
    from torch import nn

    import sklearn_mnist.neural_net as nn_pkg
    from sklearn_mnist.neural_net import BaseImageClassifier

    for name in nn_pkg.__all__:
        obj = getattr(nn_pkg, name)
        if not isinstance(obj, type):
            continue
        module_file = sys.modules[obj.__module__].__file__
        if issubclass(obj, nn.Module):
            others = [
                o for o in vars(sys.modules[obj.__module__]).values()
                if isinstance(o, type) and issubclass(o, BaseImageClassifier)
            ]  # fmt: skip
            assert not others, (name, module_file)


# ------------------------------------------------- the CPU dropout of the modules
@settings(max_examples=25, deadline=None)
@given(
    p=st.floats(0.05, 0.95),
    shape=st.sampled_from([(64, 1568), (128, 800), (7, 3, 5, 5)]),
    seed=st.integers(0, 2**16),
)
def test_dropout_is_nn_dropout_with_a_faster_mask(p, shape, seed):
    from sklearn_mnist.neural_net._modules import Dropout

    torch.manual_seed(seed)
    x = (torch.rand(shape) + 0.5).requires_grad_()  # no zeros: masks are visible
    drop = Dropout(p)
    out = drop(x)
    kept = out != 0
    # every element dropped or scaled by 1 / (1 - p), as nn.Dropout does
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    # keep rate within 5 binomial standard deviations of 1 - p
    n = kept.numel()
    assert abs(kept.float().mean().item() - (1 - p)) < 5 * (p * (1 - p) / n) ** 0.5
    out.sum().backward()  # the gradient is the mask, scaled
    torch.testing.assert_close(x.grad, kept.float() / (1 - p))
    # the same seed, the same mask; eval mode and p=0 are the identity
    torch.manual_seed(seed)
    torch.rand(shape)
    torch.testing.assert_close(Dropout(p)(x), out)
    torch.testing.assert_close(drop.eval()(x), x)
    torch.testing.assert_close(Dropout(0.0)(x), x)


def test_dropout_edge_cases_match_nn_dropout():
    from sklearn_mnist.neural_net._modules import Dropout

    x = torch.rand(4, 10) + 0.5
    assert torch.equal(Dropout(1.0)(x), nn.Dropout(1.0)(x))  # all zeros
    assert isinstance(Dropout(0.2), nn.Dropout) and repr(Dropout(0.2)) == repr(
        nn.Dropout(0.2)
    )
    y = x.clone()
    Dropout(0.5, inplace=True)(y)  # inplace falls back to nn.Dropout
    assert ((y == 0) | torch.isclose(y, 2 * x)).all()


def test_every_estimator_the_readme_names_imports_from_the_top_level():
    import pathlib

    import sklearn_mnist

    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    for name in ("Normalizer255", "Flatten", "RandomAffineAugmenter",
                 "ElasticDistortion", "FGSMPerturber", "CNNClassifier",
                 "MLPNetClassifier", "TransferClassifier"):  # fmt: skip
        assert f"`{name}`" in readme
        assert name in sklearn_mnist.__all__ and hasattr(sklearn_mnist, name)


@pytest.mark.parametrize("hidden_units", [128, 0])
def test_cnn_gradient_comes_back_channels_last_with_the_same_numbers(
    hidden_units, monkeypatch
):
    # Flatten's gradient arrived in (c, h, w) order on channels-last features,
    # sending the last ReLU / batch norm backward down a slow mixed-layout path.
    from sklearn_mnist.neural_net import _modules

    x = torch.randn(8, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.arange(8) % 10
    layouts, grads = [], {}
    original = _modules._channels_last

    def spy(grad):
        out = original(grad)
        layouts.append(out.is_contiguous(memory_format=torch.channels_last))
        return out

    for name in ("fixed", "plain"):
        torch.manual_seed(0)
        module = _modules.CNNModule((1, 28, 28), 10, hidden_units=hidden_units)
        module = module.to(memory_format=torch.channels_last).eval()
        if name == "plain":
            monkeypatch.setattr(_modules, "_strided_channels_last", lambda x: False)
        else:
            monkeypatch.setattr(_modules, "_channels_last", spy)
        nn.functional.cross_entropy(module(x), y).backward()
        grads[name] = [p.grad for p in module.parameters()]
        with torch.no_grad():  # no hook without a graph (inference, export)
            module(x)
    assert layouts == [True]
    for fixed, plain in zip(grads["fixed"], grads["plain"], strict=True):
        torch.testing.assert_close(fixed, plain, rtol=1e-5, atol=1e-6)


# ------------------------------------------------- seams between subpackages
_ROOT_INTERNAL = {"_version", "_compat"}  # root modules any subpackage may use


def _imports(path):
    """``(line, dotted module as a list, imported names)`` of every import in
    ``path``, relative imports resolved; lazy ones inside functions too."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = base + (node.module.split(".") if node.module else [])
            else:
                module = node.module.split(".")
            yield node.lineno, module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split("."), []


def _seam_violations():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("").parts
        here = rel[1] if len(rel) > 2 else None  # the subpackage, None at the root
        for line, module, names in _imports(path):
            where = f"{path.relative_to(PACKAGE)}:{line} {'.'.join(module)} {names}"
            if module[0] == "sklearn":
                private = any(p.startswith("_") for p in module[1:] + names)
                if private and rel[-1] != "_compat":
                    found.append(f"scikit-learn private name outside _compat: {where}")
                continue
            if module[0] != "sklearn_mnist" or len(module) > 1 and module[1] == here:
                continue
            if len(module) == 1:
                if any(name.startswith("_") for name in names):
                    found.append(f"private name from the package root: {where}")
            elif module[1] not in _ROOT_INTERNAL and any(
                p.startswith("_") for p in module[2:] + names
            ):
                found.append(f"private name from another subpackage: {where}")
    return found


def test_subpackages_meet_only_at_their_init():
    """Between subpackages, only names a subpackage's ``__init__`` exports (its
    internal API included, ``name as name``); scikit-learn's private helpers
    only through ``sklearn_mnist._compat``; ``__version__`` from ``_version``."""
    assert _seam_violations() == []


def test_the_seam_check_sees_a_private_import(tmp_path, monkeypatch):
    """The check above can fail: a private import from another subpackage, a
    lazy one inside a function, is reported."""
    fake = tmp_path / "sklearn_mnist"
    (fake / "metrics").mkdir(parents=True)
    (fake / "metrics" / "_x.py").write_text(
        "def f():\n    from ..neural_net._base import BaseImageClassifier\n"
        "from sklearn.utils._param_validation import Interval\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    found = _seam_violations()
    assert len(found) == 2, found
    assert "neural_net._base" in found[0] or "neural_net._base" in found[1]
