"""Checkpoints: RUN/checkpoints/last.pt (everything needed to resume), best.pt (the weights with
the best held-out infill score, no optimizer) and config.json (the resolved run configuration).

Every file is written to a temporary name in the same folder (NAME.tmp-PID), flushed to disk and
renamed over the old one (os.replace is atomic on POSIX and Windows), so a kill at any moment leaves
either the old or the new file, never half of one. A SIGKILL mid-write leaves the temporary file
behind; `remove_stale_temps` clears those at the next start.
"""
from __future__ import annotations

import inspect
import json
import os
import pickle
import re
import zipfile

import torch

from .errors import TrainerError

FORMAT = 1
# torch >= 2.6 loads weights only by default; our checkpoints also hold RNG states (numpy, python)
# and are written by this trainer alone, so ask for the full pickle where the switch exists.
_FULL_PICKLE = {"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}


TMP_SUFFIX = re.compile(r"\.tmp-\d+$")  # f"{path}.tmp-{pid}", as _atomic_write names them


def fsync_dir(folder: str):
    """Make a rename (or removal) in `folder` durable across a power loss. POSIX only (Windows
    cannot open a folder); best effort: some file systems refuse to fsync a folder (EINVAL), and
    the rename itself has already happened."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: str, write):
    """write(f) into PATH.tmp-PID, fsync, rename over PATH, fsync the folder."""
    folder = os.path.dirname(path)
    os.makedirs(folder or ".", exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    fsync_dir(folder)


def atomic_write_bytes(path: str, data: bytes):
    _atomic_write(path, lambda f: f.write(data))


def atomic_write_json(path: str, obj):
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def save_checkpoint(path: str, state: dict):
    # Straight into the temporary file: serialising to a BytesIO first held a second copy of the
    # whole checkpoint in memory (GBs for the large preset with its optimizer state).
    _atomic_write(path, lambda f: torch.save(dict(state, format=FORMAT), f))


def remove_stale_temps(folder: str, log=lambda m: None) -> list:
    """Delete NAME.tmp-PID files in `folder`: left by a writer killed mid-write (SIGKILL, power
    loss), never renamed, and as large as a checkpoint. Call it where no other process writes
    (rank 0, before training); files of other names are never touched."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        p = os.path.join(folder, name)
        if TMP_SUFFIX.search(name) and os.path.isfile(p):
            try:
                os.remove(p)
                removed.append(name)
            except OSError:
                pass
    if removed:
        log(f"removed {len(removed)} unfinished temporary file(s) in {folder}: {', '.join(sorted(removed))}")
    return removed


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
