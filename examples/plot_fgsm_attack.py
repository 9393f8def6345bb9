"""
FGSM attack on a fitted pipeline
================================

:class:`~sklearn_mnist.adversarial.FGSMPerturber` computes adversarial examples
against a fitted classifier or ``Pipeline``: each pixel moves by ``eps`` (a
fraction of the input range, here of 0..255) in the direction that increases
the model's loss. Gradients flow through
:class:`~sklearn_mnist.preprocessing.Normalizer255`, so the attack is on the raw
pixels passed in. :func:`~sklearn_mnist.adversarial.robustness_curve` measures
accuracy as ``eps`` grows.
"""

# %%
# A CNN pipeline on the bundled sample
# ------------------------------------
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_mnist import CNNClassifier, Normalizer255, load_mnist_sample
from sklearn_mnist.adversarial import (
    FGSMPerturber,
    plot_robustness_curve,
    robustness_curve,
)
from sklearn_mnist.metrics import plot_adversarial_examples

X, y = load_mnist_sample(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=1000, stratify=y, random_state=0
)
model = make_pipeline(
    Normalizer255(), CNNClassifier(max_epochs=4, batch_size=64, random_state=0)
)
model.fit(X_train, y_train)

# %%
# Clean and adversarial digits
# ----------------------------
# The perturbation at ``eps=0.2`` (51 grey levels) is plain to see but leaves
# every digit readable; the model's predictions (panel titles) change.
X_adv = FGSMPerturber(model, eps=0.2).perturb(X_test, y_test)
clean, attacked = model.score(X_test, y_test), model.score(X_adv, y_test)
print(f"accuracy: clean {clean:.3f}, under FGSM eps=0.2 {attacked:.3f}")
plot_adversarial_examples(
    model, X_test, X_adv, y_test, n=8,
    title="CNNClassifier pipeline (4 epochs, 4,000 sample digits), FGSM eps = 0.2",
)  # fmt: skip
plt.show()

# %%
# Robustness curve
# ----------------
# One FGSM step per ``eps``, on the 1,000 held-out digits.
curve = robustness_curve(model, X_test, y_test, eps=[0, 0.05, 0.1, 0.15, 0.2, 0.3])
plot_robustness_curve(
    curve, title="CNNClassifier pipeline under FGSM\n1,000 held-out sample digits"
)
plt.show()
