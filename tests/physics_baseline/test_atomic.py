import os

import numpy as np
import pytest

from physics_baseline import atomic


def test_atomic_writes_leave_only_the_target(tmp_path):
    atomic.write_text(tmp_path / "a.txt", "hello")
    atomic.write_bytes(tmp_path / "b.bin", b"\x00\x01")
    atomic.save_npz(tmp_path / "c.npz", x=np.arange(3.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.npz"]
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    with np.load(tmp_path / "c.npz") as data:
        assert np.array_equal(data["x"], np.arange(3.0))


def test_failed_write_keeps_the_old_content_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    atomic.write_text(target, "old")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic.write_text(target, "new")
    with pytest.raises(OSError, match="disk full"):
        atomic.save_npz(target, x=np.zeros(2))
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]
