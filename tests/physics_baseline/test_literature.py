import numpy as np
import pytest

from physics_baseline import literature


def test_reference_phi_c_where_published_and_none_elsewhere():
    assert literature.reference_phi_c(3) == 0.64 and literature.reference_phi_c(5) == 0.30
    assert literature.reference_phi_c(2, "bidisperse") == literature.BIDISPERSE_2D_JAMMING
    assert literature.reference_phi_c(2) is None and literature.reference_phi_c(8) is None


def test_the_mrj_extrapolation_falls_with_dimension():
    densities = [literature.MRJ[d] for d in range(3, 9)]
    assert all(a > b for a, b in zip(densities, densities[1:])) and 0.05 < literature.MRJ[8] < 0.08


def test_every_reference_has_a_source_a_status_and_a_positive_error():
    rows = literature.table()
    assert len(rows) >= 20
    for quantity, d, reference in rows:
        assert reference.source and reference.status in {"seen", "standard", "derived", "recalled"}
        assert reference.error > 0, (quantity, d)


def test_4d_bro_is_the_source_texts_045_not_the_mrj_046():
    assert literature.BRO_PHI_C_REFERENCES[4].value == 0.45 and literature.BRO_PHI_C_REFERENCES[4].status == "seen"
    assert literature.MRJ[4] == 0.46


def test_the_decay_exponent_of_the_scaling_relation_in_3d():
    derived = literature.beta_over_nu_par(3)          # 0.840(12) / 1.081(27)
    assert derived.value == pytest.approx(0.777, abs=5e-4) and derived.error == pytest.approx(0.022, abs=1e-3)


def test_a_deviation_counts_the_literatures_own_error():
    reference = literature.BRO_PHI_C_REFERENCES[3]
    with_rounding = literature.deviation(0.634, 0.002, reference)
    assert with_rounding == pytest.approx(-0.006 / np.hypot(0.002, literature.ROUNDING_ERROR))
    assert abs(with_rounding) < 0.006 / 0.002
    assert np.isnan(literature.deviation(0.63, 0.0, reference)) and np.isnan(literature.deviation(0.63, 0.01, None))
