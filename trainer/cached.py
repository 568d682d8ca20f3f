"""The cached-inference graphs (docs/contracts.md "Cached graphs", docs/engine.md "Fast decoding").

Besides model.onnx the export writes two graphs of the same weights (and the step graph again with
int8 weights, trainer/quantize.py), for the engine's fast path (Fast-dLLM's dual cache, Wu et al.
2025; dKV-Cache, Ma et al. 2025):

- model.context.onnx: `input_ids` int64 [b, s], `positions` int64 [b, p], `forbid` float32 [vocab]
  -> `logits` float32 [b, p, vocab] (rows at `positions` only), one output per layer i, `keys_i`
  and then `values_i` float32 [b, heads, s, head_dim] (rotary applied; `kv_names`), and the
  sampler's choice at those rows, `pred` int32 [b, p] and `conf` float32 [b, p] (`pick_in_graph`:
  the first step of a completion without 16 x 8k logits scored in JavaScript). With positions =
  0..s-1 its logits are model.onnx's.
- model.step.onnx: `canvas_ids` int64 [b, c], `canvas_positions` int64 [b, c] (absolute positions),
  `rows` int64 [b, r] (canvas indices whose logits are wanted: the still-masked ones), `forbid`
  float32 [vocab] (0, or -inf for the ids the sampler never picks), `ctx_mask` float32 [t] (added
  to the scores of the context columns: 0, or -inf for a column not to attend, so that a context
  pass's K/V serve whole, the canvas columns masked, instead of copied without them), `kv_rows`
  int64 [k] (canvas indices whose K/V to hand over), then one input per layer i, `ctx_keys_i` and
  then `ctx_values_i` float32 [b, heads, t, head_dim] -> `logits` [b, r, vocab], `keys_i`,
  `values_i` [b, heads, k, head_dim] (the canvas's own at `kv_rows`: for an AR cache to append,
  or a diffusion position to freeze), and `pred`, `conf` [b, r] as above. The canvas attends to the (unmasked)
  context K/V and to itself.

`cached_diffusion_infill` is the reference of the engine's fast sampler, in PyTorch.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from .export import trace_onnx
from .objectives import MASK
from .model import Transformer


class _Context(nn.Module):
    def __init__(self, m: Transformer):
        super().__init__()
        self.m = m

    def forward(self, input_ids, positions, forbid):
        from .quantize import quantize_kv
        logits, keys, values = self.m.context_forward(input_ids, positions)
        int8 = int8_kv_flat([quantize_kv(k, v) for k, v in zip(keys, values)])
        return (logits, *keys, *values) + pick_in_graph(logits, forbid) + int8


class _Step(nn.Module):
    def __init__(self, m: Transformer):
        super().__init__()
        self.m = m

    def forward(self, canvas_ids, canvas_positions, rows, forbid, ctx_mask, kv_rows, *ctx_kv):
        n = len(ctx_kv) // 2  # ctx_keys_0..n-1, then ctx_values_0..n-1: one input per layer
        logits, keys, values = self.m.step_forward(canvas_ids, canvas_positions, ctx_kv[:n], ctx_kv[n:], rows, ctx_mask)
        return (logits,) + own_kv_rows(keys, values, kv_rows) + pick_in_graph(logits, forbid)


class _StepInt8KV(nn.Module):
    def __init__(self, m: Transformer):
        super().__init__()
        self.m = m

    def forward(self, canvas_ids, canvas_positions, rows, forbid, ctx_mask, kv_rows, *ctx_kv):
        n = len(ctx_kv) // 4  # keys_int8_0.., key_scales_0.., values_int8_0.., value_scales_0..
        keys = [(ctx_kv[i], ctx_kv[n + i]) for i in range(n)]
        values = [(ctx_kv[2 * n + i], ctx_kv[3 * n + i]) for i in range(n)]
        logits, own_k, own_v = self.m.step_forward(canvas_ids, canvas_positions, keys, values, rows, ctx_mask)
        # the canvas's own K/V in float32: the engine quantizes the few rows it freezes (quantize_kv's rule)
        return (logits,) + own_kv_rows(own_k, own_v, kv_rows) + pick_in_graph(logits, forbid)


def own_kv_rows(keys: list, values: list, kv_rows: torch.Tensor) -> tuple:
    """The canvas's own K/V (B, H, C, D) per layer, only at canvas indices `kv_rows` (K,): a
    diffusion step hands over the positions the engine freezes (one or a few), not all 16-64:
    onnxruntime-node copies every output into a fresh buffer (~1 ms a step for small's 16 rows)."""
    return tuple(t.index_select(2, kv_rows) for t in (*keys, *values))


def pick_in_graph(logits: torch.Tensor, forbid: torch.Tensor):
    """sampling.py `_pick` inside the step graph: (B, R, V) logits + the (V,) forbid row ->
    pred int32 (B, R) (the first maximum: the lowest id on ties), conf float32 (B, R) = the
    largest softmax probability = 1 / sum(exp(z - max z)). Done here because the engine's
    float32-exact softmax in JavaScript (8k Math.exp a row) cost more than a canvas step of tiny.
    Not bit for bit `_pick`: onnxruntime sums in another order, so conf may differ in the last
    bits, and pred is the argmax of the logits where `_pick` takes that of the rounded
    probabilities, so two ids within a float32 rounding of each other may resolve differently."""
    z = logits + forbid
    pred = z.argmax(-1).to(torch.int32)
    conf = 1.0 / torch.exp(z - z.amax(-1, keepdim=True)).sum(-1)
    return pred, conf


def context_onnx_bytes(model: Transformer) -> bytes:
    cfg = model.cfg
    s = min(8, cfg.max_seq_len)
    x = torch.randint(6, cfg.vocab_size, (2, s), dtype=torch.long)
    pos = torch.tensor([[1, 2, 3], [2, 3, 4]], dtype=torch.long)
    forbid = torch.zeros(cfg.vocab_size)
    per_layer = kv_names("keys", "values", cfg.n_layers)
    int8_kv = int8_kv_names("", cfg.n_layers)
    per_row = {0: "batch", 1: "rows"}
    return trace_onnx(_Context(model), (x, pos, forbid), ["input_ids", "positions", "forbid"],
                      ["logits"] + per_layer + ["pred", "conf"] + int8_kv,
                      {"input_ids": {0: "batch", 1: "seq"}, "positions": per_row, "logits": per_row,
                       **{name: {0: "batch", 2: "seq"} for name in per_layer}, "pred": per_row, "conf": per_row,
                       **int8_kv_axes(int8_kv, "seq")})


def _step_example(cfg):
    """What both step graphs share: example canvas inputs (canvas_ids, canvas_positions, rows,
    forbid, ctx_mask over a 5-column context), their names, and the dynamic axes of those and of
    `logits`, `pred`, `conf`."""
    t = 5
    args = (torch.randint(6, cfg.vocab_size, (2, 3), dtype=torch.long),
            torch.tensor([[2, 3, 4], [2, 3, 4]], dtype=torch.long),
            torch.tensor([[0, 2], [1, 2]], dtype=torch.long),
            torch.zeros(cfg.vocab_size).index_fill_(0, torch.arange(2, 6), float("-inf")),
            torch.zeros(t).index_fill_(0, torch.tensor([1]), float("-inf")),
            torch.tensor([2, 0], dtype=torch.long))
    names = ["canvas_ids", "canvas_positions", "rows", "forbid", "ctx_mask", "kv_rows"]
    per_row = {0: "batch", 1: "rows"}
    axes = {"canvas_ids": {0: "batch", 1: "canvas"}, "canvas_positions": {0: "batch", 1: "canvas"},
            "rows": per_row, "ctx_mask": {0: "ctx"}, "kv_rows": {0: "kv_rows"},
            "logits": per_row, "pred": per_row, "conf": per_row}
    return args, names, axes, t


def step_onnx_bytes(model: Transformer) -> bytes:
    cfg = model.cfg
    H, D = cfg.n_heads, cfg.d_model // cfg.n_heads
    args, names, axes, t = _step_example(cfg)
    kv = tuple(torch.randn(2, H, t, D) for _ in range(2 * cfg.n_layers))
    per_layer = kv_names("ctx_keys", "ctx_values", cfg.n_layers)
    own = kv_names("keys", "values", cfg.n_layers)
    return trace_onnx(_Step(model), args + kv, names + per_layer, ["logits"] + own + ["pred", "conf"],
                      {**axes, **{name: {0: "batch", 2: "ctx"} for name in per_layer},
                       **{name: {0: "batch", 2: "kv_rows"} for name in own}})


def step_int8_kv_graph_bytes(model: Transformer) -> bytes:
    """The step graph over int8 context K/V (trainer/quantize.py int8_kv_copy builds `model`):
    inputs as step_onnx_bytes's but the context as `ctx_keys_int8_i` int8 [b, heads, head_dim, t],
    `ctx_key_scales_i` [b, heads, 1, t], `ctx_values_int8_i` int8 [b, heads, t, head_dim],
    `ctx_value_scales_i` [b, heads, 1, t] (the context graph's int8 outputs, as they come);
    outputs as step_onnx_bytes's: `logits`, the canvas's own float32 `keys_i`, `values_i` (for the
    positions the engine freezes, cached_diffusion_infill's freeze_decided), `pred`, `conf`."""
    from .quantize import quantize_kv
    cfg = model.cfg
    H, D = cfg.n_heads, cfg.d_model // cfg.n_heads
    args, names, axes, t = _step_example(cfg)
    kv = int8_kv_flat([quantize_kv(torch.randn(2, H, t, D), torch.randn(2, H, t, D)) for _ in range(cfg.n_layers)])
    per_layer = int8_kv_names("ctx_", cfg.n_layers)
    own = kv_names("keys", "values", cfg.n_layers)
    return trace_onnx(_StepInt8KV(model), args + kv, names + per_layer, ["logits"] + own + ["pred", "conf"],
                      {**axes, **int8_kv_axes(per_layer, "ctx"), **{name: {0: "batch", 2: "kv_rows"} for name in own}})


def int8_kv_names(prefix: str, n_layers: int) -> list:
    """The int8 K/V's per-layer names (quantize_kv's four, layer by layer within each kind):
    {prefix}keys_int8_0.., {prefix}key_scales_0.., {prefix}values_int8_0.., {prefix}value_scales_0..."""
    return [f"{prefix}{kind}_{i}" for kind in ("keys_int8", "key_scales", "values_int8", "value_scales")
            for i in range(n_layers)]


def int8_kv_flat(per_layer: list) -> tuple:
    """quantize_kv's four tensors of each layer, in int8_kv_names's order."""
    return tuple(t[j] for j in range(4) for t in per_layer)


def int8_kv_axes(names: list, length: str) -> dict:
    """Dynamic axes of int8_kv_names: batch first; the length is last except in values_int8."""
    return {n: {0: "batch", (2 if "values_int8" in n else 3): length} for n in names}


def kv_names(keys: str, values: str, n_layers: int) -> list:
    """Per-layer K/V names, keys first: e.g. ctx_keys_0.., then ctx_values_0... One tensor per layer
    in and out of the graphs: onnxruntime copies a slice of a stacked input, and stacking outputs
    copies them all once more."""
    return [f"{keys}_{i}" for i in range(n_layers)] + [f"{values}_{i}" for i in range(n_layers)]


def canvas_mask(total: int, start: int, length: int) -> torch.Tensor:
    """The step graph's ctx_mask for a context pass's K/V over `total` positions: the canvas
    columns [start, start + length) -inf (they saw masks; the step computes the canvas afresh)."""
    mask = torch.zeros(total)
    mask[start:start + length] = float("-inf")
    return mask


@torch.no_grad()
def cached_diffusion_infill(model: Transformer, prefix: list, suffix: list, canvas_len: int, threshold: float = 0.9,
                            max_steps: int | None = None, refresh_every: int = 0, freeze_decided: bool = True,
                            window: int = 0):
    """The engine's fast sampler (docs/contracts.md's diffusion sampler, logits from the cached graphs):
    step 1 from the context pass (exact), later steps from the step pass over the canvas alone, the
    context K/V computed once with the canvas all masks (refreshed every `refresh_every` steps if > 0).
    With `freeze_decided` (dKV-Cache's delayed caching, Ma et al. 2025), a position decided at step t
    runs through step t + 1 with its id, its K/V from that step are written into the context's
    columns (unmasked there), and later steps run only the positions not frozen. With `window` > 0
    (the sampler's sliding window) a still-masked position beyond it is parked: not run, its column
    opened with the context pass's K/V (they saw masks) until the window reaches it.
    -> (ids, filled, steps)."""
    from .sampling import unmask  # the contract's loop: softmax, tie-breaks, choice and stops
    L = canvas_len
    c0 = len(prefix)
    dev = next(model.parameters()).device  # the K/V stay there; the bookkeeping (mask) on the CPU
    pos = torch.arange(c0, c0 + L, device=dev).unsqueeze(0)
    context = {}  # the context pass's keys and values, and the steps' mask (a canvas column open: frozen or parked)

    def masked_logits(x, step, masked):
        ids = torch.tensor([x], dtype=torch.long, device=dev)
        if not context or (refresh_every and step % refresh_every == 0):
            logits, context["k"], context["v"] = model.context_forward(ids, pos)
            context["mask"] = canvas_mask(c0 + L + len(suffix), c0, L)
            return logits[0].float().cpu().numpy()[masked]
        window_set = {int(m) for m in masked}
        active, settled = [], []
        for i in range(L):
            col = c0 + i
            if x[col] == MASK:  # in the window: run afresh; beyond it: parked on the context's K/V
                in_window = i in window_set
                context["mask"][col] = float("-inf") if in_window else 0.0
                if in_window:
                    active.append(i)
            elif not freeze_decided:
                active.append(i)
            elif context["mask"][col] != 0:  # decided, its column not frozen yet
                active.append(i)
                settled.append(i)
        row_of = {i: r for r, i in enumerate(active)}
        rows = torch.tensor([[row_of[int(i)] for i in masked]], dtype=torch.long, device=dev)
        columns = torch.tensor(active, device=dev) + c0
        logits, ks, vs = model.step_forward(ids[:, columns], columns.unsqueeze(0), context["k"], context["v"], rows,
                                            context["mask"].to(dev))
        for i in settled:  # decided one step ago: their K/V now see their own ids, and stay
            for layer, (k, v) in enumerate(zip(ks, vs)):
                context["k"][layer][:, :, c0 + i] = k[:, :, row_of[i]]
                context["v"][layer][:, :, c0 + i] = v[:, :, row_of[i]]
            context["mask"][c0 + i] = 0.0
        return logits[0].float().cpu().numpy()  # the rows of `masked`, in order

    return unmask(prefix, suffix, L, np.float32(threshold), max_steps, masked_logits, window)
