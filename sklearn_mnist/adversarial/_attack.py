"""The attack itself, on tensors: FGSM (one step) and PGD (several, projected)."""

import torch
import torch.nn.functional as F

__all__ = ["attack_tensor", "default_step", "kl_from"]


def default_step(eps, n_iter):
    """FGSM steps the whole eps; PGD steps 2.5 * eps / n_iter (Madry et al. 2018)."""
    return eps if n_iter == 1 else 2.5 * eps / n_iter


def attack_tensor(
    logits_fn,
    x0,
    labels,
    *,
    eps,
    step,
    n_iter=1,
    random_start=False,
    targeted=False,
    clip=(0.0, 1.0),
    generator=None,
    loss_fn=None,
    init_std=0.0,
):
    """Perturb ``x0`` within an L-infinity ball of radius ``eps``.

    ``x_{k+1} = clip(project(x_k + step * sign(grad_x loss)))`` with the
    cross-entropy of ``logits_fn(x)`` against ``labels`` (moved away from them,
    or towards them when ``targeted``), or another ``loss_fn``. ``n_iter=1``
    without random start is Goodfellow et al.'s FGSM; more iterations are PGD.

    Parameters
    ----------
    logits_fn : callable
        Differentiable map from a batch like ``x0`` to logits.
    x0 : torch.Tensor, float
    labels : torch.LongTensor
        Class indices: the ones to move away from, or the targets.
    eps, step : float
        In the units of ``x0``.
    clip : (float, float)
        Valid range of the input.
    generator : torch.Generator, default=None
        For the random start; None uses the global torch RNG.
    loss_fn : callable, default=None
        ``loss_fn(logits, labels) -> scalar`` that the attack increases
        (decreases when ``targeted``); None is the summed cross-entropy, and
        ``labels`` may then be anything ``loss_fn`` takes (e.g. probabilities).
    init_std : float, default=0.0
        Without ``random_start``: start from ``x0`` plus Gaussian noise of this
        standard deviation (units of ``x0``), for objectives whose gradient
        vanishes at ``x0`` itself, such as TRADES' KL divergence.

    Returns
    -------
    torch.Tensor, detached, same shape as ``x0``
    """
    lo, hi = clip
    x0 = x0.detach()
    x = x0.clone()
    if eps == 0:
        return x
    if random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype)
        x = (x + (noise.to(x.device) * 2 - 1) * eps).clamp_(lo, hi)
    elif init_std:
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = x + noise.to(x.device) * init_std
        x = torch.minimum(torch.maximum(x, x0 - eps), x0 + eps).clamp_(lo, hi)
    if loss_fn is None:
        loss_fn = _cross_entropy_sum
    for _ in range(n_iter):
        x.requires_grad_(True)
        with torch.enable_grad():
            loss = loss_fn(logits_fn(x), labels)
            (grad,) = torch.autograd.grad(loss, x)
        direction = -grad.sign() if targeted else grad.sign()
        x = x.detach() + step * direction
        x = torch.minimum(torch.maximum(x, x0 - eps), x0 + eps).clamp_(lo, hi)
    return x.detach()


def _cross_entropy_sum(logits, labels):
    return F.cross_entropy(logits, labels, reduction="sum")


def kl_from(logits, proba):
    """``sum_i KL(proba_i || softmax(logits_i))``: TRADES' crafting objective."""
    return F.kl_div(F.log_softmax(logits.float(), dim=1), proba, reduction="sum")
