"""The shipped presets, installed as the package neuralpack.presets (see pyproject.toml)."""
