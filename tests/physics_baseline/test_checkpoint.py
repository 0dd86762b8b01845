import numpy as np
import pytest

from physics_baseline import checkpoint
from physics_baseline.validate import ConfigError

SERIES = ("steps", "active_fraction")


def test_a_saved_checkpoint_loads_back_whole(tmp_path):
    key = checkpoint.resume_key({"n": 10, "steps": 100, "seed": 1}, ("steps",))
    assert key == {"n": 10, "seed": 1}
    positions = np.random.default_rng(0).random((10, 3))
    checkpoint.save(tmp_path / "c.npz", key, 40, {"steps": [0, 20, 40], "active_fraction": [0.5, 0.25, 0.125]},
                    positions=positions, notes="text")
    loaded = checkpoint.load(tmp_path / "c.npz", key, SERIES)
    assert loaded.step == 40 and loaded.records == {"steps": [0, 20, 40], "active_fraction": [0.5, 0.25, 0.125]}
    np.testing.assert_array_equal(loaded.arrays["positions"], positions)
    assert str(loaded.arrays["notes"]) == "text" and set(loaded.arrays) == {"positions", "notes"}
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


def test_another_runs_checkpoint_is_refused_naming_the_fields(tmp_path):
    checkpoint.save(tmp_path / "c.npz", {"n": 10, "phi": 0.5}, 1, {"steps": [0], "active_fraction": [1.0]})
    with pytest.raises(ConfigError, match=r"^checkpoint: .* belongs to another run \(differs in n, seed\)$") as error:
        checkpoint.load(tmp_path / "c.npz", {"n": 11, "phi": 0.5, "seed": 2}, SERIES)
    assert error.value.field == "checkpoint"


def test_another_version_is_refused(tmp_path):
    np.savez(tmp_path / "c.npz", version=99, config="{}", step=0, steps=[], active_fraction=[])
    with pytest.raises(ConfigError, match="format version 99, expected 1"):
        checkpoint.load(tmp_path / "c.npz", {}, SERIES)


def test_an_existing_checkpoint_needs_resume(tmp_path):
    path = tmp_path / "c.npz"
    assert not checkpoint.refuse_unasked_resume(None, False) and not checkpoint.refuse_unasked_resume(path, True)
    path.write_bytes(b"")
    assert checkpoint.refuse_unasked_resume(path, True)
    with pytest.raises(ConfigError, match="exists; pass resume=True"):
        checkpoint.refuse_unasked_resume(path, False)
