"""The attack itself, on tensors: FGSM (one step) and PGD (several, projected)."""

import torch
import torch.nn.functional as F

__all__ = ["attack_tensor", "default_step"]


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
):
    """Perturb ``x0`` within an L-infinity ball of radius ``eps``.

    ``x_{k+1} = clip(project(x_k + step * sign(grad_x loss)))`` with the
    cross-entropy of ``logits_fn(x)`` against ``labels`` (moved away from them,
    or towards them when ``targeted``). ``n_iter=1`` without random start is
    Goodfellow et al.'s FGSM; more iterations are PGD.

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
    for _ in range(n_iter):
        x.requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(logits_fn(x), labels, reduction="sum")
            (grad,) = torch.autograd.grad(loss, x)
        direction = -grad.sign() if targeted else grad.sign()
        x = x.detach() + step * direction
        x = torch.minimum(torch.maximum(x, x0 - eps), x0 + eps).clamp_(lo, hi)
    return x.detach()
