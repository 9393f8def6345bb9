"""Every plot helper's figure: a title that can name the model and the setting,
labelled axes, and no text outside the saved figure (nothing clipped)."""

import matplotlib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch

from sklearn_mnist import (
    MLPNetClassifier,
    Normalizer255,
    RandomAffineAugmenter,
    load_mnist_sample,
)
from sklearn_mnist.adversarial import plot_robustness_curve, robustness_curve
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


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def curve(**extra):
    return Bunch(eps=np.array([0.0, 0.1, 0.2]), accuracy=np.array([0.99, 0.5, 0.1]),
                 attack="fgsm", **extra)  # fmt: skip


def test_robustness_curve_default_title_names_attack_and_size(assert_nothing_clipped):
    fig = plot_robustness_curve(curve(estimator_name="CNNClassifier", n_samples=1000))
    ax = fig.axes[0]
    assert ax.get_title() == "Accuracy under FGSM attack (1,000 images)"
    assert "eps" in ax.get_xlabel() and "accuracy" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["CNNClassifier"]
    assert_nothing_clipped(fig)


def test_robustness_curve_old_bunch_title_and_shared_axes(assert_nothing_clipped):
    # A Bunch without the new fields (e.g. pickled by an older version) still plots.
    fig = plot_robustness_curve(curve(), label="default CNN", title="CNN, FGSM")
    ax = fig.axes[0]
    assert ax.get_title() == "CNN, FGSM"
    plot_robustness_curve(curve(), ax=ax, label="robust CNN")
    assert ax.get_title() == "CNN, FGSM"  # a given ax keeps its title
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["default CNN", "robust CNN"]
    assert_nothing_clipped(fig)


def test_robustness_curve_records_the_model():
    X, y = load_mnist_sample(return_X_y=True)
    model = make_pipeline(
        Normalizer255(), MLPNetClassifier(max_epochs=1, random_state=0, device="cpu")
    ).fit(X[::10], y[::10])
    result = robustness_curve(model, X[1:200:2], y[1:200:2], eps=[0, 0.1])
    assert result.estimator_name == "MLPNetClassifier pipeline"
    assert result.n_samples == 100


def test_confusion_matrix_title(fitted, assert_nothing_clipped):
    model, X, y = fitted
    result = evaluate(model, X, y)
    fig = plot_confusion_matrix(result)
    ax = fig.axes[0]
    assert ax.get_title() == f"Confusion matrix, accuracy {result.accuracy:.4f}"
    assert ax.get_xlabel() and ax.get_ylabel()
    assert_nothing_clipped(fig)
    fig = plot_confusion_matrix(result, normalize="true", title="LogReg, 1,000 digits")
    assert fig.axes[0].get_title() == "LogReg, 1,000 digits"
    assert_nothing_clipped(fig)


def test_confusion_and_misclassified_figures_name_the_model(
    fitted, assert_nothing_clipped
):
    model, X, y = fitted
    result = evaluate(model, X, y)
    fig = plot_confusion_matrix(result, estimator=model)
    assert fig.axes[0].get_title() == (
        f"LogisticRegression\nConfusion matrix, accuracy {result.accuracy:.4f}"
    )
    assert_nothing_clipped(fig)
    pipe = make_pipeline(Normalizer255(), model)
    fig = plot_confusion_matrix(result, estimator=pipe, title="given")
    assert fig.axes[0].get_title() == "given"  # a title given wins
    fig = plot_misclassified(X, y, result.y_pred, estimator=pipe)
    suptitle = fig._suptitle.get_text()
    assert suptitle.startswith("LogisticRegression pipeline\nMisclassified digits")
    assert_nothing_clipped(fig)


def test_confusion_matrix_with_long_class_names_is_readable(
    fitted, assert_nothing_clipped
):
    model, X, y = fitted
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip
    fig = plot_confusion_matrix(evaluate(model, X, y, target_names=names))
    ticks = fig.axes[0].get_xticklabels()
    assert [t.get_text() for t in ticks] == names
    assert_nothing_clipped(fig)
    boxes = [t.get_window_extent(fig.canvas.get_renderer()) for t in ticks]
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left.x1 <= right.x0 or left.y0 >= right.y1, "class names overlap"


def test_digit_grids_say_the_numbers_are_predictions(fitted, assert_nothing_clipped):
    model, X, y = fitted
    pred = model.predict(X)
    fig = plot_misclassified(X, y, pred, n=12, n_cols=6, title="LogReg on the sample")
    suptitle = fig._suptitle.get_text()
    assert suptitle.startswith("LogReg on the sample\n")
    assert "true -> predicted" in suptitle
    assert_nothing_clipped(fig)

    fig = plot_adversarial_examples(model, X[:5], np.clip(X[:5] + 0.3, 0, 1), y[:5])
    suptitle = fig._suptitle.get_text()
    assert suptitle.startswith("LogisticRegression\n") and "predicted" in suptitle
    assert_nothing_clipped(fig)


def test_augmentations_title_names_the_settings(fitted, assert_nothing_clipped):
    _, X, _ = fitted
    augmenter = RandomAffineAugmenter(rotation=15)
    fig = plot_augmentations(augmenter, X[0].reshape(28, 28) * 255, n=7)
    assert fig._suptitle.get_text().startswith("RandomAffineAugmenter(rotation=15)")
    assert_nothing_clipped(fig)


def test_training_curves_title(assert_nothing_clipped):
    X, y = load_mnist_sample(return_X_y=True)
    net = MLPNetClassifier(max_epochs=2, random_state=0).fit(X[::20], y[::20])
    fig = plot_training_curves(net)
    assert fig.axes[0].get_title() == "MLPNetClassifier: loss per epoch"
    assert_nothing_clipped(fig)
    fig = plot_training_curves(net, title="MLP, 250 digits")
    assert fig.axes[0].get_title() == "MLP, 250 digits"
