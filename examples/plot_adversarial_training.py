"""
Adversarial training: robustness curves of a normal and a robust CNN
====================================================================

``CNNClassifier(adversarial=FGSMPerturber(eps=...))`` replaces every training
batch by its FGSM adversarial version (computed against the network as it
trains), so the network learns from the worst-case digits near each training
digit. Predictions still see clean input.

Both models are scored under FGSM (one step) and under PGD (10 steps of 0.03
from a random start, a stronger attack) with
:func:`~sklearn_mnist.adversarial.robustness_curve`. Small settings: 4,000
training digits from the bundled sample, 6 epochs, 500 held-out digits.
"""

# %%
# Fit a normal and an adversarially trained CNN
# ---------------------------------------------
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from sklearn_mnist import CNNClassifier, FGSMPerturber, load_mnist_sample
from sklearn_mnist.adversarial import plot_robustness_curve, robustness_curve

X, y = load_mnist_sample(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=4000, test_size=500, stratify=y, random_state=0
)
settings = dict(max_epochs=6, batch_size=64, random_state=0)
models = {
    "normal CNN": CNNClassifier(**settings),
    "adversarially trained CNN (FGSM eps=0.2)": CNNClassifier(
        adversarial=FGSMPerturber(eps=0.2), **settings
    ),
}
for model in models.values():
    model.fit(X_train, y_train)

# %%
# Robustness curves
# -----------------
# Solid lines: FGSM; dashed: PGD. The adversarially trained model keeps most of
# its accuracy under FGSM; PGD, which searches further than the single step it
# was trained on, still breaks it at large ``eps``: FGSM training is a cheap
# first step, and the curve against a stronger attack is the one to report.
eps = [0, 0.05, 0.1, 0.2, 0.3]
fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
for color, (name, model) in zip(["C0", "C1"], models.items(), strict=True):
    fgsm = robustness_curve(model, X_test, y_test, eps=eps)
    pgd = robustness_curve(
        model, X_test, y_test, eps=eps, attack="pgd", n_iter=10, step_size=0.03,
        random_state=0,
    )  # fmt: skip
    plot_robustness_curve(fgsm, ax=ax, label=f"{name}, FGSM")
    plot_robustness_curve(pgd, ax=ax, label=f"{name}, PGD-10")
    ax.lines[-2].set_color(color)
    ax.lines[-1].set(color=color, linestyle="--")
    print(f"{name}: FGSM {fgsm.accuracy.round(3)}, PGD-10 {pgd.accuracy.round(3)}")
ax.legend(loc="lower left", fontsize=8)
ax.set_title("CNNClassifier, normal vs adversarially trained (FGSM eps=0.2)\n"
             "4,000 MNIST sample digits, 6 epochs; 500 held-out digits")  # fmt: skip
plt.show()
