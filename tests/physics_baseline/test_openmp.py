import os

import pytest

from physics_baseline import openmp


@pytest.mark.parametrize("given, expected", [({}, openmp.SPIN_COUNT), ({"GOMP_SPINCOUNT": "5"}, "5"),
                                             ({"OMP_WAIT_POLICY": "passive"}, None)])
def test_the_spin_is_shortened_unless_the_user_chose(monkeypatch, given, expected):
    for name in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    openmp.shorten_spin()
    assert os.environ.get("GOMP_SPINCOUNT") == expected
