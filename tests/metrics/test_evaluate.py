import json

import matplotlib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

from sklearn_mnist import RandomAffineAugmenter, load_mnist_sample
from sklearn_mnist.metrics import (
    evaluate,
    plot_adversarial_examples,
    plot_augmentations,
    plot_confusion_matrix,
    plot_misclassified,
    plot_training_curves,
)

matplotlib.use("Agg")
pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"  # tiny LogisticRegression budget
)


@pytest.fixture(scope="module")
def fitted():
    X, y = load_mnist_sample(return_X_y=True)
    model = LogisticRegression(max_iter=30).fit(X[::5] / 255, y[::5])
    return model, X[1::5] / 255, y[1::5]


def test_numbers_match_scikit_learn(fitted):
    model, X, y = fitted
    result = evaluate(model, X, y)
    pred = model.predict(X)
    assert result.accuracy == accuracy_score(y, pred)
    np.testing.assert_array_equal(result.confusion_matrix, confusion_matrix(y, pred))
    expected = classification_report(y, pred, output_dict=True, zero_division=0)
    assert result.report["macro avg"] == pytest.approx(expected["macro avg"])
    assert result.report["3"]["recall"] == pytest.approx(expected["3"]["recall"])
    cm = result.confusion_matrix.copy()
    np.fill_diagonal(cm, 0)
    true, predicted, count = result.most_confused(1)[0]
    assert count == cm.max() and cm[true, predicted] == count
    frame = result.to_frame()
    assert {"precision", "recall", "f1-score"} <= set(frame.columns)
    json.dumps(result.to_dict())  # serialisable
    assert "predicted as" in str(result) and "Evaluation(accuracy=" in repr(result)


def test_plots_draw_what_they_claim(fitted):
    model, X, y = fitted
    result = evaluate(model, X, y)
    fig = plot_confusion_matrix(result)
    assert len(fig.axes[0].images) == 1 and len(fig.axes[0].texts) == 100
    fig = plot_misclassified(X, y, result.y_pred, n=12, n_cols=6)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == 12 and "->" in titled[0].get_title()
    fig = plot_augmentations(RandomAffineAugmenter(), X[0].reshape(28, 28) * 255, n=7)
    assert sum(1 for ax in fig.axes if ax.images) == 8
    fig = plot_adversarial_examples(
        model, X[:5], np.clip(X[:5] + 0.3, 0, 1), y[:5], n=5
    )
    assert len(fig.axes) == 10 and fig.axes[0].get_title().startswith("clean")


def test_training_curves_from_skorch_history():
    from sklearn_mnist import MLPNetClassifier

    X, y = load_mnist_sample(return_X_y=True)
    net = MLPNetClassifier(max_epochs=3, random_state=0).fit(X[::10], y[::10])
    fig = plot_training_curves(net)
    (line,) = fig.axes[0].lines
    assert len(line.get_ydata()) == 3


def test_write_report_names_the_model(fitted, tmp_path):
    from sklearn.pipeline import make_pipeline

    from sklearn_mnist import Flatten
    from sklearn_mnist.metrics import write_report

    model, X, y = fitted
    write_report(model, X[:50], y[:50], tmp_path / "a", attack=False)
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["model"] == "LogisticRegression"
    text = (tmp_path / "a" / "classification_report.txt").read_text()
    assert text.startswith("model: LogisticRegression\naccuracy:")
    pipe = make_pipeline(Flatten(), LogisticRegression(max_iter=5)).fit(X, y)
    write_report(pipe, X[:50], y[:50], tmp_path / "b", model_name="mine")
    assert json.loads((tmp_path / "b" / "report.json").read_text())["model"] == "mine"


def test_write_report_of_a_reject_option(tmp_path):
    """A RejectOptionClassifier's report says how much it answered and how well,
    and draws its coverage-risk curve."""
    from sklearn_mnist.metrics import write_report
    from sklearn_mnist.reject import RejectOptionClassifier

    X, y = load_mnist_sample(return_X_y=True)
    model = RejectOptionClassifier(
        LogisticRegression(max_iter=200), coverage=0.8, random_state=0
    ).fit(X[::5] / 255, y[::5])
    X_test, y_test = X[1::10] / 255, y[1::10]
    write_report(model, X_test, y_test, tmp_path / "r", attack=False)
    summary = json.loads((tmp_path / "r" / "report.json").read_text())["reject_option"]
    answered = ~model.predict_reject(X_test)
    assert summary["coverage"] == pytest.approx(answered.mean())
    inner = model.estimator_.predict(X_test)
    assert summary["accuracy_on_answered"] == pytest.approx(
        (inner[answered] == y_test[answered]).mean()
    )
    assert summary["trust_score"] == "max_proba" and summary["n_samples"] == 500
    assert (tmp_path / "r" / "coverage_risk.png").stat().st_size > 1000
    text = (tmp_path / "r" / "classification_report.txt").read_text()
    assert "reject option" in text and "coverage" in text


def test_report_of_a_reject_option_that_answers_nothing_is_strict_json(tmp_path):
    """An infinite threshold (nothing certified) is written as null, which every
    JSON reader takes (Python's json wrote Infinity; found by a new-user trial)."""
    from sklearn_mnist.metrics import write_report
    from sklearn_mnist.reject import RejectOptionClassifier

    X, y = load_mnist_sample(return_X_y=True)
    with pytest.warns(UserWarning, match="no threshold is certified"):
        model = RejectOptionClassifier(
            LogisticRegression(max_iter=100), max_risk=1e-6, random_state=0
        ).fit(X[::10] / 255, y[::10])
    assert model.threshold_ == np.inf
    write_report(model, X[1::20] / 255, y[1::20], tmp_path / "r", attack=False)

    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    text = (tmp_path / "r" / "report.json").read_text()
    summary = json.loads(text, parse_constant=refuse)["reject_option"]
    assert summary["threshold"] is None and summary["coverage"] == 0
    assert summary["accuracy_on_answered"] is None
