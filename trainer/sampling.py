"""Infill samplers, exactly as docs/contracts.md specifies them (the TypeScript engine must give
the same ids token for token, so every tie-break here is part of the contract).

The samplers know nothing of tokenization, only ids; `logits_fn` maps a list of ids (one
sequence) to float32 logits (T, V) — a torch model, or the ONNX graph in the engine.
"""
from __future__ import annotations

import numpy as np
import torch

from .objectives import EOS, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, MASK, PAD

FORBIDDEN = (MASK, FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE)

# The sliding window the editor's engine serves with (extension/engine/engine.ts
# DEFAULT_DECODE_WINDOW, measured in docs/engine.md "Fast decoding"), so that the trainer's
# evaluation scores what the editor does. The samplers' own default stays the whole canvas.
DEFAULT_WINDOW = 8


def model_logits_fn(model, device):
    """Wrap a Transformer as logits_fn: ids -> np.float32 (T, V), batch 1, no grad."""
    def fn(ids):
        with torch.no_grad():
            x = torch.tensor([ids], dtype=torch.long, device=device)
            return model(x)[0].float().cpu().numpy()
    return fn


def _pick(logits: np.ndarray):
    """Forbid the special ids, softmax in float32; -> (pred (N,), conf (N,)).

    np.argmax returns the first maximum: the lowest id on ties."""
    z = logits.astype(np.float32, copy=True)
    z[:, FORBIDDEN] = -np.inf
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    pred = p.argmax(axis=1)
    return pred, p[np.arange(len(pred)), pred]


def diffusion_infill(logits_fn, prefix, suffix, canvas_len: int, threshold: float = 0.9,
                     max_steps: int | None = None, window: int = 0):
    """Confidence-threshold unmasking (Fast-dLLM) over a canvas of masks (LLaDA, Open-dCoder).

    x = prefix ++ [MASK]*L ++ suffix; each step decodes the masked canvas positions `choose`
    picks (confidence >= threshold, else the most confident non-end, ends last); stops when
    the canvas is decided, or a decided PAD/EOS has everything left of it decided, or after
    max_steps (default L) steps. With `window` > 0 a step scores and decides only the leftmost
    `window` undecided positions (a sliding window; 0 = the whole canvas), twice as many after a
    step that decided all of them.
    Returns (ids left of the first decided PAD/EOS — undecided positions skipped —, filled, steps)
    where filled = no PAD/EOS was decided."""
    c0, L = len(prefix), int(canvas_len)
    return unmask(prefix, suffix, canvas_len, threshold, max_steps,
                  lambda x, step, masked: np.asarray(logits_fn(x), dtype=np.float32)[c0:c0 + L][masked], window)


def unmask(prefix, suffix, canvas_len: int, threshold, max_steps, masked_logits, window: int = 0):
    """The contract's unmasking loop, whatever computes the logits: `masked_logits(x, step, masked)`
    gets the whole sequence (a list; undecided canvas positions MASK), the step number and the
    still-masked canvas positions a step may decide (all of them, or the leftmost `window` if
    `window` > 0), and returns their logits rows (len(masked), V) in that order.
    Shared by `diffusion_infill` (the full model) and cached.py `cached_diffusion_infill` (the
    cached graphs), as extension/engine/sampler.ts `unmask` is on the TypeScript side."""
    prefix, suffix = list(prefix), list(suffix)
    L = int(canvas_len)
    assert L >= 1, f"canvas length {L} must be >= 1"
    max_steps = L if max_steps is None else int(max_steps)
    x = prefix + [MASK] * L + suffix
    c0 = len(prefix)
    decided = np.zeros(L, dtype=bool)
    start_width = window if window > 0 else L  # no window: the whole canvas
    width = start_width
    steps = 0
    while steps < max_steps:
        masked = np.flatnonzero(~decided)[:width]  # the sliding window: the leftmost undecided positions
        pred, conf = _pick(np.asarray(masked_logits(x, steps, masked), dtype=np.float32))
        chosen = choose(pred, conf, threshold)
        # the model was sure of its whole window: the next step looks twice as far; else back to the start width
        width = min(L, 2 * width) if len(chosen) == len(masked) else start_width
        for j in chosen:
            i = int(masked[j])
            x[c0 + i] = int(pred[j])
            decided[i] = True
        steps += 1
        if decided.all():
            break
        stop = _first_stop(x[c0:c0 + L], decided)
        if stop is not None and decided[:stop].all():
            break
    canvas = x[c0:c0 + L]
    stop = _first_stop(canvas, decided)
    end = L if stop is None else stop
    out = [int(canvas[i]) for i in range(end) if decided[i]]
    return out, stop is None, steps


def choose(pred: np.ndarray, conf: np.ndarray, threshold: float) -> np.ndarray:
    """Which of the masked positions (their pred, conf) a step decides: every one with
    conf >= threshold; else the most confident one that does not predict PAD/EOS (leftmost on ties);
    else (all of them predict an end) all of them.

    Ends go last (as LLaDA's pure-diffusion sampling gives EOS no confidence, Nie et al. 2025 B.4):
    PAD fills most training canvases, so a weak model's most confident position is nearly always a
    trailing PAD; deciding those first spreads pads leftwards until the answer is empty."""
    chosen = np.flatnonzero(conf >= threshold)
    if len(chosen):
        return chosen
    content = np.flatnonzero((pred != PAD) & (pred != EOS))
    if len(content) == 0:
        return np.arange(len(pred))
    return content[[int(np.argmax(conf[content]))]]  # first maximum: leftmost on ties


def _first_stop(canvas, decided):
    for i, tok in enumerate(canvas):
        if decided[i] and tok in (PAD, EOS):
            return i
    return None


def ar_infill(logits_fn, prefix, suffix, max_new: int):
    """Greedy PSM infill: <fim_prefix> P <fim_suffix> S <fim_middle>, then one token a step
    (lowest id on ties, MASK and fim ids forbidden) until EOS or PAD (excluded) or max_new."""
    x = [FIM_PREFIX] + list(prefix) + [FIM_SUFFIX] + list(suffix) + [FIM_MIDDLE]
    out = []
    for _ in range(int(max_new)):
        pred, _ = _pick(np.asarray(logits_fn(x), dtype=np.float32)[-1:])
        tok = int(pred[0])
        if tok in (EOS, PAD):
            break
        out.append(tok)
        x.append(tok)
    return out


def fit_context(prefix, suffix, room: int):
    """Trim prefix (from the left) and suffix (from the right) so that len(P) + len(S) <= room,
    sharing the room evenly and giving what one side does not need to the other."""
    prefix, suffix = list(prefix), list(suffix)
    room = max(0, room)
    if len(prefix) + len(suffix) <= room:
        return prefix, suffix
    half = room // 2
    s = min(len(suffix), max(half, room - len(prefix)))
    p = room - s
    return (prefix[len(prefix) - p:] if p > 0 else []), suffix[:s]
