"""Soft-voting ensembles of augmented CNNs that differ, on full MNIST (issue 15).

A member is ``KIND:SEED``; the kinds (``MEMBERS`` below) share the accurate CNN
of ``bench_augmented_cnn.py`` (``ACCURATE`` in ``_harness.py``) and differ in
augmentation or width:

- ``affine``: ``RandomAffineAugmenter(rotation=10, shift=0.1, zoom=0.1)``;
- ``strong``: a stronger affine draw (rotation 15, shift 0.12, zoom 0.15);
- ``elastic``: ``ElasticDistortion()`` (Simard et al.'s alpha=34, sigma=4);
- ``wide``: the ``affine`` member with 48-96 channels (about 2x the compute).

The ensemble is scikit-learn's ``VotingClassifier(voting="soft")``, fitted on
the 60,000 training images; every member's accuracy and fit time (its
history's epoch durations) is printed beside the ensemble's::

    python bench_ensemble.py --members affine:0,affine:1,elastic:0,elastic:1
    python bench_ensemble.py --members affine:0 --epochs 30   # one model

``--save-proba DIR`` also writes each member's test probabilities and
classes (``DIR/KIND-SEED-EPOCHS.npz``; ``...-nN.npz`` with ``--n-train N``);
``--combine DIR`` then scores every soft-voting combination of the saved
members (the mean of their probabilities, which is
what ``VotingClassifier`` computes) without fitting anything. Test accuracy of
the best combination is chosen on the test set, so it is an optimistic figure:
the recipe to report is the one fitted again by ``--members``.
"""

import argparse
import itertools
import pathlib
import re

import numpy as np
from _harness import (
    ACCURATE,
    int_at_least,
    load_mnist,
    make_parser,
    md_header,
    md_row,
    print_test_errors,
    timed,
)
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


def member_specs(text):
    """``--members``: comma-separated ``KIND:SEED``, checked before any data is read."""
    seeds = []
    for spec in text.split(","):
        kind, sep, seed = spec.partition(":")
        if kind not in MEMBERS or not sep or not re.fullmatch(r"[0-9]+", seed):
            raise argparse.ArgumentTypeError(
                f"{spec!r} is not KIND:SEED with KIND in {sorted(MEMBERS)} and SEED "
                "a non-negative integer"
            )
        seeds.append((kind, int(seed)))
    if len(set(seeds)) < len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r} names a member twice")
    return seeds


def member(kind, seed, epochs, device, n_train=None):
    """``(name, CNNClassifier)`` for a member; the name says how it was trained."""
    params = {**ACCURATE, **MEMBERS[kind]()}
    clf = CNNClassifier(**params, max_epochs=epochs, random_state=seed, device=device)
    suffix = f"-n{n_train}" if n_train is not None else ""
    return f"{kind}-{seed}-{epochs}{suffix}", clf


def load_saved(folders, n_test):
    """``{name: (classes, proba, path)}`` of every ``--save-proba`` file, checked."""
    saved = {}
    for folder in folders:
        if not folder.is_dir():
            raise SystemExit(f"--combine: {folder} is not a folder")
        for path in sorted(folder.glob("*.npz")):
            try:
                with np.load(path) as npz:
                    proba = npz["proba"]
                    classes = npz["classes"] if "classes" in npz else np.arange(10)
            except (OSError, ValueError, KeyError) as exc:
                raise SystemExit(f"{path}: not a --save-proba file ({exc})") from exc
            if proba.shape != (n_test, len(classes)):
                raise SystemExit(
                    f"{path}: probabilities of shape {proba.shape}, expected "
                    f"({n_test}, {len(classes)}): one row per test image, one "
                    "column per class"
                )
            if path.stem in saved:
                raise SystemExit(
                    f"{path} and {saved[path.stem][2]} both hold member {path.stem}"
                )
            saved[path.stem] = classes, proba, path
    if len(saved) < 2:
        raise SystemExit(
            f"--combine needs at least 2 saved members, found {len(saved)} in "
            f"{', '.join(map(str, folders))}"
        )
    classes = {tuple(c) for c, _, _ in saved.values()}
    if len(classes) > 1:
        raise SystemExit(f"the saved members were fitted on other classes: {classes}")
    return saved


def combine(folders, y_test, max_size):
    """Accuracy of every soft-voting combination of the saved members."""
    saved = load_saved(folders, len(y_test))
    names = sorted(saved)
    classes = saved[names[0]][0]
    proba = {name: saved[name][1] for name in names}
    pred = {name: classes[p.argmax(1)] for name, p in proba.items()}
    print(f"{len(names)} saved members:")
    for name in names:
        print(f"  {name}: {(pred[name] == y_test).mean():.2%}")
    # Why a combination works: members that err on other images.
    wrong = {name: pred[name] != y_test for name in names}
    print(md_header("pair", "errors of each", "shared errors"))
    for a, b in itertools.combinations(names, 2):
        print(md_row(f"{a} + {b}", f"{wrong[a].sum()}, {wrong[b].sum()}",
                     (wrong[a] & wrong[b]).sum()))  # fmt: skip
    rows = []
    for k in range(2, min(max_size, len(names)) + 1):
        for combo in itertools.combinations(names, k):
            mean = np.mean([proba[n] for n in combo], axis=0)
            rows.append(((classes[mean.argmax(1)] == y_test).mean(), combo))
    rows.sort(key=lambda r: (-r[0], len(r[1])))
    print(md_header("members", "test accuracy"))
    for acc, combo in rows[:25]:
        print(md_row(" + ".join(combo), f"{acc:.2%}"))
    by_size = {}
    for acc, combo in rows:
        by_size.setdefault(len(combo), []).append(acc)
    for k, accs in sorted(by_size.items()):
        print(f"{k} members: {len(accs)} combinations, mean {np.mean(accs):.3%}, "
              f"best {max(accs):.2%}")  # fmt: skip


def build_parser():
    parser = make_parser(
        __doc__, epochs=20, n_train=None,
        quick=dict(epochs=1, members="affine:0,elastic:0"),
    )  # fmt: skip
    add = parser.add_argument
    add("--members", type=member_specs,
        default=member_specs("affine:0,affine:1,elastic:0,elastic:1"),
        help=f"comma-separated KIND:SEED, KIND in {sorted(MEMBERS)}")  # fmt: skip
    add("--device", default="auto", help="the classifiers' device option")
    add("--save-proba", type=pathlib.Path,
        help="write each member's test probabilities to DIR/NAME.npz")  # fmt: skip
    add("--combine", type=pathlib.Path, nargs="+", metavar="DIR",
        help="score the combinations of the members saved in DIR")  # fmt: skip
    add("--max-size", type=int_at_least(2), default=8,
        help="--combine: largest combination scored")  # fmt: skip
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    X_train, y_train, X_test, y_test = load_mnist(args.n_train)
    if args.combine:
        return combine(args.combine, y_test, args.max_size)
    members = [
        member(kind, seed, args.epochs, args.device, args.n_train)
        for kind, seed in args.members
    ]
    if len(members) == 1:
        model, fit_s = timed(members[0][1].fit, X_train, y_train)
        fitted = [model]
    else:
        voting = VotingClassifier(members, voting="soft")
        model, fit_s = timed(voting.fit, X_train, y_train)
        fitted = model.estimators_
    print(f"config: {ACCURATE}, epochs={args.epochs}, device={fitted[0].device_}")
    for (name, _), est in zip(members, fitted, strict=True):
        proba = est.predict_proba(X_test)
        acc = (est.classes_[proba.argmax(1)] == y_test).mean()
        member_s = sum(est.history[:, "dur"])
        print(f"  member {name}: {acc:.2%} (fit {member_s:.0f} s = "
              f"{member_s / 60:.1f} min; augment={est.augment!r}, "
              f"channels={est.module__channels})", flush=True)  # fmt: skip
        if args.save_proba is not None:
            args.save_proba.mkdir(parents=True, exist_ok=True)
            np.savez(args.save_proba / f"{name}.npz", proba=proba,
                     classes=est.classes_, fit_s=member_s)  # fmt: skip
    pred = model.predict(X_test)
    print_test_errors(len(members), fit_s, y_test, pred)


if __name__ == "__main__":
    main()
