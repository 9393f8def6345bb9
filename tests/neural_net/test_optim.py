"""The package's AdamW against torch.optim.AdamW (the reference), and the
first-use cost it avoids."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_mnist.neural_net import AdamW


def _two_models(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    )
    twin = torch.nn.Sequential(
        torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    )
    twin.load_state_dict(model.state_dict())
    return model, twin


@settings(max_examples=20, deadline=None)
@given(
    lr=st.floats(1e-4, 0.1),
    beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.5, 0.9999),
    weight_decay=st.sampled_from([0.0, 1e-2, 0.3]),
    seed=st.integers(0, 1000),
)
def test_updates_equal_torch_adamw(lr, beta1, beta2, weight_decay, seed):
    ours_model, ref_model = _two_models(seed)
    kw = dict(lr=lr, betas=(beta1, beta2), eps=1e-8, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    ours = AdamW(ours_model.parameters(), **kw)
    ref = torch.optim.AdamW(ref_model.parameters(), **kw)
    for step in range(6):
        x = torch.randn(5, 6, generator=gen)
        y = torch.randint(0, 3, (5,), generator=gen)
        for model, opt in ((ours_model, ours), (ref_model, ref)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        if step == 3:  # a schedule changes lr and beta1 between steps
            for opt in (ours, ref):
                opt.param_groups[0]["lr"] = lr / 2
                opt.param_groups[0]["betas"] = (beta1 / 2, beta2)
    for a, b in zip(ours_model.parameters(), ref_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), every=st.integers(2, 3))
def test_parameters_without_gradients_on_some_steps_equal_torch_adamw(seed, every):
    # One update call for all the tensors of a group: tensors whose step
    # counts differ (a layer left out of some steps) keep their own.
    ours_model, ref_model = _two_models(seed)
    gen = torch.Generator().manual_seed(seed)
    ours = AdamW(ours_model.parameters(), lr=0.01)
    ref = torch.optim.AdamW(ref_model.parameters(), lr=0.01)
    for step in range(7):
        x = torch.randn(5, 6, generator=gen)
        for model, opt in ((ours_model, ours), (ref_model, ref)):
            opt.zero_grad()
            out = model[:2](x) if step % every else model(x)
            out.square().mean().backward()
            opt.step()
    for a, b in zip(ours_model.parameters(), ref_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert ours.state_dict()["state"][2]["step"] == ref.state_dict()["state"][2]["step"]


def test_mixed_dtypes_in_one_group():
    torch.manual_seed(0)
    params = [
        torch.nn.Parameter(torch.randn(3)),
        torch.nn.Parameter(torch.randn(2).double()),
    ]
    twins = [torch.nn.Parameter(p.detach().clone()) for p in params]
    for group, opt in ((params, AdamW(params)), (twins, torch.optim.AdamW(twins))):
        for _ in range(3):
            opt.zero_grad()
            sum(p.square().sum().double() for p in group).backward()
            opt.step()
    for a, b in zip(params, twins, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize(
    "param_layout, grad_layout",
    [
        (torch.channels_last, torch.contiguous_format),
        (torch.contiguous_format, torch.channels_last),
        (torch.channels_last, torch.channels_last),
        ("transposed", torch.contiguous_format),
    ],
)
def test_gradients_in_another_memory_layout(param_layout, grad_layout):
    # torch's fused CPU kernel walks memory ignoring strides (a channels-last
    # weight with a contiguous gradient moved by the wrong elements): the
    # update must not take such a shortcut.
    torch.manual_seed(0)
    value, grad = torch.randn(8, 3, 5, 5), torch.randn(8, 3, 5, 5)
    if param_layout == "transposed":
        value, grad = torch.randn(4, 6).t(), torch.randn(6, 4)
    results = []
    for make in (AdamW, torch.optim.AdamW):
        if param_layout == "transposed":
            param = torch.nn.Parameter(value.clone().t().contiguous().t())
        else:
            param = torch.nn.Parameter(value.contiguous(memory_format=param_layout))
        opt = make([param], lr=0.01)
        for _ in range(2):
            param.grad = grad.clone().contiguous(memory_format=grad_layout)
            opt.step()
        results.append(param.detach())
    torch.testing.assert_close(*results, rtol=0, atol=0)


def test_works_with_torch_schedulers_and_param_groups():
    model, _ = _two_models(0)
    opt = AdamW(
        [
            {"params": model[0].parameters()},
            {"params": model[2].parameters(), "lr": 0.5},
        ],
        lr=0.1,
    )
    assert isinstance(opt, torch.optim.Optimizer)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    model(torch.randn(2, 6)).sum().backward()
    opt.step()
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.25]
    assert set(opt.state_dict()["state"]) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="more than one"):
        AdamW([{"params": model[0].parameters()}, {"params": model[0].parameters()}])


def test_does_not_import_the_torch_compiler(fresh_python):
    code = (
        "import sys, torch\n"
        "from sklearn_mnist.neural_net import AdamW\n"
        "p = torch.nn.Parameter(torch.ones(3)); opt = AdamW([p])\n"
        "p.sum().backward(); opt.step(); opt.zero_grad()\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    assert fresh_python(code).strip() == "False"
