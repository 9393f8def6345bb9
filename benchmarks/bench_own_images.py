"""Your own images: photos of digits read naively and with the package's pipeline.

A ``CNNClassifier()`` fitted with its defaults on the 60,000 MNIST training
digits reads ``--n-photos`` (default 2,000) MNIST *test* digits rendered by
``make_photo_digits`` (dark ink on tinted, unevenly lit paper, 1.6-3.6 times
MNIST's size, off-centre, tilted up to 8 degrees, blurred, noisy, JPEG quality
50-90; see its docstring) and written as JPEG files, one folder per label:

- clean: the same test digits as MNIST arrays;
- naive: what a user writes first, Pillow's ``open`` / ``convert("L")`` /
  ``resize((28, 28))``, then predict (and the same with the colours inverted);
- package: ``load_image_folder(size="keep")`` then ``DigitNormalizer()`` (and
  ``DigitNormalizer(deskew=True)``);
- reading and normalising throughput, in images per second: one process
  (``load_image_folder`` + ``DigitNormalizer``), and two joblib workers that
  each read and normalise a share of the files (``ImageFileReader`` +
  ``DigitNormalizer``), timed on a second call (workers started).

``--deskew`` adds the classic deskewing comparison on full MNIST: scikit-learn's
``KNeighborsClassifier()`` and ``SVC()`` (SVC on the first ``--svc-train``
training digits, default 20,000, as libsvm is slow on 60,000) and
``CNNClassifier()``, each on raw and on deskewed digits (``DigitNormalizer(
deskew=True)`` on train and test), beside LeCun et al.'s published rows.

    cd benchmarks && python bench_own_images.py [--n-photos 2000] [--deskew]
"""

import pathlib
import tempfile

import numpy as np
from _harness import load_mnist, make_parser, md_header, md_row, timed
from joblib import Parallel, delayed
from PIL import Image
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from sklearn_mnist import CNNClassifier
from sklearn_mnist.datasets import load_image_folder, make_photo_digits
from sklearn_mnist.preprocessing import DigitNormalizer, ImageFileReader

# LeCun, Cortes and Burges, the MNIST page's table (test error, %).
LECUN = {
    "K-NN, Euclidean (L2)": ("none: 5.0 (LeCun 1998), 3.09 (Wilder)", "2.4"),
    "SVM, deg. 4 polynomial": ("Gaussian kernel, none: 1.4", "1.1"),
}


def write_photos(photos, labels, root):
    for i, (photo, label) in enumerate(zip(photos, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(exist_ok=True)
        Image.fromarray(photo).save(folder / f"{i:05d}.jpg", quality=95)


def read_and_normalise_files(paths):
    """One worker's share: read the files and normalise them (paths in,
    28x28 digits out, so little crosses between processes)."""
    pictures = ImageFileReader(size="keep").transform(paths)
    return DigitNormalizer().transform(pictures)


def read_and_normalise(root, n_jobs=1):
    """``(images (n, 28, 28), labels, folder)`` and seconds.

    One process: ``load_image_folder`` then ``DigitNormalizer``. Several: the
    file list from ``load_image_folder``'s rules is split into chunks that
    joblib's workers read and normalise (``read_and_normalise_files``).
    """

    def read():
        if n_jobs == 1:
            folder = load_image_folder(root, size="keep")
            return DigitNormalizer().transform(folder.images), folder
        files = sorted(str(f) for f in pathlib.Path(root).glob("*/*.jpg"))
        chunks = np.array_split(np.asarray(files), n_jobs * 4)
        parts = Parallel(n_jobs=n_jobs)(
            delayed(read_and_normalise_files)(list(chunk)) for chunk in chunks
        )
        return np.concatenate(parts), None

    (images, folder), seconds = timed(read)
    return images, folder, seconds


def photos_part(X_train, y_train, X_test, y_test, n_photos, seed):
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(X_test), n_photos, replace=False)
    X, y = X_test[pick], y_test[pick]
    clf, seconds = timed(CNNClassifier(random_state=seed).fit, X_train, y_train)
    print(f"CNNClassifier() on {len(X_train):,} MNIST digits: fit {seconds:.1f} s")
    photos = make_photo_digits(X, random_state=seed)
    sizes = np.array([p.shape[:2] for p in photos])
    print(
        f"{n_photos} photo-like renderings of MNIST test digits, {sizes.min()}-"
        f"{sizes.max()} px a side (median {np.median(sizes):.0f}), JPEG files"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        write_photos(photos, y, root)
        files = sorted(root.glob("*/*.jpg"))
        truth = np.array([int(f.parent.name) for f in files])
        naive, naive_s = timed(
            lambda: np.stack(
                [np.asarray(Image.open(f).convert("L").resize((28, 28))) for f in files]
            )
        )
        read_and_normalise(root)  # warm caches (file system, imports)
        images, folder, one_s = read_and_normalise(root)
        read_and_normalise(root, n_jobs=2)  # start the workers
        parallel, _, two_s = read_and_normalise(root, n_jobs=2)
        assert np.array_equal(parallel, images)
        labels = np.asarray(folder.target_names)[folder.target].astype(int)
        deskewed = DigitNormalizer(deskew=True).transform(folder.images)
    clean = clf.score(X, y)
    rows = [
        ("clean MNIST test digits (arrays)", clean),
        ("naive: open, grey, resize to 28x28", clf.score(naive, truth)),
        ("naive, colours inverted", clf.score(255 - naive, truth)),
        ("load_image_folder + DigitNormalizer()", clf.score(images, labels)),
        ("... DigitNormalizer(deskew=True)", clf.score(deskewed, labels)),
    ]
    print(md_header("input", "accuracy", "vs clean"))
    for name, acc in rows:
        print(md_row(name, f"{acc:.2%}", f"{100 * (acc - clean):+.2f} points"))
    print(
        f"reading + normalising {n_photos} files: {n_photos / one_s:,.0f} images/s "
        f"(1 process), {n_photos / two_s:,.0f} images/s (2 joblib workers, warm); "
        "naive reading "
        f"{n_photos / naive_s:,.0f} images/s"
    )


def deskew_part(X_train, y_train, X_test, y_test, svc_train, seed):
    norm = DigitNormalizer(deskew=True)
    (D_train, D_test), seconds = timed(
        lambda: (norm.transform(X_train), norm.transform(X_test))
    )
    n = len(X_train) + len(X_test)
    print(f"deskewing {n:,} MNIST digits: {seconds:.0f} s ({n / seconds:,.0f}/s)")
    flat = [a.reshape(len(a), -1) for a in (X_train, X_test, D_train, D_test)]
    models = [
        ("KNeighborsClassifier()", KNeighborsClassifier, None, 1),
        (f"SVC() on {svc_train:,} digits", SVC, svc_train, 255),
        ("CNNClassifier()", lambda: CNNClassifier(random_state=seed), None, 1),
    ]
    print(md_header("model", "error, raw", "error, deskewed",
                    "fit+predict s (raw / deskewed)"))  # fmt: skip
    for name, make, n, scale in models:
        errors, times = [], []
        for Xtr, Xte in ((flat[0], flat[1]), (flat[2], flat[3])):

            def fit_score(Xtr=Xtr, Xte=Xte, make=make, n=n, scale=scale):
                model = make().fit(Xtr[:n] / scale, y_train[:n])
                return 1 - model.score(Xte / scale, y_test)

            error, seconds = timed(fit_score)
            errors.append(error)
            times.append(seconds)
        print(md_row(name, f"{errors[0]:.2%}", f"{errors[1]:.2%}",
                     f"{times[0]:.0f} / {times[1]:.0f}"))  # fmt: skip
    for name, (raw, deskewed) in LECUN.items():
        print(f"LeCun's table, {name}: {raw}; deskewing: {deskewed} (% error)")


def build_parser():
    parser = make_parser(
        __doc__, seed=0, n_train=None, quick=dict(n_photos=200, svc_train=1000)
    )
    parser.add_argument("--n-photos", type=int, default=2000)
    parser.add_argument("--deskew", action="store_true")
    parser.add_argument("--svc-train", type=int, default=20000)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    X_train, y_train, X_test, y_test = load_mnist(args.n_train)
    photos_part(X_train, y_train, X_test, y_test, args.n_photos, args.seed)
    if args.deskew:
        deskew_part(X_train, y_train, X_test, y_test, args.svc_train, args.seed)


if __name__ == "__main__":
    main()
