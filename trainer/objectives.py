"""Training objectives: the masking process, the losses and the example builders, defined once.

Everything that turns raw token windows into (input, target, loss weight) lives here and is
imported by the trainer, the evaluator and the tests (SMDM copies its masking into six files;
we keep one). It knows the special ids (docs/contracts.md) but nothing of files or models.

Masked diffusion (SMDM, Nie et al. 2024; Ni et al. 2025):
    t ~ U(eps, 1) per sequence, each token replaced by <|mask|> with probability t,
    loss = sum over masked positions of CE(logits_i, x_i) / t, divided by the number of tokens.
Autoregressive baseline: next-token CE, with fill-in-the-middle PSM rearrangement
(Bavarian et al. 2022) at a rate so that it can infill too.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

PAD, EOS, MASK, FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE = 0, 1, 2, 3, 4, 5
SPECIAL_IDS = {"pad": PAD, "eos": EOS, "mask": MASK, "fim_prefix": FIM_PREFIX,
               "fim_suffix": FIM_SUFFIX, "fim_middle": FIM_MIDDLE}
EPS = 1e-3  # lower bound of t (contracts.md), keeps 1/t finite
CANVAS_CHOICES = (16, 32, 64)  # canvas lengths the engine uses (contracts.md)


# ---------------------------------------------------------------- masked diffusion

def sample_t(batch: int, generator: torch.Generator, eps: float = EPS) -> torch.Tensor:
    """t ~ U(eps, 1), one per sequence: (B,) float32."""
    return eps + (1.0 - eps) * torch.rand(batch, generator=generator)


def mask_tokens(x: torch.Tensor, t: torch.Tensor, generator: torch.Generator,
                maskable: torch.Tensor | None = None, mask_id: int = MASK):
    """The forward process: mask each (maskable) token of row b with probability t[b].

    x: (B, T) int64 clean ids; t: (B,); maskable: (B, T) bool or None (= all).
    Returns (noisy (B, T) int64, masked (B, T) bool)."""
    masked = torch.rand(x.shape, generator=generator) < t[:, None]
    if maskable is not None:
        masked &= maskable
    return torch.where(masked, torch.full_like(x, mask_id), x), masked


def diffusion_loss(logits: torch.Tensor, targets: torch.Tensor, masked: torch.Tensor,
                   t: torch.Tensor, loss_len: torch.Tensor | None = None) -> torch.Tensor:
    """sum_i [masked_i] CE(logits_i, targets_i) / t, normalised per sequence, mean over the batch.

    logits (B, T, V); targets (B, T); masked (B, T) bool; t (B,); loss_len (B,) the number of
    positions the loss may cover in each row (T for a plain window, the canvas length for a
    span-infill example; None = T). For an all-plain batch this is contracts.md's
    sum / (batch * seq_len)."""
    B, T, V = logits.shape
    ce = F.cross_entropy(logits.float().reshape(-1, V), targets.reshape(-1), reduction="none").view(B, T)
    per_row = (ce * masked.float()).sum(1) / t.to(ce.device)  # (B,)
    if loss_len is None:
        loss_len = torch.full((B,), float(T))
    return (per_row / loss_len.to(ce.device).float()).mean()


def canvas_length(middle_len: int, max_canvas: int) -> int:
    """Smallest engine canvas (16, 32, 64, then multiples of 64) holding the middle and a pad."""
    need = middle_len + 1
    for c in CANVAS_CHOICES:
        if need <= c:
            return c
    c = -(-need // 64) * 64
    assert c <= max_canvas, f"middle of {middle_len} tokens needs canvas {c} > {max_canvas}"
    return c


def span_infill_example(tokens: np.ndarray, start: int, end: int, seq_len: int,
                        rng: np.random.Generator):
    """Build one span-infill row around tokens[start:end] (the middle).

    Layout (contracts.md): clean prefix + canvas + clean suffix, exactly seq_len long, where
    canvas = middle + <|pad|> up to canvas_length(len(middle)). The prefix length is drawn
    uniformly among those that fit in the corpus; if the corpus is too short the row ends in pad.
    Returns (ids (seq_len,) int64, canvas_start, canvas_len)."""
    middle = tokens[start:end]
    c = canvas_length(len(middle), seq_len // 2)
    ctx = seq_len - c  # prefix + suffix budget
    after = len(tokens) - end
    lo, hi = max(0, ctx - after), min(start, ctx)
    p_len = int(rng.integers(lo, hi + 1)) if lo <= hi else min(start, ctx)
    s_len = min(ctx - p_len, after)
    row = np.full(seq_len, PAD, dtype=np.int64)
    row[:p_len] = tokens[start - p_len:start]
    row[p_len:p_len + len(middle)] = middle
    row[p_len + c:p_len + c + s_len] = tokens[end:end + s_len]
    return row, p_len, c


def diffusion_batch(rows: np.ndarray, canvases: list, generator: torch.Generator):
    """Mask a batch for the diffusion objective.

    rows (B, T) clean ids; canvases[b] = None for a plain window, or (canvas_start, canvas_len)
    for a span-infill row (only the canvas is maskable and scored).
    Returns dict(input, target, masked, t, loss_len) of tensors."""
    x = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.int64))
    B, T = x.shape
    maskable = torch.ones(B, T, dtype=torch.bool)
    loss_len = torch.full((B,), float(T))
    for b, cv in enumerate(canvases):
        if cv is not None:
            s, c = cv
            maskable[b] = False
            maskable[b, s:s + c] = True
            loss_len[b] = float(c)
    t = sample_t(B, generator)
    noisy, masked = mask_tokens(x, t, generator, maskable)
    return dict(input=noisy, target=x, masked=masked, t=t, loss_len=loss_len)


# ---------------------------------------------------------------- autoregressive

def fim_rearrange(window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """PSM: <fim_prefix> prefix <fim_suffix> suffix <fim_middle> middle <eos>.

    The window (n tokens) is cut at two uniform points; the result has n + 4 tokens."""
    n = len(window)
    a, b = sorted(int(v) for v in rng.integers(0, n + 1, size=2))
    return np.concatenate([[FIM_PREFIX], window[:a], [FIM_SUFFIX], window[b:], [FIM_MIDDLE],
                           window[a:b], [EOS]]).astype(np.int64)


def ar_batch(windows: list, fim_rate: float, seq_len: int, rng: np.random.Generator):
    """Autoregressive rows from windows of seq_len + 1 tokens (plain) — a FIM row uses the first
    seq_len - 3 of them, so that both give seq_len + 1 tokens: input [:-1], target [1:]."""
    rows = []
    for w in windows:
        if rng.random() < fim_rate:
            rows.append(fim_rearrange(np.asarray(w[:seq_len - 3]), rng))
        else:
            rows.append(np.asarray(w[:seq_len + 1], dtype=np.int64))
    x = torch.from_numpy(np.stack(rows).astype(np.int64))
    return dict(input=x[:, :-1].contiguous(), target=x[:, 1:].contiguous())


def ar_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token CE. logits (B, T, V) predict targets (B, T) (already shifted)."""
    V = logits.shape[-1]
    return F.cross_entropy(logits.float().reshape(-1, V), targets.reshape(-1))
