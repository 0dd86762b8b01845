import os

import numpy as np
import pytest

from neuralpack import store
from physics_baseline import ConfigError


def test_atomic_writes_leave_only_the_target(tmp_path):
    store.atomic_write_text(tmp_path / "a.txt", "hello")
    store.atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    store.atomic_save_npz(tmp_path / "c.npz", x=np.arange(3.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.npz"]
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    with np.load(tmp_path / "c.npz") as data:
        assert np.array_equal(data["x"], np.arange(3.0))


def test_failed_write_keeps_the_old_content_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    store.atomic_write_text(target, "old")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        store.atomic_write_text(target, "new")
    with pytest.raises(OSError, match="disk full"):
        store.atomic_save_npz(target, x=np.zeros(2))
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_run_key_is_stable_and_sensitive():
    config = {"dynamics": "bro", "d": 3, "n": 200, "phi": 0.5, "eps": 0.02, "lr": None}
    key = store.run_key(config)
    assert len(key) == 10 and int(key, 16) >= 0
    assert store.run_key(dict(reversed(list(config.items())))) == key
    assert store.run_key({**config, "phi": 0.51}) != key
    assert store.run_key({**config, "seed": 1}) != key


def test_prepare_refuses_runs_unless_told_and_overwrite_keeps_foreign_files(tmp_path):
    config = {"n": 200, "steps": 10}
    run_dir = store.prepare_run_dir(tmp_path / "r", config, overwrite=False, resume=False)
    store.write_config(run_dir, config)
    (run_dir / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="resume=true continues it") as error:
        store.prepare_run_dir(run_dir, config, overwrite=False, resume=False)
    assert error.value.field == "out"
    with pytest.raises(ConfigError) as error:
        store.prepare_run_dir(run_dir, {**config, "n": 300}, overwrite=False, resume=True, may_change=("steps",))
    assert error.value.field == "resume" and "n" in str(error.value)
    store.prepare_run_dir(run_dir, {**config, "steps": 20}, overwrite=False, resume=True, may_change=("steps",))
    assert (run_dir / store.CONFIG).exists()
    store.prepare_run_dir(run_dir, config, overwrite=True, resume=False)
    assert sorted(p.name for p in run_dir.iterdir()) == ["notes.txt"]
