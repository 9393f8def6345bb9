"""The command line's outputs: checked before any work, written whole or not
at all, and Ctrl-C (one line, exit code 130) at any moment."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import sklearn_mnist.metrics
from sklearn_mnist import (
    Flatten,
    MLPNetClassifier,
    Normalizer255,
    load_mnist_sample,
    save,
)
from sklearn_mnist._cli import _io, _main, main

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"  # tiny LogisticRegression budget
)


@pytest.fixture(scope="module")
def sample():
    X, y = load_mnist_sample(return_X_y=True)
    return X[::8], y[::8]


@pytest.fixture(scope="module")
def mlp_file(sample, tmp_path_factory):
    X, y = sample
    model = make_pipeline(
        Normalizer255(), MLPNetClassifier(max_epochs=1, batch_size=64, random_state=0)
    ).fit(X, y)
    return save(model, tmp_path_factory.mktemp("models") / "mlp.skmnist")


@pytest.fixture(scope="module")
def lr_file(sample, tmp_path_factory):
    """A model that cannot be attacked: its report has no adversarial figures."""
    X, y = sample
    model = make_pipeline(Flatten(), LogisticRegression(max_iter=20)).fit(X / 255, y)
    return save(model, tmp_path_factory.mktemp("models") / "lr.skmnist")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def no_work(monkeypatch):
    """Any data loading (the start of every command's work) fails the test."""

    def load_data(*args, **kwargs):
        raise AssertionError("the command started its work")

    monkeypatch.setattr(_io, "load_data", load_data)


def _argv(command, model_file, output):
    return {
        "fit": ["fit", "--model", "mlp", "--epochs", "1"],
        "demo": ["demo", "--epochs", "1"],
        "evaluate": ["evaluate", str(model_file)],
        "attack": ["attack", str(model_file)],
        "export-onnx": ["export-onnx", str(model_file)],
    }[command] + ["--output", output]


COMMANDS = ["fit", "demo", "evaluate", "attack", "export-onnx"]


# ------------------------------------------------------------------ checked first
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "output, message",
    [
        ("/proc/sklearn-mnist-out", "is a system folder"),
        ("a-file/out", "a-file is not a folder"),
        ("a-file/deeper/out", "a-file is not a folder"),
        ("x" * 300, "a name in it is 300 bytes long; this file system allows at most"),
        ("new/" + "y" * 256 + "/out", "256 bytes long"),
    ],
    ids=["proc", "under-a-file", "under-a-file-deeper", "300-char-name", "long-dir"],
)
def test_unwritable_outputs_stop_before_any_work(
    one_line_error, capsys, tmp_path, mlp_file, no_work, command, output, message
):
    (tmp_path / "a-file").write_text("keep me")
    assert main(_argv(command, mlp_file, output)) == 5
    err = one_line_error(capsys)
    assert "cannot write" in err and message in err
    assert sorted(os.listdir(tmp_path)) == ["a-file"]  # nothing created
    assert (tmp_path / "a-file").read_text() == "keep me"


@pytest.mark.parametrize("command", ["evaluate", "attack", "export-onnx"])
def test_input_problems_come_before_output_problems(
    one_line_error, capsys, tmp_path, no_work, command
):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("keep me")
    (tmp_path / "junk.skmnist").write_text("not a model\n")
    for model, message in [
        ("missing.skmnist", "model file not found"),
        ("junk.skmnist", "is not a sklearn-mnist model file"),
    ]:
        for output in ("out", "/proc/x", "x" * 300):
            assert main(_argv(command, model, output)) == 4
            assert message in one_line_error(capsys)


def test_a_folder_where_nothing_can_be_created():
    """Root passes ``os.access`` everywhere: the check creates a file."""
    assert not _io._can_create("/proc")
    with pytest.raises(_io.CLIError, match="cannot write"):
        _io.check_writable(_io.pathlib.Path("/proc/self/x/y"))


def test_a_long_name_within_the_limit_is_fine(tmp_path, mlp_file):
    """255 bytes: the temporary file beside it gets a shorter name."""
    name = "m" * 255
    assert main(["attack", str(mlp_file), "--output", name]) == 0
    assert os.listdir(tmp_path) == [name]
    assert (tmp_path / name / "adversarial.npy").stat().st_size > 1000


# ------------------------------------------------------------------ whole or nothing
def _fake_report(files, fail=None):
    """A write_report that writes ``files`` into its folder, then raises
    ``fail`` if given."""

    def write_report(estimator, X, y, output, **kwargs):
        for name in files:
            (output / name).write_text(name)
        if fail is not None:
            raise fail
        return "evaluation"

    return write_report


@pytest.mark.parametrize("existing", [False, True])
def test_ctrl_c_while_the_report_is_written_leaves_nothing(
    capsys, tmp_path, monkeypatch, lr_file, existing
):
    out = tmp_path / "report"
    if existing:
        out.mkdir()
        (out / "report.json").write_text("old")
    fake = _fake_report(["report.json", "confusion_matrix.png"], KeyboardInterrupt())
    monkeypatch.setattr(sklearn_mnist.metrics, "write_report", fake)
    argv = ["evaluate", str(lr_file), "--output", "report", "--overwrite"]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "sklearn-mnist: interrupted"
    assert "Traceback" not in err
    # no temporary folder, the old report as it was (or none)
    assert os.listdir(tmp_path) == (["report"] if existing else [])
    if existing:
        assert os.listdir(out) == ["report.json"]
        assert (out / "report.json").read_text() == "old"
    # the rerun is not refused ("exists and is not empty")
    monkeypatch.setattr(sklearn_mnist.metrics, "write_report", _fake_report(["a"]))
    assert main(argv[:-1] + (["--overwrite"] if existing else [])) == 0


def test_an_error_while_the_report_is_written_leaves_nothing(
    one_line_error, capsys, tmp_path, monkeypatch, lr_file
):
    fake = _fake_report(["report.json"], OSError(28, "No space left on device"))
    monkeypatch.setattr(sklearn_mnist.metrics, "write_report", fake)
    assert main(["evaluate", str(lr_file), "--output", "report"]) == 5
    assert "No space left on device" in one_line_error(capsys)
    assert os.listdir(tmp_path) == []


def test_overwrite_leaves_no_stale_file(capsys, tmp_path, lr_file):
    """The previous model's attack figures do not stay beside a report that
    has none."""
    out = tmp_path / "report"
    out.mkdir()
    for name in ("adversarial.png", "robustness_curve.png", "report.json"):
        (out / name).write_text("old")
    argv = ["evaluate", str(lr_file), "--output", "report", "--overwrite"]
    assert main(argv) == 0
    names = set(os.listdir(out))
    assert "report.json" in names and "confusion_matrix.png" in names
    assert not names & {"adversarial.png", "robustness_curve.png"}
    assert json.loads((out / "report.json").read_text())["accuracy"] > 0.5
    assert os.listdir(tmp_path) == ["report"]  # no temporary or old folder left


def test_attack_overwrite_replaces_the_folder(capsys, tmp_path, mlp_file):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "adversarial.npy").write_text("old")  # a previous attack
    (tmp_path / "a" / "stale.npy").write_text("old")
    assert main(["attack", str(mlp_file), "--output", "a", "--overwrite"]) == 0
    assert sorted(os.listdir(tmp_path / "a")) == [
        "adversarial.npy", "attack.json", "labels.npy",
        "predictions_adversarial.npy", "predictions_clean.npy",
    ]  # fmt: skip
    assert os.listdir(tmp_path) == ["a"]


def test_overwrite_never_replaces_a_folder_that_is_not_a_report(
    one_line_error, capsys, tmp_path, mlp_file, no_work
):
    """--overwrite replaced the whole folder: the model evaluated in it, a
    user's notes, the current folder."""
    import shutil

    out = tmp_path / "out"
    out.mkdir()
    model = out / "model.skmnist"
    shutil.copy(mlp_file, model)
    (out / "report.json").write_text("{}")  # even beside an old report
    argv = ["evaluate", str(model), "--output", "out", "--overwrite"]
    assert main(argv) == 5
    assert "holds the input" in one_line_error(capsys) and model.exists()
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    assert main(["attack", str(mlp_file), "--output", "notes", "--overwrite"]) == 5
    assert "not a previous report" in one_line_error(capsys)
    assert (notes / "notes.txt").read_text() == "mine"
    assert main(["attack", str(mlp_file), "--output", ".", "--overwrite"]) == 5
    assert "choose another --output" in one_line_error(capsys)


def test_a_fifo_as_model_file_is_refused_without_blocking(
    one_line_error, capsys, tmp_path
):
    fifo = tmp_path / "model.skmnist"
    os.mkfifo(fifo)
    assert main(["evaluate", str(fifo), "--output", "r"]) == 4
    assert "not a regular file" in one_line_error(capsys)


# ------------------------------------------------------------------ Ctrl-C
def _ctrl_c_callback():
    from skorch.callbacks import Callback

    class CtrlC(Callback):
        fits = 0

        def on_train_begin(self, net, **kwargs):
            type(self).fits += 1

        def on_batch_end(self, net, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)

    return CtrlC


def test_ctrl_c_during_the_grid_search_ends_the_demo(capsys, tmp_path, monkeypatch):
    """The first fit of the search is interrupted: no other fit starts, the
    command exits 130 and writes nothing."""
    CtrlC = _ctrl_c_callback()
    make = _io.classifier

    def with_ctrl_c(*args, **kwargs):
        model = make(*args, **kwargs)
        model[-1].set_params(callbacks=[CtrlC()])
        return model

    monkeypatch.setattr(_io, "classifier", with_ctrl_c)
    before = signal.getsignal(signal.SIGINT)
    assert main(["demo", "--epochs", "3", "--output", "report"]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "sklearn-mnist: interrupted"
    assert "Traceback" not in err
    assert CtrlC.fits == 1
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_while_parsing_the_arguments(capsys, monkeypatch):
    def build_parser():
        raise KeyboardInterrupt

    monkeypatch.setattr(_main, "build_parser", build_parser)
    assert main(["fit"]) == 130
    assert capsys.readouterr().err == "sklearn-mnist: interrupted\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/maps")
@pytest.mark.parametrize("how", ["module", "script"])
def test_ctrl_c_while_the_command_imports(tmp_path, how):
    """SIGINT once torch is loading (seen in /proc/PID/maps), before the
    imports finish: one line, exit code 130, no traceback, nothing written."""
    script = os.path.join(os.path.dirname(sys.executable), "sklearn-mnist")
    if how == "script" and not os.path.exists(script):
        pytest.skip("the sklearn-mnist script is not installed beside python")
    command = [sys.executable, "-m", "sklearn_mnist"] if how == "module" else [script]
    process = subprocess.Popen(
        [*command, "fit", "--output", "m.skmnist"], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(f"/proc/{process.pid}/maps") as f:
                if "libtorch" in f.read():
                    break
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert err.decode().strip() == "sklearn-mnist: interrupted"
    assert out == b""
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "argv0, orig_argv, expected",
    [
        ("/venv/bin/sklearn-mnist", ["python", "/venv/bin/sklearn-mnist"], True),
        ("-m", ["python", "-m", "sklearn_mnist", "fit"], True),
        ("-m", ["python", "-X", "importtime", "-msklearn_mnist"], True),
        ("-m", ["python", "-m", "pytest"], False),
        ("-m", ["python", "-m", "other", "sklearn_mnist"], False),
        ("/venv/bin/pytest", ["python", "/venv/bin/pytest"], False),
        ("-c", ["python", "-c", "import sklearn_mnist"], False),
        ("script.py", ["python", "script.py", "-m", "sklearn_mnist"], False),
    ],
)
def test_only_the_command_gets_the_start_up_handler(
    monkeypatch, argv0, orig_argv, expected
):
    """A program that imports sklearn_mnist keeps its KeyboardInterrupt."""
    from sklearn_mnist import _startup

    monkeypatch.setattr(sys, "argv", [argv0])
    monkeypatch.setattr(sys, "orig_argv", orig_argv, raising=False)
    assert _startup._is_command() is expected
    assert signal.getsignal(signal.SIGINT) is not _startup._interrupted
