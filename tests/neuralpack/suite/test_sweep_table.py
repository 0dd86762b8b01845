import pytest

from neuralpack.suite import formats, kinds, sweep_table
from physics_baseline import SimulationConfig, simulate
from physics_baseline.criticality.steady import steady_state_activity


def store_run(sweep_dir, **fields):
    config = SimulationConfig.from_dict(dict(d=2, n=64, eps=0.05, steps=40, **fields))
    run_dir = sweep_dir / formats.RUNS / formats.run_key(config.to_dict())
    run_dir.mkdir(parents=True)
    formats.write_config(run_dir, kinds.PARTICLES, config.to_dict())
    run = simulate(config)
    return run_dir, run, formats.write_run(run_dir, run)


def test_aggregate_holds_one_row_per_finished_run_sorted_by_config(tmp_path):
    dense, dense_run, dense_summary = store_run(tmp_path, phi=0.6, seed=1)
    store_run(tmp_path, phi=0.3, seed=1)
    unfinished = tmp_path / formats.RUNS / "0123456789"
    unfinished.mkdir()
    formats.write_config(unfinished, kinds.PARTICLES, {"phi": 0.5})
    rows = sweep_table.aggregate(tmp_path)
    assert [row["phi"] for row in rows] == [0.3, 0.6] and rows[1]["run_key"] == dense.name
    assert rows[1]["absorbed"] == dense_summary["absorbed"] and "config_key" not in rows[1]
    assert rows[1]["f_inf"] == steady_state_activity(dense_run.active_fraction)
    assert formats.read_table(tmp_path)[1]["run_key"] == dense.name


def test_cells_by_phi_averages_seeds_with_absorbed_runs_as_zero():
    rows = [{"phi": "0.6", "absorbed": "True", "f_inf": "0.0", "relaxation_time": "100"},
            {"phi": "0.6", "absorbed": "False", "f_inf": "0.2", "relaxation_time": "300"},
            {"phi": "0.5", "absorbed": "True", "f_inf": "0.0", "relaxation_time": "50"}]
    cells = sweep_table.cells_by_phi(rows)
    assert cells["phi"].tolist() == [0.5, 0.6]
    assert cells["absorbed"].tolist() == [1.0, 0.5]
    assert cells["f"].tolist() == pytest.approx([0.0, 0.1])
    assert cells["df"].tolist() == pytest.approx([0.0, 0.1])      # std (ddof 1) 0.1414 / sqrt 2
    assert cells["tau"].tolist() == pytest.approx([50.0, 200.0])
    assert cells["dtau"].tolist() == pytest.approx([0.0, 100.0])
