"""Literature values that results are held against, each with its source."""
import math

# Critical packing fraction of BRO as eps -> 0 (Wilken et al. PRL 2021, 2023).
BRO_PHI_C = {3: 0.64, 4: 0.45, 5: 0.30}

# These phi_c are quoted to two decimals: a value known only to +- 0.005 (uniformly) has this
# standard deviation, which a comparison must add to the error of the result.
ROUNDING_ERROR = 0.005 / math.sqrt(3)

# 2D: a 50:50 bidisperse mix (radius ratio 1.4) jams near 0.84 (O'Hern et al. PRE 2003).
BIDISPERSE_2D_JAMMING = 0.84

# Maximally random jammed densities, Skoge, Donev, Stillinger, Torquato PRE 74, 041127 (2006);
# d = 7, 8 from their fit phi = c1 / 2^d + c2 d / 2^d (c1 ~ -2.72, c2 ~ 2.56), an extrapolation.
MRJ = {3: 0.64, 4: 0.46, 5: 0.31, 6: 0.20, 7: (-2.72 + 2.56 * 7) / 2 ** 7, 8: (-2.72 + 2.56 * 8) / 2 ** 8}


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
