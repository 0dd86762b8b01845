import numpy as np
import pytest

from experiments.studies.finite_size_scaling import MIN_STEADY_SEEDS, _points


def _row(n, phi, f_inf, absorbed=False, steady=True, tau=100.0):
    return {"n": str(n), "phi": str(phi), "f_inf": str(f_inf), "absorbed": str(absorbed),
            "steady": str(steady), "relaxation_time": str(tau)}


def test_all_runs_count_an_absorbed_run_as_zero_and_surviving_leaves_it_out():
    rows = [_row(1000, 0.41, 0.06), _row(1000, 0.41, 0.04), _row(1000, 0.41, 0.03, absorbed=True)]
    all_runs, surviving = _points(rows, "all_runs"), _points(rows, "surviving")
    assert all_runs["f"][0] == pytest.approx(0.10 / 3)
    assert surviving["f"][0] == pytest.approx(0.05)
    # the survivors' mean is the ensemble mean over the surviving probability, rho / P_surv
    assert surviving["f"][0] == pytest.approx(all_runs["f"][0] / (2 / 3))
    assert surviving["df"][0] == pytest.approx(np.std([0.06, 0.04], ddof=1) / np.sqrt(2))


def test_a_cell_needs_enough_steady_survivors_to_enter_the_surviving_collapse():
    rows = [_row(1000, 0.41, 0.05)] + [_row(1000, 0.41, 0.0, absorbed=True)] * MIN_STEADY_SEEDS
    rows += [_row(2000, 0.41, 0.05), _row(2000, 0.41, 0.05, steady=False), _row(2000, 0.41, 0.04)]
    assert list(_points(rows, "all_runs")["n"]) == [1000, 2000]
    assert list(_points(rows, "surviving")["n"]) == [2000]


def test_an_unknown_observable_is_refused_by_name():
    with pytest.raises(ValueError, match="observable must be one of all_runs, surviving"):
        _points([], "everything")
