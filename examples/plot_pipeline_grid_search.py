"""
Pipeline and grid search on the offline MNIST sample
====================================================

Scale the grey levels with :class:`~sklearn_mnist.preprocessing.Normalizer255`,
tune a classifier with :class:`~sklearn.model_selection.GridSearchCV` and read
the standard :func:`~sklearn.metrics.classification_report`.
"""

from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_mnist import Flatten, Normalizer255, load_mnist_sample

digits = load_mnist_sample()
X_train, X_test, y_train, y_test = train_test_split(
    digits.images, digits.target, test_size=0.25, stratify=digits.target, random_state=0
)
pipe = make_pipeline(Flatten(), Normalizer255(), LogisticRegression(max_iter=300))
search = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, cv=3)
search.fit(X_train, y_train)
print(search.best_params_)
print(classification_report(y_test, search.predict(X_test)))
