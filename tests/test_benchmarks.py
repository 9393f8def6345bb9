"""The benchmark scripts (benchmarks/bench_*.py) and their harness.

Every script builds its options through ``_harness.make_parser`` and answers
``--help`` (and ``--quick``) without loading data. The scripts run as
``python benchmarks/bench_x.py``, which puts their folder first on
``sys.path``; here they are loaded from their files with ``importlib``, the
harness registered under the name they import it by, ``_harness``.

bench_ensemble.py refuses bad input before it fits or scores: ``--combine``
reads probability files that may come from other runs (or other people): each
is checked, and a combination is scored the way
``VotingClassifier(voting="soft")`` predicts (mean of the probabilities, then
the member's own classes), never by column index.
"""

import argparse
import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import pytest

# the repository's benchmarks/ (wherever under tests/ this file lies)
BENCHMARKS = next(
    folder / "benchmarks"
    for folder in pathlib.Path(__file__).resolve().parents
    if (folder / "benchmarks" / "_harness.py").is_file()
)
SCRIPTS = sorted(path.stem for path in BENCHMARKS.glob("bench_*.py"))


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def harness():
    """benchmarks/_harness.py, registered as ``_harness`` while the tests run."""
    with pytest.MonkeyPatch.context() as mp:
        module = _load("_harness")
        mp.setitem(sys.modules, "_harness", module)
        yield module


@pytest.fixture(scope="module")
def bench(harness):
    return _load("bench_ensemble")


def test_every_script_is_found():
    assert len(SCRIPTS) >= 19 and "bench_ensemble" in SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_builds_its_parser_through_the_harness(harness, name, capsys):
    module = _load(name)
    parser = module.build_parser()
    assert isinstance(parser, harness.BenchmarkParser)
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--quick" in out and "MNIST_DIR" in out
    # --quick sets only options the script has, to values their types accept
    args = module.build_parser().parse_args(["--quick"])
    assert args.quick and set(parser.quick) <= set(vars(args))


def test_a_script_answers_help_when_run():
    # as the scripts are run: their folder first on sys.path, _harness found there
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_learning_curve.py"), "--help"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "MNIST_DIR" in done.stdout


def test_quick_keeps_the_options_given_on_the_command_line(bench):
    args = bench.build_parser().parse_args(["--quick", "--epochs", "3"])
    assert (args.epochs, args.n_train) == (3, 2000)
    assert args.members == [("affine", 0), ("elastic", 0)]
    args = bench.build_parser().parse_args([])
    assert (args.epochs, args.n_train, len(args.members)) == (20, None, 4)


def test_timed_and_table_lines(harness):
    calls = []
    assert harness.timed(lambda: 5)[0] == 5
    result, seconds = harness.timed(calls.append, 1)
    assert result is None and seconds >= 0 and calls == [1]
    result, seconds = harness.timed(calls.append, 2, repeat=3, number=2, warmup=1)
    assert result is None and seconds >= 0 and calls == [1] + [2] * 7
    assert harness.md_row("a", 1, "") == "| a | 1 |  |"
    assert harness.md_header("x", "y", align="lr") == "| x | y |\n| --- | ---: |"


@pytest.mark.parametrize(
    "text",
    ["foo:1", "affine", "affine:", "affine:-1", "affine:x", "Affine:0", "affine: 0",
     "affine:0,", "affine:\u00b2", "affine:0,affine:0", "affine:01,affine:1"],
)  # fmt: skip
def test_bad_member_specs_are_refused_by_name(bench, text):
    with pytest.raises(argparse.ArgumentTypeError, match="KIND:SEED|twice"):
        bench.member_specs(text)


def test_member_specs_and_names(bench):
    assert bench.member_specs("affine:0,elastic:12") == [("affine", 0), ("elastic", 12)]
    name, clf = bench.member("wide", 3, 20, "cpu", n_train=1000)
    assert name == "wide-3-20-n1000"  # a trial run never overwrites a full one
    assert clf.module__channels == (48, 96) and clf.random_state == 3


@pytest.mark.parametrize(
    "argv", [["--epochs", "0"], ["--max-size", "1"], ["--n-train", "-5"]]
)
def test_bad_numbers_are_refused_before_loading_data(bench, argv, capsys):
    with pytest.raises(SystemExit):
        bench.build_parser().parse_args(argv)
    assert "must be at least" in capsys.readouterr().err


def save(folder, name, proba, classes=None):
    folder.mkdir(exist_ok=True)
    extra = {} if classes is None else {"classes": np.asarray(classes)}
    np.savez(folder / f"{name}.npz", proba=proba, fit_s=1.0, **extra)


def test_combine_uses_the_saved_classes(bench, tmp_path, capsys):
    # Members fitted without the digits 0-2: column j is class j + 3.
    rng = np.random.default_rng(0)
    y = rng.integers(3, 10, size=50)
    classes = np.arange(3, 10)
    good = np.eye(7)[y - 3] * 0.9 + 0.1 / 7
    save(tmp_path / "a", "m1", good, classes)
    save(tmp_path / "a", "m2", good[::-1].copy(), classes)
    bench.combine([tmp_path / "a"], y, max_size=2)
    out = capsys.readouterr().out
    assert "m1: 100.00%" in out
    mean = (good + good[::-1]) / 2
    assert f"| m1 + m2 | {(classes[mean.argmax(1)] == y).mean():.2%} |" in out


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "at least 2 saved members, found 0"),
        ({"m1": np.full((50, 10), 0.1)}, "at least 2 saved members, found 1"),
        ({"m1": np.full((1, 10), 0.1), "m2": np.full((50, 10), 0.1)}, "shape"),
        ({"m1": np.full((10, 50), 0.1), "m2": np.full((50, 10), 0.1)}, "shape"),
        ({"m1": np.full(50, 0.1), "m2": np.full((50, 10), 0.1)}, "shape"),
    ],
)
def test_combine_refuses_bad_folders(bench, tmp_path, files, message):
    (tmp_path / "a").mkdir()
    for name, proba in files.items():
        save(tmp_path / "a", name, proba)
    with pytest.raises(SystemExit, match=message):
        bench.combine([tmp_path / "a"], np.zeros(50, dtype=int), max_size=8)


def test_combine_refuses_missing_duplicate_and_foreign_files(bench, tmp_path):
    y = np.zeros(50, dtype=int)
    with pytest.raises(SystemExit, match="not a folder"):
        bench.combine([tmp_path / "nowhere"], y, max_size=8)
    for folder in ("a", "b"):
        save(tmp_path / folder, "m1", np.full((50, 10), 0.1))
    with pytest.raises(SystemExit, match="both hold member m1"):
        bench.combine([tmp_path / "a", tmp_path / "b"], y, max_size=8)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "m1.npz").write_text("not an archive")
    save(tmp_path / "c", "m2", np.full((50, 10), 0.1))
    with pytest.raises(SystemExit, match="not a --save-proba file"):
        bench.combine([tmp_path / "c"], y, max_size=8)
    np.savez(tmp_path / "c" / "m1.npz", other=np.ones(3))
    with pytest.raises(SystemExit, match="not a --save-proba file"):
        bench.combine([tmp_path / "c"], y, max_size=8)
    save(tmp_path / "d", "m1", np.full((50, 10), 0.1), np.arange(10))
    save(tmp_path / "d", "m2", np.full((50, 9), 0.1), np.arange(9))
    with pytest.raises(SystemExit, match="other classes"):
        bench.combine([tmp_path / "d"], y, max_size=8)
