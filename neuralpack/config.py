"""Run configs as plain dicts: an optional YAML preset, then ``key=value`` overrides on top.

Only parsing happens here; the values are validated by the config class that consumes them
(``physics_baseline.SimulationConfig`` for particle runs).
"""
from pathlib import Path

import yaml

from physics_baseline import ConfigError

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when PyYAML has it: 7x faster


def load_config(preset_path: str | Path | None, overrides: list[str]) -> dict:
    """The preset's mapping (empty without a preset) updated by the ``key=value`` overrides."""
    values = read_preset(preset_path) if preset_path is not None else {}
    values.update(parse_overrides(overrides))
    return values


def read_preset(path: str | Path) -> dict:
    """A YAML file holding one mapping, its scalar values read as ``parse_value`` reads them."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(), Loader=SAFE_LOADER)
    except OSError as error:
        raise ConfigError("config", f"cannot read preset {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError("config", f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError("config", f"{path} must hold a mapping of key: value, got {type(data).__name__}")
    return {key: _scalar(value) for key, value in data.items()}


def parse_overrides(overrides: list[str]) -> dict:
    """``["n=200", "eps=1e-3"]`` as ``{"n": 200, "eps": 0.001}``; a later key wins."""
    values = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("override", f"expected key=value, got {item!r}")
        values[key] = parse_value(key, text)
    return values


def parse_value(key: str, text: str):
    """One override's value: YAML (true/false -> bool, null -> None, 0.5 -> float), plus what
    YAML 1.1 leaves as text: ``none`` -> None, ``1e-3`` -> float, ``08`` -> int."""
    try:
        return _scalar(yaml.safe_load(text))
    except yaml.YAMLError:
        raise ConfigError(key, f"cannot read the value {text!r}") from None


def _scalar(value):
    """value, or the None / int / float that a string spells."""
    if not isinstance(value, str):
        return value
    if value.strip().lower() in ("none", "null"):
        return None
    for number in (int, float):
        try:
            return number(value)
        except ValueError:
            pass
    return value
