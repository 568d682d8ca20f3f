"""The cached-inference graphs (docs/contracts.md "Cached graphs", docs/engine.md "Fast decoding").

Besides model.onnx the export writes two graphs of the same weights, for the engine's fast path
(Fast-dLLM's dual cache, Wu et al. 2025; dKV-Cache, Ma et al. 2025):

- model.context.onnx: `input_ids` int64 [b, s], `positions` int64 [b, p] -> `logits` float32
  [b, p, vocab] (rows at `positions` only), `keys`, `values` float32 [n_layers, b, heads, s, head_dim]
  (rotary applied). With positions = 0..s-1 it is model.onnx.
- model.step.onnx: `canvas_ids` int64 [b, c], `canvas_positions` int64 [b, c] (absolute positions),
  `ctx_keys`, `ctx_values` float32 [n_layers, b, heads, t, head_dim], `rows` int64 [b, r] (canvas
  indices whose logits are wanted: the still-masked ones) -> `logits` [b, r, vocab],
  `keys`, `values` [n_layers, b, heads, c, head_dim] (the canvas's own, for an AR cache to append).
  The canvas attends to the context K/V and to itself, unmasked.

`cached_diffusion_infill` is the reference of the engine's fast sampler, in PyTorch.
"""
from __future__ import annotations

import inspect
import io

import numpy as np
import torch
import torch.nn as nn

from .model import Transformer
from .objectives import SPECIAL_IDS

OPSET = 17


class _Context(nn.Module):
    def __init__(self, m: Transformer):
        super().__init__()
        self.m = m

    def forward(self, input_ids, positions):
        return self.m.context_forward(input_ids, positions)


class _Step(nn.Module):
    def __init__(self, m: Transformer):
        super().__init__()
        self.m = m

    def forward(self, canvas_ids, canvas_positions, ctx_keys, ctx_values, rows):
        return self.m.step_forward(canvas_ids, canvas_positions, ctx_keys, ctx_values, rows)


def _export(module: nn.Module, args: tuple, inputs: list, outputs: list, axes: dict) -> bytes:
    kw = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, args, buf, input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=True, **kw)
    return buf.getvalue()


def context_onnx_bytes(model: Transformer) -> bytes:
    cfg = model.cfg
    s = min(8, cfg.max_seq_len)
    x = torch.randint(6, cfg.vocab_size, (2, s), dtype=torch.long)
    pos = torch.tensor([[1, 2, 3], [2, 3, 4]], dtype=torch.long)
    kv = {1: "batch", 3: "seq"}
    return _export(_Context(model), (x, pos), ["input_ids", "positions"], ["logits", "keys", "values"],
                   {"input_ids": {0: "batch", 1: "seq"}, "positions": {0: "batch", 1: "rows"},
                    "logits": {0: "batch", 1: "rows"}, "keys": kv, "values": kv})


def step_onnx_bytes(model: Transformer) -> bytes:
    cfg = model.cfg
    H, D = cfg.n_heads, cfg.d_model // cfg.n_heads
    c, t = 3, 5
    ids = torch.randint(6, cfg.vocab_size, (2, c), dtype=torch.long)
    pos = torch.tensor([[2, 3, 4], [2, 3, 4]], dtype=torch.long)
    k = torch.randn(cfg.n_layers, 2, H, t, D)
    v = torch.randn(cfg.n_layers, 2, H, t, D)
    rows = torch.tensor([[0, 2], [1, 2]], dtype=torch.long)
    ctx = {1: "batch", 3: "ctx"}
    out = {1: "batch", 3: "canvas"}
    return _export(_Step(model), (ids, pos, k, v, rows), ["canvas_ids", "canvas_positions", "ctx_keys", "ctx_values", "rows"],
                   ["logits", "keys", "values"],
                   {"canvas_ids": {0: "batch", 1: "canvas"}, "canvas_positions": {0: "batch", 1: "canvas"},
                    "ctx_keys": ctx, "ctx_values": ctx, "rows": {0: "batch", 1: "rows"},
                    "logits": {0: "batch", 1: "rows"}, "keys": out, "values": out})


def split_context(keys: torch.Tensor, start: int, length: int) -> torch.Tensor:
    """Drops the canvas columns [start, start+length) from (n_layers, B, H, T, D)."""
    return torch.cat([keys[:, :, :, :start], keys[:, :, :, start + length:]], dim=3)


@torch.no_grad()
def cached_diffusion_infill(model: Transformer, prefix: list, suffix: list, canvas_len: int, threshold: float = 0.9,
                            max_steps: int | None = None, refresh_every: int = 0):
    """The engine's fast sampler (docs/contracts.md's diffusion sampler, logits from the cached graphs):
    step 1 from the context pass (exact), later steps from the step pass over the canvas alone, the
    context K/V computed once with the canvas all masks (refreshed every `refresh_every` steps if > 0).
    -> (ids, filled, steps)."""
    from .sampling import _pick, choose  # the contract's float32 softmax, tie-breaks and choice
    sp = SPECIAL_IDS
    L = canvas_len
    c0 = len(prefix)
    x = torch.tensor([list(prefix) + [sp["mask"]] * L + list(suffix)], dtype=torch.long)
    pos = torch.arange(c0, c0 + L).unsqueeze(0)
    decided = np.zeros(L, dtype=bool)
    max_steps = L if max_steps is None else max_steps
    tau = np.float32(threshold)
    steps = 0
    ck = cv = None
    while steps < max_steps:
        if ck is None or (refresh_every and steps % refresh_every == 0):
            logits, k, v = model.context_forward(x, pos)
            ck, cv = split_context(k, c0, L), split_context(v, c0, L)
        else:
            masked = np.flatnonzero(~decided)
            logits, _, _ = model.step_forward(x[:, c0:c0 + L], pos, ck, cv, torch.from_numpy(masked).unsqueeze(0))
            logits = torch.zeros(1, L, logits.shape[-1]).index_copy_(1, torch.from_numpy(masked), logits)
        rows = logits[0].float().numpy()
        masked = np.flatnonzero(~decided)
        preds, confs = _pick(rows[masked])
        chosen = choose(preds, confs, tau)
        for i, p in zip(masked[chosen], preds[chosen]):
            x[0, c0 + int(i)] = int(p)
            decided[int(i)] = True
        steps += 1
        if decided.all():
            break
        canvas = x[0, c0:c0 + L].tolist()
        stops = [i for i in range(L) if decided[i] and canvas[i] in (sp["pad"], sp["eos"])]
        if stops and decided[:stops[0]].all():
            break
    canvas = x[0, c0:c0 + L].tolist()
    stops = [i for i in range(L) if decided[i] and canvas[i] in (sp["pad"], sp["eos"])]
    end = stops[0] if stops else L
    return [canvas[i] for i in range(end) if decided[i]], not stops, steps
