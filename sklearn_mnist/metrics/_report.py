"""``write_report``: evaluation, figures and an optional attack in one folder."""

import json
import pathlib

import numpy as np

__all__ = ["describe_estimator", "write_report"]


def describe_estimator(estimator):
    """A short name for ``estimator``: its class, a Pipeline's steps, an
    ensemble's members (``"VotingClassifier(Pipeline(Normalizer255 ->
    MLPNetClassifier), ...)"``)."""
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list):
        inner = " -> ".join(describe_estimator(step) for _, step in steps)
        return f"{type(estimator).__name__}({inner})"
    members = getattr(estimator, "estimators", None)
    if isinstance(members, list) and all(isinstance(m, tuple) for m in members):
        inner = ", ".join(describe_estimator(est) for _, est in members)
        return f"{type(estimator).__name__}({inner})"
    return type(estimator).__name__


def _attackable(estimator, required):
    """Whether FGSMPerturber supports ``estimator`` (its own check); raises
    its reason when ``required``."""
    from ..adversarial import differentiable_model

    try:
        differentiable_model(estimator)
    except ValueError:
        if required:
            raise
        return False
    return True


def write_report(
    estimator, X, y, output, *, target_names=None, eps=0.2, attack="auto",
    curve_samples=1000, progress=None, model_name=None,
):  # fmt: skip
    """Evaluate a fitted classifier and write a report folder.

    Writes ``classification_report.txt``, ``report.json`` (which model,
    accuracy, the classification report, the confusion matrix, the
    most-confused pairs),
    ``confusion_matrix.png`` and ``misclassified.png``; when the model can be
    attacked (one of sklearn_mnist's classifiers, alone or at the end of a
    Pipeline of its transformers), also ``adversarial.png`` (clean vs FGSM
    digits at ``eps``) and ``robustness_curve.png`` (FGSM accuracy against eps
    on the first ``curve_samples`` samples), whose figures are added to
    ``report.json``.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
    X, y : test data and true labels
    output : str or path
        The folder; created if missing, files in it are replaced.
    target_names : list of str, default=None
        Display names of the classes.
    eps : float, default=0.2
        FGSM radius (fraction of the input range) of the adversarial figure.
    attack : {"auto", True, False}, default="auto"
        "auto" attacks when the model supports it; True requires it.
    curve_samples : int, default=1000
    progress : callable, default=None
        Called with a short message at the start of each stage.
    model_name : str, default=None
        What the report is about, written as ``"model"`` in ``report.json``
        and as the first line of ``classification_report.txt``; by default
        :func:`describe_estimator` of ``estimator``.

    Returns
    -------
    Evaluation
        The clean evaluation (what ``classification_report.txt`` holds).
    """
    import matplotlib.pyplot as plt

    from ._evaluate import evaluate
    from ._plots import plot_confusion_matrix, plot_misclassified

    stage = progress or (lambda message: None)
    out = pathlib.Path(output)
    out.mkdir(parents=True, exist_ok=True)
    do_attack = attack and _attackable(estimator, required=attack != "auto")
    stage("evaluating")
    result = evaluate(estimator, X, y, target_names=target_names)
    name = model_name if model_name is not None else describe_estimator(estimator)
    summary = {"model": name, **result.to_dict()}
    (out / "classification_report.txt").write_text(f"model: {name}\n{result}\n")
    _save(
        plot_confusion_matrix(result, estimator=estimator),
        out / "confusion_matrix.png",
        plt,
    )
    _save(
        plot_misclassified(X, y, result.y_pred, estimator=estimator),
        out / "misclassified.png",
        plt,
    )
    if do_attack:
        from ..adversarial import (
            FGSMPerturber,
            plot_robustness_curve,
            robustness_curve,
        )
        from ..utils import estimator_name
        from ._plots import plot_adversarial_examples

        stage(f"attacking with FGSM (eps={eps})")
        X_adv = FGSMPerturber(estimator, eps=eps).perturb(X, y)
        title = f"{estimator_name(estimator)}, FGSM attack, eps={eps:g}"
        _save(
            plot_adversarial_examples(estimator, X, X_adv, y, title=title),
            out / "adversarial.png",
            plt,
        )
        stage("robustness curve")
        n = min(curve_samples, len(X))
        curve = robustness_curve(estimator, X[:n], y[:n])
        _save(plot_robustness_curve(curve), out / "robustness_curve.png", plt)
        summary["adversarial"] = {
            "attack": "fgsm",
            "eps": eps,
            "accuracy": float(estimator.score(X_adv, y)),
        }
        summary["robustness_curve"] = {
            "attack": curve.attack,
            "n_samples": n,
            "eps": curve.eps.tolist(),
            "accuracy": curve.accuracy.tolist(),
        }
    if hasattr(estimator, "predict_reject") and hasattr(estimator, "threshold_"):
        stage("reject option")
        summary["reject_option"] = _reject_summary(estimator, X, y, out, plt)
        lines = [f"  {k}: {v}" for k, v in summary["reject_option"].items()]
        with open(out / "classification_report.txt", "a") as f:
            f.write("\nreject option (rejected samples count as errors above):\n")
            f.write("\n".join(lines) + "\n")
    (out / "report.json").write_text(json.dumps(summary, indent=2))
    return result


def _reject_summary(estimator, X, y, out, plt):
    """What a reject option answers on ``(X, y)``: its coverage, the accuracy
    on the answers, and ``coverage_risk.png`` (the error rate among answers
    against the share answered, the fitted threshold marked)."""
    from ..reject import plot_coverage_risk

    y = np.asarray(y)
    scores = estimator.score_samples(X)
    answered = ~np.asarray(estimator.predict_reject(X))
    inner = np.asarray(estimator.estimator_.predict(X))
    fig = plot_coverage_risk(
        y, inner, scores, threshold=estimator.threshold_,
        title=f"Reject option ({estimator.trust_score}): error among answers",
    )  # fmt: skip
    _save(fig, out / "coverage_risk.png", plt)
    accuracy = (
        float((inner[answered] == y[answered]).mean()) if answered.any() else None
    )
    return {
        "trust_score": str(estimator.trust_score),
        # strict JSON has no infinity: None when the threshold answers all or none
        "threshold": (
            float(estimator.threshold_) if np.isfinite(estimator.threshold_) else None
        ),
        "coverage": float(answered.mean()),
        "accuracy_on_answered": accuracy,
        "n_samples": int(len(y)),
    }


def _save(fig, path, plt):
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
