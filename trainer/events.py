"""The progress protocol (DESIGN.md): one JSON object a line on stdout, the same line appended to
RUN/metrics.jsonl; human-readable logs on stderr. Only rank 0 of a multi-GPU run writes.

Every event has `type` and `time` (unix seconds); consumers ignore what they do not know.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time


def _clean(v):
    """JSON-safe: NaN/inf become null (JSON has no NaN), numpy scalars become Python numbers."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return _clean(v.item())
    return v


class Events:
    def __init__(self, metrics_path: str | None = None, enabled: bool = True, stdout=None):
        self.metrics_path = metrics_path
        self.enabled = enabled
        self.stdout = stdout or sys.stdout

    def emit(self, type_: str, **fields) -> dict:
        event = _clean({"type": type_, "time": round(time.time(), 3), **fields})
        if not self.enabled:
            return event
        line = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        if self.stdout is not None:
            try:
                self.stdout.write(line + "\n")
                self.stdout.flush()
            except (BrokenPipeError, OSError, ValueError):
                # The reader went away (the editor window reloaded). Keep training: metrics.jsonl
                # is the state a new window reattaches to (docs/extension.md), so only stdout stops.
                self.stdout = None
                _detach_stream("stdout")
        if self.metrics_path:
            try:
                os.makedirs(os.path.dirname(self.metrics_path) or ".", exist_ok=True)
                with open(self.metrics_path, "a", encoding="utf-8") as f:
                    f.write(line + "\n")
            except OSError as e:  # the stdout copy is what the extension reads; say it once
                log(f"could not append to {self.metrics_path}: {e}")
                self.metrics_path = None
        return event


def log(msg: str):
    try:
        sys.stderr.write(f"[trainer] {msg}\n")
        sys.stderr.flush()
    except (BrokenPipeError, OSError, ValueError):
        _detach_stream("stderr")


def _detach_stream(name: str):
    """Points a dead sys.stdout/sys.stderr at os.devnull so later writes (and the interpreter's
    flush at exit) do not raise BrokenPipeError again."""
    try:
        setattr(sys, name, open(os.devnull, "w"))
    except OSError:
        pass
