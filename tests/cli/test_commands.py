import argparse
import json
import sys

import joblib
import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklearn_mnist import (
    Flatten,
    MLPNetClassifier,
    Normalizer255,
    load_mnist_sample,
    save,
)
from sklearn_mnist._cli import EXIT_CODES, build_parser, main

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"  # tiny LogisticRegression budget
)


@pytest.fixture(scope="module")
def sample():
    X, y = load_mnist_sample(return_X_y=True)
    return X[::8], y[::8]


@pytest.fixture(scope="module")
def mlp_file(sample, tmp_path_factory):
    """An MLP pipeline in sklearn-mnist's format."""
    X, y = sample
    model = make_pipeline(
        Normalizer255(), MLPNetClassifier(max_epochs=2, batch_size=32, random_state=0)
    ).fit(X, y)
    return save(model, tmp_path_factory.mktemp("models") / "mlp.skmnist")


@pytest.fixture(scope="module")
def logreg(sample):
    X, y = sample
    return LogisticRegression(max_iter=20).fit(X.reshape(len(X), -1) / 255, y)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Default outputs (model.skmnist, sklearn-mnist-report) land in tmp_path."""
    monkeypatch.chdir(tmp_path)


# ------------------------------------------------------------------ happy paths
def test_demo_writes_the_report_folder(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["demo", "--output", str(out), "--epochs", "2"]) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "precision" in text and "macro avg" in text and "most confused" in text
    expected = {
        "classification_report.txt", "report.json", "confusion_matrix.png",
        "misclassified.png", "adversarial.png", "robustness_curve.png",
    }  # fmt: skip
    assert expected <= {p.name for p in out.iterdir()}
    report = json.loads((out / "report.json").read_text())
    assert report["accuracy"] > 0.85
    # One model, printed and saved: the CNN pipeline, named in both places.
    assert report["model"].startswith("CNN pipeline")
    assert f"model: {report['model']}" in text
    assert f"accuracy: {report['accuracy']:.4f} on 1000 samples" in text
    saved = (out / "classification_report.txt").read_text()
    assert saved.startswith(f"model: {report['model']}")
    assert report["robustness_curve"]["eps"][0] == 0
    assert report["robustness_curve"]["accuracy"][0] == pytest.approx(
        report["accuracy"]
    )
    assert report["robustness_curve"]["accuracy"][-1] < report["accuracy"]
    assert len(report["confusion_matrix"]) == 10
    # Progress on stderr (plain lines off a terminal); results on stdout, the
    # last line naming the report folder.
    assert "[1/5] grid search" in captured.err and "[5/5]" in captured.err
    assert "[1/5]" not in text
    assert text.strip().splitlines()[-1].endswith(str(out.resolve()))
    # The ensemble and its members side by side, highest first, no claim.
    lines = text.splitlines()
    head = lines.index("test accuracy on the same 1,000 digits, highest first:")
    table = [line.split(maxsplit=1) for line in lines[head + 1 : head + 4]]
    assert [float(a) for a, _ in table] == sorted(
        (float(a) for a, _ in table), reverse=True
    )
    assert {what for _, what in table} == {
        "CNN pipeline (the report's model)", "MLP pipeline",
        "soft-voting ensemble (MLP + CNN)",
    }  # fmt: skip
    cnn = next(float(a) for a, what in table if what.startswith("CNN"))
    assert cnn == pytest.approx(report["accuracy"], abs=1e-4)
    assert "alone" not in text


def test_fit_evaluate_attack_round_trip(tmp_path, capsys):
    assert main(["fit", "--model", "mlp", "--epochs", "2"]) == 0
    model = tmp_path / "model.skmnist"
    captured = capsys.readouterr()
    assert captured.out.strip() == f"model saved to {model.resolve()}"
    # Progress off a terminal: stage lines on stderr, as the demo's.
    err = captured.err.splitlines()
    assert err[0] == "[1/3] loading the sample training data"
    assert err[1].startswith(
        "[2/3] fitting Pipeline(Normalizer255 -> MLPNetClassifier) on 4,000 sample "
        "images"
    )
    assert err[2].startswith("[3/3] fitted in ") and "saving the model" in err[2]
    assert main(["evaluate", str(model), "--output", "ev"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "accuracy:" in out and "Pipeline(Normalizer255 -> MLPNetClassifier)" in out
    assert out.strip().splitlines()[-1].endswith(str((tmp_path / "ev").resolve()))
    assert "[1/4] loading the sample test data" in captured.err
    assert "[2/4] evaluating on 1,000 images" in captured.err
    assert "[3/4] attacking with FGSM (eps=0.2)" in captured.err
    assert "[4/4]" in captured.err and "[1/4]" not in out
    assert main(["attack", str(model), "--eps", "0.1", "--output", "a"]) == 0
    captured = capsys.readouterr()
    X_adv = np.load(tmp_path / "a" / "adversarial.npy")
    assert X_adv.shape == (1000, 28, 28)
    assert str((tmp_path / "a" / "adversarial.npy").resolve()) in captured.out
    assert "[2/4] attacking 1,000 images with FGSM (eps=0.1)" in captured.err
    # The attack folder: labels, both predictions and a summary beside the images.
    labels = np.load(tmp_path / "a" / "labels.npy")
    clean = np.load(tmp_path / "a" / "predictions_clean.npy")
    adv = np.load(tmp_path / "a" / "predictions_adversarial.npy")
    assert labels.shape == clean.shape == adv.shape == (1000,)
    summary = json.loads((tmp_path / "a" / "attack.json").read_text())
    assert summary["attack"] == "fgsm" and summary["eps"] == 0.1
    assert summary["n_iter"] == 1 and summary["n_samples"] == 1000
    assert summary["accuracy_clean"] == pytest.approx(np.mean(clean == labels))
    assert summary["accuracy_adversarial"] == pytest.approx(np.mean(adv == labels))
    assert summary["accuracy_adversarial"] < summary["accuracy_clean"]
    assert summary["model"] == "Pipeline(Normalizer255 -> MLPNetClassifier) from " + (
        str(model)
    )
    assert (
        f"accuracy clean {summary['accuracy_clean']:.4f}, under attack (FGSM, "
        f"eps=0.1, n_iter=1) {summary['accuracy_adversarial']:.4f}"
    ) in captured.out
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "adversarial.npy", "attack.json", "labels.npy",
        "predictions_adversarial.npy", "predictions_clean.npy",
    ]  # fmt: skip


def test_progress_is_a_bar_on_a_terminal_and_quiet_silences_it(
    tmp_path, capsys, monkeypatch, mlp_file
):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    argv = ["fit", "--model", "mlp", "--epochs", "1", "--output", "m.skmnist"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "fit: 100%" in err and "3/3" in err and "[1/3]" not in err
    assert main(["attack", str(mlp_file), "--output", "a"]) == 0
    err = capsys.readouterr().err
    assert "attack: 100%" in err and "4/4" in err
    # --quiet (before or after the command): no progress, the results still printed
    for quiet in (["-q", *argv], [*argv, "--quiet"]):
        assert main([*quiet, "--overwrite"]) == 0
        captured = capsys.readouterr()
        assert captured.err == "" and captured.out.startswith("model saved to")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert main(["--quiet", "attack", str(mlp_file), "--output", "b"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "accuracy clean" in captured.out


def test_evaluate_titles_the_adversarial_figure_with_the_attack_and_eps(
    tmp_path, capsys, monkeypatch, mlp_file
):
    from sklearn_mnist.metrics import _plots

    titles = []
    real = _plots.plot_adversarial_examples

    def recorded(*args, **kwargs):
        fig = real(*args, **kwargs)
        titles.append(fig._suptitle.get_text())
        return fig

    monkeypatch.setattr(_plots, "plot_adversarial_examples", recorded)
    argv = ["evaluate", str(mlp_file), "--eps", "0.15", "--output", "r"]
    assert main(argv) == 0
    (title,) = titles
    assert title.startswith("MLPNetClassifier pipeline, FGSM attack, eps=0.15\n")


def test_ctrl_c_during_fit_exits_130_and_writes_nothing(tmp_path, monkeypatch, capsys):
    """skorch ends training on KeyboardInterrupt and returns; the command must
    not then save the half-trained model with exit code 0."""
    import os
    import signal

    from skorch.callbacks import Callback

    from sklearn_mnist._cli import _io

    class CtrlC(Callback):
        def on_batch_end(self, net, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)

    make = _io.classifier

    def with_ctrl_c(*args, **kwargs):
        model = make(*args, **kwargs)
        model[-1].set_params(callbacks=[CtrlC()])
        return model

    monkeypatch.setattr(_io, "classifier", with_ctrl_c)
    before = signal.getsignal(signal.SIGINT)
    out = tmp_path / "m.skmnist"
    assert main(["fit", "--epochs", "3", "--output", str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.iterdir())
    assert signal.getsignal(signal.SIGINT) is before  # handler restored


def test_fit_is_not_silent_with_verbose(tmp_path, capsys):
    argv = ["-v", "fit", "--model", "mlp", "--epochs", "1", "--output", "m.skmnist"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "fitting Pipeline(Normalizer255 -> MLPNetClassifier)" in captured.err
    assert "train_loss" in captured.err  # skorch's epoch table, on stderr
    assert captured.out.startswith("model saved to")
    assert "train_loss" not in captured.out


def test_help_shows_exit_codes_defaults_and_help_everywhere(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "exit codes:" in text
    for code in EXIT_CODES:
        assert f"  {code}  " in text
    parser = build_parser()
    commands = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    for name, sub in commands.items():
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings} has no help"
            if "--trust-pickle" in action.option_strings:
                assert "runs any code" in action.help
        text = " ".join(sub.format_help().split())
        assert "exit codes:" in text and "130 interrupted" in text
        assert text.count("(default:") >= 5, name


def test_version_prints_the_package_version(capsys):
    from sklearn_mnist._version import __version__

    assert main(["--version"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"sklearn-mnist {__version__}\n"
    assert captured.err == ""


# ------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "model.skmnist", "--eps", "5"], "--eps: must be in [0, 1]"),
        (["attack", "model.skmnist", "--eps", "-0.1"], "--eps: must be in [0, 1]"),
        (["evaluate", "model.skmnist", "--eps", "big"], "expected a number"),
        (["fit", "--epochs", "0"], "--epochs: must be at least 1, got 0"),
        (["fit", "--epochs", "-3"], "--epochs: must be at least 1, got -3"),
        (["attack", "model.skmnist", "--n-iter", "0"], "--n-iter: must be at least 1"),
        (["export-onnx", "m.skmnist", "--opset", "0"], "--opset: must be at least 18"),
        (["export-onnx", "m.skmnist", "--opset", "17"], "--opset: must be at least 18"),
        (["export-onnx", "m.skmnist", "--opset", "99"], "--opset: must be at most"),
        (["fit", "--random-state", "-1"], "--random-state: must be at least 0"),
        (["fit", "--random-state", str(2**32)], "--random-state: must be at most"),
        (["export-onnx", "m.skmnist", "--check-samples", "-1"], "must be at least 0"),
        (["fit", "--device", "gpu9"], "--device: device must be 'auto' or a torch"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2(one_line_error, tmp_path, capsys, argv, message):
    assert main(argv) == 2
    assert message in one_line_error(capsys)
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("command", [["fit"], ["evaluate", "m.skmnist"]])
def test_device_cuda_without_cuda_exits_2(one_line_error, tmp_path, capsys, command):
    assert main([*command, "--device", "cuda"]) == 2
    assert "CUDA is not available here" in one_line_error(capsys)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------ model files
def test_payload_pickle_never_runs_without_trust_pickle(
    one_line_error, tmp_path, capsys
):
    """A joblib file whose __reduce__ creates a marker file when unpickled."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    joblib.dump(Payload(), tmp_path / "model.joblib")
    for command in ("evaluate", "attack"):
        assert main([command, "model.joblib"]) == 4
        err = one_line_error(capsys)
        assert "runs any code" in err and "--trust-pickle" in err
        assert not marker.exists()
    # The payload is real: with the flag it runs (and the result is no model).
    assert main(["evaluate", "model.joblib", "--trust-pickle"]) == 4
    assert marker.exists()
    assert "not a scikit-learn classifier" in one_line_error(capsys)


def test_text_file(one_line_error, tmp_path, capsys):
    (tmp_path / "junk.skmnist").write_text("not a model\n")
    assert main(["evaluate", "junk.skmnist"]) == 4
    assert "is not a sklearn-mnist model file" in one_line_error(capsys)
    assert main(["attack", "junk.skmnist", "--trust-pickle"]) == 4
    assert "as a pickle / joblib file either" in one_line_error(capsys)


def test_dict_pickle(one_line_error, tmp_path, capsys):
    joblib.dump({"weights": [1, 2]}, tmp_path / "d.joblib")
    assert main(["evaluate", "d.joblib"]) == 4
    assert "--trust-pickle" in one_line_error(capsys)
    assert main(["evaluate", "d.joblib", "--trust-pickle"]) == 4
    assert "holds a dict, not a scikit-learn classifier" in one_line_error(capsys)


def test_missing_and_corrupted_model_files(one_line_error, tmp_path, capsys, mlp_file):
    assert main(["evaluate", "missing.skmnist"]) == 4
    assert "model file not found: missing.skmnist" in one_line_error(capsys)
    (tmp_path / "cut.skmnist").write_bytes(mlp_file.read_bytes()[:5000])
    assert main(["attack", "cut.skmnist"]) == 4
    assert "truncated" in one_line_error(capsys)
    assert main(["evaluate", str(tmp_path)]) == 4
    assert "is a folder" in one_line_error(capsys)


def test_pickled_logistic_regression(one_line_error, tmp_path, capsys, logreg):
    """A classifier fitted on flat rows: evaluate says why it cannot predict."""
    joblib.dump(logreg, tmp_path / "lr.joblib")
    assert main(["evaluate", "lr.joblib"]) == 4
    assert "--trust-pickle" in one_line_error(capsys)
    assert main(["evaluate", "lr.joblib", "--trust-pickle"]) == 4
    err = one_line_error(capsys)
    assert "cannot predict the test images (shape (1000, 28, 28)" in err
    assert "Flatten()" in err


def test_a_model_that_cannot_be_attacked(one_line_error, tmp_path, capsys, sample):
    """Evaluated (without the attack figures), refused by attack with a reason."""
    X, y = sample
    model = make_pipeline(Flatten(), LogisticRegression(max_iter=20)).fit(X / 255, y)
    save(model, tmp_path / "lr.skmnist")
    assert main(["evaluate", "lr.skmnist", "--output", "report"]) == 0
    captured = capsys.readouterr()
    assert "no adversarial figures" in captured.err
    names = {p.name for p in (tmp_path / "report").iterdir()}
    assert "report.json" in names and "adversarial.png" not in names
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["model"] == "Pipeline(Flatten -> LogisticRegression) from lr.skmnist"
    assert main(["attack", "lr.skmnist"]) == 4
    err = one_line_error(capsys)
    assert "cannot attack the model in lr.skmnist" in err
    assert "LogisticRegression" in err
    assert not (tmp_path / "sklearn-mnist-attack").exists()


# ------------------------------------------------------------------ outputs
@pytest.mark.parametrize("command", ["demo", "evaluate", "attack", "fit"])
def test_existing_output_is_not_replaced(
    one_line_error, tmp_path, capsys, mlp_file, command
):
    argv = {
        "demo": ["demo"],
        "evaluate": ["evaluate", str(mlp_file)],
        "attack": ["attack", str(mlp_file)],
        "fit": ["fit", "--model", "mlp", "--epochs", "1"],
    }[command]
    if command == "fit":
        out = tmp_path / "model.skmnist"
        out.write_text("keep me")
    else:
        out = tmp_path / "out"
        out.mkdir()
        (out / "keep.txt").write_text("keep me")
        argv += ["--output", "out"]
    assert main(argv) == 5
    assert "pass --overwrite" in one_line_error(capsys)
    kept = out if command == "fit" else out / "keep.txt"
    assert kept.read_text() == "keep me"
    if command in ("attack", "fit"):
        if command == "attack":  # --overwrite replaces a previous report only
            (out / "adversarial.npy").write_text("old")
        assert main([*argv, "--overwrite"]) == 0
        written = out if command == "fit" else out / "adversarial.npy"
        assert written.stat().st_size > 1000


def test_empty_output_folder_is_fine(tmp_path, mlp_file):
    (tmp_path / "a").mkdir()
    assert main(["attack", str(mlp_file), "--output", "a"]) == 0


# ------------------------------------------------------------------ data, errors
def test_offline_fetch_says_how_to_use_local_files(
    one_line_error, tmp_path, capsys, monkeypatch
):
    argv = ["fit", "--data", "mnist", "--offline", "--data-home", str(tmp_path)]
    assert main(argv) == 3
    err = one_line_error(capsys)
    assert "download_if_missing is False" in err
    assert str(tmp_path / "mnist") in err and "--data-home" in err
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "home"))
    assert main(["fit", "--data", "fashion", "--offline"]) == 3
    err = one_line_error(capsys).split("error: ")[-1]
    assert f"pass --data-home DIR (by default DIR is {tmp_path / 'home'})" in err


def test_unexpected_errors_exit_1_traceback_only_with_verbose(
    one_line_error, capsys, monkeypatch
):
    def boom(args, subset):
        raise RuntimeError("boom")

    monkeypatch.setattr("sklearn_mnist._cli._io.load_data", boom)
    assert main(["fit"]) == 1
    err = one_line_error(capsys)
    assert "RuntimeError: boom" in err and "--verbose" in err
    assert main(["fit", "-v"]) == 1
    assert "Traceback" in capsys.readouterr().err


# ------------------------------------------------------------------ export-onnx
def test_export_onnx_writes_a_checked_file(
    one_line_error, tmp_path, capsys, mlp_file, sample
):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from sklearn_mnist import load

    assert main(["export-onnx", str(mlp_file), "--check-samples", "300"]) == 0
    out = capsys.readouterr().out
    path = tmp_path / "model.onnx"  # the default --output
    assert f"written to {path.resolve()}" in out
    assert "float32 (n, 784), values in [0.0, 255.0]" in out
    assert "300 samples: labels identical" in out and "passed" in out
    assert "feed it flat rows, arrays of shape (n, 784)" in out
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    X, _ = sample
    proba, label = session.run(None, {"input": X.astype(np.float32)})
    model = load(mlp_file)
    np.testing.assert_array_equal(model.classes_[label], model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5, rtol=0)
    # Not replaced without --overwrite; replaced with it.
    before = path.read_bytes()
    assert main(["export-onnx", str(mlp_file)]) == 5
    assert "pass --overwrite" in one_line_error(capsys)
    argv = ["export-onnx", str(mlp_file), "--overwrite", "--check-samples", "0"]
    assert main([*argv, "--opset", "18"]) == 0
    assert "not checked" in capsys.readouterr().out
    assert path.read_bytes() != before  # another opset: another file


def test_export_onnx_says_how_to_feed_flat_rows_to_an_image_model(
    tmp_path, capsys, sample
):
    """A model fitted on (n, 28, 28) images takes (n, 28, 28); the printed
    reshape turns load_mnist_sample's flat rows into that."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    X, y = sample
    images = X.reshape(-1, 28, 28)
    model = make_pipeline(
        Normalizer255(), MLPNetClassifier(max_epochs=1, batch_size=64, random_state=0)
    ).fit(images, y)
    save(model, tmp_path / "img.skmnist")
    assert main(["export-onnx", "img.skmnist", "--check-samples", "0"]) == 0
    out = capsys.readouterr().out
    assert "float32 (n, 28, 28)" in out
    assert "flat rows of 784 values (such as load_mnist_sample's X" in out
    assert "X.reshape(-1, 28, 28).astype(np.float32)" in out
    session = ort.InferenceSession(
        str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    flat, _ = load_mnist_sample(return_X_y=True)
    _, label = session.run(
        None, {"input": flat[:20].reshape(-1, 28, 28).astype(np.float32)}
    )
    np.testing.assert_array_equal(
        model.classes_[label], model.predict(flat[:20].reshape(-1, 28, 28))
    )


def test_export_onnx_refuses_what_it_cannot_export(
    one_line_error, tmp_path, capsys, sample, logreg
):
    pytest.importorskip("onnxscript")
    X, y = sample
    save(make_pipeline(Flatten(), LogisticRegression(max_iter=20)).fit(X / 255, y),
         tmp_path / "lr.skmnist")  # fmt: skip
    assert main(["export-onnx", "lr.skmnist"]) == 4
    err = one_line_error(capsys)
    assert "cannot export the model in lr.skmnist" in err
    assert "got the classifier LogisticRegression" in err
    joblib.dump(logreg, tmp_path / "lr.joblib")
    assert main(["export-onnx", "lr.joblib"]) == 4
    assert "--trust-pickle" in one_line_error(capsys)
    assert main(["export-onnx", "missing.skmnist"]) == 4
    assert not (tmp_path / "model.onnx").exists()


def test_export_onnx_without_onnx_exits_6(
    one_line_error, tmp_path, capsys, mlp_file, monkeypatch
):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import fails
    assert main(["export-onnx", str(mlp_file)]) == 6
    err = one_line_error(capsys)
    # The package is not on PyPI: the message says what works from a checkout.
    assert "pip install -e '.[onnx]' in the sklearn-mnist checkout" in err
    assert "pip install onnx onnxscript onnxruntime" in err
    assert "sklearn-mnist[" not in err
    assert not (tmp_path / "model.onnx").exists()


def test_export_onnx_check_failure_writes_nothing(
    one_line_error, tmp_path, capsys, mlp_file, monkeypatch
):
    """A file that disagrees with the model is not written (exit 4)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from sklearn_mnist.export import _verify

    real = _verify.verify_onnx

    def off_by_a_bit(model, onnx_model, X, **kw):
        result = real(model, onnx_model, X, **kw)
        return type(result)(result.n_samples, 3, 0.01, result.atol)

    monkeypatch.setattr("sklearn_mnist.export.verify_onnx", off_by_a_bit)
    assert main(["export-onnx", str(mlp_file), "--check-samples", "50"]) == 4
    err = one_line_error(capsys)
    assert "disagrees with it on bundled sample digits" in err
    assert "3 labels differ" in err and "nothing written" in err
    assert not (tmp_path / "model.onnx").exists()
