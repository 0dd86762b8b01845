import numpy as np
import pytest
import torch

from neuralpack.encoders import ENCODERS, EmbeddingTable, build_encoder
from physics_baseline.validate import ConfigError

# (name, input_shape, options): every encoder on the inputs it is meant for, kept small
CASES = [
    ("embedding_table", None, {}),
    ("random_feature_linear", (1, 8, 8), {"features": 40}),
    ("mlp", (1, 8, 8), {"hidden": (16, 8)}),
    ("mlp", (12,), {"hidden": 16}),
    ("cnn", (1, 8, 8), {"channels": (4, 8)}),
    ("cnn", (1, 28, 28), {"channels": (4, 8, 8)}),
    ("cnn", (3, 32, 32), {}),
    ("resnet18", (3, 32, 32), {}),
]


def inputs(input_shape, n_classes=10, batch=2):
    generator = torch.Generator().manual_seed(0)
    if input_shape is None:
        return torch.randint(n_classes, (batch,), generator=generator)
    return torch.rand((batch,) + input_shape, generator=generator)


@pytest.mark.parametrize("name,input_shape,options", CASES)
def test_output_shape_and_dtype(name, input_shape, options):
    encoder = build_encoder(name, 10, input_shape, 5, seed=0, **options)
    out = encoder(inputs(input_shape))
    assert out.shape == (2, 5)
    assert out.dtype == (torch.float64 if name == "embedding_table" else torch.float32)


@pytest.mark.parametrize("name,input_shape,options", CASES)
def test_weights_depend_on_the_seed_only(name, input_shape, options):
    torch.manual_seed(123)
    expected = torch.rand(2)
    torch.manual_seed(123)
    a = build_encoder(name, 10, input_shape, 5, seed=7, **options).state_dict()
    assert torch.equal(torch.rand(2), expected)                   # global RNG left alone
    b = build_encoder(name, 10, input_shape, 5, seed=7, **options).state_dict()
    c = build_encoder(name, 10, input_shape, 5, seed=8, **options).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_embedding_table_initialise_sets_exact_values():
    table = build_encoder("embedding_table", 6, None, 3, seed=0)
    assert isinstance(table, EmbeddingTable)
    positions = np.random.default_rng(1).uniform(0, 4.3, size=(6, 3))
    table.initialise(positions)
    out = table(torch.arange(6))
    assert out.dtype == torch.float64
    np.testing.assert_array_equal(out.detach().numpy(), positions)
    np.testing.assert_array_equal(table(torch.tensor([4, 1])).detach().numpy(), positions[[4, 1]])
    with pytest.raises(ConfigError) as error:
        table.initialise(positions[:5])
    assert error.value.field == "positions"


def test_random_features_are_frozen_and_the_linear_map_trains():
    encoder = build_encoder("random_feature_linear", 10, (1, 8, 8), 4, seed=0, features=32)
    frozen = {k: v.clone() for k, v in encoder.named_buffers()}
    assert set(frozen) == {"feature_weight", "feature_bias"}
    assert not any(v.requires_grad for v in encoder.buffers())
    assert {k for k, p in encoder.named_parameters() if p.requires_grad} == {"linear.weight", "linear.bias"}
    linear = encoder.linear.weight.detach().clone()
    optimiser = torch.optim.SGD(encoder.parameters(), lr=0.1)
    encoder(inputs((1, 8, 8))).pow(2).sum().backward()
    optimiser.step()
    assert all(torch.equal(frozen[k], v) for k, v in encoder.named_buffers())
    assert not torch.equal(encoder.linear.weight, linear)


def test_resnet18_has_the_small_image_stem():
    encoder = build_encoder("resnet18", 10, (1, 8, 8), 6, seed=0)
    assert encoder.conv1.in_channels == 1 and encoder.conv1.kernel_size == (3, 3)
    assert encoder.conv1.stride == (1, 1) and isinstance(encoder.maxpool, torch.nn.Identity)
    assert encoder.fc.out_features == 6


@pytest.mark.parametrize("name,input_shape,options,field", [
    ("transformer", (1, 8, 8), {}, "name"),
    ("mlp", (1, 8, 8), {"channels": 3}, "channels"),
    ("embedding_table", None, {"features": 3}, "features"),
    ("cnn", (64,), {}, "input_shape"),
    ("mlp", (1, 0, 8), {}, "input_shape"),
    ("mlp", (1, 8, 8), {"hidden": (16, -1)}, "hidden"),
])
def test_bad_arguments_are_named(name, input_shape, options, field):
    with pytest.raises(ConfigError) as error:
        build_encoder(name, 10, input_shape, 5, seed=0, **options)
    assert error.value.field == field


def test_every_encoder_is_covered():
    assert {case[0] for case in CASES} == set(ENCODERS)
