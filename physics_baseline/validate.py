"""The validation vocabulary: one error type naming the bad field, and the field checks.

Every config in the suite is checked once, where it enters (a command line, a preset, a sweep
file), with these functions; each failure is a ``ConfigError(field, message)`` whose message names
the allowed values. Nothing here imports more than the standard library.
"""
import dataclasses
import math


class ConfigError(ValueError):
    """A config field that is missing, unknown or out of range."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def as_int(field: str, value, low: int, high: float = math.inf) -> int:
    """value as an int in [low, high], or a ConfigError naming field."""
    if isinstance(value, bool):
        raise ConfigError(field, f"must be an integer in [{low}, {high}], got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(field, f"must be an integer in [{low}, {high}], got {value!r}") from None
    if not math.isfinite(number) or number != int(number) or not low <= number <= high:
        raise ConfigError(field, f"must be an integer in [{low}, {high}], got {value!r}")
    return int(number)


def as_float(field: str, value, low: float, high: float = math.inf, *, low_open: bool = True) -> float:
    """value as a finite float in (low, high] (or [low, high] when low_open=False)."""
    interval = f"{'(' if low_open else '['}{low}, {high}]"
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number > high or number < low or (low_open and number == low):
        raise ConfigError(field, f"must be a finite number in {interval}, got {value!r}")
    return number


def refuse_unknown_keys(config_class: type, values: dict, kind: str = "") -> None:
    """Raise ConfigError naming the first key of values that is not a field of the dataclass
    config_class; kind ("for task=ssl") says whose keys they are."""
    known = {f.name for f in dataclasses.fields(config_class)}
    for key in values:
        if key not in known:
            raise ConfigError(key, f"unknown key{' ' + kind if kind else ''}; known keys: {', '.join(sorted(known))}")


def as_choice(field: str, value, choices) -> str:
    """value if it is one of choices."""
    if value not in choices:
        raise ConfigError(field, f"must be one of {', '.join(sorted(choices))}; got {value!r}")
    return value
