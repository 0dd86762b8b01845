import importlib

import pytest

from neuralpack.suite import kinds
from physics_baseline import SimulationConfig, simulate
from physics_baseline.validate import ConfigError


def test_each_kind_is_found_by_its_stored_name():
    assert set(kinds.KINDS) == {"particles", "class_manifolds", "ssl"}
    particles = kinds.get("particles")
    assert particles.engine_function() is simulate and particles.resumable == ("steps", "checkpoint_every", "algorithm")
    config = particles.config({"d": 2, "n": 50, "phi": 0.3, "eps": 0.05})
    assert isinstance(config, SimulationConfig) and config.d == 2


def test_an_unknown_kind_is_named_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"^kind: must be one of class_manifolds, particles, ssl; got 'fluid'$"):
        kinds.get("fluid")


def test_a_config_is_validated_by_its_kind():
    with pytest.raises(ConfigError) as error:
        kinds.get("particles").config({"encoder": "mlp"})
    assert error.value.field == "encoder"
    ssl = kinds.get("ssl").config({"profile": "quick", "d": 3})
    assert ssl.d == 3 and ssl.encoder == "cnn"


@pytest.mark.parametrize("values, kind", [({"task": "ssl", "d": 8}, "ssl"), ({"encoder": "mlp"}, "class_manifolds"),
                                          ({"dynamics": "bro"}, "particles"), ({}, "particles")])
def test_format1_configs_keep_the_kind_they_were_written_as(values, kind):
    assert kinds.format1_kind(values) == kind


def test_a_missing_extra_is_named(monkeypatch):
    real = importlib.import_module

    def without_torch(name, *args):
        if name == "neuralpack.training":
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_torch)
    with pytest.raises(ConfigError, match=r"needs the 'ml' extra \(torch is missing\); install it with "
                                          r"pip install 'neuralpack\[ml\]'"):
        kinds.get("class_manifolds").engine_function()
