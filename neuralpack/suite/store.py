"""Run directories and their life: new, unfinished (config.yaml, perhaps a checkpoint), done
(summary.json), failed (error.txt); the files themselves are ``neuralpack.suite.formats``'.

A run is stored once, in a directory named by its key (``formats.run_key``) in a sweep, or where
``out=`` says for a single run. Nothing on disk changes before every check has passed.
"""
import shutil
from pathlib import Path

from neuralpack.suite import formats
from physics_baseline.validate import ConfigError

DONE, UNFINISHED, FAILED = "done", "unfinished", "failed"


def is_done(run_dir: str | Path) -> bool:
    return (Path(run_dir) / formats.SUMMARY).exists()


def prepare_run_dir(path: str | Path, config: dict, *, overwrite: bool, resume: bool,
                    may_change: tuple[str, ...] = ()) -> Path:
    """Make path ready for a run of config, or raise ConfigError (field "out" or "resume").

    A directory without run files (new, empty, or holding other files) is used as it is. An
    existing run is refused unless ``overwrite=True`` (its run files are removed, other files
    are left alone) or ``resume=True`` (its files are kept; its config may differ from config
    only in the fields ``may_change``; it is marked unfinished until the resumed run ends).
    """
    path = Path(path)
    if overwrite and resume:
        raise ConfigError("resume", "resume=true continues a run and overwrite=true replaces it; pick one")
    if path.exists() and not path.is_dir():
        raise ConfigError("out", f"{path} exists and is not a directory")
    if not any((path / name).exists() for name in formats.RUN_FILES):
        path.mkdir(parents=True, exist_ok=True)
        return path
    if overwrite:
        for name in formats.RUN_FILES:
            (path / name).unlink(missing_ok=True)
        shutil.rmtree(path / formats.TRACKING_DIR, ignore_errors=True)
    elif resume:
        _check_resumable(path, config, may_change)
        (path / formats.SUMMARY).unlink(missing_ok=True)
    elif is_done(path):
        raise ConfigError("out", f"{path} holds a finished run; overwrite=true replaces it "
                                 "(resume=true with more steps extends it)")
    else:
        raise ConfigError("out", f"{path} holds an unfinished run; resume=true continues it, "
                                 "overwrite=true replaces it")
    return path


def _check_resumable(path: Path, config: dict, may_change: tuple[str, ...]) -> None:
    """Refuse to resume the run in path with a config that differs beyond may_change."""
    if not (path / formats.CONFIG).exists():
        return
    _, saved = formats.read_config(path)
    differ = sorted(k for k in saved.keys() | config.keys()
                    if k not in may_change and saved.get(k) != config.get(k))
    if differ:
        raise ConfigError("resume", f"{path} holds a run with other {', '.join(differ)}; a resumed run "
                                    f"may change only {', '.join(may_change) or 'nothing'}")


def states(sweep_dir: str | Path) -> dict[str, list[str]]:
    """The run keys under sweep_dir/runs by state: DONE, UNFINISHED (config.yaml only:
    interrupted, or running now) and FAILED (error.txt, no summary)."""
    runs = Path(sweep_dir) / formats.RUNS
    if not runs.is_dir():
        raise ConfigError("out", f"{sweep_dir} holds no sweep (no {runs} directory)")
    found = {DONE: [], UNFINISHED: [], FAILED: []}
    for run_dir in sorted(path for path in runs.iterdir() if path.is_dir()):
        if is_done(run_dir):
            found[DONE].append(run_dir.name)
        elif (run_dir / formats.ERROR).exists():
            found[FAILED].append(run_dir.name)
        elif (run_dir / formats.CONFIG).exists():
            found[UNFINISHED].append(run_dir.name)
    return found
