"""Tuning CNNClassifier: GridSearchCV, scikit-learn's halving, ours (issue 27).

The same 12 candidates (learning rate x dropout x width) of
``Pipeline``-free ``CNNClassifier()`` on ``--n-train`` training images, cv=3:

- ``grid``: ``GridSearchCV`` at the full budget (what ``CNNClassifier()``
  trains on a fold's 2/3 of the data: ``max_epochs="auto"``);
- ``sklearn``: scikit-learn's ``HalvingGridSearchCV(resource=
  "max_epochs", factor=3, min_resources="exhaust", max_resources=<full
  budget>)``: every round clones and retrains each survivor from zero;
- ``ours``: ``sklearn_mnist.model_selection.HalvingGridSearchCV(factor=3)``:
  survivors train on between rounds, the last round at the full budget, one
  learning-rate cycle planned for the budget (``schedule="budget"``);
- ``ours-round``: the same with ``schedule="round"`` (a cycle per round).

Each search refits its best candidate on all the training images; printed:
wall time (search + refit), its ratio to ``grid``, the epochs trained in
all (folds and refit), the refit model's accuracy on the 10,000 test images
and the chosen parameters. ``--pieces`` also compares one candidate trained
in pieces (``partial_fit`` epoch by epoch, the cycle planned for the full
budget, as the search trains it) with one ``fit`` of the same budget::

    python benchmarks/bench_search.py                      # MNIST, 10,000 images
    python benchmarks/bench_search.py --variant fashion    # Fashion-MNIST
    python benchmarks/bench_search.py --methods ours,ours-round --pieces
"""

import itertools

import numpy as np
from _harness import (
    load_mnist,
    make_parser,
    md_header,
    md_row,
    stratified_subset,
    timed,
)
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.model_selection import HalvingGridSearchCV as SkHalving

from sklearn_mnist import CNNClassifier
from sklearn_mnist.model_selection import HalvingGridSearchCV

GRID = {
    "lr": [4e-3, 8e-3, 1.6e-2],
    "module__dropout": [0.0, 0.2],
    "module__channels": [(16, 32), (32, 64)],
}
QUICK_GRID = {"lr": [4e-3, 1.6e-2], "module__channels": [(8, 16)]}


def build_parser():
    parser = make_parser(
        __doc__, n_train=10000, seed=0,
        quick=dict(n_train=900, methods="grid,sklearn,ours", cv=2, max_epochs=3),
    )  # fmt: skip
    parser.add_argument("--variant", choices=["mnist", "fashion"], default="mnist")
    parser.add_argument("--methods", default="grid,sklearn,ours")
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--max-epochs", type=int, default=None,
        help="the full budget (default: what CNNClassifier() plans for a fold)",
    )  # fmt: skip
    parser.add_argument("--pieces", action="store_true")
    return parser


def _epochs(search, cv, budget):
    """Epochs trained in all by a search (folds and refit)."""
    results = search.cv_results_
    if "n_resources" not in results:  # GridSearchCV: every fit the full budget
        return len(results["params"]) * cv * budget + budget
    resources = np.asarray(results["n_resources"])
    if isinstance(search, HalvingGridSearchCV):
        per_round = {}
        for itr, r in zip(results["iter"], resources, strict=True):
            per_round[itr] = r
        added = {i: per_round[i] - per_round.get(i - 1, 0) for i in per_round}
        folds = sum(added[i] * cv for i in results["iter"])
        return int(folds + search.refit_epochs_)
    return int(resources.sum() * cv + resources.max())


def main(argv=None):
    args = build_parser().parse_args(argv)
    X_all, y_all, X_test, y_test = load_mnist(variant=args.variant)
    X, y = stratified_subset(X_all, y_all, args.n_train, args.seed)
    grid = QUICK_GRID if args.quick else GRID
    cv = StratifiedKFold(args.cv, shuffle=True, random_state=args.seed)
    base = CNNClassifier(random_state=args.seed)
    fold = next(iter(cv.split(X, y)))[0]
    budget = args.max_epochs or base.planned_epochs(len(fold))
    n_candidates = len(list(itertools.product(*grid.values())))
    print(
        f"{args.variant}: {len(X)} training images, {n_candidates} candidates, "
        f"cv={args.cv}, full budget {budget} epochs, n_jobs={args.n_jobs}"
    )
    searches = {
        "grid": lambda: GridSearchCV(
            base.set_params(max_epochs=budget), grid, cv=cv, n_jobs=args.n_jobs
        ),
        "sklearn": lambda: SkHalving(
            base, grid, resource="max_epochs", factor=3, min_resources="exhaust",
            max_resources=budget, cv=cv, n_jobs=args.n_jobs,
            random_state=args.seed, return_train_score=False,
        ),
        "ours": lambda: HalvingGridSearchCV(
            base, grid, factor=3, max_resources=budget, cv=cv, n_jobs=args.n_jobs,
        ),
        "ours-round": lambda: HalvingGridSearchCV(
            base, grid, factor=3, max_resources=budget, cv=cv, n_jobs=args.n_jobs,
            schedule="round",
        ),
    }  # fmt: skip
    rows, seconds_of = [], {}
    for name in args.methods.split(","):
        search, seconds = timed(lambda name=name: searches[name]().fit(X, y))
        seconds_of[name] = seconds
        acc = (search.predict(X_test) == y_test).mean() * 100
        epochs = _epochs(search, args.cv, budget)
        best = {k.replace("module__", ""): v for k, v in search.best_params_.items()}
        best.pop("max_epochs", None)
        rounds = getattr(search, "n_resources_", [budget])
        print(f"{name}: {seconds:.1f} s, {epochs} epochs, rounds {rounds}, "
              f"test {acc:.2f}%, {best}", flush=True)  # fmt: skip
        rows.append([name, f"{seconds:.1f}", epochs, rounds, f"{acc:.2f}", best])

    def ratio(name, to):
        if to not in seconds_of:
            return "-"
        return f"{seconds_of[name] / seconds_of[to]:.2f}"

    print()
    print(md_header("search", "wall s", "/ grid", "/ sklearn", "epochs", "rounds",
                    "test %", "best", align="lrrrrlrl"))  # fmt: skip
    for name, wall, *rest in rows:
        print(md_row(name, wall, ratio(name, "grid"), ratio(name, "sklearn"), *rest))
    if args.pieces:
        _pieces(X, y, X_test, y_test, budget, args)


def _pieces(X, y, X_test, y_test, budget, args):
    """One candidate (the defaults) trained in pieces vs in one go."""
    print()
    print(md_header("seed", "one fit %", "in pieces %", align="lrr"))
    classes = np.unique(y)
    for seed in (0, 1):
        one = CNNClassifier(max_epochs=budget, random_state=seed).fit(X, y)
        pieces = CNNClassifier(max_epochs=budget, random_state=seed)
        for _ in range(budget):
            pieces.partial_fit(X, y, classes=classes)
        a = (one.predict(X_test) == y_test).mean() * 100
        b = (pieces.predict(X_test) == y_test).mean() * 100
        print(md_row(seed, f"{a:.2f}", f"{b:.2f}"), flush=True)


if __name__ == "__main__":
    main()
