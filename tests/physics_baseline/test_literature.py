from physics_baseline import literature


def test_reference_phi_c_where_published_and_none_elsewhere():
    assert literature.reference_phi_c(3) == 0.64 and literature.reference_phi_c(5) == 0.30
    assert literature.reference_phi_c(2, "bidisperse") == literature.BIDISPERSE_2D_JAMMING
    assert literature.reference_phi_c(2) is None and literature.reference_phi_c(8) is None


def test_the_mrj_extrapolation_falls_with_dimension():
    densities = [literature.MRJ[d] for d in range(3, 9)]
    assert all(a > b for a, b in zip(densities, densities[1:])) and 0.05 < literature.MRJ[8] < 0.08
