"""The error of a training loop whose loss, weights or centres stopped being finite.

Free of torch and of every extra, so that the command line can catch it without loading them.
"""
from pathlib import Path


class TrainingDiverged(RuntimeError):
    """A loss, a weight or a centre became NaN or infinite; the last checkpoint written is kept.

    step: the step at which it was found; checkpoint: the kept file, or None when none was written.
    """

    def __init__(self, step: int, what: str, lr: float, checkpoint: Path | None, checkpoint_step: int | None):
        if checkpoint is None:
            kept = "no checkpoint file was given"
        elif checkpoint_step is None:
            kept = f"no checkpoint was written before it ({checkpoint} does not exist)"
        else:
            kept = f"the checkpoint of step {checkpoint_step} is kept in {checkpoint}"
        super().__init__(f"training diverged at step {step}: {what} became NaN or infinite; {kept}. "
                         f"Try a smaller lr (now {lr:g}).")
        self.step = step
        self.checkpoint = checkpoint if checkpoint_step is not None else None
