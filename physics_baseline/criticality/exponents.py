"""Critical exponents of the candidate classes (Manna, mean field) and the finite-size scaling powers and forms."""
from dataclasses import dataclass

import numpy as np

from physics_baseline.criticality.estimates import as_count

# --- finite-size scaling ------------------------------------------------------------------------

@dataclass(frozen=True)
class CriticalExponents:
    """Exponents of an absorbing transition: f_inf ~ (phi - phi_c)^beta, correlation length
    ~ |phi - phi_c|^-nu_perp, correlation time ~ |phi - phi_c|^-nu_par."""
    beta: float
    nu_perp: float
    nu_par: float

    @property
    def z(self) -> float:
        """Dynamical exponent nu_par / nu_perp."""
        return self.nu_par / self.nu_perp


MEAN_FIELD = CriticalExponents(beta=1.0, nu_perp=0.5, nu_par=1.0)
# Manna (conserved directed percolation) class by dimension d (Lubeck, IJMPB 18, 3977 (2004));
# the entry 4 stands for every d >= 4: mean field (upper critical dimension 4, its logarithmic
# corrections at d = 4 ignored).
EXPONENTS = {
    1: CriticalExponents(beta=0.382, nu_perp=1.347, nu_par=1.876),
    2: CriticalExponents(beta=0.639, nu_perp=0.799, nu_par=1.225),
    3: CriticalExponents(beta=0.840, nu_perp=0.593, nu_par=1.081),
    4: MEAN_FIELD,
}


def exponents(d: int, cls: str = "manna") -> CriticalExponents:
    """The exponents of the Manna class in d >= 1 dimensions (mean field for d >= 4), or of mean
    field in any d (cls="mean_field")."""
    d = as_count("d", d, 1)
    if cls not in ("manna", "mean_field"):
        raise ValueError(f"cls must be 'manna' or 'mean_field', got {cls!r}")
    return EXPONENTS[min(d, 4)] if cls == "manna" else MEAN_FIELD


UPPER_CRITICAL_DIMENSION = 4


@dataclass(frozen=True)
class ScalingPowers:
    """Powers of L = N^(1/d) in the finite-size scaling forms
    ``f_a = L^(-activity) F((phi - phi_c) L^(distance))`` and ``tau = L^(time) G(same)``."""
    distance: float
    activity: float
    time: float


def scaling_powers(exponents_: CriticalExponents, d: int) -> ScalingPowers:
    """The powers of L in the scaling forms for exponents in a d-dimensional system.

    Below the upper critical dimension d_c = 4: 1/nu_perp, beta/nu_perp and nu_par/nu_perp. Mean
    field above d_c obeys the same forms with L replaced by L^(d/d_c) = N^(1/4) (the correlation
    volume saturates at N), so every power is multiplied by d/4: f_a = N^(-1/2) F((phi - phi_c)
    N^(1/2)) and tau ~ N^(1/2) in mean field, in any d >= 4.
    """
    d = as_count("d", d, 1)
    stretch = d / UPPER_CRITICAL_DIMENSION if exponents_ == MEAN_FIELD and d > UPPER_CRITICAL_DIMENSION else 1.0
    e = exponents_
    return ScalingPowers(stretch / e.nu_perp, stretch * e.beta / e.nu_perp, stretch * e.nu_par / e.nu_perp)


def linear_size(n_particles, d: int) -> np.ndarray:
    """L = N^(1/d): the box side in diameters up to a constant factor (fixed phi), for the scaling forms."""
    d = as_count("d", d, 1)
    n = np.asarray(n_particles, dtype=float)
    if np.any(n < 1):
        raise ValueError("n_particles must be >= 1")
    return n ** (1.0 / d)


def scaled(phi: np.ndarray, L: np.ndarray, y: np.ndarray, phi_c: float, x_exponent: float,
           y_exponent: float) -> tuple[np.ndarray, np.ndarray]:
    """(x, y_scaled) = ((phi - phi_c) L^x_exponent, y L^y_exponent); arrays broadcast together.

    f_a = L^(-beta/nu_perp) F(x): x_exponent = 1/nu_perp, y_exponent = beta/nu_perp.
    tau = L^(nu_par/nu_perp) G(x): x_exponent = 1/nu_perp, y_exponent = -nu_par/nu_perp.
    """
    size = np.asarray(L, dtype=float)
    if np.any(size <= 0):
        raise ValueError("L must be > 0")
    x = (np.asarray(phi, dtype=float) - phi_c) * size ** x_exponent
    return x, np.asarray(y, dtype=float) * size ** y_exponent
