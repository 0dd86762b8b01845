import time
from collections import defaultdict

import numpy as np
import pytest

from experiments.bench import profile
from physics_baseline import box, dynamics, stepping
from physics_baseline.neighbours import local_verlet


def test_the_phases_add_up_to_the_run_and_the_kernels_are_restored():
    originals = (dynamics.update_overlap_sums, stepping._woken, local_verlet.LocalVerletList.follow)
    result = profile.profile(dict(dynamics="bro", d=3, n=2000, phi=0.58, eps=0.02, steps=40, seed=1), threads=1)
    phases = result["phases"]
    assert sum(phases.values()) == pytest.approx(result["wall_s"])
    assert phases["overlap sums"] > 0 and phases["move"] > 0 and phases["neighbour list"] > 0
    assert (dynamics.update_overlap_sums, stepping._woken, local_verlet.LocalVerletList.follow) == originals


def test_a_nested_call_is_counted_once():
    # in 8D the list nests an outer list, whose follow (most of the work here: a scan of all n
    # for every stray) runs inside the inner one's; counted twice, it would nearly double
    n, d = 3000, 8
    side = box.box_length(box.make_radii(n, "mono"), d, 0.06)
    rng = np.random.default_rng(1)
    x = box.random_positions(n, d, side, rng)
    inner = local_verlet.for_packing(n, d, side, 1.0, 0.5)
    assert inner.outer is not None
    inner.build(x)
    x += rng.normal(scale=0.2, size=x.shape)   # most particles stray from both lists
    x %= side
    seconds = defaultdict(float)
    with profile.timed_phases(seconds):
        began = time.perf_counter()
        inner.follow(x, np.arange(n))
        elapsed = time.perf_counter() - began
    assert 0 < seconds["neighbour list"] <= elapsed


def test_bad_arguments_name_the_field():
    assert profile.main(["dynamics=bro", "d=3", "n=-5", "phi=0.5", "eps=0.02", "steps=5"]) == 2
