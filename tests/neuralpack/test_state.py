import numpy as np
import torch

from neuralpack import state


def test_states_round_trip_through_a_uint8_array():
    model = torch.nn.Linear(3, 2)
    optimiser = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimiser.step()
    array = state.to_array({"encoder": model.state_dict(), "optimiser": optimiser.state_dict()})
    assert array.dtype == np.uint8 and array.ndim == 1
    restored = state.from_array(array)
    assert all(torch.equal(restored["encoder"][k], v) for k, v in model.state_dict().items())
    assert restored["optimiser"]["state"][0]["step"] == optimiser.state_dict()["state"][0]["step"]
