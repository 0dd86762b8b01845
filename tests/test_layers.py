"""The stack, walked: every import arrow points down (docs/design.md, "The stack").

    neuralpack.cli          the command line
    experiments             studies and benchmarks
    neuralpack.suite        presets, formats, store, runner, sweeps, executors, tracking, plots, reports
    neuralpack (ML core)    data, encoders, spaces, overlap search, losses, training loops
    physics_baseline        the particle engine and its analysis: numpy, numba, scipy only

Every import counts, at the top of a module or inside a function.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOORS = ("physics_baseline", "neuralpack", "neuralpack.suite", "experiments", "neuralpack.cli")
OUR_PACKAGES = ("physics_baseline", "neuralpack", "experiments")
# third-party packages the engine may use: `pip install .` brings exactly these for it
ENGINE_THIRD_PARTY = {"numpy", "numba", "scipy"}


def floor(module: str) -> int:
    """The floor of one of our modules: the last of FLOORS that prefixes it."""
    return max(index for index, name in enumerate(FLOORS) if module == name or module.startswith(name + "."))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """The modules path imports (absolute names; ``from a import b`` counts as a.b where that is ours)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            if node.module.split(".")[0] in OUR_PACKAGES:
                names.update(f"{node.module}.{alias.name}" for alias in node.names
                             if (ROOT / Path(*f"{node.module}.{alias.name}".split("."))).with_suffix(".py").exists()
                             or (ROOT / Path(*f"{node.module}.{alias.name}".split("."))).is_dir())
    return names


MODULES = {module_name(path): path for package in OUR_PACKAGES for path in (ROOT / package).rglob("*.py")}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_points_up(module):
    own = floor(module)
    upward = sorted(name for name in imported(MODULES[module])
                    if name.split(".")[0] in OUR_PACKAGES and floor(name) > own)
    assert not upward, f"{module} (floor {FLOORS[own]}) imports {upward} from above it"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if floor(m) == 0))
def test_the_engine_imports_numpy_numba_scipy_and_the_standard_library_only(module):
    outside = sorted(name for name in imported(MODULES[module])
                     if name.split(".")[0] not in (*OUR_PACKAGES, *ENGINE_THIRD_PARTY, *sys.stdlib_module_names))
    assert not outside and not any(name.startswith("neuralpack") for name in imported(MODULES[module])), outside


def test_the_validation_vocabulary_needs_nothing_but_the_standard_library():
    assert all(name.split(".")[0] in sys.stdlib_module_names for name in imported(MODULES["physics_baseline.validate"]))


def test_an_upward_import_inside_a_function_is_seen(tmp_path):
    engine_module = tmp_path / "upward.py"
    engine_module.write_text("def f():\n    from neuralpack.suite import runner\n    import torch\n")
    names = imported(engine_module)
    assert {"neuralpack.suite", "neuralpack.suite.runner", "torch"} <= names
    assert floor("neuralpack.suite.runner") > floor("neuralpack.training") > floor("physics_baseline.box")
    assert floor("neuralpack.cli") > floor("experiments.studies.registry") > floor("neuralpack.suite.sweep")


@pytest.mark.parametrize("statement, absent", [
    ("import physics_baseline", ("torch", "faiss", "sklearn", "wandb", "dask", "neuralpack", "matplotlib")),
    ("import neuralpack.cli", ("torch", "faiss", "sklearn", "wandb", "dask")),
])
def test_light_imports_load_no_heavy_library(statement, absent):
    """The engine, and the command line until a run needs more, load none of the extras."""
    script = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                check=True).stdout.split())
    assert not loaded & set(absent), loaded & set(absent)
