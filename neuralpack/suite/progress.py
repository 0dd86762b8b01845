"""Progress on the terminal and Ctrl-C, the same for single runs and sweeps.

Nothing else in the library prints: runs and sweeps report through a ``bar`` (stderr), and a
first Ctrl-C is turned into a KeyboardInterrupt at the next record (``ctrl_c_at_records``).
"""
import contextlib
import signal
import sys
import threading

from tqdm import tqdm


def bar(total: int, desc: str, unit: str) -> tqdm:
    """A progress bar on stderr of total units (steps or runs)."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)


@contextlib.contextmanager
def ctrl_c_at_records():
    """Yield a function telling whether Ctrl-C was pressed, and keep that press from raising.

    A KeyboardInterrupt raised inside a numba kernel comes out as a SystemError, so the first
    Ctrl-C only sets a flag that the caller turns into a KeyboardInterrupt at the next record; a
    second Ctrl-C raises at once. Outside the main thread, or where Ctrl-C is ignored (the worker
    processes of a sweep), Ctrl-C is left alone.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):
        yield lambda: False
        return
    pressed = threading.Event()

    def on_ctrl_c(signum, frame):
        pressed.set()
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield pressed.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
