"""Each figure is written as PNG and PDF, with the axes, scales and curves it promises."""
import numpy as np
import pytest

from neuralpack.suite import plots


@pytest.fixture
def drawn(monkeypatch):
    """The figures handed to save_figure, besides writing them."""
    figures, save = [], plots.save_figure

    def keep(figure, path):
        figures.append(figure)
        save(figure, path)

    monkeypatch.setattr(plots, "save_figure", keep)
    return figures


def test_active_fraction_is_log_log_and_leaves_out_step_0_and_absorbed_records(tmp_path, drawn):
    steps, f = np.arange(6), np.array([0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    plots.plot_active_fraction([("a", steps, f), ("b", steps, f / 2)], tmp_path / "fa.png")
    assert (tmp_path / "fa.png").stat().st_size > 0 and (tmp_path / "fa.pdf").read_bytes()[:4] == b"%PDF"
    axes, = drawn[0].axes
    assert (axes.get_xscale(), axes.get_yscale()) == ("log", "log")
    assert axes.get_xlabel() == "step" and "f_a" in axes.get_ylabel()
    assert [line.get_label() for line in axes.get_lines()] == ["a", "b"]
    np.testing.assert_array_equal(axes.get_lines()[0].get_xdata(), [1, 2, 3, 4])
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["a", "b"]


def test_many_runs_are_drawn_without_a_legend(tmp_path, drawn):
    runs = [(str(k), np.arange(1, 4), np.full(3, 0.1)) for k in range(plots.LEGEND_MAX + 1)]
    plots.plot_active_fraction(runs, tmp_path / "many.png")
    assert drawn[0].axes[0].get_legend() is None and len(drawn[0].axes[0].get_lines()) == len(runs)


def test_ssl_training_shows_accuracy_with_baselines_and_packing(tmp_path, drawn):
    evaluations = [{"step": s, "knn_accuracy": a, "active_fraction": f, "radius_mean": r}
                   for s, a, f, r in ((0, 0.3, 1.0, 0.5), (10, 0.6, 0.4, 0.3))]
    plots.plot_ssl_training(evaluations, {"pca": {"knn_accuracy": 0.5}, "raw_pixels": {"knn_accuracy": None}},
                            tmp_path / "ssl.png")
    accuracy, packing = drawn[0].axes
    assert accuracy.get_ylabel().startswith("kNN accuracy") and packing.get_xlabel() == "step"
    assert [line.get_label() for line in accuracy.get_lines()] == ["trained encoder", "pca"]
    assert len(packing.get_lines()) == 2 and (tmp_path / "ssl.pdf").exists()
