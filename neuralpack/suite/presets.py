"""Presets and overrides: run configs as plain dicts, from YAML files and ``key=value`` items.

Only parsing happens here; the values are validated by the config class of the run's kind
(``kinds``). The repository's configs/ folder is installed as the package ``neuralpack.presets``
(package data): studies and profiles are found there by name (``shipped``), never through a path
into the repository; any other preset comes by an explicit path.
"""
from importlib import resources
from pathlib import Path

import yaml

from physics_baseline.validate import ConfigError

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when PyYAML has it: 7x faster
SHIPPED = "neuralpack.presets"


def shipped_names(folder: str) -> list[str]:
    """The names (file stems) of the presets shipped in folder (studies, ssl, sweeps, ...)."""
    directory = resources.files(SHIPPED) / folder
    return sorted(entry.name.removesuffix(".yaml") for entry in directory.iterdir() if entry.name.endswith(".yaml"))


def shipped_path(folder: str, name, field: str = "config") -> Path:
    """The file of the shipped preset folder/NAME.yaml (installed with the package); a ConfigError
    naming field lists the names when there is none such."""
    available = shipped_names(folder)
    if str(name) not in available:
        raise ConfigError(field, f"must be one of {', '.join(available)}; got {name!r}")
    return Path(str(resources.files(SHIPPED) / folder / f"{name}.yaml"))


def shipped(folder: str, name, field: str) -> dict:
    """The mapping of the shipped preset folder/NAME.yaml (see ``shipped_path``)."""
    return read_preset(shipped_path(folder, name, field))


def with_profile(folder: str | None, values: dict) -> dict:
    """values, on top of the shipped preset folder/NAME.yaml when they name one as profile=NAME."""
    if folder is None or "profile" not in values:
        return values
    values = dict(values)
    return {**shipped(folder, values.pop("profile"), "profile"), **values}


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
