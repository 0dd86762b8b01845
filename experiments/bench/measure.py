"""What every bench case reports beside its time: this process's peak memory, and numbers that may
be missing."""
import resource


def peak_mb() -> float:
    """Peak resident set size of this process in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def fmt(value: float | None, spec: str) -> str:
    """value formatted by spec, or "-" when it is missing."""
    return "-" if value is None else format(value, spec)
