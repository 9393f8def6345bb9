"""The structure the package promises: one path for a training batch, no
parameter mutated after __init__, thread-safe prediction, import direction."""

import ast
import pathlib
import sys
import threading

import numpy as np
import torch
from torch import nn

PACKAGE = pathlib.Path(__file__).parents[1] / "sklearn_mnist"


def _same_params(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] is b[key] or a[key] == b[key], key


def test_get_params_returns_what_the_user_set_before_and_after_fit(
    sample_split, small_cnn
):
    X, y, X_te, _ = sample_split
    clf = small_cnn(device="auto")
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


def test_concurrent_predict_from_four_threads(sample_split, small_cnn):
    X, y, X_te, _ = sample_split
    clf = small_cnn(device="auto").fit(X, y)
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


def test_every_estimator_the_readme_names_imports_from_the_top_level():
    import pathlib

    import sklearn_mnist

    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    for name in ("Normalizer255", "Flatten", "RandomAffineAugmenter",
                 "ElasticDistortion", "FGSMPerturber", "CNNClassifier",
                 "MLPNetClassifier", "TransferClassifier"):  # fmt: skip
        assert f"`{name}`" in readme
        assert name in sklearn_mnist.__all__ and hasattr(sklearn_mnist, name)


# ------------------------------------------------- seams between subpackages
# root modules any subpackage may use (_startup: the command line's Ctrl-C
# handler while the package imports, which _cli releases)
_ROOT_INTERNAL = {"_version", "_compat", "_startup"}


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
                if any(n.startswith("_") and n not in _ROOT_INTERNAL for n in names):
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
