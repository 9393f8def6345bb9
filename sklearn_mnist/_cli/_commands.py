"""The commands: each parses nothing and decides nothing the library decides;
it reads its inputs, calls the library and says where the results went."""

import contextlib
import sys
import time

from . import _io
from ._args import EXIT_DATA, EXIT_DEPENDENCY, EXIT_MODEL, CLIError

__all__ = ["COMMANDS"]


def _report(model, X, y, names, out, *, eps, name, progress=None):
    import matplotlib

    matplotlib.use("Agg")
    from ..metrics import write_report

    # written into a temporary folder, renamed into place when complete
    with _io.output_folder(out) as tmp:
        return write_report(
            model, X, y, tmp, target_names=names, eps=eps, progress=progress,
            model_name=name,
        )  # fmt: skip


def _progress(args, total, desc):
    return _io.Progress(total, desc, args.verbose, args.quiet)


def _report_stages(progress, n, out):
    """write_report's stage messages, its first one saying how many images
    and where the report goes."""

    def stage(message):
        if message == "evaluating":
            message = f"evaluating on {n:,} images (report folder {out})"
        progress(message)

    return stage


def _demo(args):
    from sklearn.ensemble import VotingClassifier
    from sklearn.model_selection import GridSearchCV

    out = _io.check_output(args.output, args.overwrite, folder=True)
    X_train, y_train, names = _io.load_data(args, "train")
    X_test, y_test, _ = _io.load_data(args, "test")
    progress = _progress(args, 5, "demo")
    kw = dict(device=args.device, random_state=args.random_state, augment=False)
    try:
        progress("grid search over the CNN's hidden layer")
        cnn = _io.classifier("cnn", epochs=args.epochs, **kw)
        cnn[-1].set_params(batch_size=64)
        grid = {"cnnclassifier__module__hidden_units": [64, 128]}
        with _io.interruptible():
            search = GridSearchCV(cnn, grid, cv=2).fit(X_train, y_train)
        progress("fitting a soft-voting ensemble of an MLP and a CNN pipeline")
        mlp = _io.classifier("mlp", epochs=args.epochs, **kw)
        ensemble = VotingClassifier(
            [("mlp", mlp), ("cnn", search.best_estimator_)], voting="soft"
        )
        with _io.interruptible():
            ensemble.fit(X_train, y_train)
        # The report is about the CNN pipeline: FGSM attacks it (the ensemble
        # cannot be attacked); the ensemble and its members are compared below.
        name = "CNN pipeline (Normalizer255 -> CNNClassifier, best of the grid search)"
        result = _report(
            ensemble.estimators_[1], X_test, y_test, names, out, eps=args.eps,
            name=name, progress=_report_stages(progress, len(X_test), out),
        )  # fmt: skip
        scores = [
            (result.accuracy, "CNN pipeline (the report's model)"),
            (ensemble.estimators_[0].score(X_test, y_test), "MLP pipeline"),
            (ensemble.score(X_test, y_test), "soft-voting ensemble (MLP + CNN)"),
        ]
    finally:
        progress.close()
    print(f"best CNN parameters: {search.best_params_}")
    print(f"\nmodel: {name}\n{result}")
    print(f"\ntest accuracy on the same {len(y_test):,} digits, highest first:")
    for accuracy, what in sorted(scores, key=lambda s: -s[0]):  # stable on ties
        print(f"  {accuracy:.4f}  {what}")
    print(f"report for the CNN pipeline written to {out.resolve()}")
    return 0


def _fit(args):
    from ..metrics import describe_estimator
    from ..persistence import save

    out = _io.check_output(args.output, args.overwrite, folder=False)
    with _progress(args, 3, "fit") as progress:
        progress(f"loading the {args.data} training data")
        X, y, _ = _io.load_data(args, "train")
        model = _io.classifier(
            args.model, epochs=args.epochs, device=args.device,
            augment=args.augment, random_state=args.random_state,
            verbose=int(args.verbose),
        )  # fmt: skip
        progress(
            f"fitting {describe_estimator(model)} on {len(X):,} {args.data} images "
            f"(device {args.device})"
        )
        start = time.perf_counter()
        # skorch prints its epoch table (--verbose); Ctrl-C: exit 130, no
        # half-trained file
        with _io.interruptible(), contextlib.redirect_stdout(sys.stderr):
            model.fit(X, y)
        model[-1].set_params(verbose=0)  # the saved model predicts silently
        progress(
            f"fitted in {time.perf_counter() - start:.1f} s; saving the model to {out}"
        )
        with _io.writing(out):
            out.parent.mkdir(parents=True, exist_ok=True)
            save(model, out)
    print(f"model saved to {out.resolve()}")
    return 0


def _evaluate(args):
    from ..metrics import describe_estimator

    model = _io.read_model(args)  # input problems (exit 4) before the output's
    out = _io.check_output(
        args.output, args.overwrite, folder=True, inputs=[args.model_file]
    )
    reason = _io.attack_refusal(model)
    reject = hasattr(model, "predict_reject") and hasattr(model, "threshold_")
    # loading, then write_report's stages: evaluating, (attack, curve), (reject)
    total = 2 + (0 if reason else 2) + int(reject)
    if reason is not None:  # before the progress bar, which a print would break
        _io.note(f"no adversarial figures: {reason}")
    with _progress(args, total, "evaluate") as progress:
        progress(f"loading the {args.data} test data")
        X, y, names = _io.load_data(args, "test")
        with _io.predicting(args.model_file, X):
            model.predict(X[:2])  # fail here, before any output, if it cannot
        name = f"{describe_estimator(model)} from {args.model_file}"
        stages = _report_stages(progress, len(X), out)
        with _io.predicting(args.model_file, X):
            result = _report(
                model, X, y, names, out, eps=args.eps, name=name, progress=stages
            )
    print(f"model: {name}\n{result}")
    print(f"report written to {out.resolve()}")
    return 0


ATTACK_FILES = {
    "adversarial.npy": "the adversarial images (float32, shape of the test images)",
    "labels.npy": "the true labels",
    "predictions_clean.npy": "the model's predictions on the clean images",
    "predictions_adversarial.npy": "its predictions on the adversarial images",
    "attack.json": "the model, data, attack, eps, n_iter and both accuracies",
}


def _attack(args):
    import json

    import numpy as np

    from ..adversarial import FGSMPerturber
    from ..metrics import describe_estimator

    model = _io.read_model(args)
    reason = _io.attack_refusal(model)
    if reason is not None:
        raise CLIError(
            f"cannot attack the model in {args.model_file}: {reason}", EXIT_MODEL
        )
    out = _io.check_output(
        args.output, args.overwrite, folder=True, inputs=[args.model_file]
    )
    attack = "fgsm" if args.n_iter == 1 else "pgd"
    with _progress(args, 4, "attack") as progress:
        progress(f"loading the {args.data} test data")
        X, y, _ = _io.load_data(args, "test")
        progress(
            f"attacking {len(X):,} images with {attack.upper()} (eps={args.eps}"
            + (f", {args.n_iter} steps" if args.n_iter > 1 else "")
            + ")"
        )
        with _io.predicting(args.model_file, X):
            perturber = FGSMPerturber(model, eps=args.eps, n_iter=args.n_iter)
            X_adv = perturber.perturb(X, y)
            progress("predicting the clean and adversarial images")
            pred_clean, pred_adv = model.predict(X), model.predict(X_adv)
        y = np.asarray(y)
        clean = float(np.mean(np.asarray(pred_clean) == y))
        attacked = float(np.mean(np.asarray(pred_adv) == y))
        summary = {
            "model": f"{describe_estimator(model)} from {args.model_file}",
            "data": args.data,
            "n_samples": len(y),
            "attack": attack,
            "eps": args.eps,
            "n_iter": args.n_iter,
            "accuracy_clean": clean,
            "accuracy_adversarial": attacked,
            "files": ATTACK_FILES,
        }
        progress(f"writing the attack folder {out}")
        with _io.output_folder(out) as tmp:
            np.save(tmp / "adversarial.npy", X_adv)
            np.save(tmp / "labels.npy", y)
            np.save(tmp / "predictions_clean.npy", np.asarray(pred_clean))
            np.save(tmp / "predictions_adversarial.npy", np.asarray(pred_adv))
            (tmp / "attack.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"accuracy clean {clean:.4f}, under attack ({attack.upper()}, eps={args.eps}, "
        f"n_iter={args.n_iter}) {attacked:.4f} on {len(y):,} {args.data} test images"
    )
    print(f"adversarial examples written to {(out / 'adversarial.npy').resolve()}")
    print(
        "beside them: labels.npy, predictions_clean.npy, predictions_adversarial.npy "
        "and attack.json"
    )
    return 0


def _onnx_input_hint(shape):
    """How to feed the file: its exact input shape, and the reshape that gets
    there from flat rows (load_mnist_sample's ``X``) or from images."""
    import math

    n = math.prod(shape)
    dims = ", ".join(str(d) for d in shape)
    mnist = n == 784
    if len(shape) > 1:
        return (
            f"feed it arrays of shape (n, {dims}): flat rows of {n} values"
            + (" (such as load_mnist_sample's X, shape (n, 784))" if mnist else "")
            + f" first need X.reshape(-1, {dims}).astype(np.float32), or "
            "onnxruntime fails with 'Invalid rank'"
        )
    return (
        f"feed it flat rows, arrays of shape (n, {n}): images"
        + (" (such as load_mnist_sample's images, (n, 28, 28))" if mnist else "")
        + f" first need X.reshape(len(X), {n}).astype(np.float32), or "
        "onnxruntime fails with 'Invalid rank'"
    )


def _export_onnx(args):
    import json

    from ..export import build_onnx, check_images, shape_text, verify_onnx
    from ..utils import atomic_write

    model = _io.read_model(args)
    out = _io.check_output(args.output, args.overwrite, folder=False)
    try:
        data, meta = build_onnx(model, opset=args.opset)
        shape = tuple(json.loads(meta["input_shape"])[1:])
        check = None
        if args.check_samples:
            X, what = check_images(
                shape, json.loads(meta["input_range"]), args.check_samples
            )
            check = verify_onnx(model, data, X)
    except ImportError as exc:
        raise CLIError(str(exc), EXIT_DEPENDENCY) from exc
    except ValueError as exc:
        raise CLIError(
            f"cannot export the model in {args.model_file}: {exc}", EXIT_MODEL
        ) from exc
    if check is not None and not check.passed:
        raise CLIError(
            f"the ONNX export of the model in {args.model_file} disagrees with it "
            f"on {what} ({check}); nothing written",
            EXIT_MODEL,
        )
    with _io.writing(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(out) as f:
            f.write(data)
    classes = json.loads(meta["classes"])
    print(
        f"ONNX model ({meta['model']}) written to {out.resolve()}\n"
        f"input 'input': float32 {shape_text(shape)}, values in "
        f"{json.loads(meta['input_range'])}; outputs 'probabilities' float32 "
        f"(n, {len(classes)}), 'label' int64 (n,): an index into the classes "
        f"in its metadata, {classes}"
    )
    print(_onnx_input_hint(shape))
    if check is None:
        print("not checked (--check-samples 0)")
    else:
        print(f"checked in onnxruntime against the model on {what}, {check}")
    return 0


def _predict(args):
    """Model and PATHs first (exit 4, 2, 3), then the output (5), then the
    work: read, predict and write one batch at a time."""
    from tqdm import tqdm

    from ..metrics import describe_estimator
    from ..utils import atomic_write
    from . import _predict as predict

    model = _io.read_model(args)
    plan = predict.plan(model, args)
    skipped = []

    def skip(name, reason):
        skipped.append(name)
        tqdm.write(f"sklearn-mnist: skipped {name}: {reason}", file=sys.stderr)

    files = predict.gather(args.paths, skip_bad=args.skip_bad, skipped=skip)
    if not files:
        raise predict.no_image_error(args.paths, len(skipped))
    out = None
    if args.output is not None:
        out = _io.check_output(args.output, args.overwrite, folder=False)
    if args.verbose:
        _io.note(f"{describe_estimator(model)} from {args.model_file}: {plan.what}")
        _io.note(f"{len(files):,} file(s) to read, {args.batch_size} at a time")
    batches = predict.Predictions(
        plan, args.model_file, skip_bad=args.skip_bad, skipped=skip
    )
    done, stdout_open = 0, True
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(
            tqdm(
                total=len(files), desc="predict", unit="img", file=sys.stderr,
                disable=args.verbose or args.quiet or not sys.stderr.isatty(),
            )
        )  # fmt: skip
        rows = None
        if out is not None:
            with _io.writing(out):
                out.parent.mkdir(parents=True, exist_ok=True)
                rows = predict.CSVRows(stack.enter_context(atomic_write(out)))
                stack.callback(rows.close)
                rows.write([batches.header()])
        for start in range(0, len(files), args.batch_size):
            chunk = files[start : start + args.batch_size]
            names, labels, proba = batches.batch(chunk)
            if names:
                done += len(names)
                lines, table = batches.rows(names, labels, proba)
                if stdout_open:
                    try:
                        predict.write_lines(lines, None if bar.disable else bar)
                    except BrokenPipeError:  # `| head`: the reader wants no more
                        stdout_open = False
                        predict.silence_stdout()
                        if rows is None:
                            break
                if rows is not None:
                    with _io.writing(out):
                        rows.write(table)
            bar.update(len(chunk))
        if not done:
            raise CLIError(
                f"no image could be read: all {len(skipped)} file(s) in the PATHs "
                "were skipped",
                EXIT_DATA,
            )
        if out is not None:
            with _io.writing(out):
                stack.close()  # the CSV in place (flushed, renamed)
    if skipped:
        _io.note(
            f"skipped {len(skipped)} file(s) that could not be read (--skip-bad); "
            f"predicted {done}"
        )
    if out is not None:
        _io.note(f"predictions written to {out.resolve()}")
    return 0


COMMANDS = {
    "demo": _demo,
    "fit": _fit,
    "evaluate": _evaluate,
    "attack": _attack,
    "export-onnx": _export_onnx,
    "predict": _predict,
}
