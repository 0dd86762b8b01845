import pytest

from neuralpack.suite import presets
from neuralpack.train_config import TrainConfig
from physics_baseline.validate import ConfigError


@pytest.mark.parametrize("values, field", [
    ({"encoder": "resnet18"}, "encoder"), ({"space": "plane"}, "space"), ({"d": 0}, "d"), ({"d": 65}, "d"),
    ({"space": "sphere", "d": 1}, "d"), ({"n_classes": 1}, "n_classes"), ({"phi": 0}, "phi"),
    ({"phi": 1.5}, "phi"), ({"lr": 0}, "lr"), ({"lr": float("nan")}, "lr"), ({"batch_fraction": 0}, "batch_fraction"),
    ({"batch_fraction": 1.5}, "batch_fraction"), ({"batch": "random"}, "batch"),
    ({"optimizer": "rmsprop"}, "optimizer"),
    ({"radius": "measured"}, "radius"), ({"power": 3}, "power"), ({"data": "cifar"}, "data"),
    ({"encoder": "cnn"}, "data"), ({"encoder": "mlp", "input_dim": 4, "manifold_dim": 5}, "manifold_dim"),
    ({"features": 0}, "features"), ({"steps": -1}, "steps"), ({"record_every": 0}, "record_every"),
    ({"foo": 1}, "foo"), ({"d": 3, "n_classes": 2, "phi": 0.5}, "phi"),
    ({"encoder": "mlp", "data": "digits", "n_classes": 5000}, "n_classes"),
])
def test_bad_config_names_the_field(values, field):
    with pytest.raises(ConfigError) as error:
        TrainConfig.from_dict(values)
    assert error.value.field == field


@pytest.mark.parametrize("preset", ["anchor", "mlp_synthetic", "quick"])
def test_presets_are_valid_configs(preset):
    values = presets.shipped("train", preset, "config")
    assert TrainConfig.from_dict(values).to_dict().items() >= values.items()
