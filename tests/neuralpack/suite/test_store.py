import pytest

from neuralpack.suite import formats, store
from physics_baseline.validate import ConfigError


def test_run_key_is_stable_and_sensitive():
    config = {"dynamics": "bro", "d": 3, "n": 200, "phi": 0.5, "eps": 0.02, "lr": None}
    key = formats.run_key(config)
    assert len(key) == 10 and int(key, 16) >= 0
    assert formats.run_key(dict(reversed(list(config.items())))) == key
    assert formats.run_key({**config, "phi": 0.51}) != key
    assert formats.run_key({**config, "seed": 1}) != key


def test_prepare_refuses_runs_unless_told_and_overwrite_keeps_foreign_files(tmp_path):
    config = {"n": 200, "steps": 10}
    run_dir = store.prepare_run_dir(tmp_path / "r", config, overwrite=False, resume=False)
    formats.write_config(run_dir, "particles", config)
    (run_dir / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="resume=true continues it") as error:
        store.prepare_run_dir(run_dir, config, overwrite=False, resume=False)
    assert error.value.field == "out"
    with pytest.raises(ConfigError) as error:
        store.prepare_run_dir(run_dir, {**config, "n": 300}, overwrite=False, resume=True, may_change=("steps",))
    assert error.value.field == "resume" and "n" in str(error.value)
    store.prepare_run_dir(run_dir, {**config, "steps": 20}, overwrite=False, resume=True, may_change=("steps",))
    assert (run_dir / formats.CONFIG).exists()
    store.prepare_run_dir(run_dir, config, overwrite=True, resume=False)
    assert sorted(p.name for p in run_dir.iterdir()) == ["notes.txt"]
