"""torch state dicts as uint8 arrays, the form in which the checkpoint codec stores them
(``physics_baseline.checkpoint``), and encoder weights as the bytes of an ``encoder.pt`` file."""
import io

import numpy as np
import torch


def to_bytes(state) -> bytes:
    """``torch.save`` of state (a state dict, or a dict of them) as bytes."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def to_array(states: dict) -> np.ndarray:
    """states (name -> state dict) as a uint8 array of shape (bytes,)."""
    return np.frombuffer(to_bytes(states), dtype=np.uint8)


def from_array(array: np.ndarray) -> dict:
    """The states saved by ``to_array``, loaded on the CPU, weights only."""
    return torch.load(io.BytesIO(array.tobytes()), weights_only=True, map_location="cpu")
