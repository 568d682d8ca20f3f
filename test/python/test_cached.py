"""The cached graphs (trainer/cached.py): exact where the approximation is exact, and exported right."""
import numpy as np
import pytest
import torch

from trainer.cached import canvas_mask, cached_diffusion_infill, context_onnx_bytes, kv_names, step_onnx_bytes
from trainer.model import ModelConfig, PRESETS, Transformer
from trainer.sampling import FORBIDDEN, _pick, diffusion_infill, model_logits_fn


def _model(causal=False, seed=0):
    torch.manual_seed(seed)
    m = Transformer(ModelConfig(**dict(PRESETS["nano"], vocab_size=300, causal=causal, max_seq_len=64))).float().eval()
    with torch.no_grad():  # sharper than init so that confidences spread
        m.embed.weight.mul_(8)
    return m


def split_context(keys, start: int, length: int):
    """Per-layer (B, H, T, D) keys, stacked, without the columns [start, start + length): what ctx_mask masks."""
    keys = torch.stack(list(keys))
    return keys[:, :, :, list(range(start)) + list(range(start + length, keys.shape[3]))]


def _per_layer(keys, values) -> dict:
    """The step graph's per-layer inputs from stacked (n_layers, B, H, T, D) keys and values."""
    return {**{f"ctx_keys_{i}": keys[i] for i in range(len(keys))}, **{f"ctx_values_{i}": values[i] for i in range(len(values))}}


@pytest.mark.parametrize("causal", [False, True])
def test_context_graph_with_all_positions_is_the_full_model(causal):
    m = _model(causal)
    x = torch.randint(6, 300, (2, 20))
    with torch.no_grad():
        full = m(x)
        logits, k, v = (t if i == 0 else torch.stack(t) for i, t in enumerate(m.context_forward(x, torch.arange(20).repeat(2, 1))))
        # the last block runs only the asked rows: any rows, in any order, per batch row
        rows = torch.tensor([[13, 2, 19], [0, 7, 7]])
        some, k2, v2 = (t if i == 0 else torch.stack(t) for i, t in enumerate(m.context_forward(x, rows)))
        _, every_k, every_v = m._blocks_kv(m.blocks, m.embed(x), m.rope_cos[:20], m.rope_sin[:20], m.causal_mask[:20, :20] if causal else None)
        every_k, every_v = torch.stack(every_k), torch.stack(every_v)
    assert torch.allclose(full, logits, atol=1e-5)
    assert k.shape == (2, 2, 4, 20, 32) and v.shape == k.shape
    assert torch.allclose(some, torch.stack([full[b, rows[b]] for b in range(2)]), atol=1e-5)
    assert torch.allclose(k2, every_k, atol=1e-6) and torch.allclose(v2, every_v, atol=1e-6)


@pytest.mark.parametrize("causal", [False, True])
def test_step_logits_on_a_fresh_context_equal_the_full_models_canvas_logits(causal):
    m = _model(causal)
    c0, L = 7, 5
    x = torch.randint(6, 300, (1, 20))
    if not causal:
        x[0, c0:c0 + L] = 2  # the canvas as the context pass saw it (all masks)
    pos = torch.arange(c0, c0 + L).unsqueeze(0)
    with torch.no_grad():
        full = m(x)
        ctx_logits, k, v = m.context_forward(x, pos)
        if causal:  # AR: the step token attends to everything before it
            T = 12
            _, k, v = m.context_forward(x[:, :T], pos[:, :1] * 0)
            step, nk, _ = m.step_forward(x[:, T:T + 1], torch.tensor([[T]]), k, v, torch.tensor([[0]]))
            assert (step[0, 0] - full[0, T]).abs().max() < 1e-4
            assert len(nk) == 2 and nk[0].shape[2] == 1
            return
        step, _, _ = m.step_forward(x[:, c0:c0 + L], pos, split_context(k, c0, L), split_context(v, c0, L), torch.arange(L)[None])
        odd, _, _ = m.step_forward(x[:, c0:c0 + L], pos, split_context(k, c0, L), split_context(v, c0, L), torch.tensor([[3, 1]]))
        # the whole context K/V with the canvas columns masked is the same attention
        whole, _, _ = m.step_forward(x[:, c0:c0 + L], pos, k, v, torch.arange(L)[None], canvas_mask(20, c0, L))
    assert (whole - step).abs().max() < 1e-5
    assert (odd[0] - full[0, [c0 + 3, c0 + 1]]).abs().max() < 1e-4
    assert (ctx_logits[0] - full[0, c0:c0 + L]).abs().max() < 1e-4
    assert (step[0] - full[0, c0:c0 + L]).abs().max() < 1e-4


def test_cached_sampler_equals_the_plain_one_when_the_canvas_is_decided_in_one_step():
    m = _model()
    fn = model_logits_fn(m, "cpu")
    prefix, suffix = list(range(10, 30)), list(range(40, 50))
    for L in (4, 16):
        plain = diffusion_infill(fn, prefix, suffix, L, threshold=0.0)
        fast = cached_diffusion_infill(m, prefix, suffix, L, threshold=0.0)
        assert plain[2] == 1 and fast[2] == 1
        assert list(plain[0]) == fast[0]
        # refreshing the context every step is exact at any threshold
        plain = diffusion_infill(fn, prefix, suffix, L, threshold=0.5)
        fast = cached_diffusion_infill(m, prefix, suffix, L, threshold=0.5, refresh_every=1)
        assert list(plain[0]) == fast[0] and plain[1:] == fast[1:]
        # and with a sliding window, the plain sampler with the same window
        plain = diffusion_infill(fn, prefix, suffix, L, threshold=0.5, window=3)
        fast = cached_diffusion_infill(m, prefix, suffix, L, threshold=0.5, refresh_every=1, window=3)
        assert list(plain[0]) == fast[0] and plain[1:] == fast[1:]


def test_freeze_decided_runs_a_decided_position_one_more_step_then_attends_its_frozen_kv():
    m = _model()
    prefix, suffix = list(range(10, 30)), list(range(40, 50))
    c0, L = len(prefix), 6
    fed = []  # per step: the canvas positions run, and the context columns open to them
    step_forward = m.step_forward

    def recording(canvas_ids, canvas_positions, ctx_keys, ctx_values, rows, ctx_mask=None):
        fed.append((canvas_positions[0].tolist(), int((ctx_mask == 0).sum())))
        return step_forward(canvas_ids, canvas_positions, ctx_keys, ctx_values, rows, ctx_mask)

    m.step_forward = recording
    ids, _, steps = cached_diffusion_infill(m, prefix, suffix, L, threshold=1.5)  # one position a step
    assert steps == L
    T = c0 + L + len(suffix)
    # step k (2..L): the L - k + 1 masked positions and the one decided at step k - 1; the rest frozen
    assert [(len(run), open_) for run, open_ in fed] == [(L - k + 2, T - L + k - 2) for k in range(2, L + 1)]
    assert all(set(b) < set(a) for (a, _), (b, _) in zip(fed, fed[1:]))
    fed.clear()
    whole = cached_diffusion_infill(m, prefix, suffix, L, threshold=1.5, freeze_decided=False)
    assert [(len(run), open_) for run, open_ in fed] == [(L, T - L)] * (L - 1) and whole[2] == L
    # a window of 2: its masked positions and the one decided a step before run; the masked ones
    # beyond it are parked on open columns (the context pass's K/V), the decided ones frozen
    fed.clear()
    windowed = cached_diffusion_infill(m, prefix, suffix, L, threshold=1.5, window=2)
    assert windowed[2] == L
    assert [(len(run), open_) for run, open_ in fed] == [(min(2, L - k + 1) + 1, T - min(2, L - k + 1) - 1) for k in range(2, L + 1)]
    # a refresh every step is exact with or without freezing (nothing stays frozen past a context pass)
    fed.clear()
    exact = cached_diffusion_infill(m, prefix, suffix, L, threshold=0.5, refresh_every=1)
    assert cached_diffusion_infill(m, prefix, suffix, L, threshold=0.5, refresh_every=1, freeze_decided=False) == exact
    assert fed == []


def test_exported_cached_graphs_match_pytorch():
    onnx = pytest.importorskip("onnx")
    from trainer import onnx_ref
    m = _model()
    ctx = onnx.load_from_string(context_onnx_bytes(m))
    step = onnx.load_from_string(step_onnx_bytes(m))
    onnx.checker.check_model(ctx)
    onnx.checker.check_model(step)
    assert [i.name for i in ctx.graph.input] == ["input_ids", "positions", "forbid"]
    assert [o.name for o in ctx.graph.output] == ["logits", "keys_0", "keys_1", "values_0", "values_1", "pred", "conf",
                                                  "keys_int8_0", "keys_int8_1", "key_scales_0", "key_scales_1",
                                                  "values_int8_0", "values_int8_1", "value_scales_0", "value_scales_1"]
    assert [i.name for i in step.graph.input] == ["canvas_ids", "canvas_positions", "rows", "forbid", "ctx_mask", "kv_rows",
                                                  "ctx_keys_0", "ctx_keys_1", "ctx_values_0", "ctx_values_1"]
    assert [o.name for o in step.graph.output] == ["logits", "keys_0", "keys_1", "values_0", "values_1", "pred", "conf"]
    x = np.random.default_rng(0).integers(6, 300, size=(1, 23)).astype(np.int64)
    c0, L = 9, 6
    pos = np.arange(c0, c0 + L, dtype=np.int64)[None]
    forbid = np.zeros(300, np.float32)
    forbid[list(FORBIDDEN)] = -np.inf
    logits, *kv, cpred, cconf = onnx_ref.run(ctx, {"input_ids": x, "positions": pos, "forbid": forbid})[:7]
    k, v = np.stack(kv[:2]), np.stack(kv[2:])
    with torch.no_grad():
        ref, rk, rv = m.context_forward(torch.from_numpy(x), torch.from_numpy(pos))
        rk, rv = torch.stack(rk), torch.stack(rv)
    assert np.abs(logits - ref.numpy()).max() < 1e-4 and np.abs(k - rk.numpy()).max() < 1e-4
    # the first step's choice, in the context graph: sampling.py's on the same logits
    ref_pred, ref_conf = _pick(logits[0])
    assert cpred.dtype == np.int32 and list(cpred[0]) == list(ref_pred)
    assert np.abs(cconf[0] - ref_conf).max() < 1e-6
    ck, cv = split_context(rk, c0, L), split_context(rv, c0, L)
    canvas = np.random.default_rng(1).integers(6, 300, size=(1, L)).astype(np.int64)
    rows = np.array([[0, 2, 5]], dtype=np.int64)
    # the step graph gets the context pass's K/V whole, the canvas columns masked
    # (and the canvas's own K/V only at kv_rows, in their order)
    kv_rows = np.array([4, 1], dtype=np.int64)
    out, nk, _, _, _, pred, conf = onnx_ref.run(step, {"canvas_ids": canvas, "canvas_positions": pos, "rows": rows, "forbid": forbid,
                                                  "ctx_mask": canvas_mask(23, c0, L).numpy(), "kv_rows": kv_rows, **_per_layer(k, v)})
    with torch.no_grad():
        sref, sk, _ = m.step_forward(torch.from_numpy(canvas), torch.from_numpy(pos), ck, cv,
                                     torch.from_numpy(rows))
    assert out.shape == (1, 3, 300) and nk.shape == (1, 4, 2, 32)
    assert np.abs(out - sref.numpy()).max() < 1e-4
    assert np.abs(nk - sk[0][:, :, kv_rows].numpy()).max() < 1e-4
    # the sampler's choice in the graph is sampling.py's on the same logits (conf to float32 rounding)
    ref_pred, ref_conf = _pick(out[0])
    assert pred.dtype == np.int32 and list(pred[0]) == list(ref_pred)
    assert np.abs(conf[0] - ref_conf).max() < 1e-6


def test_int8_step_graph_is_its_pytorch_reference_and_close_to_float32():
    onnx = pytest.importorskip("onnx")
    from trainer import onnx_ref
    from trainer.quantize import int8_copy, step_int8_onnx_bytes
    m = _model()
    q = int8_copy(m)
    g = onnx.load_from_string(step_int8_onnx_bytes(m))
    onnx.checker.check_model(g)
    ops = {n.op_type for n in g.graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops
    # int8 weights: a quarter of the float32 step graph's bytes, plus the float32 embedding lookup
    assert len(g.SerializeToString()) < 0.6 * len(step_onnx_bytes(m))
    x = torch.from_numpy(np.random.default_rng(2).integers(6, 300, size=(1, 23)))
    c0, L = 9, 6
    pos = torch.arange(c0, c0 + L)[None]
    rows = torch.tensor([[0, 2, 5]])
    with torch.no_grad():
        _, k, v = m.context_forward(x, pos)
        mask = canvas_mask(23, c0, L)
        fp32, _, _ = m.step_forward(x[:, c0:c0 + L], pos, k, v, rows, mask)
        int8, ik, _ = q.step_forward(x[:, c0:c0 + L], pos, k, v, rows, mask)
    forbid = np.zeros(300, np.float32)
    forbid[list(FORBIDDEN)] = -np.inf
    out, *_, pred, _ = onnx_ref.run(g, {"canvas_ids": x[:, c0:c0 + L].numpy(), "canvas_positions": pos.numpy(),
                                           "rows": rows.numpy(), "forbid": forbid, "ctx_mask": mask.numpy(),
                                           "kv_rows": np.arange(L), **_per_layer(torch.stack(k).numpy(), torch.stack(v).numpy())})
    # the exported ops compute what Int8Linear computes (measured: identical; a rounding tie could differ)
    assert np.abs(out - int8.numpy()).max() < 1e-4 * np.abs(int8.numpy()).max()
    # and int8 stays near float32: per-channel weights, per-call activations
    err = (int8 - fp32).abs().max() / fp32.abs().max()
    assert 0 < err < 0.02, err
    assert (int8[0].argmax(-1) == fp32[0].argmax(-1)).float().mean() >= 2 / 3


def test_int8_kv_step_graph_reads_the_context_graphs_int8_outputs_and_stays_near_float32():
    onnx = pytest.importorskip("onnx")
    from trainer import onnx_ref
    from trainer.cached import int8_kv_names
    from trainer.quantize import WEIGHT_MAX, int8_copy, int8_kv_copy, quantize_kv, step_int8_kv_onnx_bytes
    m = _model()
    ctx = onnx.load_from_string(context_onnx_bytes(m))
    g = onnx.load_from_string(step_int8_kv_onnx_bytes(m))
    onnx.checker.check_model(g)
    n = m.cfg.n_layers
    assert [o.name for o in g.graph.output] == ["logits"] + kv_names("keys", "values", n) + ["pred", "conf"]
    x = torch.from_numpy(np.random.default_rng(2).integers(6, 300, size=(1, 23)))
    c0, L = 9, 6
    pos = torch.arange(c0, c0 + L)[None]
    rows = torch.tensor([[0, 2, 5]])
    forbid = np.zeros(300, np.float32)
    forbid[list(FORBIDDEN)] = -np.inf
    out = dict(zip([o.name for o in ctx.graph.output], onnx_ref.run(ctx, {"input_ids": x.numpy(), "positions": pos.numpy(), "forbid": forbid})))
    mask = canvas_mask(23, c0, L)
    with torch.no_grad():
        _, k, v = m.context_forward(x, pos)
        q = [quantize_kv(a, b) for a, b in zip(k, v)]
        fp32, _, _ = m.step_forward(x[:, c0:c0 + L], pos, k, v, rows, mask)
        int8_weights, _, _ = int8_copy(m).step_forward(x[:, c0:c0 + L], pos, k, v, rows, mask)
        int8_kv, own_k, own_v = int8_kv_copy(m).step_forward(x[:, c0:c0 + L], pos, [t[:2] for t in q], [t[2:] for t in q], rows, mask)
    # the context graph's int8 outputs are quantize_kv of its float32 ones: keys transposed, per token, 7 bits
    for i in range(n):
        assert out[f"keys_int8_{i}"].dtype == np.int8 and out[f"keys_int8_{i}"].shape == (1, m.cfg.n_heads, m.cfg.d_model // m.cfg.n_heads, 23)
        assert np.abs(out[f"keys_int8_{i}"].astype(np.int32)).max() <= WEIGHT_MAX
        assert np.abs(out[f"keys_int8_{i}"].astype(np.int32) - q[i][0].numpy()).max() <= 1  # a rounding tie may differ
        np.testing.assert_allclose(out[f"value_scales_{i}"], q[i][3].numpy(), rtol=1e-6)
        back = out[f"values_int8_{i}"] * out[f"value_scales_{i}"].transpose(0, 1, 3, 2)
        assert np.abs(back - v[i].numpy()).max() <= out[f"value_scales_{i}"].max() / 2 + 1e-7
    feeds = {"canvas_ids": x[:, c0:c0 + L].numpy(), "canvas_positions": pos.numpy(), "rows": rows.numpy(),
             "forbid": forbid, "ctx_mask": mask.numpy(), "kv_rows": np.arange(L),
             **{f"ctx_{name}": out[name] for name in int8_kv_names("", n)}}
    logits, *own, pred, conf = onnx_ref.run(g, feeds)
    # the exported ops compute what int8_kv_copy computes, the canvas's own float32 K/V too (the
    # engine freezes decided positions with them)
    assert np.abs(logits - int8_kv.numpy()).max() < 1e-4 * np.abs(int8_kv.numpy()).max()
    for got, want in zip(own, own_k + own_v):
        assert got.shape == tuple(want.shape) and np.abs(got - want.numpy()).max() < 1e-4 * np.abs(want.numpy()).max()
    assert list(pred[0]) == list(_pick(logits[0] + forbid)[0])
    # and the int8 K/V move the logits about as much as the int8 weights do
    err = ((int8_kv - fp32).abs().max() / fp32.abs().max()).item()
    assert 0 < err < 0.03, err
    assert err < 2.5 * ((int8_weights - fp32).abs().max() / fp32.abs().max()).item()
    assert (int8_kv[0].argmax(-1) == fp32[0].argmax(-1)).float().mean() >= 2 / 3
