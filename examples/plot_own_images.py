"""
Reading your own photos of digits
=================================

A model that scores 99% on MNIST reads photos of handwritten digits at chance
with the code one writes first (open the file, convert to grey, resize to
28x28, predict): MNIST digits are white on black, scaled into a 20x20 box and
centred by their centre of mass, and a photo is dark ink on light, unevenly lit
paper, larger, off-centre and noisy.
:func:`~sklearn_mnist.datasets.load_image_folder` reads a folder of image files
(one sub-folder per class) and :class:`~sklearn_mnist.preprocessing.DigitNormalizer`
turns each picture into an MNIST-style digit. Here the "photos" are sample
digits rendered by :func:`~sklearn_mnist.datasets.make_photo_digits` and saved
as JPEG files, so the right answers are known.
"""

# %%
# A model trained on MNIST-style digits
# -------------------------------------
import pathlib
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_mnist import (
    CNNClassifier,
    DigitNormalizer,
    ImageFileReader,
    load_image_folder,
    load_mnist_sample,
    make_photo_digits,
)

X, y = load_mnist_sample(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=1000, stratify=y, random_state=0
)
model = CNNClassifier(max_epochs=4, batch_size=64, random_state=0)
model.fit(X_train, y_train)
print(f"accuracy on the 1,000 held-out MNIST digits: {model.score(X_test, y_test):.3f}")

# %%
# A folder of photos, one sub-folder per digit
# --------------------------------------------
# Dark ink on tinted paper lit from one side, 1.6-3.6 times MNIST's size,
# off-centre, tilted, blurred, noisy, saved as JPEG.
folder = pathlib.Path(tempfile.mkdtemp()) / "my_digits"
photos = make_photo_digits(X_test, random_state=0)
for i, (photo, label) in enumerate(zip(photos, y_test, strict=True)):
    (folder / str(label)).mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo).save(folder / str(label) / f"{i:04d}.jpg")

# %%
# The first try, and the package's way
# ------------------------------------
# ``size="keep"`` keeps each picture's own size: the normaliser crops the ink
# before it scales, so nothing is squashed.
files = sorted(folder.glob("*/*.jpg"))
truth = np.array([int(f.parent.name) for f in files])
naive = np.stack(
    [np.asarray(Image.open(f).convert("L").resize((28, 28))) for f in files]
)
print(f"naive resize to 28x28: {model.score(naive, truth):.3f}")

data = load_image_folder(folder, size="keep")
labels = np.asarray(data.target_names)[data.target].astype(int)
digits = DigitNormalizer().transform(data.images)
print(f"load_image_folder + DigitNormalizer: {model.score(digits, labels):.3f}")
print(classification_report(labels, model.predict(digits), digits=3))

# %%
# Before and after
# ----------------
# Top: the files; middle: what the naive code feeds the model; bottom: the
# normalised digits. Titles are the model's answers.
fig, axes = plt.subplots(3, 8, figsize=(10, 4.4))
pick = np.random.default_rng(0).choice(len(files), 8, replace=False)
naive_pred, pred = model.predict(naive[pick]), model.predict(digits[pick])
for j, i in enumerate(pick):
    axes[0, j].imshow(data.images[i], cmap="gray")
    axes[0, j].set_title(f"file: {labels[i]}", fontsize=9)
    axes[1, j].imshow(naive[i], cmap="gray")
    axes[1, j].set_title(f"naive: {naive_pred[j]}", fontsize=9)
    axes[2, j].imshow(digits[i], cmap="gray")
    axes[2, j].set_title(f"normalised: {pred[j]}", fontsize=9)
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle("Photos of digits read by a CNN trained on MNIST-style digits")
fig.tight_layout()
plt.show()

# %%
# From file names to predictions in one Pipeline
# ----------------------------------------------
# :class:`~sklearn_mnist.preprocessing.ImageFileReader` reads the files, so a
# fitted model answers for paths; ``sklearn_mnist.save`` keeps the whole thing.
reader = make_pipeline(ImageFileReader(size="keep"), DigitNormalizer(), model)
answers = reader.predict([str(f) for f in files[:4]])
for f, answer in zip(files[:4], answers, strict=True):
    print(f"{f.relative_to(folder)}: {answer}")
