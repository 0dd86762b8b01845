"""OpenMP's busy wait between parallel regions, shortened before any OpenMP runtime loads.

numba's OpenMP threads (and those of torch and FAISS, which load the same GNU runtime) spin
300,000 times by default before they sleep. When two processes share the cores (two runs side by
side, a sweep, many small FAISS searches) the spinners steal each other's time slices: a run
became ~100x slower here (15 instead of 1400 steps/s, n = 5000), FAISS searches 20x. A short
spin keeps the single-run speed and limits that loss to the fair share. The runtime reads the
setting once, when it loads, so ``shorten_spin`` must run first: both package ``__init__``
modules call it, and a package's ``__init__`` runs before any of its modules.
"""
import os

SPIN_COUNT = "10000"


def shorten_spin() -> None:
    """Set GOMP_SPINCOUNT to SPIN_COUNT unless the user chose a wait policy or a spin count."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
