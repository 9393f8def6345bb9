"""
FGSM attack and robustness curve
================================

Attack a fitted Pipeline with :class:`~sklearn_mnist.adversarial.FGSMPerturber`
and plot its accuracy as the attack strength ``eps`` grows.
"""

import matplotlib

matplotlib.use("Agg")
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from sklearn_mnist import CNNClassifier, Normalizer255, load_mnist_sample  # noqa: E402
from sklearn_mnist.adversarial import (  # noqa: E402
    FGSMPerturber,
    plot_robustness_curve,
    robustness_curve,
)

X, y = load_mnist_sample(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
model = make_pipeline(
    Normalizer255(), CNNClassifier(max_epochs=4, batch_size=64, random_state=0)
)
model.fit(X_train, y_train)

X_adv = FGSMPerturber(model, eps=0.2).perturb(X_test, y_test)
clean, attacked = model.score(X_test, y_test), model.score(X_adv, y_test)
print(f"clean {clean:.3f}, FGSM eps=0.2 {attacked:.3f}")
curve = robustness_curve(model, X_test, y_test, eps=[0, 0.05, 0.1, 0.2, 0.3])
plot_robustness_curve(curve).savefig("robustness_curve.png", dpi=80)
