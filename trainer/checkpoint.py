"""Checkpoints: RUN/checkpoints/last.pt (everything needed to resume), best.pt (the weights with
the best held-out infill score, no optimizer) and config.json (the resolved run configuration).

Every file is written to a temporary name in the same folder, flushed to disk and renamed over
the old one (os.replace is atomic on POSIX and Windows), so a kill at any moment leaves either
the old or the new file, never half of one.
"""
from __future__ import annotations

import inspect
import io
import json
import os
import pickle
import zipfile

import torch

from .errors import TrainerError

FORMAT = 1
# torch >= 2.6 loads weights only by default; our checkpoints also hold RNG states (numpy, python)
# and are written by this trainer alone, so ask for the full pickle where the switch exists.
_FULL_PICKLE = {"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}


def atomic_write_bytes(path: str, data: bytes):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def atomic_write_json(path: str, obj):
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def save_checkpoint(path: str, state: dict):
    buf = io.BytesIO()
    torch.save(dict(state, format=FORMAT), buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str) -> dict:
    if not os.path.isfile(path):
        raise TrainerError(f"no checkpoint at {path}", "Train first, or pass --checkpoint PATH to a .pt file the trainer wrote.")
    try:
        state = torch.load(path, map_location="cpu", **_FULL_PICKLE)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError, AttributeError, KeyError) as e:
        raise TrainerError(f"checkpoint {path} is corrupt or unreadable ({type(e).__name__}: {e})",
                           "Delete it and train again (without --resume), or pass --checkpoint with another file.")
    if not isinstance(state, dict) or "model" not in state or "model_config" not in state:
        raise TrainerError(f"checkpoint {path} is not a Repo Diffusion checkpoint",
                           "Delete it and train again (without --resume).")
    if state.get("format") != FORMAT:
        raise TrainerError(f"checkpoint {path} has format {state.get('format')!r}; this trainer reads format {FORMAT}",
                           "Train again with this version of the extension.")
    return state
