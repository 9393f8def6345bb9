import json

import numpy as np
import pytest

from sklearn_mnist._cli import main


def test_demo_writes_the_report_folder(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["demo", "--output", str(out), "--epochs", "2"]) == 0
    text = capsys.readouterr().out
    assert "precision" in text and "macro avg" in text and "most confused" in text
    expected = {
        "classification_report.txt", "report.json", "confusion_matrix.png",
        "misclassified.png", "adversarial.png", "robustness_curve.png",
    }  # fmt: skip
    assert expected <= {p.name for p in out.iterdir()}
    report = json.loads((out / "report.json").read_text())
    assert report["accuracy"] > 0.85
    # The report is for the CNN on all 1,000 test images; eps=0 is its clean accuracy.
    assert report["robustness_curve"]["eps"][0] == 0
    assert report["robustness_curve"]["accuracy"][0] == pytest.approx(
        report["accuracy"]
    )
    assert report["robustness_curve"]["accuracy"][-1] < report["accuracy"]
    assert len(report["confusion_matrix"]) == 10


def test_fit_evaluate_attack_round_trip(tmp_path, capsys):
    model = tmp_path / "m.joblib"
    assert main(["fit", "--model", "mlp", "--epochs", "2", "--output", str(model)]) == 0
    assert model.exists()
    assert main(["evaluate", str(model), "--output", str(tmp_path / "ev")]) == 0
    assert "accuracy:" in capsys.readouterr().out
    assert (
        main(["attack", str(model), "--eps", "0.1", "--output", str(tmp_path / "a")])
        == 0
    )
    X_adv = np.load(tmp_path / "a" / "adversarial.npy")
    assert X_adv.shape == (1000, 28, 28)


def test_clear_errors_and_exit_codes(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.joblib")]) == 4
    assert "model file not found" in capsys.readouterr().err
    (tmp_path / "junk.joblib").write_bytes(b"not a model")
    assert main(["attack", str(tmp_path / "junk.joblib")]) == 4
    assert "cannot read model file" in capsys.readouterr().err
    code = main(["fit", "--data", "mnist", "--offline", "--data-home", str(tmp_path)])
    assert code == 3
    assert "download_if_missing is False" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["nonsense"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_evaluate_a_model_that_cannot_be_attacked(tmp_path, capsys):
    """A saved scikit-learn model still gets its report, just without the attack."""
    import joblib
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    from sklearn_mnist import Flatten, load_mnist_sample

    X, y = load_mnist_sample(return_X_y=True)
    model = make_pipeline(Flatten(), KNeighborsClassifier()).fit(X[::5], y[::5])
    joblib.dump(model, tmp_path / "knn.joblib")
    out = tmp_path / "report"
    assert main(["evaluate", str(tmp_path / "knn.joblib"), "--output", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert "report.json" in names and "adversarial.png" not in names
