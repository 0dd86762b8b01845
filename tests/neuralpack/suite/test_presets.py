import pytest

from neuralpack.suite.presets import load_config
from physics_baseline.validate import ConfigError


def test_overrides_parse_numbers_bools_and_none():
    values = load_config(None, ["eps=1e-3", "n=200", "phi=0.5", "resume=true", "overwrite=False",
                                "lr=none", "skin=null", "dynamics=bro", "steps=1E4"])
    assert values == {"eps": 0.001, "n": 200, "phi": 0.5, "resume": True, "overwrite": False,
                      "lr": None, "skin": None, "dynamics": "bro", "steps": 10000.0}
    assert type(values["n"]) is int and type(values["eps"]) is float


def test_overrides_apply_on_top_of_the_preset(tmp_path):
    preset = tmp_path / "preset.yaml"
    preset.write_text("d: 3\nphi: 0.6\neps: 2e-2\n")
    assert load_config(preset, ["phi=0.55", "seed=7"]) == {"d": 3, "phi": 0.55, "eps": 0.02, "seed": 7}


@pytest.mark.parametrize("item", ["n", "=3", "eps 0.1"])
def test_malformed_override_names_the_override_field(item):
    with pytest.raises(ConfigError) as error:
        load_config(None, [item])
    assert error.value.field == "override"


@pytest.mark.parametrize("text", [None, "- 1\n- 2\n", "just text\n", "a: [1\n"])
def test_missing_or_non_mapping_preset_names_the_config_field(tmp_path, text):
    preset = tmp_path / "preset.yaml"
    if text is not None:
        preset.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(preset, [])
    assert error.value.field == "config"
