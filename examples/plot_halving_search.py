"""
Tuning in minutes: a halving search whose survivors keep training
=================================================================

A grid search trains every candidate on every fold for the full budget. A
successive-halving search trains every candidate briefly, keeps the best
third, trains those longer, and so on. scikit-learn's
``HalvingGridSearchCV`` retrains each survivor from scratch in every round;
:class:`sklearn_mnist.model_selection.HalvingGridSearchCV` keeps each
(candidate, fold) model and trains it on for the epochs the round adds, its
learning-rate schedule planned for the full budget from the first epoch.

The same 27 candidates of an MLP, the three searches side by side: time,
epochs trained in all, and the refit model's accuracy on held-out digits.
"""

# %%
# The data and the candidates
# ---------------------------
import time

import matplotlib.pyplot as plt
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.model_selection import HalvingGridSearchCV as SkHalving

from sklearn_mnist import MLPNetClassifier, load_mnist_sample
from sklearn_mnist.model_selection import HalvingGridSearchCV

X, y = load_mnist_sample(return_X_y=True)  # 5,000 digits, sorted by label
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=2000, stratify=y, random_state=0
)
model = MLPNetClassifier(random_state=0)
grid = {
    "lr": [1e-3, 3e-3, 1e-2],
    "module__dropout": [0.0, 0.2, 0.4],
    "module__hidden_units": [(32,), (64,), (128,)],
}
budget = 9  # epochs of the full budget
cv = StratifiedKFold(2, shuffle=True, random_state=0)

# %%
# Three searches
# --------------
searches = {
    "GridSearchCV": GridSearchCV(model.set_params(max_epochs=budget), grid, cv=cv),
    "scikit-learn halving": SkHalving(
        model, grid, resource="max_epochs", max_resources=budget, factor=3,
        min_resources="exhaust", cv=cv, random_state=0,
    ),
    "sklearn-mnist halving": HalvingGridSearchCV(
        model, grid, max_resources=budget, factor=3, cv=cv
    ),
}  # fmt: skip
seconds, accuracy = {}, {}
for name, search in searches.items():
    start = time.perf_counter()
    search.fit(X_train, y_train)
    seconds[name] = time.perf_counter() - start
    accuracy[name] = search.score(X_test, y_test)
    rounds = getattr(search, "n_resources_", [budget])
    print(f"{name:22s} {seconds[name]:5.1f} s  rounds {rounds}  "
          f"test accuracy {accuracy[name]:.3f}  {search.best_params_}")  # fmt: skip

# %%
# ``n_resources_`` are the epochs each round's models have trained in all.
# scikit-learn's rounds start from ``min_resources`` and may stop short of
# the budget; ours end at it, so the refit model trains what one full fit
# would.
search = searches["sklearn-mnist halving"]
print("candidates per round:", search.n_candidates_)
print("epochs per round:", search.n_resources_)

# %%
# Side by side
# ------------
fig, (ax_time, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
names = list(searches)
ax_time.barh(names, [seconds[n] for n in names], color=["0.6", "C1", "C0"])
ax_time.set_xlabel("search + refit (s)")
ax_time.set_ylabel("search")
ax_acc.barh(names, [100 * accuracy[n] for n in names], color=["0.6", "C1", "C0"])
ax_acc.set_xlim(80, 100)
ax_acc.set_xlabel("refit model's test accuracy (%)")
ax_acc.set_yticks([])
ax_acc.set_ylabel("same order")
fig.suptitle("The same 27 candidates, cv=2, a budget of 9 epochs")
plt.show()
