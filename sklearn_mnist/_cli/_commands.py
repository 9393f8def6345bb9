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
    from ..metrics import describe_estimator
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
    # skorch prints its epoch table; Ctrl-C: exit 130, no half-trained file
    with _io.interruptible(), contextlib.redirect_stdout(sys.stderr):
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
    from ..metrics import describe_estimator

    model = _io.read_model(args)  # input problems (exit 4) before the output's
    out = _io.check_output(args.output, args.overwrite, folder=True)
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

    model = _io.read_model(args)
    reason = _io.attack_refusal(model)
    if reason is not None:
        raise CLIError(
            f"cannot attack the model in {args.model_file}: {reason}", EXIT_MODEL
        )
    out = _io.check_output(args.output, args.overwrite, folder=True)
    X, y, _ = _io.load_data(args, "test")
    with _io.predicting(args.model_file, X):
        X_adv = FGSMPerturber(model, eps=args.eps, n_iter=args.n_iter).perturb(X, y)
        clean, attacked = model.score(X, y), model.score(X_adv, y)
    with _io.output_folder(out) as tmp:
        np.save(tmp / "adversarial.npy", X_adv)
    print(
        f"accuracy clean {clean:.4f}, under attack (eps={args.eps}, "
        f"n_iter={args.n_iter}) {attacked:.4f}"
    )
    print(f"adversarial examples written to {(out / 'adversarial.npy').resolve()}")
    return 0


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
                disable=args.verbose or not sys.stderr.isatty(),
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
