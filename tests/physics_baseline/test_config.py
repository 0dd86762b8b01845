import pytest

from physics_baseline.config import RESUMABLE, SimulationConfig
from physics_baseline.validate import ConfigError

BAD = [
    (dict(dynamics="nope"), "dynamics"), (dict(d=0), "d"), (dict(d=9), "d"), (dict(n=1), "n"),
    (dict(phi=0), "phi"), (dict(phi=-0.1), "phi"), (dict(phi=float("nan")), "phi"),
    (dict(eps=0), "eps"), (dict(eps=float("inf")), "eps"), (dict(eps=None, lr=0.1), "eps"), (dict(lr=0.1), "lr"),
    (dict(dynamics="sgd", eps=None, lr=0.1, batch_fraction=0), "batch_fraction"),
    (dict(dynamics="sgd", eps=None, lr=0.1, batch_fraction=1.5), "batch_fraction"),
    (dict(dynamics="sgd", eps=None, lr=0.1), "batch_fraction"),
    (dict(dynamics="sgd", eps=None, lr=-1, batch_fraction=0.5), "lr"),
    (dict(batch="sometimes"), "batch"), (dict(steps=-1), "steps"), (dict(steps=1.5), "steps"),
    (dict(record_every=0), "record_every"), (dict(seed=-3), "seed"),
    (dict(polydispersity="tri"), "polydispersity"), (dict(d=8, n=10, phi=0.5), "phi"),
    (dict(colour="red"), "colour"),
    (dict(restart_pool=-1), "restart_pool"), (dict(restart_pool=5000), "restart_pool"),
    (dict(restart_pool=4000, n=100_000, d=3), "restart_pool"), (dict(pool_every=50), "pool_every"),
    (dict(restart_pool=4, pool_every=0), "pool_every"),
]


@pytest.mark.parametrize("change,field", BAD)
def test_bad_input_names_the_field(change, field):
    config = dict(dynamics="bro", d=3, n=100, phi=0.5, eps=0.02, steps=10)
    config.update(change)
    config = {k: v for k, v in config.items() if v is not None}
    with pytest.raises(ConfigError) as error:
        SimulationConfig.from_dict(config)
    assert error.value.field == field
    assert str(error.value).startswith(field + ":")


def test_a_valid_config_is_coerced_and_round_trips():
    config = SimulationConfig.from_dict({"dynamics": "sgd", "d": "3", "n": 100.0, "phi": "0.5", "lr": 0.1,
                                         "batch_fraction": 0.5})
    assert (config.d, config.n, config.phi) == (3, 100, 0.5) and config.step_size == 0.1
    assert SimulationConfig.from_dict(config.to_dict()) == config


def test_algorithm_auto_stays_out_of_the_stored_config():
    assert "algorithm" not in SimulationConfig.from_dict({"eps": 0.02}).to_dict()
    assert SimulationConfig.from_dict({"eps": 0.02, "algorithm": "full"}).to_dict()["algorithm"] == "full"
    assert set(RESUMABLE) == {"steps", "checkpoint_every", "algorithm"}


def test_no_restart_pool_stays_out_of_the_stored_config():
    assert not {"restart_pool", "pool_every"} & set(SimulationConfig.from_dict({"eps": 0.02}).to_dict())
    stored = SimulationConfig.from_dict({"eps": 0.02, "restart_pool": 8, "pool_every": 50}).to_dict()
    assert (stored["restart_pool"], stored["pool_every"]) == (8, 50)
