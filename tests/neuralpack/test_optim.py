import copy
import io
import math

import numpy as np
import pytest
import torch
from torch import nn

from neuralpack.optim import LARS
from physics_baseline.validate import ConfigError


def regression_problem(seed=0, n=20):
    """A Linear(3, 2) with bias, float64, and data for the loss mean_rows |W x + b - y|^2."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(3, 2)).double()
    return model, rng.normal(size=(n, 3)), rng.normal(size=(n, 2)) * 5


def quadratic_loss(model, x, y):
    return (model(torch.tensor(x)) - torch.tensor(y)).pow(2).sum(dim=1).mean()


def train(model, optimiser, x, y, steps):
    for _ in range(steps):
        optimiser.zero_grad()
        quadratic_loss(model, x, y).backward()
        optimiser.step()


def reference_lars(weight, bias, x, y, steps, lr, momentum, weight_decay, trust_coefficient, eps=1e-8):
    """The update rule in numpy float64, with the analytic gradient of the quadratic loss."""
    params = {"weight": weight.copy(), "bias": bias.copy()}
    velocity = {}
    for _ in range(steps):
        residual = x @ params["weight"].T + params["bias"] - y
        grads = {"weight": 2 * residual.T @ x / len(x), "bias": 2 * residual.sum(axis=0) / len(x)}
        for name, p in params.items():
            g = grads[name] + weight_decay * p
            if p.ndim > 1:
                p_norm, g_norm = np.linalg.norm(p), np.linalg.norm(g)
                if p_norm > 0 and g_norm > 0:
                    g = g * trust_coefficient * p_norm / (g_norm + eps)
            velocity[name] = g if name not in velocity else momentum * velocity[name] + g
            params[name] = p - lr * velocity[name]
    return params


@pytest.mark.parametrize("momentum,weight_decay", [(0.9, 0.0), (0.9, 0.05), (0.0, 0.01)])
def test_steps_match_a_numpy_reference(momentum, weight_decay):
    model, x, y = regression_problem()
    weight, bias = model[0].weight.detach().numpy().copy(), model[0].bias.detach().numpy().copy()
    settings = {"lr": 0.5, "momentum": momentum, "weight_decay": weight_decay, "trust_coefficient": 0.02}
    train(model, LARS(model.parameters(), **settings), x, y, steps=5)
    expected = reference_lars(weight, bias, x, y, steps=5, **settings)
    np.testing.assert_allclose(model[0].weight.detach().numpy(), expected["weight"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model[0].bias.detach().numpy(), expected["bias"], rtol=1e-12, atol=1e-14)
    assert not np.allclose(expected["weight"], weight, rtol=1e-3)


def test_weights_are_rescaled_and_biases_are_not():
    """First step (v = g): the bias moves by -lr g, the weight by lr trust_coefficient ||W||."""
    model, x, y = regression_problem(seed=1)
    weight, bias = model[0].weight.detach().clone(), model[0].bias.detach().clone()
    quadratic_loss(model, x, y).backward()
    grad_weight, grad_bias = model[0].weight.grad.clone(), model[0].bias.grad.clone()
    LARS(model.parameters(), lr=0.1, trust_coefficient=0.001).step()
    torch.testing.assert_close(model[0].bias.detach(), bias - 0.1 * grad_bias, rtol=1e-15, atol=1e-15)
    weight_step = torch.linalg.vector_norm(model[0].weight.detach() - weight).item()
    assert weight_step == pytest.approx(0.1 * 0.001 * torch.linalg.vector_norm(weight).item(), rel=1e-6)
    assert weight_step < 1e-3 * 0.1 * torch.linalg.vector_norm(grad_weight).item()


def test_zero_weight_takes_an_unscaled_step():
    model, x, y = regression_problem(seed=2)
    with torch.no_grad():
        model[0].weight.zero_()
    quadratic_loss(model, x, y).backward()
    grad_weight = model[0].weight.grad.clone()
    LARS(model.parameters(), lr=0.1).step()
    torch.testing.assert_close(model[0].weight.detach(), -0.1 * grad_weight, rtol=1e-15, atol=0)


def test_step_returns_the_closure_loss():
    model, x, y = regression_problem()
    optimiser = LARS(model.parameters(), lr=0.1)

    def closure():
        optimiser.zero_grad()
        loss = quadratic_loss(model, x, y)
        loss.backward()
        return loss

    before = quadratic_loss(model, x, y).item()
    assert optimiser.step(closure).item() == pytest.approx(before, rel=1e-15)


def test_state_dict_round_trip_continues_identically():
    model, x, y = regression_problem(seed=3)
    optimiser = LARS(model.parameters(), lr=0.5, momentum=0.9, weight_decay=0.01, trust_coefficient=0.05)
    train(model, optimiser, x, y, steps=2)
    saved = io.BytesIO()
    torch.save(optimiser.state_dict(), saved)
    saved.seek(0)
    copied = copy.deepcopy(model)
    restored = LARS(copied.parameters(), lr=3.0)   # the loaded groups bring back lr = 0.5
    restored.load_state_dict(torch.load(saved))
    train(model, optimiser, x, y, steps=1)
    train(copied, restored, x, y, steps=1)
    for original, loaded in zip(model.parameters(), copied.parameters()):
        assert torch.equal(original, loaded)


@pytest.mark.parametrize("settings,field", [
    ({"lr": 0}, "lr"), ({"lr": -0.1}, "lr"), ({"lr": math.nan}, "lr"),
    ({"momentum": 1.0}, "momentum"), ({"momentum": -0.1}, "momentum"),
    ({"weight_decay": -1e-4}, "weight_decay"),
    ({"trust_coefficient": 0}, "trust_coefficient"),
    ({"eps": -1e-8}, "eps"),
])
def test_bad_settings_are_named(settings, field):
    model, _, _ = regression_problem()
    with pytest.raises(ConfigError) as error:
        LARS(model.parameters(), **{"lr": 0.1, **settings})
    assert error.value.field == field


def test_bad_group_setting_is_named():
    model, _, _ = regression_problem()
    with pytest.raises(ConfigError) as error:
        LARS([{"params": model[0].weight}, {"params": model[0].bias, "momentum": 1.5}], lr=0.1)
    assert error.value.field == "momentum"
