"""scikit-learn's fit semantics in full: defaults at every data size, sample and
class weights, partial_fit / warm_start, image layouts, parameter validation,
scale warnings (issue #13). Each bug the issue lists has a test here."""

import warnings

import numpy as np
import pytest
import sklearn
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback

from sklearn_mnist import (
    CNNClassifier,
    MLPNetClassifier,
    Normalizer255,
    TransferClassifier,
    load_mnist_sample,
)
from sklearn_mnist.adversarial import FGSMPerturber
from sklearn_mnist.neural_net import one_cycle

# Few epochs and no augmentation: these tests are about mechanics.
FAST = dict(
    module__channels=(4, 8), module__hidden_units=16, batch_size=32, max_epochs=2,
    augment=None, random_state=0, device="cpu",
)  # fmt: skip


@pytest.fixture(scope="module")
def data():
    X, y = load_mnist_sample(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, train_size=600, test_size=400, stratify=y, random_state=0
    )
    return X_tr, X_te, y_tr, y_te


# ----------------------------------------------------------- training length
@pytest.mark.parametrize("n", [1, 2, 5, 50])
def test_default_cnn_fits_tiny_training_sets(n, data):
    """CNNClassifier() raised ZeroDivisionError (OneCycleLR) on <= 256 samples."""
    X_tr, X_te, y_tr, _ = data
    X, y = X_tr[: max(n, 2)], np.arange(max(n, 2)) % 2
    clf = CNNClassifier(random_state=0).fit(X, y)
    assert clf.predict(X_te[:3]).shape == (3,)
    assert clf.steps_per_epoch_ * clf.max_epochs_ >= 1250


def test_small_data_gets_enough_steps_and_large_data_keeps_its_epochs():
    from sklearn_mnist.neural_net._plan import plan_training

    cnn = CNNClassifier()
    cnn.image_shape_ = (1, 28, 28)
    small = plan_training(cnn, 100, cnn.auto_defaults)
    assert small.batch_size == 25 and small.steps_per_epoch * small.epochs >= 1250
    assert small.augment is not None
    big = plan_training(cnn, 60000, cnn.auto_defaults)
    assert (big.batch_size, big.epochs) == (256, 3)  # as the first release
    assert big.augment is None  # 3 epochs are better spent on clean digits
    mid = plan_training(cnn, 10000, cnn.auto_defaults)
    assert mid.steps_per_epoch * mid.epochs >= 1250 and mid.augment is not None
    assert mid.batch_size == 128  # small data: as many steps, smaller batches
    # Where the batch size changes (25,000 -> 25,001 images: 128 -> 256), the
    # samples a fit trains on do not jump.
    below, above = (plan_training(cnn, n, cnn.auto_defaults) for n in (25000, 25001))
    assert (below.batch_size, above.batch_size) == (128, 256)
    assert 0.9 < above.epochs / below.epochs < 1.25
    cnn.image_shape_ = (1, 1, 10)  # not images: no augmentation
    assert plan_training(cnn, 1000, cnn.auto_defaults).augment is None
    transfer = TransferClassifier()
    transfer.image_shape_ = (1, 28, 28)
    small = plan_training(transfer, 1000, transfer.auto_defaults)
    assert small.batch_size == 48 and small.steps_per_epoch * small.epochs >= 200
    large = plan_training(transfer, 3000, transfer.auto_defaults)
    assert large.batch_size == 128 and large.steps_per_epoch * large.epochs >= 200
    fixed = CNNClassifier(max_epochs=7, batch_size=10, augment=None)
    fixed.image_shape_ = (1, 28, 28)
    plan = plan_training(fixed, 100, fixed.auto_defaults)
    assert (plan.batch_size, plan.epochs, plan.augment) == (10, 7, None)


def _dropouts(clf):
    return [m.p for m in clf.module_.modules() if isinstance(m, torch.nn.Dropout)]


def test_cnn_regularises_small_data_only_unless_dropout_is_set():
    # Dropout (like augmentation) on up to 20,000 samples; none above, where
    # the default's three epochs end as accurate without and train faster.
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (20001, 1, 8, 8), dtype=np.uint8)
    y = rng.integers(0, 2, 20001)
    tiny = dict(module__channels=(2,), module__hidden_units=4, max_epochs=1)
    large = CNNClassifier(**tiny, random_state=0).fit(X, y)
    assert large.dropout_ == 0.0 and _dropouts(large) == []
    assert large.augment_ is None
    small = CNNClassifier(**tiny, random_state=0).fit(X[:20000], y[:20000])
    assert small.dropout_ == 0.2 and _dropouts(small) == [0.2, 0.2]
    set_ = CNNClassifier(**tiny, module__dropout=0.3, random_state=0).fit(X, y)
    assert set_.dropout_ == 0.3 and _dropouts(set_) == [0.3, 0.3]
    # A warm fit keeps the network it built, and says so.
    warm = CNNClassifier(**tiny, warm_start=True, random_state=0).fit(X[:100], y[:100])
    warm.fit(X, y)
    assert warm.dropout_ == 0.2 and _dropouts(warm) == [0.2, 0.2]
    # set_params(module__...) rebuilds a fitted network at once: dropout_
    # follows it (also under warm_start), and is None for another module.
    warm.set_params(module__dropout=0.5)
    assert warm.dropout_ == 0.5 and _dropouts(warm) == [0.5, 0.5]
    warm.fit(X[:100], y[:100])
    assert warm.dropout_ == 0.5 and _dropouts(warm) == [0.5, 0.5]
    warm.set_params(module__channels=(3,))
    assert warm.dropout_ == 0.5
    other = CNNClassifier(module=_Linear, max_epochs=1, warm_start=True)
    other.fit(X[:100], y[:100])
    assert other.dropout_ is None and _dropouts(other) == []


class _Linear(torch.nn.Module):
    def __init__(self, in_shape, n_classes):
        super().__init__()
        self.linear = torch.nn.Linear(int(np.prod(in_shape)), n_classes)

    def forward(self, x):
        return self.linear(x.flatten(1))


def test_grid_search_and_cross_validation_on_small_data_with_defaults(data):
    X_tr, _, y_tr, _ = data
    X, y = X_tr[:120], y_tr[:120]
    scores = cross_val_score(CNNClassifier(random_state=0, max_epochs=30), X, y, cv=2)
    assert scores.shape == (2,) and np.all(scores > 0.3)
    search = GridSearchCV(
        MLPNetClassifier(random_state=0), {"lr": [1e-3, 2e-3]}, cv=2
    ).fit(X, y)
    assert search.best_score_ > 0.4


@settings(max_examples=60, deadline=None)
@given(total=st.integers(1, 400), pct=st.sampled_from([0.1, 0.25, 0.3, 0.5]))
def test_one_cycle_is_defined_for_any_length(total, pct):
    values = [one_cycle(k, total, pct_start=pct) for k in range(total)]
    lrs = np.array([v[0] for v in values])
    assert np.all(np.isfinite(lrs)) and np.all(lrs > 0) and lrs.max() <= 1 + 1e-12
    assert lrs[-1] == lrs.min()


@settings(max_examples=25, deadline=None)
@given(total=st.integers(12, 600), pct=st.sampled_from([0.1, 0.25, 0.3]))
def test_one_cycle_matches_torch_one_cycle_lr(total, pct):
    """Reference: torch.optim.lr_scheduler.OneCycleLR (lr and Adam's beta1)."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.01, total_steps=total, pct_start=pct, final_div_factor=1e3
    )
    for k in range(total):
        factor, momentum = one_cycle(k, total, pct_start=pct)
        group = opt.param_groups[0]
        assert group["lr"] == pytest.approx(0.01 * factor, rel=1e-9, abs=1e-15)
        assert group["betas"][0] == pytest.approx(momentum, rel=1e-9)
        opt.step()
        if k < total - 1:
            sched.step()


def test_early_stopping_stops_and_keeps_the_best_epoch(data):
    X_tr, X_te, y_tr, y_te = data
    clf = CNNClassifier(
        **{**FAST, "max_epochs": 60}, early_stopping=True, n_iter_no_change=3,
        validation_fraction=0.2,
    ).fit(X_tr, y_tr)  # fmt: skip
    losses = clf.history[:, "valid_loss"]
    assert clf.n_iter_ < 60 and clf.n_iter_ == len(losses)
    best = int(np.argmin(losses))
    assert clf.n_iter_ - 1 - best >= 3  # stopped after 3 epochs without progress
    assert clf.score(X_te, y_te) > 0.7
    with pytest.raises(ValueError, match="leave train_split=None"):
        CNNClassifier(early_stopping=True, train_split=lambda ds, y: (ds, None)).fit(
            X_tr[:50], y_tr[:50]
        )


# ------------------------------------------------------------ sample weights
def test_sample_weight_of_ones_changes_nothing(data):
    X_tr, X_te, y_tr, _ = data
    a = CNNClassifier(**FAST).fit(X_tr, y_tr).predict_proba(X_te)
    b = CNNClassifier(**FAST).fit(X_tr, y_tr, sample_weight=np.ones(len(X_tr)))
    np.testing.assert_array_equal(a, b.predict_proba(X_te))


def test_zero_weights_are_the_same_as_leaving_samples_out(data):
    X_tr, X_te, y_tr, _ = data
    w = np.ones(len(X_tr))
    w[::3] = 0
    weighted = CNNClassifier(**FAST).fit(X_tr, y_tr, sample_weight=w)
    dropped = CNNClassifier(**FAST).fit(X_tr[w > 0], y_tr[w > 0])
    np.testing.assert_array_equal(
        weighted.predict_proba(X_te), dropped.predict_proba(X_te)
    )


def test_weights_shift_predictions_towards_the_heavy_class(data):
    X_tr, X_te, y_tr, _ = data
    w = np.where(y_tr == 3, 20.0, 1.0)
    plain = CNNClassifier(**FAST).fit(X_tr, y_tr).predict(X_te)
    heavy = CNNClassifier(**FAST).fit(X_tr, y_tr, sample_weight=w).predict(X_te)
    assert (heavy == 3).sum() > (plain == 3).sum()


def test_class_weight_equals_the_matching_sample_weight(data):
    X_tr, X_te, y_tr, _ = data
    by_class = CNNClassifier(**FAST, class_weight={3: 4.0, 5: 0.5}).fit(X_tr, y_tr)
    w = np.where(y_tr == 3, 4.0, np.where(y_tr == 5, 0.5, 1.0))
    by_sample = CNNClassifier(**FAST).fit(X_tr, y_tr, sample_weight=w)
    np.testing.assert_allclose(
        by_class.predict_proba(X_te), by_sample.predict_proba(X_te), atol=1e-6
    )
    balanced = CNNClassifier(**FAST, class_weight="balanced")
    keep = (y_tr != 7) | (np.arange(len(y_tr)) % 6 == 0)  # 7 is rare
    balanced.fit(X_tr[keep], y_tr[keep])
    with pytest.raises(ValueError, match="Negative values"):
        CNNClassifier(**FAST).fit(X_tr, y_tr, sample_weight=-np.ones(len(X_tr)))


@pytest.mark.parametrize("routing", [False, True])
def test_sample_weight_through_a_pipeline(routing, data):
    """TypeError: CNNModule.forward() got an unexpected keyword argument, before."""
    X_tr, X_te, y_tr, _ = data
    w = np.where(y_tr == 3, 20.0, 1.0)
    expected = CNNClassifier(**FAST).fit(X_tr / 255.0, y_tr, sample_weight=w)
    with sklearn.config_context(enable_metadata_routing=routing):
        clf = CNNClassifier(**FAST)
        if routing:
            clf.set_fit_request(sample_weight=True)
        pipe = make_pipeline(Normalizer255(), clf)
        if routing:
            pipe.fit(X_tr, y_tr, sample_weight=w)
        else:
            pipe.fit(X_tr, y_tr, cnnclassifier__sample_weight=w)
        np.testing.assert_allclose(
            pipe.predict_proba(X_te), expected.predict_proba(X_te / 255.0), atol=1e-5
        )


# ------------------------------------------------- partial_fit and warm start
def test_partial_fit_honours_classes_and_continues_the_schedule(data):
    X_tr, X_te, y_tr, y_te = data
    clf = CNNClassifier(**{**FAST, "max_epochs": 4})
    first = np.isin(y_tr, [0, 1])
    clf.partial_fit(X_tr[first], y_tr[first], classes=range(10))
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    schedule = dict(clf.callbacks_)["lr_schedule"]
    step, total = schedule.step_, schedule.total_
    lr = clf.optimizer_.param_groups[0]["lr"]
    clf.partial_fit(X_tr[:100], y_tr[:100])  # new labels, all among classes: fine
    assert schedule.step_ > step and schedule.total_ == total  # continued
    assert clf.n_iter_ == 2
    # Where the first call stopped is where the second started.
    assert lr == pytest.approx(
        clf.lr * one_cycle(step, total, pct_start=schedule.pct_start)[0]
    )
    with pytest.raises(ValueError, match="not among"):
        clf.partial_fit(X_tr[:10], np.full(10, 42))
    with pytest.raises(ValueError, match="differs from the classes"):
        clf.partial_fit(X_tr[:10], y_tr[:10], classes=[0, 1])
    with pytest.raises(ValueError, match="not among"):
        CNNClassifier(**FAST).partial_fit(X_tr[:20], y_tr[:20], classes=[0, 1])


@pytest.mark.parametrize("cls", [CNNClassifier, MLPNetClassifier])
def test_partial_fit_with_auto_epochs_reaches_the_peak_rate_within_a_few_calls(
    cls, data
):
    # A cycle of "auto" partial_fit is the classifier's large-data epochs in
    # calls, not a whole fit's step floor (which kept chunks of a few hundred
    # images at lr / 25 for 100+ calls).
    X_tr, _, y_tr, _ = data
    clf = cls(random_state=0, max_epochs="auto", augment=None)
    rates = []
    for chunk in np.array_split(np.arange(300), 3):
        clf.partial_fit(X_tr[chunk], y_tr[chunk], classes=range(10))
        rates.append(clf.optimizer_.param_groups[0]["lr"])
    epochs = cls.auto_defaults.epochs
    assert clf.max_epochs_ == epochs
    assert dict(clf.callbacks_)["lr_schedule"].total_ == (
        epochs * clf.steps_per_epoch_ + 1
    )
    assert max(rates) > 0.5 * clf.lr


class _RateLog(Callback):
    """Learning rate of every training batch, per call."""

    def initialize(self):
        self.calls_ = []
        return self

    def on_train_begin(self, net, **kwargs):
        self.calls_.append([])

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.calls_[-1].append(net.optimizer_.param_groups[0]["lr"])


@pytest.mark.parametrize("cls", [CNNClassifier, MLPNetClassifier])
def test_no_partial_fit_call_is_spent_at_the_schedule_floor(cls, data):
    # After each cycle a whole call ran at lr / 25,000 (the cycle's last step
    # only restarted at the next call boundary): CNN call 4, MLP call 7.
    X_tr, _, y_tr, _ = data
    clf = cls(random_state=0, augment=None, callbacks=[("rates", _RateLog())])
    for chunk in np.array_split(np.arange(600), 8):
        clf.partial_fit(X_tr[chunk], y_tr[chunk], classes=range(10))
    rates = dict(clf.callbacks_)["rates"].calls_
    assert len(rates) == 8
    for call, lrs in enumerate(rates, 1):
        assert max(lrs) >= clf.lr / 25 * 0.999, f"call {call} at {max(lrs):.2e}"


def test_the_schedule_peaks_at_optimizer_lr_where_set(data):
    # skorch gives optimizer__lr to the optimizer; the schedule overwrote it
    # with lr at every step, so it was silently unused.
    X_tr, _, y_tr, _ = data
    log = [("rates", _RateLog())]
    clf = CNNClassifier(**FAST, optimizer__lr=1e-4, callbacks=log).fit(X_tr, y_tr)
    assert max(dict(clf.callbacks_)["rates"].calls_[0]) == pytest.approx(1e-4, rel=0.01)
    clf.set_params(optimizer__lr=2e-4).fit(X_tr, y_tr)  # fitted: stored too
    assert clf.get_params()["optimizer__lr"] == 2e-4
    assert max(dict(clf.callbacks_)["rates"].calls_[0]) == pytest.approx(2e-4, rel=0.01)
    with pytest.raises(ValueError, match="optimizer__lr"):
        clf.set_params(optimizer__lr="a").fit(X_tr, y_tr)


def test_partial_fit_after_fit_starts_a_new_cycle(data):
    X_tr, _, y_tr, _ = data
    clf = CNNClassifier(**FAST, callbacks=[("rates", _RateLog())]).fit(X_tr, y_tr)
    clf.partial_fit(X_tr, y_tr)
    fit_rates, partial_rates = dict(clf.callbacks_)["rates"].calls_[-2:]
    assert max(partial_rates) == pytest.approx(max(fit_rates))


@pytest.mark.parametrize("max_epochs", ["auto", 2])
def test_partial_fit_after_fit_cycles_over_calls_of_its_own_size(max_epochs, data):
    # The cycle after fit counted fit's plan: fit on 600 images ("auto": 53
    # epochs of 19 batches) left partial_fit calls of 100 images (4 batches)
    # in a 1,008-step cycle, 60 calls in its warm-up at a 25th of lr.
    X_tr, _, y_tr, _ = data
    params = dict(FAST, max_epochs=max_epochs, callbacks=[("rates", _RateLog())])
    clf = CNNClassifier(**params).fit(X_tr, y_tr)
    calls = clf.auto_defaults.epochs if max_epochs == "auto" else max_epochs
    for start in range(0, 100 * calls, 100):
        clf.partial_fit(X_tr[start : start + 100], y_tr[start : start + 100])
    cycle = dict(clf.callbacks_)["rates"].calls_[1:]
    assert [len(c) for c in cycle] == [4] * calls
    assert max(np.concatenate(cycle)) > 0.9 * clf.lr
    assert cycle[-1][-1] < clf.lr / 10  # the cycle ends with the calls


def test_warm_start_keeps_encoding_and_statistics(data):
    X_tr, _, y_tr, _ = data
    labels = np.array(list("abcdefghij"))[y_tr]
    clf = CNNClassifier(**FAST, warm_start=True).fit(X_tr, labels)
    mean, encoder = clf.input_mean_, clf.label_encoder_
    weights = clf.module_.head[-1].weight.detach().clone()
    # Only some classes in the second fit: the encoding must not shift.
    some = np.isin(labels, ["c", "d"])
    clf.fit(X_tr[some] / 2, labels[some])
    assert clf.label_encoder_ is encoder and clf.input_mean_ == mean
    assert list(clf.classes_) == list("abcdefghij")
    assert not torch.equal(weights, clf.module_.head[-1].weight)  # trained further
    with pytest.raises(ValueError, match="not among the classes seen"):
        clf.fit(X_tr[:10], np.array(["z"] * 10))


# -------------------------------------------------------------- image layouts
def test_channels_last_images_are_read_as_such(data):
    X_tr, X_te, y_tr, y_te = data
    first = CNNClassifier(**FAST).fit(X_tr.reshape(-1, 1, 28, 28), y_tr)
    last = CNNClassifier(**FAST).fit(X_tr.reshape(-1, 28, 28, 1), y_tr)
    assert last.image_shape_ == (1, 28, 28) and last.input_layout_ == "channels_last"
    np.testing.assert_array_equal(
        first.predict_proba(X_te.reshape(-1, 1, 28, 28)),
        last.predict_proba(X_te.reshape(-1, 28, 28, 1)),
    )
    rgb_first = np.repeat(X_tr.reshape(-1, 1, 28, 28), 3, axis=1)
    rgb_last = np.ascontiguousarray(np.moveaxis(rgb_first, 1, -1))
    a = CNNClassifier(**FAST).fit(rgb_first, y_tr)
    b = CNNClassifier(**FAST).fit(rgb_last, y_tr)
    assert a.image_shape_ == b.image_shape_ == (3, 28, 28)
    te_first = np.repeat(X_te.reshape(-1, 1, 28, 28), 3, axis=1)
    te_last = np.ascontiguousarray(np.moveaxis(te_first, 1, -1))
    np.testing.assert_array_equal(a.predict_proba(te_first), b.predict_proba(te_last))
    # A model fitted channels-first converts channels-last input (and back).
    np.testing.assert_array_equal(a.predict_proba(te_last), a.predict_proba(te_first))
    np.testing.assert_array_equal(b.predict_proba(te_first), b.predict_proba(te_last))
    # Flat rows are read in the layout seen at fit.
    np.testing.assert_array_equal(
        b.predict_proba(te_last.reshape(len(te_last), -1)), b.predict_proba(te_last)
    )
    assert a.score(te_last, y_te) > 0.5


def test_ambiguous_and_foreign_layouts_are_refused(data):
    X_tr, _, y_tr, _ = data
    with pytest.raises(ValueError, match="channels-first"):
        CNNClassifier(**FAST).fit(np.zeros((20, 3, 4, 3)), np.arange(20) % 2)
    ok = CNNClassifier(**FAST, image_shape=(3, 4, 3)).fit(
        np.zeros((20, 3, 4, 3)), np.arange(20) % 2
    )
    assert ok.image_shape_ == (3, 4, 3)
    clf = CNNClassifier(**FAST).fit(X_tr[:100].reshape(-1, 28, 28), y_tr[:100])
    with pytest.raises(ValueError, match="fitted on images of shape"):
        clf.predict(X_tr[:5].reshape(-1, 14, 56))
    with pytest.raises(ValueError, match="fitted on images of shape"):
        clf.predict(X_tr[:5].reshape(-1, 1, 14, 56))


# ------------------------------------------------------ parameter validation
@pytest.mark.parametrize(
    "make, params, match",
    [
        (CNNClassifier, dict(module__channels=-3), "module__channels must be"),
        (CNNClassifier, dict(module__channels=(8, 0)), "module__channels must be"),
        (CNNClassifier, dict(module__hidden_units=-1), "module__hidden_units must"),
        (CNNClassifier, dict(module__hidden_units=(8, 8)), "module__hidden_units must"),
        (CNNClassifier, dict(module__dropout=1.5), "module__dropout must be"),
        (CNNClassifier, dict(module__dropout=-0.1), "module__dropout must be"),
        (CNNClassifier, dict(module__depth=0), "module__depth must be"),
        (MLPNetClassifier, dict(module__hidden_units=0), "module__hidden_units must"),
        (MLPNetClassifier, dict(module__hidden_units=(8, -1)), "module__hidden_units"),
        (MLPNetClassifier, dict(module__dropout=1.0), "module__dropout must be"),
    ],
)
def test_module_parameters_are_validated_at_fit(make, params, match, data):
    # Before: torch errors 15-28 frames deep (negative dimension, groups=1),
    # or, for the MLP's hidden_units=0, a silent chance-level model.
    X_tr, _, y_tr, _ = data
    base = dict(max_epochs=1, batch_size=32, augment=None, random_state=0)
    with pytest.raises(ValueError, match=match):
        make(**base, **params).fit(X_tr[:64], y_tr[:64])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(max_epochs=0), "max_epochs"),
        (dict(max_epochs=-3), "max_epochs"),
        (dict(batch_size=0), "batch_size"),
        (dict(lr=-1.0), "lr"),
        (dict(adversarial_ratio=-1), "adversarial_ratio"),
        (dict(adversarial_ratio=2), "adversarial_ratio"),
        (dict(adversarial=FGSMPerturber(eps=2)), "eps"),
        (dict(augment="yes"), "augment"),
        (dict(mixed_precision="int8"), "mixed_precision"),
        (dict(validation_fraction=1.0, early_stopping=True), "validation_fraction"),
        (dict(class_weight="some"), "class_weight"),
        (dict(class_weight={0: float("nan")}), "class_weight"),
        (dict(class_weight={0: float("inf")}), "class_weight"),
        (dict(class_weight={0: -1.0}), "class_weight"),
        (dict(class_weight={0: "2"}), "class_weight"),
        (dict(max_epochs=True), "max_epochs"),
        (dict(batch_size=True), "batch_size"),
        (dict(callbacks=[1, 2]), "callbacks"),
        (dict(callbacks=[("name", 3)]), "callbacks"),
        (dict(callbacks="helloworld"), "callbacks"),
        (dict(early_stopping="yes"), "early_stopping"),
    ],
)
def test_parameters_are_validated_at_fit(params, match, data):
    X_tr, _, y_tr, _ = data
    with pytest.raises(ValueError, match=match):
        CNNClassifier(**params).fit(X_tr[:40], y_tr[:40])


def test_any_value_can_be_set_and_is_refused_only_at_fit(data):
    # scikit-learn's rule: __init__ and set_params store, fit validates.
    X_tr, _, y_tr, _ = data
    bad = dict(callbacks="helloworld", early_stopping=np.array([1, 2]),
               verbose=np.array([1.0]), class_weight={0: np.nan})  # fmt: skip
    clf = CNNClassifier(**bad)
    clf.set_params(**bad)
    with pytest.raises(ValueError):
        clf.fit(X_tr[:40], y_tr[:40])


# ------------------------------------------------------------ scale warnings
ODD_COMPONENTS = [
    dict(optimizer="x"), dict(criterion=3), dict(module="x"),
    dict(iterator_train="x"), dict(iterator_valid=3), dict(dataset=3),
    dict(criterion__weight="x"), dict(module__foo=3), dict(optimizer__foo=3),
    dict(optimizer__weight_decay="abc"), dict(optimizer__betas=(2, 3)),
    dict(iterator_train__batch_size=0), dict(iterator_train__batch_size="abc"),
]  # fmt: skip


@pytest.mark.parametrize("params", ODD_COMPONENTS, ids=lambda p: next(iter(p)))
def test_odd_component_values_on_a_fitted_model_are_refused_at_fit(params, data):
    # set_params on a fitted model raised from skorch's re-initialisation
    # ("Something went wrong", "'int' object is not callable"); iterator_*
    # and dataset were silently ignored; module__foo a TypeError.
    X_tr, X_te, y_tr, _ = data
    X, y = X_tr[:100], y_tr[:100]
    clf = CNNClassifier(**FAST).fit(X, y)
    before = clf.predict_proba(X_te[:5])
    clf.set_params(**params)
    assert clf.get_params()[next(iter(params))] == next(iter(params.values()))
    np.testing.assert_allclose(clf.predict_proba(X_te[:5]), before)
    key = next(iter(params))
    name = key if "batch_size" in key else key.split("__")[0]
    for fit in (  # those that continue the fitted network first
        lambda: clf.partial_fit(X, y),
        lambda: clf.set_params(warm_start=True).fit(X, y),
        lambda: clf.set_params(warm_start=False).fit(X, y),
        lambda: CNNClassifier(**FAST, **params).fit(X, y),
    ):
        with pytest.raises(ValueError, match=name):
            fit()


@pytest.mark.parametrize("size", [0, "abc", 2.5])
def test_a_prediction_batch_size_that_is_no_size_is_refused_at_predict(size, data):
    # ZeroDivisionError / TypeError from the batch iterator before.
    X_tr, X_te, y_tr, _ = data
    clf = CNNClassifier(**FAST).fit(X_tr[:100], y_tr[:100])
    clf.set_params(iterator_valid__batch_size=size)
    with pytest.raises(ValueError, match="iterator_valid__batch_size"):
        clf.predict(X_te[:5])
    clf.set_params(iterator_valid__batch_size=3)
    clf.predict(X_te[:5])


def test_components_set_on_a_fitted_model_are_used_by_the_next_fit(data):
    X_tr, _, y_tr, _ = data
    X, y = X_tr[:100], y_tr[:100]
    clf = CNNClassifier(**FAST, warm_start=True).fit(X, y)
    clf.set_params(optimizer=torch.optim.SGD)  # skorch: "Something went wrong"
    clf.fit(X, y)
    assert isinstance(clf.optimizer_, torch.optim.SGD)
    clf.set_params(criterion=3)
    clf.set_params(criterion=torch.nn.CrossEntropyLoss, criterion__weight=None)
    clf.partial_fit(X, y)
    assert isinstance(clf.criterion_, torch.nn.CrossEntropyLoss)
    clf.set_params(iterator_train__batch_size=10).fit(X, y)  # read: allowed


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_labels_are_refused_without_a_numpy_warning(bad, match):
    # scikit-learn's type_of_target casts NaN/inf to int (RuntimeWarning)
    # before its own error; we refuse such y first, quietly.
    X, y = np.random.default_rng(0).random((10, 4)), np.zeros(10)
    y[3] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=f"Input y contains {match}"):
            MLPNetClassifier(max_epochs=1).fit(X, y)


def test_predicting_on_another_scale_warns(data):
    X_tr, X_te, y_tr, _ = data
    clf = CNNClassifier(**FAST).fit(X_tr, y_tr)  # 0..255
    with pytest.warns(UserWarning, match="0..255 pixels"):
        clf.predict(X_te / 255.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(X_te)  # same scale: silent
    scaled = CNNClassifier(**FAST).fit(X_tr / 255.0, y_tr)
    with pytest.warns(UserWarning, match="0..1 pixels"):
        scaled.predict(X_te)
    with pytest.warns(UserWarning, match="already scaled"):
        Normalizer255().fit_transform(X_te / 255.0)


def test_a_model_on_its_own_scale_names_that_scale():
    # A 0..16 model (scikit-learn's load_digits) given 0..1 data was told to
    # multiply by 255; given 0..255 data it said nothing.
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    clf = MLPNetClassifier(max_epochs=1, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match=r"fitted on values in \[0, 16\]") as seen:
        clf.predict(X / 16.0)
    assert "255" not in str(seen[0].message)
    with pytest.warns(UserWarning, match=r"fitted on values in \[0, 16\]"):
        clf.predict(X * 255.0 / 16.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(X)
        clf.predict(X[y == 1][:1])  # one sample on the same scale
        clf.predict(np.zeros((2, 64)))  # blank images say nothing about scale


def test_a_model_on_0_1_pixels_given_them_divided_twice_is_told_so(data):
    # The advice read "scale X the same way as the training data (x 1?)".
    X_tr, X_te, y_tr, _ = data
    clf = CNNClassifier(**FAST).fit(X_tr[:100] / 255.0, y_tr[:100])
    with pytest.warns(UserWarning, match=r"\[0, 1\].*divided by 255 twice") as seen:
        clf.predict(X_te[:5] / 255.0 / 255.0)
    assert "x 1" not in str(seen[0].message)


# ------------------------------------------------- the transformer API in full
def test_augment_resampler_in_an_imbalanced_learn_pipeline(data):
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn_mnist.preprocessing import AugmentResampler, RandomAffineAugmenter

    X_tr, X_te, y_tr, _ = data
    with pytest.raises((TypeError, ValueError)):  # the augmenter itself is refused
        imblearn_pipeline.make_pipeline(
            RandomAffineAugmenter(), CNNClassifier(**FAST)
        ).fit(X_tr[:60], y_tr[:60])
    seen = {}

    class Spy(CNNClassifier):
        def fit(self, X, y, **kw):
            seen["n"] = len(X)
            return super().fit(X, y, **kw)

    pipe = imblearn_pipeline.make_pipeline(
        AugmentResampler(n_copies=2, random_state=0), Spy(**FAST)
    ).fit(X_tr, y_tr)
    assert seen["n"] == 3 * len(X_tr)  # originals + 2 augmented copies
    assert pipe.predict(X_te).shape == (len(X_te),)  # prediction: no resampling


def test_feature_names_and_pandas_output_on_image_pipelines(data):
    pd = pytest.importorskip("pandas")
    from sklearn_mnist.preprocessing import ElasticDistortion, RandomAffineAugmenter

    X_tr, X_te, y_tr, _ = data
    images = X_tr[:50].reshape(-1, 28, 28)
    clf = CNNClassifier(**FAST).fit(X_tr, y_tr)
    for step in (
        Normalizer255(),
        RandomAffineAugmenter(random_state=0),
        ElasticDistortion(random_state=0),
        FGSMPerturber(clf, eps=0.1),
    ):
        names = step.fit(images, y_tr[:50]).get_feature_names_out()
        assert len(names) == 784 and names[0] == "x0"
        out = step.set_output(transform="pandas").transform(images)
        assert isinstance(out, pd.DataFrame) and out.shape == (50, 784)
        assert list(out.columns) == list(names)
    pipe = make_pipeline(Normalizer255(), CNNClassifier(**FAST))
    pipe.set_output(transform="pandas")  # "Must pass 2-d input" before
    pipe.fit(X_tr.reshape(-1, 28, 28), y_tr)
    assert pipe.predict(X_te.reshape(-1, 28, 28)).shape == (len(X_te),)


def test_silent_by_default_progress_bar_with_verbose(data, capsys):
    X_tr, _, y_tr, _ = data
    CNNClassifier(**FAST).fit(X_tr[:200], y_tr[:200])
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    CNNClassifier(**{**FAST, "verbose": 1}).fit(X_tr[:200], y_tr[:200])
    out = capsys.readouterr()
    assert "train_loss" in out.out and "epoch" in out.out  # skorch's epoch table
    assert "it/s" in out.err  # the per-batch tqdm bar


@pytest.mark.parametrize(
    "shape, image_shape, match",
    [
        ((28, 28), (1, 20, 20), "does not match"),  # images that contradict it
        ((28, 28), (5, 5), "does not match"),
        ((1, 28, 28), (0, 28, 28), "positive integers"),
        ((1, 28, 28), (1.5, 28), "positive integers"),
        ((28, 28, 1), (1, 14, 56), "does not match"),
        ((784,), (28, 28, 1), r"\(channels, height, width\).*\(1, 28, 28\)"),
        ((28 * 28 * 3,), (28, 28, 3), r"\(3, 28, 28\)"),
    ],
)
def test_declared_image_shape_is_never_ignored_or_misread(shape, image_shape, match):
    X = np.zeros((20, *shape), dtype=np.uint8)
    with pytest.raises(ValueError, match=match):
        CNNClassifier(**FAST, image_shape=image_shape).fit(X, np.arange(20) % 2)


def test_declared_image_shape_that_matches_is_used(data):
    X_tr, _, y_tr, _ = data
    for X, declared in [
        (X_tr[:40].reshape(-1, 28, 28), (28, 28)),
        (X_tr[:40].reshape(-1, 28, 28), (1, 28, 28)),
        (X_tr[:40].reshape(-1, 28, 28, 1), (1, 28, 28)),
    ]:
        clf = CNNClassifier(**FAST, image_shape=declared).fit(X, y_tr[:40])
        assert clf.image_shape_ == (1, 28, 28)


# ------------------------------------ found by a new-user trial, 2026-12-05
def test_partial_fit_after_an_early_stopped_fit_starts_its_own_cycle(data):
    # fit planned 60 epochs and stopped after a few: partial_fit then went
    # on with fit's cycle, dozens of calls in its warm-up.
    X_tr, _, y_tr, _ = data
    params = dict(FAST, max_epochs=60, early_stopping=True, n_iter_no_change=1)
    clf = CNNClassifier(**params, tol=10.0).fit(X_tr[:500], y_tr[:500])
    assert len(clf.history) < 60
    schedule = dict(clf.callbacks_)["lr_schedule"]
    clf.partial_fit(X_tr[500:600], y_tr[500:600])
    assert schedule.total_ == clf.max_epochs_ * clf.steps_per_epoch_ + 1


def test_a_refused_cold_fit_leaves_no_half_fitted_model(data):
    # The input statistics and a re-initialised network were kept when the
    # optimizer could not be built: predict answered from untrained weights.
    X_tr, X_te, y_tr, _ = data
    clf = CNNClassifier(**FAST).fit(X_tr[:100], y_tr[:100])
    clf.set_params(optimizer__weight_decay="abc")
    with pytest.raises(ValueError, match="optimizer"):
        clf.fit(X_tr[100:200] / 2, y_tr[100:200])
    with pytest.raises(sklearn.exceptions.NotFittedError):
        clf.predict(X_te[:5])
    clf.set_params(optimizer__weight_decay=0.01).fit(X_tr[:100], y_tr[:100])
    clf.predict(X_te[:5])


def test_a_good_optimizer_value_after_a_bad_one_can_be_saved(data, tmp_path):
    from sklearn_mnist import load, save

    X_tr, X_te, y_tr, _ = data
    clf = CNNClassifier(**FAST).fit(X_tr[:100], y_tr[:100])
    clf.set_params(optimizer__eps=-1)
    with pytest.raises(ValueError, match="optimizer"):
        save(clf, tmp_path / "bad.skmnist")
    clf.set_params(optimizer__eps=1e-8)
    assert clf.optimizer_.param_groups[0]["eps"] == 1e-8
    loaded = load(save(clf, tmp_path / "good.skmnist"))
    np.testing.assert_allclose(
        loaded.predict_proba(X_te[:5]), clf.predict_proba(X_te[:5])
    )


def test_the_schedule_counts_the_batches_of_iterator_train_batch_size(data):
    # The plan counted batches of batch_size while batches of
    # iterator_train__batch_size were drawn: 9 cycles in one fit.
    X_tr, _, y_tr, _ = data
    rates = _RateLog()
    params = dict(FAST, iterator_train__batch_size=8, callbacks=[("r", rates)])
    clf = CNNClassifier(**params).fit(X_tr[:300], y_tr[:300])
    assert clf.steps_per_epoch_ == 300 // 8 + 1
    fit_rates = rates.calls_[0]
    assert np.argmax(fit_rates) < len(fit_rates) // 2
    assert fit_rates[-1] < clf.lr / 100  # one cycle, annealed at the end


@pytest.mark.parametrize(
    "params",
    [dict(optimizer__betas=(0.9,)), dict(optimizer__betas=(0.9, 0.99, 0.5)),
     dict(iterator_train__batch_size=True), dict(optimizer__lr=True)],
    ids=lambda p: f"{next(iter(p))}={next(iter(p.values()))}",
)  # fmt: skip
def test_odd_values_that_passed_are_refused_at_fit(params, data):
    X_tr, _, y_tr, _ = data
    name = next(iter(params))
    with pytest.raises(ValueError, match=name.split("__")[0]):
        CNNClassifier(**FAST, **params).fit(X_tr[:100], y_tr[:100])


def test_ctrl_c_in_a_fit_ends_a_grid_search(data):
    """A KeyboardInterrupt from inside a fit (not a callback's way to stop
    training) propagates out of GridSearchCV: the search ends, instead of
    taking a fit cut short for a finished one and going on with the next."""
    X_tr, _, y_tr, _ = data

    class Started(Callback):
        fits = 0

        def on_train_begin(self, net, **kwargs):
            type(self).fits += 1

    class CtrlC(CNNClassifier):
        def train_step(self, batch, **fit_params):
            raise KeyboardInterrupt  # as Ctrl-C arriving in the middle of a batch

    search = GridSearchCV(
        CtrlC(**FAST, callbacks=[("started", Started())]),
        {"module__hidden_units": [8, 16]}, cv=2, error_score=np.nan,
    )  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        search.fit(X_tr[:200], y_tr[:200])
    assert Started.fits == 1
    assert not hasattr(search, "best_estimator_")


def test_set_params_lr_after_fit_then_fit_again():
    """skorch counts ``lr`` as a virtual parameter: it was added to the names
    skorch validates as ``prefix__name``, and the next fit from scratch
    raised "__init__() got unexpected argument(s) lr"."""
    from sklearn_mnist import MLPNetClassifier, load_mnist_sample

    X, y = load_mnist_sample(return_X_y=True)
    X, y = X[::10], y[::10]
    clf = MLPNetClassifier(max_epochs=1, module__hidden_units=(8,), random_state=0)
    clf.fit(X, y).set_params(lr=0.01)
    assert clf.optimizer_.param_groups[0]["lr"] <= 0.01  # the live optimizer too
    clf.fit(X, y)
    assert clf.get_params()["lr"] == 0.01


def test_a_ctrl_c_while_a_callback_runs_is_not_taken_for_early_stopping():
    """A Ctrl-C lands between any two instructions, also inside a callback's
    code; only a callback's own ``raise KeyboardInterrupt`` (EarlyStopping's
    way to stop) ends training quietly (1 of 40 random interrupts was
    swallowed before)."""
    import signal

    from skorch.callbacks import Callback

    from sklearn_mnist import MLPNetClassifier, load_mnist_sample

    class CtrlCInside(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if training and len(net.history) == 2:
                signal.raise_signal(signal.SIGINT)
                sum(range(1000))  # the interrupt is raised here, not at a raise

    class Stop(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt  # skorch's own way to end training

    X, y = load_mnist_sample(return_X_y=True)
    X, y = X[::10], y[::10]
    kw = dict(max_epochs=5, module__hidden_units=(8,), random_state=0)
    clf = MLPNetClassifier(callbacks=[("c", CtrlCInside())], **kw)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    stopped = MLPNetClassifier(callbacks=[("s", Stop())], **kw).fit(X, y)
    assert stopped.n_iter_ == 2
