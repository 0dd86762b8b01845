"""Files written atomically: a reader sees the old file or the new one, never a part.

Each write goes to a temporary file beside the target, is flushed to disk, and replaces the
target by a rename; a crash or Ctrl-C on the way leaves the old file and removes the temporary.
"""
import contextlib
import os
import uuid
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def _replacing(path: str | Path):
    """A binary handle on a new temporary file next to path that replaces path on a clean exit.

    The temporary file is created with mode 0o666 less the umask, like a plain open() would.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write data to path atomically."""
    with _replacing(path) as handle:
        handle.write(data)


def write_text(path: str | Path, text: str) -> None:
    """``write_bytes`` for UTF-8 text."""
    write_bytes(path, text.encode())


def save_npz(path: str | Path, **arrays) -> None:
    """``np.savez`` of arrays to path, atomically."""
    with _replacing(path) as handle:
        np.savez(handle, **arrays)
