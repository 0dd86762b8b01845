"""LARS: SGD with momentum and layer-wise adaptive rate scaling (You et al. 2017; SimCLR, BYOL).

Each step, for every parameter tensor p with a gradient g:

1. weight decay: if weight_decay > 0, ``g = g + weight_decay * p``;
2. trust ratio, for weights only (``p.ndim > 1``; biases and other 1-D parameters are left
   unscaled, the usual practice): ``g = q * g`` with
   ``q = trust_coefficient * ||p|| / (||g|| + eps)`` when ||p|| > 0 and ||g|| > 0, else q = 1
   (norms are Frobenius norms of the whole tensor, g after weight decay);
3. momentum: ``v = momentum * v + g``, with v = g on the first step (as torch SGD);
4. ``p = p - lr * v``.

So a weight moves by about ``lr * trust_coefficient * ||p||`` per step whatever the size of its
gradient: lr is a relative step, not in the units of p.
"""
import torch

from physics_baseline.validate import ConfigError, as_float

HYPERPARAMETERS = ("lr", "momentum", "weight_decay", "trust_coefficient", "eps")


class LARS(torch.optim.Optimizer):
    """LARS with momentum (see the module docstring for the exact update).

    Args:
        params: parameters or parameter groups, as for any torch optimiser; a group may override
            any of the settings below.
        lr: > 0, the learning rate.
        momentum: in [0, 1).
        weight_decay: >= 0, added to the gradient before the trust ratio.
        trust_coefficient: > 0, the trust ratio's scale (eta in You et al.).
        eps: >= 0, added to the gradient norm in the trust ratio.
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                 trust_coefficient: float = 0.001, eps: float = 1e-8):
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                    "trust_coefficient": trust_coefficient, "eps": eps}
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group after checking its settings (its own or the defaults)."""
        settings = {name: param_group.get(name, self.defaults[name]) for name in HYPERPARAMETERS}
        super().add_param_group({**param_group, **_checked(settings)})

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter with a gradient; returns closure() when given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"] > 0:
                    g = g.add(p, alpha=group["weight_decay"])
                if p.ndim > 1:
                    g = g * _trust_ratio(p, g, group["trust_coefficient"], group["eps"])
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = g.clone()
                else:
                    state["momentum_buffer"].mul_(group["momentum"]).add_(g)
                p.add_(state["momentum_buffer"], alpha=-group["lr"])
        return loss


def _trust_ratio(p: torch.Tensor, g: torch.Tensor, trust_coefficient: float, eps: float) -> torch.Tensor:
    """trust_coefficient ||p|| / (||g|| + eps) as a 0-d tensor, or 1 when either norm is 0."""
    p_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(g)
    return torch.where((p_norm > 0) & (g_norm > 0), trust_coefficient * p_norm / (g_norm + eps),
                       torch.ones_like(p_norm))


def _checked(settings: dict) -> dict:
    """The settings as floats in their ranges, or a ConfigError naming the first bad one."""
    checked = {"lr": as_float("lr", settings["lr"], 0.0),
               "momentum": as_float("momentum", settings["momentum"], 0.0, 1.0, low_open=False),
               "weight_decay": as_float("weight_decay", settings["weight_decay"], 0.0, low_open=False),
               "trust_coefficient": as_float("trust_coefficient", settings["trust_coefficient"], 0.0),
               "eps": as_float("eps", settings["eps"], 0.0, low_open=False)}
    if checked["momentum"] == 1.0:
        raise ConfigError("momentum", f"must be a finite number in [0.0, 1.0), got {settings['momentum']!r}")
    return checked
