"""Analysis of the absorbing phase transition from recorded activity series.

| module | what |
|---|---|
| ``estimates`` | ``Estimate`` (value, one-sigma error, samples) and the input checks |
| ``steady`` | f_inf, the steady-state test, autocorrelation and relaxation times, critical decay |
| ``critical_point`` | phi_c at one size and step size, and the step size -> 0 extrapolation |
| ``quasi_stationary`` | quasi-stationary moments, phi_c from moment-ratio crossings and equal slopes in n |
| ``exponents`` | the exponents of the Manna and mean-field classes, finite-size scaling powers and forms |
| ``collapse`` | data collapse: its quality, its fit, and the preference between classes |
"""
