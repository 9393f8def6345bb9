"""
A digit reader that says "I don't know"
=======================================

A classifier trained on digits answers every input with a digit, often with
high confidence: uniform noise, a digit drawn dark on light, a patch of a
photograph. :class:`~sklearn_mnist.reject.RejectOptionClassifier` adds a
reject option to a fitted model: it answers where a trust score reaches a
threshold chosen on held-out digits for a target coverage (here: answer 95%
of digits), and returns ``-1`` elsewhere. Which trust score works depends on
the model: the network's own probability (``"max_proba"``) is fooled by
inputs unlike any digit, unless the network was trained with outlier
exposure (:class:`~sklearn_mnist.neural_net.OutlierExposure`: synthetic
non-digit images taught to give uniform probabilities); a distance in the
network's feature space (``"knn"``) needs no such training. The last section
looks at ordinary image corruptions (MNIST-C), which are digits still, but
harder ones.
"""

# %%
# Two CNNs: plain, and with outlier exposure
# ------------------------------------------
# 4,000 sample digits train the networks; of the 1,000 held out, 500
# calibrate the reject option and 500 test it.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from skimage import data as skimage_data
from skimage.transform import resize
from skimage.util import view_as_blocks
from sklearn.model_selection import train_test_split

from sklearn_mnist import CNNClassifier, Corruption, load_mnist_sample
from sklearn_mnist.metrics import (
    corruption_robustness,
    plot_corruption_robustness,
)
from sklearn_mnist.neural_net import OutlierExposure
from sklearn_mnist.reject import (
    RejectOptionClassifier,
    plot_coverage_risk,
    selective_accuracy,
)

X, y = load_mnist_sample(return_X_y=True)  # sorted by label: split stratified
X_train, X_held, y_train, y_held = train_test_split(
    X, y, test_size=1000, stratify=y, random_state=0
)
X_cal, X_test, y_cal, y_test = train_test_split(
    X_held, y_held, test_size=500, stratify=y_held, random_state=0
)
cnn = {
    "plain": CNNClassifier(max_epochs=4, batch_size=64, random_state=0),
    "outlier exposure": CNNClassifier(
        max_epochs=4, batch_size=64, random_state=0,
        outlier_exposure=OutlierExposure(),
    ),
}  # fmt: skip
for name, model in cnn.items():
    model.fit(X_train, y_train)
    print(f"{name} CNN: accuracy {model.score(X_test, y_test):.3f}")

# %%
# A reject option on each, for two trust scores
# ---------------------------------------------
# ``cv="prefit"`` keeps the fitted network and only calibrates on the 500
# calibration digits (``"knn"`` keeps half of them as its bank of
# neighbours and calibrates on the other half).
reject = {
    (name, score): RejectOptionClassifier(
        model, trust_score=score, coverage=0.95, cv="prefit", random_state=0
    ).fit(X_cal, y_cal)
    for name, model in cnn.items()
    for score in ["max_proba", "knn"]
}
reader = reject["outlier exposure", "max_proba"]
answers = reader.predict(X_test)
answered = answers != -1
print(
    f"outlier exposure + max_proba: threshold {reader.threshold_:.3f}, answers "
    f"{answered.mean():.1%} of the test digits, "
    f"accuracy on those {selective_accuracy(y_test, answers):.1%} "
    f"(all answered: {cnn['outlier exposure'].score(X_test, y_test):.1%})"
)

# %%
# Coverage against risk
# ---------------------
# Answering fewer digits, the most trusted first, lowers the error rate among
# the answers. The dot is the threshold chosen for 95% coverage.
fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
for name, score in [("plain", "max_proba"), ("plain", "knn")]:
    r = reject[name, score]
    plot_coverage_risk(
        y_test, r.estimator_.predict(X_test), r.score_samples(X_test),
        ax=ax, label=f"{name}, {score}",
    )  # fmt: skip
plot_coverage_risk(
    y_test, cnn["outlier exposure"].predict(X_test), reader.score_samples(X_test),
    threshold=reader.threshold_, ax=ax, label="outlier exposure, max_proba",
    title="Errors among the answered digits (500 held-out digits)",
)  # fmt: skip
ax.set_xlim(50, 100)
plt.show()

# %%
# Inputs that are not digits
# --------------------------
# Uniform noise, test digits inverted (dark on light), and 28x28 tiles of four
# of scikit-image's sample photographs. The table gives the share of each
# that is answered (for digits: with the error rate among the answers).
rng = np.random.default_rng(0)
noise = rng.integers(0, 256, size=(300, 784), dtype=np.uint8)
inverted = 255 - X_test[:300]


def photo_tiles(image, n=8):
    """An n x n grid of 28x28 tiles of a photograph, as flat uint8 rows."""
    grey = image.mean(axis=2) if image.ndim == 3 else image
    small = resize(grey / 255, (28 * n, 28 * n), anti_aliasing=True)
    return (255 * view_as_blocks(small, (28, 28))).reshape(-1, 784).astype(np.uint8)


photos = np.concatenate(
    [photo_tiles(getattr(skimage_data, name)())
     for name in ["camera", "coins", "moon", "astronaut"]]
)  # fmt: skip
inputs = {"noise": noise, "inverted digits": inverted, "photo tiles": photos}

rows = {}
for (name, score), r in reject.items():
    pred = r.predict(X_test)
    row = {
        "digits answered": np.mean(pred != -1),
        "errors among them": 1 - selective_accuracy(y_test, pred),
    }
    row |= {what: np.mean(r.predict(X_out) != -1) for what, X_out in inputs.items()}
    rows[f"{name}, {score}"] = row
table = pd.DataFrame(rows).T
print(table.map(lambda v: "-" if np.isnan(v) else f"{v:.1%}").to_string())

# %%
# What the reader answers, and what it refuses
# --------------------------------------------
# Top row: test digits it answers (its answer and trust score). Bottom row:
# the test digits it trusts least, and inputs that are not digits.
scores = reader.score_samples(X_test)
doubtful = np.argsort(scores)[:3]
rows_shown = [
    X_test[answered][:7],
    np.concatenate([X_test[doubtful], noise[:1], inverted[:1], photos[[44, 117]]]),
]
fig, axes = plt.subplots(2, 7, figsize=(10, 3.9), layout="constrained")
for axes_row, images in zip(axes, rows_shown, strict=True):
    labels, trust = reader.predict(images), reader.score_samples(images)
    for ax, image, label, s in zip(axes_row, images, labels, trust, strict=True):
        ax.imshow(image.reshape(28, 28), cmap="gray", vmin=0, vmax=255)
        answer = "I don't know" if label == -1 else f"a {label}"
        ax.set_title(f"{answer}\ntrust {s:.2f}", fontsize=9)
        ax.set_axis_off()
for ax, truth in zip(axes[1], y_test[doubtful], strict=False):
    ax.set_title(ax.get_title() + f", label {truth}", fontsize=9)
fig.suptitle(
    "CNN with outlier exposure + reject option (max_proba, calibrated to answer 95%)"
)
plt.show()

# %%
# Corrupted digits
# ----------------
# MNIST-C's 15 corruptions, each at the severity of the MNIST-C data set, on
# 300 test digits: the accuracy of the network alone (it answers all).
result = corruption_robustness(
    cnn["outlier exposure"], X_test[:300], y_test[:300],
    kinds="mnist_c", severities="mnist_c", random_state=0,
)  # fmt: skip
print(
    f"mean accuracy under the corruptions {result.mean_accuracy:.1%}, "
    f"clean {result.clean_accuracy:.1%}"
)
plot_corruption_robustness(
    result, title="CNN with outlier exposure under MNIST-C's corruptions\n"
    f"300 test digits: mean {result.mean_accuracy:.1%}, "
    f"clean {result.clean_accuracy:.1%}",
)  # fmt: skip
plt.show()

# %%
# The reader was calibrated on clean digits. On corrupted ones it answers
# fewer; where the network is lost (a brightened background, fog, stripes), it
# says "I don't know" rather than answering wrong. Its coverage guarantee is
# for digits like the calibration digits only: a corruption that leaves a
# digit-like image the network misreads can still be answered with
# confidence. Training with the corruptions
# (``CNNClassifier(augment=Corruption("all"))``) is the remedy for those.
rows = {}
for kind in result.kinds:
    corrupted = Corruption(kind, severity="mnist_c", random_state=0).corrupt(
        X_test[:300]
    )
    pred = reader.predict(corrupted)
    rows[kind] = {
        "network accuracy": cnn["outlier exposure"].score(corrupted, y_test[:300]),
        "reader answers": np.mean(pred != -1),
        "accuracy on answers": selective_accuracy(
            y_test[:300], pred, zero_division=np.nan
        ),
    }
table = pd.DataFrame(rows).T.sort_values("network accuracy")
print(table.map(lambda v: "-" if np.isnan(v) else f"{v:.1%}").to_string())
