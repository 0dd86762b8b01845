import pytest

from neuralpack.ssl_config import SSLConfig
from neuralpack.suite import kinds
from physics_baseline.validate import ConfigError


@pytest.mark.parametrize("field, value", [("views", 1), ("d", 1), ("loss", "triplet"), ("data", "imagenet"),
                                          ("batch_size", 200), ("images", 5000), ("optimizer", "rmsprop"), ("momentum",
                                                                                                            1.0),
                                          ("profile", "nope"), ("colour", 3), ("baselines", "yes"),
                                          ("detach_radii", "no")])
def test_bad_settings_name_their_field(field, value):
    with pytest.raises(ConfigError) as error:
        SSLConfig.from_dict({"images": 100, field: value})
    assert error.value.field == field


def test_the_quick_profile_is_a_valid_preset_and_keys_override_it():
    config = kinds.get(kinds.SSL).config({"profile": "quick", "d": 3})
    assert config.d == 3 and config.encoder == "cnn" and config.data == "digits" and config.baselines
    assert config.total_steps == 2 * config.steps
