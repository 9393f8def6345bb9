"""``AdamW`` without torch.optim's first-use cost.

Every ``torch.optim`` optimizer imports ``torch._dynamo`` the first time one is
built or stepped (``Optimizer.__init__``, ``zero_grad`` and ``step`` are wrapped
in ``torch._disable_dynamo``, which imports the compiler lazily). That import
pulls in ``torch.distributed`` and the compiler's tracing rules: about 5 s of
the first fit in a fresh Python process on a 2-core CPU, more than half of the
whole fit of ``CNNClassifier()`` on full MNIST, and again in every fresh worker
of a parallel grid search (``benchmarks/RESULTS.md``).

:class:`AdamW` is ``torch.optim.AdamW``'s algorithm (decoupled weight decay,
``amsgrad=False``, the single-tensor path torch takes on the CPU), written
without those wrappers, with one ``torch._foreach_*`` call per operation for
all the tensors of a parameter group (a quarter less time per step than a
call per tensor). It subclasses ``torch.optim.Optimizer``, so learning-rate
schedulers, ``GradScaler`` and skorch treat it as any optimizer; its updates
equal ``torch.optim.AdamW``'s to the last bit (``tests/neural_net/test_optim.py`` checks
them step by step against it). torch's fused kernel (``fused=True``) takes a
fifth of the time of per-tensor updates, but rounds differently (a seed would
no longer give the model it gave before) and, on the CPU, walks the memory of
a weight and of its gradient in step whatever their strides (a channels-last
weight with a contiguous gradient is updated with the wrong elements): not
used.
"""

from collections import OrderedDict, defaultdict

import torch

__all__ = ["AdamW"]


class AdamW(torch.optim.Optimizer):
    """Adam with decoupled weight decay (Loshchilov and Hutter 2019).

    The same updates as :class:`torch.optim.AdamW` (with ``amsgrad=False``,
    ``maximize=False``), without importing ``torch._dynamo``.

    Parameters
    ----------
    params : iterable of tensors or of dicts (parameter groups)
    lr : float, default=1e-3
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=1e-2
    """

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2
    ):
        if not lr >= 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps >= 0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Invalid beta parameters: {betas}")
        if not weight_decay >= 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        # What torch.optim.Optimizer.__init__ sets up, minus the wrappers.
        self.defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.state = defaultdict(dict)
        self.param_groups = []
        for name in (
            "_optimizer_step_pre_hooks",
            "_optimizer_step_post_hooks",
            "_optimizer_state_dict_pre_hooks",
            "_optimizer_state_dict_post_hooks",
            "_optimizer_load_state_dict_pre_hooks",
            "_optimizer_load_state_dict_post_hooks",
        ):
            setattr(self, name, OrderedDict())
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self._add_group(group)

    def _add_group(self, group):
        params = group["params"]
        params = [params] if isinstance(params, torch.Tensor) else list(params)
        group = {**self.defaults, **group, "params": params}
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def add_param_group(self, param_group):
        self._add_group(param_group)

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self, closure=None):
        """One update; ``closure`` (recomputing the loss) is called first if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads, avgs, avg_sqs, steps = [], [], [], [], []
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if grad.is_sparse:
                    raise RuntimeError("AdamW does not support sparse gradients")
                state = self.state[param]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(param)
                    state["exp_avg_sq"] = torch.zeros_like(param)
                params.append(param)
                grads.append(grad)
                avgs.append(state["exp_avg"])
                avg_sqs.append(state["exp_avg_sq"])
                steps.append(state["step"])
            if params:
                _update(group, params, grads, avgs, avg_sqs, steps)
        return loss


def _update(group, params, grads, avgs, avg_sqs, steps):
    """``torch.optim.AdamW``'s single-tensor update (the same numbers, to the
    last bit), one ``torch._foreach_*`` call per operation for all the
    tensors of a group instead of one call per tensor."""
    lr, (beta1, beta2) = group["lr"], group["betas"]
    eps, weight_decay = group["eps"], group["weight_decay"]
    torch._foreach_add_(steps, 1)
    counts = [step.item() for step in steps]
    if weight_decay != 0:
        torch._foreach_mul_(params, 1 - lr * weight_decay)
    torch._foreach_lerp_(avgs, grads, 1 - beta1)
    torch._foreach_mul_(avg_sqs, beta2)
    torch._foreach_addcmul_(avg_sqs, grads, grads, value=1 - beta2)
    denom = torch._foreach_sqrt(avg_sqs)
    torch._foreach_div_(denom, [(1 - beta2**n) ** 0.5 for n in counts])
    torch._foreach_add_(denom, eps)
    torch._foreach_addcdiv_(params, avgs, denom, [-lr / (1 - beta1**n) for n in counts])
