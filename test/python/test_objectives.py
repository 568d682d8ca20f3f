import math

import numpy as np
import torch

from trainer import objectives as obj


def test_mask_tokens_masks_everything_at_t_one_and_nothing_at_t_zero():
    x = torch.arange(6, 26).view(2, 10)
    g = torch.Generator().manual_seed(0)
    noisy, masked = obj.mask_tokens(x, torch.tensor([1.0, 0.0]), g)
    assert masked[0].all() and not masked[1].any()
    assert (noisy[0] == obj.MASK).all() and torch.equal(noisy[1], x[1])


def test_mask_tokens_respects_maskable_and_rate_is_close_to_t():
    g = torch.Generator().manual_seed(1)
    x = torch.full((4, 5000), 7)
    maskable = torch.zeros(4, 5000, dtype=torch.bool)
    maskable[:, :2500] = True
    noisy, masked = obj.mask_tokens(x, torch.tensor([0.1, 0.5, 0.9, 0.3]), g, maskable)
    assert not masked[:, 2500:].any()
    rates = masked[:, :2500].float().mean(1)
    assert torch.allclose(rates, torch.tensor([0.1, 0.5, 0.9, 0.3]), atol=0.03)
    assert torch.equal(noisy == obj.MASK, masked)


def test_sample_t_stays_between_eps_and_one():
    t = obj.sample_t(10000, torch.Generator().manual_seed(0))
    assert t.min() >= obj.EPS and t.max() < 1.0


def test_diffusion_loss_is_masked_ce_over_t_divided_by_tokens():
    # uniform logits over V: CE = log V at every position
    V = 8
    logits = torch.zeros(2, 4, V)
    targets = torch.zeros(2, 4, dtype=torch.long)
    masked = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    t = torch.tensor([0.5, 0.25])
    loss = obj.diffusion_loss(logits, targets, masked, t)
    expected = (2 * math.log(V) / 0.5 + 1 * math.log(V) / 0.25) / (2 * 4)
    assert abs(loss.item() - expected) < 1e-6


def test_diffusion_loss_normalises_span_rows_by_their_canvas():
    V = 4
    logits = torch.zeros(1, 6, V)
    targets = torch.zeros(1, 6, dtype=torch.long)
    masked = torch.tensor([[0, 1, 1, 0, 0, 0]], dtype=torch.bool)
    loss = obj.diffusion_loss(logits, targets, masked, torch.tensor([1.0]), torch.tensor([3.0]))
    assert abs(loss.item() - 2 * math.log(V) / 3) < 1e-6


def test_diffusion_loss_of_a_confident_correct_model_is_near_zero():
    logits = torch.full((1, 3, 5), -20.0)
    logits[0, torch.arange(3), torch.tensor([1, 2, 3])] = 20.0
    loss = obj.diffusion_loss(logits, torch.tensor([[1, 2, 3]]), torch.ones(1, 3, dtype=torch.bool), torch.tensor([0.1]))
    assert loss.item() < 1e-6


def test_canvas_length_rounds_up_to_engine_choices_with_room_for_a_pad():
    assert obj.canvas_length(0, 128) == 16
    assert obj.canvas_length(15, 128) == 16
    assert obj.canvas_length(16, 128) == 32
    assert obj.canvas_length(63, 128) == 64
    assert obj.canvas_length(64, 128) == 128


def test_span_infill_example_lays_out_prefix_canvas_suffix():
    tokens = np.arange(100, 400, dtype=np.int64)
    rng = np.random.default_rng(0)
    row, c0, c = obj.span_infill_example(tokens, 150, 160, 64, rng)
    assert len(row) == 64 and c == 16
    assert list(row[c0:c0 + 10]) == list(range(250, 260))  # the middle
    assert (row[c0 + 10:c0 + 16] == obj.PAD).all()  # pads up to the canvas length
    assert list(row[:c0]) == list(range(250 - c0, 250))  # clean prefix right before it
    assert list(row[c0 + 16:]) == list(range(260, 260 + 64 - c0 - 16))  # clean suffix right after


def test_span_infill_example_pads_when_the_corpus_is_too_short():
    tokens = np.arange(6, 26, dtype=np.int64)
    row, c0, c = obj.span_infill_example(tokens, 5, 8, 64, np.random.default_rng(0))
    assert c0 == 5 and c == 16 and len(row) == 64
    assert list(row[c0 + c:c0 + c + 12]) == list(range(14, 26))
    assert (row[c0 + c + 12:] == obj.PAD).all()


def test_diffusion_batch_masks_only_the_canvas_of_span_rows():
    rows = np.full((2, 32), 9, dtype=np.int64)
    b = obj.diffusion_batch(rows, [None, (4, 16)], torch.Generator().manual_seed(0))
    assert not b["masked"][1, :4].any() and not b["masked"][1, 20:].any()
    assert b["loss_len"].tolist() == [32.0, 16.0]
    assert torch.equal(b["target"], torch.from_numpy(rows))


def test_fim_rearrangement_is_prefix_suffix_middle_and_keeps_every_token():
    w = np.arange(10, 30)
    out = obj.fim_rearrange(w, np.random.default_rng(3))
    assert len(out) == len(w) + 4 and out[0] == obj.FIM_PREFIX and out[-1] == obj.EOS
    i_s, i_m = list(out).index(obj.FIM_SUFFIX), list(out).index(obj.FIM_MIDDLE)
    prefix, suffix, middle = out[1:i_s], out[i_s + 1:i_m], out[i_m + 1:-1]
    assert list(prefix) + list(middle) + list(suffix) == list(w)


def test_ar_batch_shifts_targets_by_one_and_has_seq_len_columns():
    windows = [np.arange(10, 27), np.arange(30, 47)]  # seq_len + 1 = 17
    b = obj.ar_batch(windows, 0.5, 16, np.random.default_rng(0))
    assert b["input"].shape == (2, 16) and b["target"].shape == (2, 16)
    plain = obj.ar_batch(windows, 0.0, 16, np.random.default_rng(0))
    assert torch.equal(plain["input"][0, 1:], plain["target"][0, :-1])


def test_ar_loss_is_mean_cross_entropy():
    logits = torch.zeros(1, 2, 4)
    assert abs(obj.ar_loss(logits, torch.tensor([[1, 2]])).item() - math.log(4)) < 1e-6
