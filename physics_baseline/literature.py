"""Literature values that results are held against, each with its error, source and how sure it is.

Status of each value: "seen" (in the cited source's own text), "standard" (the value the field
quotes, consistent across the standard reviews), "derived" (computed here from seen or standard
values by a scaling relation), "recalled" (from memory of the literature: check the source before
leaning on it). Values quoted to two decimals without an error carry the standard deviation of
their rounding (ROUNDING_ERROR); a comparison adds the literature's error to the result's
(``deviation``).
"""
import math
from dataclasses import dataclass

# These phi_c are quoted to two decimals: a value known only to +- 0.005 (uniformly) has this
# standard deviation, which a comparison must add to the error of the result.
ROUNDING_ERROR = 0.005 / math.sqrt(3)


@dataclass(frozen=True)
class Reference:
    """A literature value with its one-sigma error, source and status (see the module)."""
    value: float
    error: float
    source: str
    status: str
    note: str = ""


LUBECK = "Lubeck, Int. J. Mod. Phys. B 18, 3977 (2004)"
GUO_2023 = ("Guo, Wilken, Levine, Chaikin, APS March Meeting 2023 abstract (\"phi = 0.64, 0.45 and "
            "0.30\" for monodisperse BRO in d = 3, 4, 5); Wilken, Guo, Levine, Chaikin PRL 131, 238202 (2023)")
SKOGE = "Skoge, Donev, Stillinger, Torquato PRE 74, 041127 (2006)"

# Manna (conserved directed percolation) exponents with their errors; d >= 5: mean field, exact.
MANNA = {
    1: {"beta": Reference(0.382, 0.019, LUBECK, "standard",
                          "disputed in d = 1: qEW depinning gives beta = 0.245(6) (Ferrero et al. PRE 87, "
                          "032122, 2013), and the 1D Manna class crosses over to DP (Basu et al. PRL 109, 015702, 2012)"),
        "nu_perp": Reference(1.347, 0.091, LUBECK, "standard"),
        "nu_par": Reference(1.876, 0.135, LUBECK, "standard")},
    2: {"beta": Reference(0.639, 0.009, LUBECK, "standard"),
        "nu_perp": Reference(0.799, 0.014, LUBECK, "standard"),
        "nu_par": Reference(1.225, 0.029, LUBECK, "standard")},
    3: {"beta": Reference(0.840, 0.012, LUBECK, "standard"),
        "nu_perp": Reference(0.593, 0.013, LUBECK, "standard"),
        "nu_par": Reference(1.081, 0.027, LUBECK, "standard")},
}
MEAN_FIELD = {"beta": 1.0, "nu_perp": 0.5, "nu_par": 1.0, "alpha": 1.0}   # d > 4, exact

# The decay f_a ~ t^-alpha at phi_c: measured from a homogeneous random start, beside the
# scaling relation alpha = beta / nu_par (the two differ, and alpha depends on the initial state).
DECAY_ALPHA = {
    2: Reference(0.419, 0.015, "Lubeck & Heger PRE 68, 056102 (2003)", "recalled"),
    3: Reference(0.745, 0.017, "Lubeck & Heger PRE 68, 056102 (2003)", "recalled"),
}

# BRO's phi_c as eps -> 0 (monodisperse), quoted to two decimals.
BRO_PHI_C_REFERENCES = {
    3: Reference(0.64, ROUNDING_ERROR, "Wilken, Guerra, Levine, Chaikin PRL 127, 038002 (2021); " + GUO_2023,
                 "seen"),
    4: Reference(0.45, ROUNDING_ERROR, GUO_2023, "seen",
                 "0.45 is BRO's phi_c; the 0.46 sometimes quoted beside it is Skoge et al.'s MRJ density"),
    5: Reference(0.30, ROUNDING_ERROR, GUO_2023, "seen"),
}

# 2D: a 50:50 bidisperse mix (radius ratio 1.4) jams near 0.84 (O'Hern et al. PRE 68, 011306, 2003).
BIDISPERSE_2D_JAMMING = 0.84

# Maximally random jammed densities: d = 3-6 measured by Skoge et al. (two decimals; jamming
# densities also spread by about 0.01 with the protocol in 3D, Chaudhuri, Berthier, Sastry PRL
# 104, 165701, 2010); d = 7, 8 from their fit phi = c1 / 2^d + c2 d / 2^d (c1 ~ -2.72,
# c2 ~ 2.56), an extrapolation, given the fit's own 0.01 as error. The measured high-d jamming
# densities of Charbonneau, Ikeda, Parisi, Zamponi PRL 107, 185702 (2011) were not retrieved.
MRJ_REFERENCES = {
    **{d: Reference(value, math.hypot(ROUNDING_ERROR, 0.01), SKOGE, "seen",
                    "protocol spread ~0.01 added to the rounding")
       for d, value in ((3, 0.64), (4, 0.46), (5, 0.31), (6, 0.20))},
    **{d: Reference((-2.72 + 2.56 * d) / 2 ** d, 0.01, SKOGE + " (their fit, extrapolated)", "standard",
                    "an extrapolation, not a measurement")
       for d in (7, 8)},
}
MRJ = {d: reference.value for d, reference in MRJ_REFERENCES.items()}
BRO_PHI_C = {d: reference.value for d, reference in BRO_PHI_C_REFERENCES.items()}


# The calibration point of the paper's authors (their simulator and an independent implementation
# agree; Zhang & Martiniani, Neural manifold packing by stochastic gradient descent): 3D BRO from a
# random start absorbs after about 520-540 steps.
CALIBRATION = dict(dynamics="bro", d=3, n=10_000, phi=0.55, eps=0.02)
CALIBRATION_ABSORPTION_STEPS = (520, 540)


def reference_phi_c(d: int, polydispersity: str = "mono") -> float | None:
    """The literature phi_c(eps -> 0) for BRO in d dimensions, or None where none is published."""
    if d == 2 and polydispersity == "bidisperse":
        return BIDISPERSE_2D_JAMMING
    return BRO_PHI_C.get(d)


def deviation(value: float, error: float, reference: Reference | None) -> float:
    """(value - reference) / sqrt(error^2 + reference.error^2): the distance in combined errors,
    the literature's own included; NaN without a reference or a finite, positive error."""
    if reference is None or not (math.isfinite(value) and math.isfinite(error) and error > 0):
        return float("nan")
    return (value - reference.value) / math.hypot(error, reference.error)


def beta_over_nu_par(d: int) -> Reference:
    """The decay exponent of the scaling relation alpha = beta / nu_par of the Manna class in d =
    1, 2, 3, its error propagated from both (taken independent)."""
    beta, nu_par = MANNA[d]["beta"], MANNA[d]["nu_par"]
    value = beta.value / nu_par.value
    error = value * math.hypot(beta.error / beta.value, nu_par.error / nu_par.value)
    return Reference(value, error, LUBECK, "derived", "alpha = beta / nu_par")


def table() -> list[tuple[str, str, Reference]]:
    """Every reference as (quantity, dimension, Reference), for reports."""
    rows = [(f"Manna {name}", str(d), reference) for d, values in MANNA.items()
            for name, reference in values.items()]
    rows += [("Manna beta / nu_par", str(d), beta_over_nu_par(d)) for d in MANNA]
    rows += [("decay alpha (random start)", str(d), reference) for d, reference in DECAY_ALPHA.items()]
    rows += [("BRO phi_c(eps -> 0)", str(d), reference) for d, reference in BRO_PHI_C_REFERENCES.items()]
    rows += [("MRJ density", str(d), reference) for d, reference in MRJ_REFERENCES.items()]
    return rows
