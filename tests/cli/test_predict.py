"""``sklearn-mnist predict MODEL PATH...``: files and folders in, one line per
file out (LABEL, PROBABILITY, PATH, tab-separated), an optional CSV, the exit
codes of the other commands."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import sklearn_mnist.datasets
from sklearn_mnist import MLPNetClassifier, load_mnist_sample, save
from sklearn_mnist._cli import build_parser, main
from sklearn_mnist.datasets import _images, make_photo_digits
from sklearn_mnist.preprocessing import (
    DigitNormalizer,
    Flatten,
    ImageFileReader,
    Normalizer255,
)
from sklearn_mnist.reject import RejectOptionClassifier

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"  # tiny LogisticRegression budget
)


def run(capsys, *argv):
    code = main(["predict", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def parse(out):
    """``[(label, probability, path)]`` of the command's lines."""
    rows = []
    for line in out.splitlines():
        label, probability, path = line.split("\t")
        rows.append((label, float(probability), path))
    return rows


def true_label(path):
    return os.path.basename(path).split(".")[0].split("_")[1]


def accuracy(rows):
    return np.mean([label == true_label(path) for label, _, path in rows])


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def digits():
    X, y = load_mnist_sample(return_X_y=True)
    return X.reshape(-1, 28, 28), y


@pytest.fixture(scope="module")
def mlp(digits):
    """Fitted on the even-numbered sample digits (the photos are odd ones)."""
    X, y = digits
    return MLPNetClassifier(max_epochs=2, random_state=0).fit(X[::2], y[::2])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def model_file(mlp, models):
    return save(mlp, models / "mlp.skmnist")


@pytest.fixture(scope="module")
def photos(digits, tmp_path_factory):
    """40 photo-like held-out digits, 4 per class: JPEGs in ``jpeg/``, PNGs in
    ``png/nested/``, named ``<index>_<label>``; beside them a hidden image and
    a text file, which the command must pass over."""
    X, y = digits
    index = np.arange(1, 5000, 126)  # odd: not in the training half
    root = tmp_path_factory.mktemp("photos")
    (root / "jpeg").mkdir()
    (root / "png" / "nested").mkdir(parents=True)
    pictures = make_photo_digits(X[index], random_state=0)
    files = []
    for k, (i, picture) in enumerate(zip(index, pictures, strict=True)):
        if k % 2:
            path = root / "png" / "nested" / f"{i:04d}_{y[i]}.png"
        else:
            path = root / "jpeg" / f"{i:04d}_{y[i]}.jpg"
        Image.fromarray(picture).save(path, quality=90)
        files.append(str(path))
    Image.fromarray(pictures[0]).save(root / "jpeg" / ".hidden.png")
    (root / "png" / "notes.txt").write_text("not an image\n")
    return root, sorted(files)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def normalised(paths, deskew=False):
    """What the command feeds an MNIST-style model by default."""
    pictures = [_images.read_image(p) for p in paths]
    return DigitNormalizer(deskew=deskew).transform(pictures)


def resized(paths, mode="L"):
    return np.stack([_images.read_image(p, size=(28, 28), mode=mode) for p in paths])


def check_rows(rows, paths, model, X):
    """The command's rows are the model's answers on ``X`` for ``paths``."""
    assert [path for _, _, path in rows] == [str(p) for p in paths]
    proba = model.predict_proba(X.astype(np.float32))
    labels = model.classes_[proba.argmax(1)]
    assert [label for label, _, _ in rows] == [str(v) for v in labels]
    np.testing.assert_allclose([p for _, p, _ in rows], proba.max(1), atol=6e-5)


# ------------------------------------------------------------------ happy paths
def test_folders_give_one_line_per_image_file_as_the_library_does(
    capsys, photos, model_file, mlp
):
    root, files = photos
    code, out, err = run(capsys, model_file, root)
    assert code == 0 and err == ""  # stderr is not a terminal: quiet
    rows = parse(out)
    # recursive, sorted (jpeg/ before png/nested/), hidden and .txt passed over
    assert len(rows) == 40
    check_rows(rows, files, mlp, normalised(files))
    assert accuracy(rows) >= 0.65
    # a file named on the command line is read whatever its folder rules say
    hidden = root / "jpeg" / ".hidden.png"
    code, out, _ = run(capsys, model_file, hidden, files[3])
    assert code == 0
    assert [path for _, _, path in parse(out)] == [str(hidden), files[3]]


def test_normalize_off_resizes_and_is_worse_on_photos(capsys, photos, model_file, mlp):
    root, files = photos
    _, out_on, _ = run(capsys, model_file, root)
    code, out_off, _ = run(capsys, model_file, root, "--normalize", "off")
    assert code == 0
    check_rows(parse(out_off), files, mlp, resized(files))
    assert accuracy(parse(out_on)) > accuracy(parse(out_off)) + 0.3
    _, out_forced, _ = run(capsys, model_file, root, "--normalize", "on")
    assert out_forced == out_on  # auto is on for a 28x28 grey model
    code, out_deskew, _ = run(capsys, model_file, root, "--deskew")
    assert code == 0
    check_rows(parse(out_deskew), files, mlp, normalised(files, deskew=True))
    assert out_deskew != out_on


def test_batches_give_the_same_lines_and_bound_the_model_calls(
    capsys, photos, model_file, monkeypatch
):
    root, _ = photos
    _, whole, _ = run(capsys, model_file, root)
    sizes = []
    predict_proba = MLPNetClassifier.predict_proba

    def spy(self, X):
        sizes.append(len(X))
        return predict_proba(self, X)

    monkeypatch.setattr(MLPNetClassifier, "predict_proba", spy)
    code, out, _ = run(capsys, model_file, root, "--batch-size", "7")
    assert code == 0 and out == whole
    assert max(sizes) == 7 and sizes[-1] == 5  # 40 files: 5 batches of 7, then 5


def test_csv_output(capsys, photos, model_file, tmp_path, monkeypatch):
    root, files = photos
    target = tmp_path / "new" / "folder" / "predictions.csv"
    code, out, err = run(capsys, model_file, root, "--output", target)
    assert code == 0
    assert err.strip() == f"sklearn-mnist: predictions written to {target.resolve()}"
    with open(target, newline="") as f:
        table = list(csv.reader(f))
    header, body = table[0], table[1:]
    assert header == ["path", "label", "probability"] + [
        f"proba_{k}" for k in range(10)
    ]
    assert [r[0] for r in body] == files
    lines = parse(out)  # stdout has the same answers
    assert [r[1] for r in body] == [label for label, _, _ in lines]
    proba = np.array([[float(v) for v in r[3:]] for r in body])
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-4)
    np.testing.assert_allclose([float(r[2]) for r in body], proba.max(1))
    np.testing.assert_allclose([p for _, p, _ in lines], proba.max(1), atol=6e-5)
    assert os.listdir(target.parent) == ["predictions.csv"]  # no temporary left
    # a failure to put the file in place is an output error, nothing left behind
    with monkeypatch.context() as m:
        m.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("full")))
        code, _, err = run(capsys, model_file, root, "--output", "other.csv")
    assert code == 5 and "cannot write other.csv: full" in err
    assert os.listdir(tmp_path) == ["new"]


def test_output_is_refused_before_any_work(
    capsys, photos, model_file, tmp_path, monkeypatch
):
    root, files = photos
    (tmp_path / "old.csv").write_text("keep me\n")

    def no_reading(*args, **kwargs):
        raise AssertionError("an image was read")

    with monkeypatch.context() as m:
        # where the command line looks it up
        m.setattr(sklearn_mnist.datasets, "read_image", no_reading)
        code, out, err = run(capsys, model_file, root, "--output", "old.csv")
        assert code == 5 and out == ""
        assert "output file old.csv exists; pass --overwrite" in err
        (tmp_path / "a-file").write_text("")
        code, out, err = run(capsys, model_file, root, "--output", "a-file/p.csv")
        assert code == 5 and out == ""
        assert "a-file is not a folder" in err
        # input problems first: the model, then the PATHs, then the output
        code, _, err = run(capsys, "missing.skmnist", root, "--output", "old.csv")
        assert code == 4 and "model file not found" in err
        code, _, err = run(capsys, model_file, "nowhere.png", "--output", "old.csv")
        assert code == 3 and "nowhere.png: does not exist" in err
    assert (tmp_path / "old.csv").read_text() == "keep me\n"
    code, _, _ = run(capsys, model_file, files[0], "--output", "old.csv", "--overwrite")
    assert code == 0
    assert (tmp_path / "old.csv").read_text().startswith("path,label,probability")


# ------------------------------------------------------------------ bad files
def _bad_files(tmp_path, photos):
    """Every kind of file the command must refuse, by name."""
    good = photos[1][0]
    data = open(good, "rb").read()
    (tmp_path / "text.png").write_text("not an image\n")
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    Image.new("1", (8200, 8200)).save(tmp_path / "huge.png")  # > 8192 x 8192
    os.mkfifo(tmp_path / "fifo.png")
    return {
        "missing.png": "does not exist",
        "text.png": "is not an image file",
        "cut.jpg": "truncated or corrupted",
        "huge.png": "decompression bomb",
        "fifo.png": "is a FIFO",
    }


def test_each_bad_file_is_one_line_and_exit_3(
    one_line_error, capsys, photos, model_file, tmp_path
):
    for name, reason in _bad_files(tmp_path, photos).items():
        assert main(["predict", str(model_file), photos[1][0], name]) == 3, name
        line = one_line_error(capsys)
        assert f"error: {name}: " in line and reason in line, line
    # found in a folder: the same
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(open(photos[1][0], "rb").read())
    (folder / "b.png").write_text("not an image\n")
    assert main(["predict", str(model_file), str(folder)]) == 3
    assert f"{folder / 'b.png'}: is not an image file" in one_line_error(capsys)


def test_skip_bad_reports_them_and_goes_on(capsys, photos, model_file, tmp_path):
    reasons = _bad_files(tmp_path, photos)
    good = photos[1][:2]
    outside = tmp_path / "folder-link"
    outside.mkdir()
    (outside / "escape.png").symlink_to(good[0])  # out of the folder: refused
    code, out, err = run(
        capsys, model_file, good[0], *reasons, outside, good[1], "--skip-bad"
    )
    assert code == 0
    assert [path for _, _, path in parse(out)] == good
    lines = err.strip().splitlines()
    assert len(lines) == 7 and "Traceback" not in err
    for name, reason in reasons.items():
        assert any(
            line.startswith(f"sklearn-mnist: skipped {name}: ") and reason in line
            for line in lines
        ), name
    assert any("escape.png: is a symbolic link" in line for line in lines)
    assert lines[-1] == (
        "sklearn-mnist: skipped 6 file(s) that could not be read (--skip-bad); "
        "predicted 2"
    )
    # nothing readable: exit 3 all the same
    code, out, err = run(capsys, model_file, "text.png", "cut.jpg", "--skip-bad")
    assert code == 3 and out == ""
    assert "no image could be read: all 2 file(s)" in err.splitlines()[-1]
    code, _, err = run(capsys, model_file, "missing.png", "--skip-bad")
    assert code == 3 and "all 1 were skipped" in err.splitlines()[-1]


def test_no_image_in_the_paths_exits_3(one_line_error, capsys, model_file, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("text")
    Image.new("L", (5, 5)).save(tmp_path / "other" / ".hidden.png")
    for folder in ("empty", "other"):
        assert main(["predict", str(model_file), folder]) == 3
        assert f"no image file found in {folder}: folders are searched" in (
            one_line_error(capsys)
        )


# ------------------------------------------------------------------ models, args
def test_bad_models_and_arguments(one_line_error, capsys, photos, model_file, tmp_path):
    image = photos[1][0]
    (tmp_path / "junk.skmnist").write_text("not a model\n")
    code, out, err = run(capsys, "junk.skmnist", image)
    assert code == 4 and "is not a sklearn-mnist model file" in err and out == ""
    for argv, message in [
        ([model_file], "the following arguments are required: PATH"),
        ([model_file, image, "--batch-size", "0"], "--batch-size: must be at least 1"),
        ([model_file, image, "--normalize", "yes"], "invalid choice: 'yes'"),
        ([model_file, image, "--normalize", "off", "--deskew"], "--deskew needs"),
    ]:
        assert main(["predict", *map(str, argv)]) == 2
        assert message in one_line_error(capsys)
    # a model that takes no images: rows of 10 values
    X, y = np.random.default_rng(0).random((30, 10)), np.arange(30) % 3
    flat = save(LogisticRegression().fit(X, y), tmp_path / "flat.skmnist")
    code, _, err = run(capsys, flat, image)
    assert code == 4 and "it takes rows of 10 values, not a square image" in err


def test_help_and_exit_codes_mention_predict(capsys):
    parser = build_parser()
    assert "predict" in parser.format_help()
    assert main(["predict", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "LABEL, PROBABILITY and PATH" in text
    assert "(predict) an image file missing" in text and "130 interrupted" in text


# ------------------------------------------------------------------ model kinds
def test_pipelines_that_read_or_normalise_get_paths_or_pictures(
    one_line_error, capsys, photos, model_file, mlp, models, tmp_path, monkeypatch
):
    root, files = photos
    _, plain, _ = run(capsys, model_file, root)
    _, plain_off, _ = run(capsys, model_file, root, "--normalize", "off")
    reader = save(
        make_pipeline(ImageFileReader(size="keep"), DigitNormalizer(), mlp),
        models / "reader.skmnist",
    )
    normaliser = save(make_pipeline(DigitNormalizer(), mlp), models / "norm.skmnist")
    resizer = save(
        make_pipeline(ImageFileReader(size=(28, 28)), mlp), models / "resize.skmnist"
    )
    transform = ImageFileReader.transform
    read = []

    def spy(self, X):
        read.append(len(X))
        return transform(self, X)

    for path, expected in [(reader, plain), (normaliser, plain), (resizer, plain_off)]:
        with monkeypatch.context() as m:
            m.setattr(ImageFileReader, "transform", spy)
            code, out, _ = run(capsys, path, root, "--batch-size", "16")
        assert code == 0 and out == expected, path.name
        for option in (["--normalize", "on"], ["--normalize", "off"], ["--deskew"]):
            assert main(["predict", str(path), str(root), *option]) == 2
            assert "does not apply: the model in" in one_line_error(capsys)
    # their reading steps run one file at a time: one full-size picture in memory
    assert read == [1] * 80
    # the pipeline's reader meets a bad file: the same rules
    (tmp_path / "bad.png").write_text("not an image\n")
    assert main(["predict", str(reader), files[0], "bad.png"]) == 3
    assert "bad.png: is not an image file" in one_line_error(capsys)
    code, out, err = run(capsys, reader, files[0], "bad.png", "--skip-bad")
    assert code == 0 and len(parse(out)) == 1 and "skipped bad.png" in err


def test_blank_pictures_are_named_on_stderr(capsys, photos, model_file, mlp, models):
    """DigitNormalizer's warning can only name a row of a batch; the command
    names the file (found by a new-user trial: 'rows 0' for every blank file)."""
    from PIL import Image

    root, files = photos
    blank = root.parent / "blank.png"
    Image.fromarray(np.full((40, 30), 255, np.uint8)).save(blank)
    normaliser = save(make_pipeline(DigitNormalizer(), mlp), models / "norm2.skmnist")
    for model in (model_file, normaliser):
        code, out, err = run(capsys, model, files[0], blank)
        assert code == 0 and len(parse(out)) == 2
        assert f"warning: {blank}: no ink found" in err
        assert err.count("no ink") == 1 and "rows 0" not in err


def test_reject_option_classifier_marks_rejected_files(
    capsys, photos, mlp, models, tmp_path
):
    root, files = photos
    X = normalised(files)
    reject = RejectOptionClassifier(mlp, cv="prefit", coverage=0.6, random_state=0)
    reject.fit(X, [int(true_label(p)) for p in files])
    rejected = reject.predict_reject(X)
    assert 0 < rejected.sum() < len(files)
    path = save(reject, models / "reject.skmnist")
    code, out, _ = run(capsys, path, root, "--output", "p.csv")
    assert code == 0
    rows = parse(out)
    assert [label == "rejected" for label, _, _ in rows] == rejected.tolist()
    proba = mlp.predict_proba(X)
    np.testing.assert_allclose([p for _, p, _ in rows], proba.max(1), atol=6e-5)
    with open(tmp_path / "p.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0])[:4] == ["path", "label", "probability", "rejected"]
    assert [r["rejected"] == "True" for r in table] == rejected.tolist()
    assert {r["label"] for r in table if r["rejected"] == "True"} == {"-1"}
    # wrapped around a pipeline that reads files: paths in batches, and a bad
    # file among them skipped
    pipe = make_pipeline(ImageFileReader(size="keep"), DigitNormalizer(), mlp)
    wrapped = RejectOptionClassifier(pipe, cv="prefit", coverage=0.6)
    wrapped.fit(np.asarray(files), [int(true_label(p)) for p in files])
    wrapped_file = save(wrapped, models / "wrapped.skmnist")
    code, out_wrapped, _ = run(capsys, wrapped_file, root, "--batch-size", "16")
    assert code == 0 and out_wrapped == out
    (tmp_path / "bad.png").write_text("not an image\n")
    argv = [wrapped_file, files[0], "bad.png", files[1], "--skip-bad"]
    code, out, err = run(capsys, *argv)
    assert code == 0 and [p for _, _, p in parse(out)] == files[:2]
    assert "skipped bad.png: is not an image file" in err


def test_colour_models_read_rgb_without_normalisation(
    one_line_error, capsys, photos, digits, models
):
    root, files = photos
    X, y = digits
    colour = np.repeat(X[::5, ..., None], 3, axis=-1)  # (n, 28, 28, 3)
    model = MLPNetClassifier(max_epochs=1, random_state=0).fit(colour, y[::5])
    path = save(model, models / "colour.skmnist")
    code, out, _ = run(capsys, path, root)
    assert code == 0
    check_rows(parse(out), files, model, resized(files, mode="RGB"))
    for option in (["--normalize", "on"], ["--deskew"]):
        assert main(["predict", str(path), str(root), *option]) == 2
        assert "colour" in one_line_error(capsys)


def test_scale_and_layout_follow_the_fitted_model(capsys, photos, digits, models):
    """A classifier fitted on 0..1 pixels gets 0..1; a scikit-learn pipeline
    that flattens gets 28x28 images in 0..255 (its Normalizer255 scales)."""
    root, files = photos
    X, y = digits
    unit = MLPNetClassifier(max_epochs=1, random_state=0)
    unit.fit(X[::5].astype(np.float32) / 255, y[::5])
    sk = make_pipeline(Normalizer255(), Flatten(), LogisticRegression(max_iter=30))
    sk.fit(X[::5], y[::5])
    inputs = normalised(files)
    for model, X_expected in [(unit, inputs / 255), (sk, inputs)]:
        path = save(model, models / "scaled.skmnist")
        code, out, _ = run(capsys, path, root)
        assert code == 0
        check_rows(parse(out), files, model, X_expected)


# ------------------------------------------------------------------ terminal, signals
def test_progress_bar_only_on_a_terminal(capsys, photos, model_file, monkeypatch):
    root, _ = photos
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run(capsys, model_file, root)
    assert code == 0 and len(parse(out)) == 40
    assert "predict" in err and "40/40" in err
    code, _, err = run(capsys, model_file, root, "--verbose")  # log lines instead
    assert "40/40" not in err and "digit normalisation on" in err


def test_ctrl_c_exits_130_and_writes_no_csv(
    capsys, photos, model_file, tmp_path, monkeypatch
):
    root, _ = photos
    read = _images.read_image
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 20:
            raise KeyboardInterrupt
        return read(*args, **kwargs)

    monkeypatch.setattr(sklearn_mnist.datasets, "read_image", interrupted)
    code, _, err = run(capsys, model_file, root, "--output", "p.csv")
    assert code == 130 and "interrupted" in err
    assert os.listdir(tmp_path) == []  # neither the CSV nor its temporary


def test_a_closed_stdout_ends_quietly(
    capsys, photos, model_file, tmp_path, monkeypatch
):
    """``sklearn-mnist predict ... | head``: no error once the reader is gone;
    the CSV is still written in full."""
    root, _ = photos

    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

        def isatty(self):
            return False

        def fileno(self):
            raise OSError("no file")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    argv = [str(model_file), str(root), "--batch-size", "8"]
    assert main(["predict", *argv]) == 0
    assert main(["predict", *argv, "--output", "p.csv"]) == 0
    assert "error" not in capsys.readouterr().err
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 41


def test_the_installed_command(photos, model_file, tmp_path):
    root, files = photos
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_mnist", "predict", str(model_file),
         files[0], str(root / "png"), str(tmp_path / "missing.png"), "--skip-bad"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = parse(result.stdout)
    pngs = [f for f in files if f.startswith(str(root / "png"))]
    assert len(pngs) == 20 and [p for _, _, p in rows] == [files[0], *pngs]
    assert "skipped" in result.stderr and "missing.png: does not exist" in result.stderr
