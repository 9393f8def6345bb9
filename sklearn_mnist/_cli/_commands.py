"""The commands: each parses nothing and decides nothing the library decides;
it reads its inputs, calls the library and says where the results went."""

import contextlib
import sys
import time

from . import _io
from ._args import EXIT_MODEL, CLIError

__all__ = ["COMMANDS"]


def _report(model, X, y, names, out, *, eps, name, progress=None):
    import matplotlib

    matplotlib.use("Agg")
    from ..metrics import write_report

    with _io.writing(out):
        return write_report(
            model, X, y, out, target_names=names, eps=eps, progress=progress,
            model_name=name,
        )  # fmt: skip


def _demo(args):
    from sklearn.ensemble import VotingClassifier
    from sklearn.model_selection import GridSearchCV

    out = _io.check_output(args.output, args.overwrite, folder=True)
    X_train, y_train, names = _io.load_data(args, "train")
    X_test, y_test, _ = _io.load_data(args, "test")
    progress = _io.Progress(5, "demo", args.verbose)
    kw = dict(device=args.device, random_state=args.random_state, augment=False)
    try:
        progress("grid search over the CNN's hidden layer")
        cnn = _io.classifier("cnn", epochs=args.epochs, **kw)
        cnn[-1].set_params(batch_size=64)
        grid = {"cnnclassifier__module__hidden_units": [64, 128]}
        search = GridSearchCV(cnn, grid, cv=2).fit(X_train, y_train)
        progress("fitting a soft-voting ensemble of an MLP and a CNN pipeline")
        mlp = _io.classifier("mlp", epochs=args.epochs, **kw)
        ensemble = VotingClassifier(
            [("mlp", mlp), ("cnn", search.best_estimator_)], voting="soft"
        ).fit(X_train, y_train)
        # The report is about the CNN pipeline: FGSM attacks it (the ensemble
        # cannot be attacked); the ensemble's accuracy is printed beside it.
        name = "CNN pipeline (Normalizer255 -> CNNClassifier, best of the grid search)"
        result = _report(
            ensemble.estimators_[1], X_test, y_test, names, out, eps=args.eps,
            name=name, progress=progress,
        )  # fmt: skip
        ensemble_accuracy = ensemble.score(X_test, y_test)
    finally:
        progress.close()
    print(f"best CNN parameters: {search.best_params_}")
    print(f"\nmodel: {name}\n{result}")
    print(
        f"\nsoft-voting ensemble (MLP + CNN): accuracy {ensemble_accuracy:.4f}; "
        f"CNN alone: {result.accuracy:.4f}"
    )
    print(f"report for the CNN pipeline written to {out.resolve()}")
    return 0


def _fit(args):
    from ..metrics._report import describe_estimator
    from ..persistence import save

    out = _io.check_output(args.output, args.overwrite, folder=False)
    X, y, _ = _io.load_data(args, "train")
    show = args.verbose or sys.stderr.isatty()
    model = _io.classifier(
        args.model, epochs=args.epochs, device=args.device, augment=args.augment,
        random_state=args.random_state, verbose=int(show),
    )  # fmt: skip
    if show:
        _io.note(
            f"fitting {describe_estimator(model)} on {len(X):,} {args.data} images "
            f"(device {args.device})"
        )
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # skorch prints its epoch table
        model.fit(X, y)
    model[-1].set_params(verbose=0)  # the saved model predicts silently
    if show:
        _io.note(f"fitted in {time.perf_counter() - start:.1f} s")
    with _io.writing(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        save(model, out)
    print(f"model saved to {out.resolve()}")
    return 0


def _evaluate(args):
    from ..metrics._report import describe_estimator

    out = _io.check_output(args.output, args.overwrite, folder=True)
    model = _io.read_model(args)
    X, y, names = _io.load_data(args, "test")
    with _io.predicting(args.model_file, X):
        model.predict(X[:2])  # fail here, before any output, if it cannot
    reason = _io.attack_refusal(model)
    if reason is not None:
        _io.note(f"no adversarial figures: {reason}")
    name = f"{describe_estimator(model)} from {args.model_file}"
    progress = _io.Progress(1 if reason else 3, "evaluate", args.verbose)
    try:
        with _io.predicting(args.model_file, X):
            result = _report(
                model, X, y, names, out, eps=args.eps, name=name, progress=progress
            )
    finally:
        progress.close()
    print(f"model: {name}\n{result}")
    print(f"report written to {out.resolve()}")
    return 0


def _attack(args):
    import numpy as np

    from ..adversarial import FGSMPerturber

    out = _io.check_output(args.output, args.overwrite, folder=True)
    model = _io.read_model(args)
    reason = _io.attack_refusal(model)
    if reason is not None:
        raise CLIError(
            f"cannot attack the model in {args.model_file}: {reason}", EXIT_MODEL
        )
    X, y, _ = _io.load_data(args, "test")
    with _io.predicting(args.model_file, X):
        X_adv = FGSMPerturber(model, eps=args.eps, n_iter=args.n_iter).perturb(X, y)
        clean, attacked = model.score(X, y), model.score(X_adv, y)
    with _io.writing(out):
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "adversarial.npy", X_adv)
    print(
        f"accuracy clean {clean:.4f}, under attack (eps={args.eps}, "
        f"n_iter={args.n_iter}) {attacked:.4f}"
    )
    print(f"adversarial examples written to {(out / 'adversarial.npy').resolve()}")
    return 0


COMMANDS = {"demo": _demo, "fit": _fit, "evaluate": _evaluate, "attack": _attack}
