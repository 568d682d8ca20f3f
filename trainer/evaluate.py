"""Held-out evaluation: validation loss and infill accuracy on corpus/eval.jsonl.

Infill uses the contracts' samplers (sampling.py) with the oracle canvas (len(middle) + 1, room
for the pad that ends the middle) and, for diffusion, also the engine's way: canvas 16, grown to
32 then 64 while the sampler fills it (the engine does not know the middle's length), with the
engine's default decoding, the cached graphs' sampler (cached.py; 4x less time than the plain
model's for small at 512 positions, where it was most of an evaluation's).
Exact match compares decoded text (ids when there is no tokenizer); edit similarity is
1 - Levenshtein / max(len). Checkpoints are chosen by these, not by validation loss, because
validation loss can rise while infill quality still improves (Ni et al. 2025).
"""
from __future__ import annotations

import numpy as np
import torch

from .cached import cached_diffusion_infill
from .objectives import CANVAS_CHOICES, ar_loss, diffusion_batch, diffusion_loss
from .sampling import DEFAULT_WINDOW, ar_infill, diffusion_infill, fit_context, model_logits_fn


def levenshtein(a, b) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def edit_similarity(a, b) -> float:
    n = max(len(a), len(b))
    return 1.0 if n == 0 else 1.0 - levenshtein(a, b) / n


def shown(text):
    """What the editor shows of a completion: nothing for whitespace alone (the engine hides it).
    A young model fills a canvas with spaces and newlines, which share characters with most code
    and scored ~15% edit similarity while the editor showed nothing (`npm start` exported such a
    checkpoint, 3.8 epochs of 20, over one that wrote code)."""
    return "" if isinstance(text, str) and not text.strip() else text


@torch.no_grad()
def val_loss(model, val: np.ndarray, objective: str, seq_len: int, batch_size: int, device,
             autocast, seed: int, max_windows: int = 16):
    """Mean loss over up to max_windows evenly spaced windows of val.bin, with masks drawn from a
    fixed generator so that evaluations at different steps are comparable. None if no val."""
    window = seq_len + (1 if objective == "autoregressive" else 0)
    n = len(val) // window
    if n == 0:
        return None
    idx = np.linspace(0, n - 1, min(n, max_windows)).round().astype(int)
    rows = np.stack([np.asarray(val[i * window:(i + 1) * window], dtype=np.int64) for i in idx])
    gen = torch.Generator().manual_seed(seed + 12345)
    total, count = 0.0, 0
    for b0 in range(0, len(rows), batch_size):
        chunk = rows[b0:b0 + batch_size]
        with autocast():
            if objective == "autoregressive":
                x = torch.from_numpy(chunk).to(device)
                loss = ar_loss(model(x[:, :-1]), x[:, 1:])
            else:
                batch = diffusion_batch(chunk, [None] * len(chunk), gen)
                logits = model(batch["input"].to(device))
                loss = diffusion_loss(logits, batch["target"].to(device), batch["masked"].to(device), batch["t"])
        total += float(loss) * len(chunk)
        count += len(chunk)
    return total / count


@torch.no_grad()
def infill_eval(model, tasks: list, objective: str, max_seq_len: int, device, decoder,
                threshold: float = 0.9, engine_length: bool = True, n_samples: int = 3,
                should_stop=lambda: False) -> dict:
    """Run the samplers on each task; -> {infill_exact, infill_edit_sim, by_kind, samples, ...}."""
    fn = model_logits_fn(model, device)
    text = (lambda ids: decoder.decode(ids)) if decoder else (lambda ids: list(ids))
    by_kind, samples = {}, []
    engine_exact = []
    sims = []  # per task, in order: two evaluations of the same tasks compare pairwise (train.py)
    for task in tasks:
        if should_stop():
            break
        P, M, S = task["prefix_ids"], task["middle_ids"], task["suffix_ids"]
        L = len(M) + 1
        if objective == "autoregressive":
            if L > max_seq_len - 4:
                continue  # no room for the three fim tokens and any context: skip, as diffusion does below
            p, s = fit_context(P, S, max_seq_len - 3 - L)
            got = ar_infill(fn, p, s, max_new=L)
        else:
            if L > max_seq_len // 2:
                continue
            p, s = fit_context(P, S, max_seq_len - L)
            got, _, _ = diffusion_infill(fn, p, s, L, threshold, window=DEFAULT_WINDOW)
            if engine_length:
                engine_exact.append(_engine_style(model, P, S, M, max_seq_len, threshold, text))
        want, have = text(M), text(got)
        exact = float(want == have)
        sim = edit_similarity(want, shown(have) if shown(want) else have)
        sims.append(round(sim, 4))
        k = by_kind.setdefault(task.get("kind", "span"), {"n": 0, "exact": 0.0, "edit_sim": 0.0})
        k["n"] += 1
        k["exact"] += exact
        k["edit_sim"] += sim
        if len(samples) < n_samples:
            ptext = text(P)
            samples.append({"id": task.get("id"), "kind": task.get("kind"),
                            "prefix_tail": ptext[-120:] if isinstance(ptext, str) else ptext[-32:],
                            "expected": want, "got": have})
    n = sum(k["n"] for k in by_kind.values())
    for k in by_kind.values():
        k["exact"] /= k["n"]
        k["edit_sim"] /= k["n"]
    out = {"tasks": n,
           "infill_exact": sum(k["exact"] * k["n"] for k in by_kind.values()) / n if n else None,
           "infill_edit_sim": sum(k["edit_sim"] * k["n"] for k in by_kind.values()) / n if n else None,
           "infill_edit_sims": sims, "by_kind": by_kind, "samples": samples}
    if engine_exact:
        out["infill_exact_engine_length"] = sum(engine_exact) / len(engine_exact)
    return out


def _engine_style(model, P, S, M, max_seq_len, threshold, text) -> float:
    """Exact match with the engine's canvas: 16, grown to 32, 64 while the canvas comes back full,
    decoded as the engine does by default (the fast path's sampler, in float32)."""
    got = []
    for L in CANVAS_CHOICES:
        if L > max_seq_len // 2:
            break
        p, s = fit_context(P, S, max_seq_len - L)
        got, filled, _ = cached_diffusion_infill(model, p, s, L, threshold, window=DEFAULT_WINDOW)
        if not filled:
            break
    return float(text(M) == text(got))
