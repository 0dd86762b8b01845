"""Encoders mapping inputs to d-dimensional embeddings, built by name with ``build_encoder``.

| name | input | output | trainable |
|---|---|---|---|
| ``embedding_table`` | class index (B,) int64 | (B, d) float64 | one free d-vector per class (free particles) |
| ``random_feature_linear`` | (B, *input_shape) | (B, d) float32 | the linear map after frozen ReLU random features |
| ``mlp`` | (B, *input_shape) | (B, d) float32 | all |
| ``cnn`` | (B, C, H, W) | (B, d) float32 | all |
| ``resnet18`` | (B, C, H, W) | (B, d) float32 | all (torchvision ResNet-18, weights=None, small-image stem) |

The embedding table is float64 because its vectors are compared with particle packings; the
networks stay float32 as usual for images.
"""
import inspect
import math

import numpy as np
import torch
import torchvision
from torch import nn

from physics_baseline.validate import ConfigError, as_choice, as_int


class EmbeddingTable(nn.Module):
    """One free d-vector per class, float64, initialised N(0, 1) (as ``nn.Embedding``)."""

    def __init__(self, n_classes: int, d: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_classes, d, dtype=torch.float64))

    def forward(self, class_index: torch.Tensor) -> torch.Tensor:
        """class_index (B,) int64 -> embeddings (B, d) float64."""
        return self.weight[class_index]

    def initialise(self, positions) -> None:
        """Set the vectors to ``positions`` (N, d) (array or tensor) exactly, e.g. a particle run's."""
        positions = torch.as_tensor(np.asarray(positions, dtype=np.float64))
        if positions.shape != self.weight.shape:
            raise ConfigError("positions", f"must have shape {tuple(self.weight.shape)}, got {tuple(positions.shape)}")
        with torch.no_grad():
            self.weight.copy_(positions)


class RandomFeatureLinear(nn.Module):
    """Frozen random features ``relu(x W^T / sqrt(D) + b)`` (W, b ~ N(0, 1)), then a trainable
    linear map to d. W and b are buffers (requires_grad False, not in ``parameters()``)."""

    def __init__(self, input_dim: int, features: int, d: int):
        super().__init__()
        self.register_buffer("feature_weight", torch.randn(features, input_dim) / math.sqrt(input_dim))
        self.register_buffer("feature_bias", torch.randn(features))
        self.linear = nn.Linear(features, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, *input_shape) -> (B, d) float32."""
        features = torch.relu(x.flatten(1) @ self.feature_weight.T + self.feature_bias)
        return self.linear(features)


def _embedding_table(n_classes, input_shape, d):
    return EmbeddingTable(n_classes, d)


def _random_feature_linear(n_classes, input_shape, d, *, features=1024):
    """``features`` random ReLU features; features / n_classes sets how strongly classes couple."""
    return RandomFeatureLinear(math.prod(input_shape), as_int("features", features, 1), d)


def _mlp(n_classes, input_shape, d, *, hidden=(256, 256)):
    """Flatten, then Linear + ReLU for each width in ``hidden``, then Linear to d."""
    widths = [math.prod(input_shape)] + _widths("hidden", hidden)
    layers = [nn.Flatten()]
    for w_in, w_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(w_in, w_out), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], d))


def _cnn(n_classes, input_shape, d, *, channels=(32, 64, 128)):
    """3x3 conv + ReLU blocks (the first at stride 1, the others at stride 2), global average
    pooling, Linear to d. With the default three blocks: 8x8 -> 2x2, 28x28 -> 7x7, 32x32 -> 8x8."""
    widths = [_image_shape(input_shape)[0]] + _widths("channels", channels)
    layers = []
    for k, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers += [nn.Conv2d(c_in, c_out, 3, stride=1 if k == 0 else 2, padding=1), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], d))


def _resnet18(n_classes, input_shape, d):
    """torchvision ResNet-18 (weights=None: nothing downloaded) with a 3x3 stride-1 stem taking
    C input channels and no max-pool (the usual CIFAR adaptation), fc to d."""
    model = torchvision.models.resnet18(weights=None, num_classes=d)
    model.conv1 = nn.Conv2d(_image_shape(input_shape)[0], 64, 3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    model.maxpool = nn.Identity()
    return model


ENCODERS = {
    "embedding_table": _embedding_table,
    "random_feature_linear": _random_feature_linear,
    "mlp": _mlp,
    "cnn": _cnn,
    "resnet18": _resnet18,
}


def build_encoder(name: str, n_classes: int, input_shape, d: int, seed: int = 0, **options) -> nn.Module:
    """The encoder ``name`` (see ``ENCODERS``) for inputs of shape ``input_shape`` (one sample,
    e.g. (1, 8, 8); ignored by ``embedding_table``, whose input is the class index) and output
    dimension ``d``. Its initial weights depend on ``seed`` only (the global torch RNG state is
    left as it was). ``options`` are the builder's keywords: ``features`` (random_feature_linear),
    ``hidden`` (mlp), ``channels`` (cnn)."""
    builder = ENCODERS[as_choice("name", name, ENCODERS)]
    allowed = [p.name for p in inspect.signature(builder).parameters.values() if p.kind is p.KEYWORD_ONLY]
    for key in options:
        if key not in allowed:
            raise ConfigError(key, f"unknown option for encoder {name}; allowed: {', '.join(allowed) or 'none'}")
    n_classes = as_int("n_classes", n_classes, 1)
    d = as_int("d", d, 1)
    input_shape = () if name == "embedding_table" else _shape(input_shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(as_int("seed", seed, 0))
        return builder(n_classes, input_shape, d, **options)


def _shape(input_shape) -> tuple[int, ...]:
    """input_shape as a non-empty tuple of positive ints."""
    if isinstance(input_shape, (int, np.integer)):
        input_shape = (input_shape,)
    try:
        shape = tuple(as_int("input_shape", n, 1) for n in input_shape)
    except TypeError:
        raise ConfigError("input_shape", f"must be a sequence of positive ints, got {input_shape!r}") from None
    if not shape:
        raise ConfigError("input_shape", "must not be empty")
    return shape


def _widths(field: str, widths) -> list[int]:
    """A layer-width option (one int or a sequence of ints) as a list of positive ints."""
    if isinstance(widths, (int, np.integer)):
        widths = [widths]
    try:
        return [as_int(field, w, 1) for w in widths]
    except TypeError:
        raise ConfigError(field, f"must be an int or a sequence of ints, got {widths!r}") from None


def _image_shape(input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """input_shape checked to be (C, H, W)."""
    if len(input_shape) != 3:
        raise ConfigError("input_shape", f"must be (channels, height, width) for an image encoder, got {input_shape}")
    return input_shape
