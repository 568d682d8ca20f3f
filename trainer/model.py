"""The network: a small Llama-style transformer, in one file, read top to bottom.

RMSNorm, rotary positions (cos/sin tables, no complex numbers), SwiGLU MLP, tied input/output
embeddings, no biases. The same network serves both objectives: bidirectional attention for
masked diffusion, a causal mask for the autoregressive baseline (`ModelConfig.causal`).

It knows nothing of tokenization, masking or losses (see objectives.py): it maps ids to logits.

ONNX: `model.exporting = True` switches attention to plain matmul + softmax (torch 1.13 has no
`scaled_dot_product_attention`, and the exporter has no op for it at opset 17 anyway), so that
`torch.onnx.export` at opset 17 with dynamic batch and sequence axes works on torch 1.13 and 2.x.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


@dataclass
class ModelConfig:
    vocab_size: int = 8192  # token ids 0..vocab_size-1 (6 specials, 256 bytes, then BPE merges)
    d_model: int = 256  # width of the residual stream
    n_layers: int = 4  # transformer blocks
    n_heads: int = 4  # attention heads; head_dim = d_model // n_heads
    d_ff: int = 688  # SwiGLU hidden width (~8/3 d_model, rounded to a multiple of 16)
    max_seq_len: int = 256  # longest sequence the rotary tables cover
    causal: bool = False  # False: bidirectional (diffusion); True: causal (autoregressive)
    rope_base: float = 10000.0  # rotary base frequency (RoFormer, Su et al. 2021)
    norm_eps: float = 1e-5  # RMSNorm epsilon

    def to_dict(self) -> dict:
        return asdict(self)


# Presets (parameter counts with an 8192-token vocabulary; see docs/trainer.md for the table).
# `nano` is for tests and smoke runs only.
PRESETS = {
    "nano": dict(d_model=128, n_layers=2, n_heads=4, d_ff=352, max_seq_len=128),
    "tiny": dict(d_model=256, n_layers=4, n_heads=4, d_ff=688, max_seq_len=256),  # ~5M
    "small": dict(d_model=512, n_layers=8, n_heads=8, d_ff=1376, max_seq_len=512),  # ~30M
    "base": dict(d_model=768, n_layers=16, n_heads=12, d_ff=2048, max_seq_len=1024),  # ~120M
    "large": dict(d_model=1024, n_layers=30, n_heads=16, d_ff=2816, max_seq_len=1024),  # ~395M
}


class RMSNorm(nn.Module):
    """x / rms(x) * weight (Zhang & Sennrich 2019); no bias, no mean subtraction."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):  # (B, T, C) -> (B, T, C)
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return xf.type_as(x) * self.weight


def rotary_tables(head_dim: int, max_seq_len: int, base: float):
    """cos, sin tables, each (max_seq_len, head_dim), for the half-split rotary form as
    apply_rotary uses them: cos over both halves, sin negated over the first half."""
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(max_seq_len, dtype=torch.float32), inv_freq)
    cos, sin = angles.cos(), angles.sin()
    return torch.cat([cos, cos], dim=-1), torch.cat([-sin, sin], dim=-1)


def apply_rotary(x, cos, sin, half: int):
    """Rotate pairs (x1_i, x2_i) of the two halves of each head by angle pos * freq_i:
    x * cos + swap_halves(x) * sin = (x1 cos - x2 sin, x2 cos + x1 sin), the same products and
    sums bit for bit as rotating each half apart, in 6 ONNX nodes for q and k together instead of
    ~20 (per-node overhead is a large part of a canvas step on a CPU).

    x: (B, H, T, D); cos, sin: (T, D) from rotary_tables; half = D / 2 as a Python int (from the
    config, not from x.shape: a traced shape becomes Shape/Gather/Div nodes in the ONNX graphs)."""
    swapped = torch.cat([x[..., half:], x[..., :half]], dim=-1)
    return (x * cos + swapped * sin).type_as(x)


class _ReshapeTail(torch.autograd.Function):
    """x.reshape(x.shape[:keep] + tail), exported as a single ONNX Reshape to the constant shape
    [0] * keep + [-1] + tail[1:] (0 copies that dimension, -1 is what is left: tail[0]; torch's
    exporter cannot infer a shape with zeros and no -1). Traced, `x.shape` of a dynamic axis
    becomes a Shape/Gather/Unsqueeze/Concat chain, six to eight nodes a call, three calls a layer."""

    @staticmethod
    def forward(ctx, x, keep: int, tail: tuple):
        return x.reshape(*x.shape[:keep], *tail)

    @staticmethod
    def symbolic(g, x, keep: int, tail: tuple):
        with warnings.catch_warnings():  # torch 1.13 flags g.op on a bare graph as deprecated; 2.x is fine
            warnings.simplefilter("ignore", FutureWarning)
            shape = g.op("Constant", value_t=torch.tensor([0] * keep + [-1] + list(tail[1:]), dtype=torch.int64))
            return g.op("Reshape", x, shape)


def reshape_tail(x, keep: int, *tail: int):
    """x.reshape(*x.shape[:keep], *tail); one node in an ONNX graph (_ReshapeTail)."""
    if torch.onnx.is_in_onnx_export():
        return _ReshapeTail.apply(x, keep, tail)
    return x.reshape(*x.shape[:keep], *tail)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        assert cfg.d_model % cfg.n_heads == 0, f"d_model {cfg.d_model} not divisible by n_heads {cfg.n_heads}"
        self.n_heads = cfg.n_heads
        self.head_dim = cfg.d_model // cfg.n_heads
        assert self.head_dim % 2 == 0, f"head_dim {self.head_dim} must be even for rotary"
        self.causal = cfg.causal
        self.d_model = cfg.d_model
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def _qkv(self, x, cos, sin):
        """(B, T, C) -> the rotated queries and keys and the values, each (B, H, T, D)."""
        H, D = self.n_heads, self.head_dim
        qkv = reshape_tail(self.qkv(x), 2, 3 * H, D).transpose(1, 2)  # (B, 3H, T, D)
        qk, v = qkv.split([2 * H, H], dim=1)  # queries and keys rotate together
        q, k = apply_rotary(qk, cos, sin, D // 2).split(H, dim=1)
        return q, k, v

    def _merge_heads(self, y):  # (B, H, T, D) -> (B, T, C)
        return reshape_tail(y.transpose(1, 2), 2, self.d_model)

    def _matmul_attention(self, q, k, v, mask):
        """Plain matmul/softmax attention (what ONNX export traces); mask additive or None."""
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))  # (B, H, T, S)
        if mask is not None:
            att = att + mask  # causal: 0 on and below the diagonal, -inf above
        return torch.softmax(att.float(), dim=-1).type_as(v) @ v  # (B, H, T, D)

    def forward(self, x, cos, sin, causal_mask, exporting: bool):  # (B, T, C) -> (B, T, C)
        q, k, v = self._qkv(x, cos, sin)
        if HAS_SDPA and not exporting:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)  # fused when possible
        else:
            y = self._matmul_attention(q, k, v, causal_mask if self.causal else None)
        return self.proj(self._merge_heads(y))

    def forward_kv(self, x, cos, sin, mask, past_k=None, past_v=None, past_mask=None, past_len=None):
        """Plain matmul attention that also returns this call's rotated keys and values (B, H, T, D).

        With past_k/past_v (B, H, S, D) the queries attend to past ++ fresh keys (a diffusion canvas
        attends to the cached context and to itself; an AR step is one token), the past columns
        under the additive past_mask (S,) if given (0, or -inf at a column not to attend: the
        canvas columns of a context pass, left in place so that its K/V need no copy). past_len is
        S, traced once per graph by the caller (each layer's own past_k.shape would add three
        nodes a layer). cos, sin: (T, D) or (B, 1, T, D) for per-row positions. The past is read
        through past_scores and past_sum, which trainer/quantize.py replaces for int8 K/V."""
        q, k, v = self._qkv(x, cos, sin)
        if past_k is None:
            y = self._matmul_attention(q, k, v, mask)
        else:
            # softmax over [past ++ fresh] scores, then the two value sums: the same attention as
            # cat([past_k, k]) but without copying the cached K/V (a step's largest cost on a CPU)
            scale = 1.0 / math.sqrt(self.head_dim)
            past = self.past_scores(q, past_k)
            if past_mask is not None:
                past = past + past_mask
            att = torch.cat([past, q @ k.transpose(-2, -1)], dim=-1) * scale
            p = torch.softmax(att.float(), dim=-1).type_as(v)
            S = past_v.shape[2] if past_len is None else past_len
            y = self.past_sum(p[..., :S], past_v) + p[..., S:] @ v
        return self.proj(self._merge_heads(y)), k, v

    @staticmethod
    def past_scores(q, past_k):  # (B, H, C, D) x cached keys (B, H, S, D) -> (B, H, C, S)
        return q @ past_k.transpose(-2, -1)

    @staticmethod
    def past_sum(p, past_v):  # attention weights (B, H, C, S) x cached values (B, H, S, D) -> (B, H, C, D)
        return p @ past_v

    def forward_rows(self, x, cos, sin, mask, positions):
        """Attention of the rows `positions` (B, P) over all T rows (plain matmul, as forward_kv)
        -> (B, P, C), and every row's rotated keys and values (B, H, T, D)."""
        q, k, v = self._qkv(x, cos, sin)
        index = positions[:, None, :, None].expand(-1, self.n_heads, -1, self.head_dim)
        q = torch.gather(q, 2, index)  # (B, H, P, D)
        rows_mask = None
        if mask is not None:  # a causal mask's rows at those positions: (B, 1, P, T)
            rows_mask = mask[positions].unsqueeze(1)
        y = self._matmul_attention(q, k, v, rows_mask)
        return self.proj(self._merge_heads(y)), k, v


def gather_rows(x, positions):  # (B, T, C), (B, P) -> (B, P, C)
    return torch.gather(x, 1, positions.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class SwiGLU(nn.Module):
    """silu(x W_gate) * (x W_up), then W_down (Shazeer 2020)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.d_ff = cfg.d_ff
        self.gate_up = nn.Linear(cfg.d_model, 2 * cfg.d_ff, bias=False)
        self.down = nn.Linear(cfg.d_ff, cfg.d_model, bias=False)

    def forward(self, x):  # (B, T, C) -> (B, T, C)
        gate, up = self.gate_up(x).split(self.d_ff, dim=-1)  # 2 x (B, T, d_ff); constant for ONNX
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm1 = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.norm2 = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x, cos, sin, causal_mask, exporting: bool):  # (B, T, C) -> (B, T, C)
        x = x + self.attn(self.norm1(x), cos, sin, causal_mask, exporting)
        return x + self.mlp(self.norm2(x))

    def forward_kv(self, x, cos, sin, mask, past_k=None, past_v=None, past_mask=None, past_len=None):  # -> x, k, v
        h, k, v = self.attn.forward_kv(self.norm1(x), cos, sin, mask, past_k, past_v, past_mask, past_len)
        x = x + h
        return x + self.mlp(self.norm2(x)), k, v

    def forward_rows(self, x, cos, sin, mask, positions):
        """forward_kv, but the output only at rows `positions` (B, P): every row's keys and values,
        the queries, attention and MLP of those rows alone. -> x (B, P, C), k, v (B, H, T, D)."""
        h, k, v = self.attn.forward_rows(self.norm1(x), cos, sin, mask, positions)
        x = gather_rows(x, positions) + h
        return x + self.mlp(self.norm2(x)), k, v


class Transformer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.exporting = False  # True while torch.onnx.export traces the model
        self.int8_head = None  # trainer/quantize.py int8_copy sets an Int8Linear for the step graph
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        cos, sin = rotary_tables(cfg.d_model // cfg.n_heads, cfg.max_seq_len, cfg.rope_base)
        self.register_buffer("rope_cos", cos, persistent=False)  # (max_seq_len, head_dim)
        self.register_buffer("rope_sin", sin, persistent=False)
        # additive float mask, not bool: gloo (CPU DDP) cannot broadcast bool buffers
        mask = torch.full((cfg.max_seq_len, cfg.max_seq_len), float("-inf")).triu(1)
        self.register_buffer("causal_mask", mask, persistent=False)  # (T, T): -inf above the diagonal
        self.apply(self._init_weights)
        # GPT-2 style: scale the residual output projections by 1/sqrt(2 * n_layers)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("down.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())  # tied: the embedding counts once

    def forward(self, input_ids):  # (B, T) int64 -> logits (B, T, V)
        T = input_ids.shape[1]
        if not self.exporting:
            assert T <= self.cfg.max_seq_len, f"sequence length {T} > max_seq_len {self.cfg.max_seq_len}"
        x = self.embed(input_ids)  # (B, T, C)
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]  # (T, D)
        causal_mask = self.causal_mask[:T, :T]  # (T, T)
        for block in self.blocks:
            x = block(x, cos, sin, causal_mask, self.exporting)
        x = self.norm(x)
        return F.linear(x, self.embed.weight)  # tied output embedding: (B, T, V)

    # ---- cached inference (docs/contracts.md "Cached graphs"; trainer/cached.py exports them)

    def _head(self, x, positions):  # (B, T, C), (B, P) -> logits at those rows (B, P, V)
        return self._head_rows(gather_rows(x, positions))

    def _head_rows(self, x):  # (B, P, C) -> (B, P, V)
        if self.int8_head is not None:  # trainer/quantize.py's copy for the int8 step graph
            return self.int8_head(self.norm(x))
        return F.linear(self.norm(x), self.embed.weight)

    def context_forward(self, input_ids, positions):
        """The full forward pass, but logits only at `positions` (B, P), plus every layer's rotated
        keys and values: -> logits (B, P, V), keys [n_layers x (B, H, T, D)], values (same).
        With positions = all rows it equals forward(input_ids). Per layer, not stacked: the
        exported graphs hand each layer's K/V over as it is (stacking copied all of them once more).

        The last block runs only the rows at `positions` past its keys and values: every other
        row's output would feed nothing but the logits it is not asked for (for tiny at 512
        positions that is a fifth of the blocks' work)."""
        T = input_ids.shape[1]
        x = self.embed(input_ids)
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        mask = self.causal_mask[:T, :T] if self.cfg.causal else None
        *first, last = self.blocks
        x, ks, vs = self._blocks_kv(first, x, cos, sin, mask)
        x, k, v = last.forward_rows(x, cos, sin, mask, positions)
        return self._head_rows(x), ks + [k], vs + [v]

    def step_forward(self, canvas_ids, canvas_positions, ctx_keys, ctx_values, rows, ctx_mask=None):
        """Only the canvas rows through the network: canvas ids (B, C) at absolute positions (B, C)
        attend to cached context keys/values (per layer, (B, H, S, D)), under the additive
        ctx_mask (S,) if given, and to the canvas's own fresh ones. -> logits at canvas rows `rows`
        (B, R) only (B, R, V) (the sampler needs the still-masked ones), the canvas's keys and
        values [n_layers x (B, H, C, D)]."""
        x = self.embed(canvas_ids)
        cos = self.rope_cos[canvas_positions].unsqueeze(1)  # (B, 1, C, D)
        sin = self.rope_sin[canvas_positions].unsqueeze(1)
        x, ks, vs = self._blocks_kv(self.blocks, x, cos, sin, None, ctx_keys, ctx_values, ctx_mask)
        return self._head(x, rows), ks, vs

    @staticmethod
    def _blocks_kv(blocks, x, cos, sin, mask, ctx_keys=None, ctx_values=None, ctx_mask=None):
        """`blocks` in turn with forward_kv (layer i against its cached ctx_keys[i]/ctx_values[i]
        when given) -> x, and the lists of each layer's own keys and values (B, H, T, D)."""
        ks, vs = [], []
        ctx_len = None
        if ctx_values is not None:  # (B, H, S, D), or (values_int8, scales) for trainer/quantize.py's int8 K/V
            first = ctx_values[0][0] if isinstance(ctx_values[0], tuple) else ctx_values[0]
            ctx_len = first.shape[2]
        for i, block in enumerate(blocks):
            past = (ctx_keys[i], ctx_values[i]) if ctx_keys is not None else (None, None)
            x, k, v = block.forward_kv(x, cos, sin, mask, *past, ctx_mask, ctx_len)
            ks.append(k)
            vs.append(v)
        return x, ks, vs


def build_model(preset: str, vocab_size: int, causal: bool, max_seq_len: int | None = None) -> Transformer:
    assert preset in PRESETS, f"unknown preset {preset!r}; choose from {sorted(PRESETS)}"
    fields = dict(PRESETS[preset], vocab_size=vocab_size, causal=causal)
    if max_seq_len:
        fields["max_seq_len"] = max_seq_len
    return Transformer(ModelConfig(**fields))


def count_params(preset: str, vocab_size: int) -> int:
    """Parameters of a preset without building it (tied embeddings counted once)."""
    p = PRESETS[preset]
    d, L, f = p["d_model"], p["n_layers"], p["d_ff"]
    per_block = 4 * d * d + 3 * d * f + 2 * d
    return vocab_size * d + L * per_block + d


def auto_preset(device_type: str, gpu_memory_gb: float, train_tokens: int) -> str:
    """Pick a preset from the device, its memory and the corpus size.

    CPU training is for small corpora and demos (platform notes: ~2,800 tokens/s at 5M params on
    2 cores), so tiny unless the corpus is large. On a GPU, data-constrained diffusion keeps gaining
    from size and epochs (Ni et al. 2025), so the size follows memory, capped by the corpus."""
    if device_type != "cuda":
        return "small" if train_tokens >= 5_000_000 else "tiny"
    if gpu_memory_gb >= 40 and train_tokens >= 20_000_000:
        return "large"
    if gpu_memory_gb >= 16 and train_tokens >= 2_000_000:
        return "base"
    if gpu_memory_gb >= 6 and train_tokens >= 200_000:
        return "small"
    return "tiny"
