"""The gradient penalty against values worked out by hand on critics whose input gradient is known.

A linear critic D(x) = w . x has grad_x D = w everywhere, so the penalty is (||w|| - 1)^2 whatever
alpha is drawn; a quadratic critic D(x) = ||x||^2 / 2 has grad_x D = x, so the penalty depends on
where the interpolate lands and checks that alpha is applied per sample.
"""
import math

import pytest
import torch

from augbench.core.seeding import torch_generator
from augbench.generators._gan_utils import gradient_penalty


def _linear_critic(weight):
    return lambda x, *args: (x * weight).flatten(1).sum(1)


def test_linear_critic_penalty_is_norm_of_w_minus_one_squared_for_any_alpha():
    weight = torch.full((1, 2, 3, 3), 0.5, requires_grad=True)  # ||w|| = 0.5 * sqrt(18)
    real, fake = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3)
    expected = (0.5 * math.sqrt(18) - 1.0) ** 2
    for alpha in ("uniform", "normal"):
        for seed in (0, 1):
            gp = gradient_penalty(_linear_critic(weight), real, fake, alpha=alpha, generator=torch_generator(seed))
            assert gp.item() == pytest.approx(expected, rel=1e-5)


def test_penalty_is_differentiable_in_the_critic_weights():
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||; needs create_graph=True inside gradient_penalty
    weight = torch.full((1, 2, 3, 3), 0.5, requires_grad=True)
    gp = gradient_penalty(_linear_critic(weight), torch.randn(3, 2, 3, 3), torch.randn(3, 2, 3, 3))
    gp.backward()
    norm = 0.5 * math.sqrt(18)
    assert torch.allclose(weight.grad, torch.full_like(weight, 2 * (norm - 1) * 0.5 / norm), rtol=1e-5)


def test_quadratic_critic_penalty_with_fixed_alpha():
    real = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 2.0]]], [[[3.0, 4.0]]]])  # (3, 1, 1, 2)
    fake = torch.tensor([[[[0.0, 0.0]]], [[[2.0, 0.0]]], [[[0.0, 0.0]]]])
    # the alphas a seeded U(0, 1) draw gives for 3 samples
    a = torch.rand(3, generator=torch_generator(5)).tolist()
    by_hand = []
    for i, (r, f) in enumerate([((1, 0), (0, 0)), ((0, 2), (2, 0)), ((3, 4), (0, 0))]):
        x_hat = [r[j] + a[i] * (f[j] - r[j]) for j in range(2)]
        by_hand.append((math.hypot(*x_hat) - 1.0) ** 2)  # grad of ||x||^2 / 2 is x itself
    gp = gradient_penalty(lambda x: 0.5 * (x ** 2).flatten(1).sum(1), real, fake, alpha="uniform",
                          generator=torch_generator(5))
    assert gp.item() == pytest.approx(sum(by_hand) / 3, rel=1e-5)


def test_critic_args_reach_the_critic():
    # D(x, y) = (y + 1) w . x  ->  ||grad|| = (y + 1) ||w||, with ||w|| = 1 here
    weight = torch.zeros(1, 1, 2, 2)
    weight[0, 0, 0, 0] = 1.0
    labels = torch.tensor([0, 1, 2])
    critic = lambda x, y: (y.float() + 1) * (x * weight).flatten(1).sum(1)  # noqa: E731
    gp = gradient_penalty(critic, torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2), labels)
    assert gp.item() == pytest.approx(((1 - 1) ** 2 + (2 - 1) ** 2 + (3 - 1) ** 2) / 3, rel=1e-5)


def _alphas(alpha, n=2000):
    """Recover the per-sample alpha from the interpolates the critic is evaluated at."""
    seen = {}

    def critic(x):
        seen["x_hat"] = x.detach().clone()
        return x.flatten(1).sum(1)

    real, fake = torch.zeros(n, 1, 2, 2), torch.ones(n, 1, 2, 2)
    gradient_penalty(critic, real, fake, alpha=alpha, generator=torch_generator(0))
    x_hat = seen["x_hat"]
    assert torch.allclose(x_hat, x_hat[:, :1, :1, :1].expand_as(x_hat))  # one alpha per sample
    return x_hat[:, 0, 0, 0]


def test_uniform_alpha_lies_in_unit_interval_and_normal_does_not():
    uniform, normal = _alphas("uniform"), _alphas("normal")
    assert uniform.min() >= 0 and uniform.max() <= 1
    assert abs(uniform.mean().item() - 0.5) < 0.05
    assert (normal < 0).float().mean().item() == pytest.approx(0.5, abs=0.05)
    assert abs(normal.std().item() - 1.0) < 0.1


def test_unknown_alpha_is_rejected():
    with pytest.raises(ValueError, match="alpha"):
        gradient_penalty(lambda x: x.sum(1), torch.zeros(2, 3), torch.ones(2, 3), alpha="beta")
