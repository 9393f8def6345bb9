"""Soft-voting ensembles of augmented CNNs that differ, on full MNIST (issue 15).

A member is ``KIND:SEED``; the kinds (``MEMBERS`` below) share the accurate CNN
of ``bench_augmented_cnn.py`` and differ in augmentation or width:

- ``affine``: ``RandomAffineAugmenter(rotation=10, shift=0.1, zoom=0.1)``;
- ``strong``: a stronger affine draw (rotation 15, shift 0.12, zoom 0.15);
- ``elastic``: ``ElasticDistortion()`` (Simard et al.'s alpha=34, sigma=4);
- ``wide``: the ``affine`` member with 48-96 channels (about 2x the compute).

The ensemble is scikit-learn's ``VotingClassifier(voting="soft")``, fitted on
the 60,000 training images; every member's accuracy and fit time (its
history's epoch durations) is printed beside the ensemble's::

    python bench_ensemble.py --members affine:0,affine:1,elastic:0,elastic:1
    python bench_ensemble.py --members affine:0 --epochs 30   # one model

``--save-proba DIR`` also writes each member's test probabilities
(``DIR/KIND-SEED-EPOCHS.npz``); ``--combine DIR`` then scores every soft-voting
combination of the saved members (the mean of their probabilities, which is
what ``VotingClassifier`` computes) without fitting anything. Test accuracy of
the best combination is chosen on the test set, so it is an optimistic figure:
the recipe to report is the one fitted again by ``--members``.
"""

import argparse
import itertools
import pathlib
import time

import numpy as np
from _common import load_full_mnist, print_test_errors
from bench_augmented_cnn import ACCURATE
from sklearn.ensemble import VotingClassifier

from sklearn_mnist import CNNClassifier, RandomAffineAugmenter
from sklearn_mnist.preprocessing import ElasticDistortion

AFFINE = dict(rotation=10, shift=0.1, zoom=0.1)
MEMBERS = {
    "affine": lambda: dict(augment=RandomAffineAugmenter(**AFFINE)),
    "strong": lambda: dict(
        augment=RandomAffineAugmenter(rotation=15, shift=0.12, zoom=0.15)
    ),
    "elastic": lambda: dict(augment=ElasticDistortion()),
    "wide": lambda: dict(
        augment=RandomAffineAugmenter(**AFFINE), module__channels=(48, 96)
    ),
}


def member(spec, epochs, device):
    """``(name, CNNClassifier)`` for ``KIND:SEED``."""
    kind, _, seed = spec.partition(":")
    if kind not in MEMBERS or not seed.isdigit():
        raise SystemExit(f"a member is KIND:SEED with KIND in {sorted(MEMBERS)}")
    params = {**ACCURATE, **MEMBERS[kind]()}
    clf = CNNClassifier(
        **params, max_epochs=epochs, random_state=int(seed), device=device
    )
    return f"{kind}-{seed}-{epochs}", clf


def combine(folders, y_test, max_size):
    """Accuracy of every soft-voting combination of the saved members."""
    saved = {}
    for folder in folders:
        for path in sorted(pathlib.Path(folder).glob("*.npz")):
            saved[path.stem] = np.load(path)["proba"]
    names = sorted(saved)
    print(f"{len(names)} saved members:")
    for name in names:
        print(f"  {name}: {(saved[name].argmax(1) == y_test).mean():.2%}")
    # Why a combination works: members that err on other images.
    wrong = {name: saved[name].argmax(1) != y_test for name in names}
    print("| pair | errors of each | shared errors |")
    print("| --- | --- | --- |")
    for a, b in itertools.combinations(names, 2):
        print(f"| {a} + {b} | {wrong[a].sum()}, {wrong[b].sum()} | "
              f"{(wrong[a] & wrong[b]).sum()} |")  # fmt: skip
    rows = []
    for k in range(2, min(max_size, len(names)) + 1):
        for combo in itertools.combinations(names, k):
            proba = np.mean([saved[n] for n in combo], axis=0)
            rows.append(((proba.argmax(1) == y_test).mean(), combo))
    rows.sort(key=lambda r: (-r[0], len(r[1])))
    print("| members | test accuracy |")
    print("| --- | --- |")
    for acc, combo in rows[:25]:
        print(f"| {' + '.join(combo)} | {acc:.2%} |")
    by_size = {}
    for acc, combo in rows:
        by_size.setdefault(len(combo), []).append(acc)
    for k, accs in sorted(by_size.items()):
        print(f"{k} members: {len(accs)} combinations, mean {np.mean(accs):.3%}, "
              f"best {max(accs):.2%}")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="affine:0,affine:1,elastic:0,elastic:1")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--save-proba", type=pathlib.Path)
    parser.add_argument("--combine", type=pathlib.Path, nargs="+")
    parser.add_argument("--max-size", type=int, default=8)
    parser.add_argument("--n-train", type=int, help="first training images only")
    args = parser.parse_args()
    X_train, y_train, X_test, y_test = load_full_mnist()
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    if args.combine:
        return combine(args.combine, y_test, args.max_size)
    members = [member(s, args.epochs, args.device) for s in args.members.split(",")]
    start = time.perf_counter()
    if len(members) == 1:
        model = members[0][1].fit(X_train, y_train)
        fitted = [model]
    else:
        model = VotingClassifier(members, voting="soft").fit(X_train, y_train)
        fitted = model.estimators_
    fit_s = time.perf_counter() - start
    print(f"config: {ACCURATE}, epochs={args.epochs}, device={fitted[0].device_}")
    for (name, _), est in zip(members, fitted, strict=True):
        proba = est.predict_proba(X_test)
        acc = (est.classes_[proba.argmax(1)] == y_test).mean()
        member_s = sum(est.history[:, "dur"])
        print(f"  member {name}: {acc:.2%} (fit {member_s / 60:.1f} min; "
              f"augment={est.augment!r})", flush=True)  # fmt: skip
        if args.save_proba is not None:
            args.save_proba.mkdir(parents=True, exist_ok=True)
            np.savez(args.save_proba / f"{name}.npz", proba=proba, fit_s=member_s)
    pred = model.predict(X_test)
    print_test_errors(len(members), fit_s, y_test, pred)


if __name__ == "__main__":
    main()
