import numpy as np
import pytest
import torch

from trainer.model import build_model
from trainer.objectives import EOS, FIM_MIDDLE, FIM_PREFIX, MASK, PAD
from trainer.sampling import ar_infill, diffusion_infill, fit_context, model_logits_fn

V = 20


def table_fn(canvas_start, rows):
    """logits_fn whose canvas logits are fixed rows (L, V); context positions get zeros."""
    rows = np.asarray(rows, dtype=np.float32)

    def fn(ids):
        out = np.zeros((len(ids), V), dtype=np.float32)
        out[canvas_start:canvas_start + len(rows)] = rows
        return out
    return fn


def onehot(ids, hi=10.0):
    r = np.zeros((len(ids), V), dtype=np.float32)
    r[np.arange(len(ids)), ids] = hi
    return r


def test_the_sampler_never_emits_mask_or_fim_ids():
    rows = onehot([MASK, FIM_PREFIX, FIM_MIDDLE, 9], hi=50.0)
    rows[:, 7] = 1.0  # the best allowed id
    ids, filled, _ = diffusion_infill(table_fn(2, rows), [10, 11], [12], 4)
    assert ids == [7, 7, 7, 9] and filled
    assert not set(ids) & {MASK, FIM_PREFIX, FIM_MIDDLE}


def test_the_sampler_stops_at_the_first_pad_and_reports_not_filled():
    ids, filled, steps = diffusion_infill(table_fn(1, onehot([8, 9, PAD, 10, 11, 12])), [6], [], 6)
    assert ids == [8, 9] and filled is False
    assert steps == 1  # all confident: decided in one step


def test_the_sampler_stops_early_once_everything_left_of_a_pad_is_decided():
    rows = onehot([8, PAD, 10, 11])
    rows[2:] = 0.0  # unsure right of the pad: those never need deciding
    ids, filled, steps = diffusion_infill(table_fn(0, rows), [], [], 4)
    assert (ids, filled, steps) == ([8], False, 1)


def test_eos_ends_the_middle_like_pad():
    ids, filled, _ = diffusion_infill(table_fn(0, onehot([8, EOS, 9])), [], [], 3)
    assert ids == [8] and not filled


def test_threshold_one_decodes_one_token_a_step():
    rows = onehot([8, 9, 10, 11, 12], hi=30.0)  # p ~= 1 but < 1.0 in float32? make sure: conf < 1
    rows += np.linspace(0, 1, V, dtype=np.float32)  # distinct, < 1.0 confidences
    rows[:, 8:13] -= 25.0  # lower confidence so that no p rounds to exactly 1.0
    fn = table_fn(0, rows)
    ids1, _, steps = diffusion_infill(fn, [], [], 5, threshold=1.0)
    assert steps == 5
    ids9, _, steps9 = diffusion_infill(fn, [], [], 5, threshold=0.0)
    assert steps9 == 1 and ids1 == ids9


def test_ties_go_to_the_lowest_id_and_the_leftmost_position():
    rows = np.zeros((3, V), dtype=np.float32)
    rows[:, 7] = rows[:, 9] = 2.0  # equal logits for 7 and 9 everywhere: equal confidences too
    calls = []

    def fn(ids):
        calls.append(list(ids))
        return table_fn(0, rows)(ids)
    ids, _, steps = diffusion_infill(fn, [], [], 3, threshold=0.99)
    assert ids == [7, 7, 7] and steps == 3
    assert calls[1][:3] == [7, MASK, MASK]  # the leftmost was decided first


def test_max_steps_bounds_the_forward_passes():
    rows = np.zeros((4, V), dtype=np.float32)
    rows[:, 8] = 1.0
    ids, _, steps = diffusion_infill(table_fn(0, rows), [], [], 4, threshold=0.99, max_steps=2)
    assert steps == 2 and ids == [8, 8]  # undecided positions are skipped


def test_diffusion_sampling_with_a_real_model_is_deterministic():
    torch.manual_seed(0)
    model = build_model("nano", 262, causal=False).eval()
    fn = model_logits_fn(model, "cpu")
    a = diffusion_infill(fn, [10, 20, 30], [40, 50], 16, 0.9)
    b = diffusion_infill(fn, [10, 20, 30], [40, 50], 16, 0.9)
    assert a == b
    assert MASK not in a[0]


def test_ar_sampler_stops_at_eos_and_excludes_it():
    seq = iter([9, 10, EOS, 11])

    def fn(ids):
        out = np.zeros((len(ids), V), dtype=np.float32)
        out[-1, next(seq)] = 5.0
        out[-1, MASK] = 50.0  # forbidden
        return out
    assert ar_infill(fn, [6], [7], 10) == [9, 10]


def test_ar_sampler_prompt_is_psm_and_respects_max_new():
    seen = []

    def fn(ids):
        seen.append(list(ids))
        out = np.zeros((len(ids), V), dtype=np.float32)
        out[-1, 12] = 1.0
        return out
    assert ar_infill(fn, [6, 7], [8], 3) == [12, 12, 12]
    assert seen[0] == [3, 6, 7, 4, 8, 5]


@pytest.mark.parametrize("p,s,room", [(10, 10, 30), (10, 10, 8), (2, 20, 10), (20, 2, 10), (5, 5, 0)])
def test_fit_context_trims_the_far_ends_to_the_room(p, s, room):
    P, S = list(range(p)), list(range(100, 100 + s))
    P2, S2 = fit_context(P, S, room)
    assert len(P2) + len(S2) <= room or (len(P2) == p and len(S2) == s)
    assert P2 == P[len(P) - len(P2):] and S2 == S[:len(S2)]
    assert len(P2) + len(S2) == min(room, p + s)


def soft_rows(preds_confs):
    """Rows whose argmax is `pred` with softmax confidence ~`conf` (the rest spread evenly)."""
    rows = np.zeros((len(preds_confs), V), dtype=np.float32)
    for r, (pred, conf) in enumerate(preds_confs):
        allowed = V - 4  # MASK and the three fim ids are forbidden
        rows[r, pred] = np.log(conf * (allowed - 1) / (1 - conf))
    return rows


def test_below_the_threshold_content_is_decided_before_a_more_confident_pad():
    """Ends last: the trailing PADs (0.8) are more confident than the content (0.3-0.5), but a
    step below tau decides the best content position; the PADs go once only ends are left."""
    rows = soft_rows([(8, 0.3), (9, 0.5), (PAD, 0.8), (PAD, 0.8)])
    ids, filled, steps = diffusion_infill(table_fn(1, rows), [6], [], 4, threshold=0.9)
    assert (ids, filled) == ([8, 9], False)
    assert steps == 3  # 9 (0.5), then 8 (0.3), then both PADs together


def test_pads_at_the_threshold_are_still_decided_at_once():
    rows = soft_rows([(8, 0.95), (9, 0.5), (PAD, 0.97), (PAD, 0.97)])
    ids, filled, steps = diffusion_infill(table_fn(0, rows), [], [], 4, threshold=0.9)
    assert (ids, filled, steps) == ([8, 9], False, 2)  # step 1: 8 and both PADs; step 2: 9


def test_a_canvas_of_ends_only_is_decided_in_one_step_and_gives_nothing():
    rows = soft_rows([(PAD, 0.4), (EOS, 0.6), (PAD, 0.5)])
    assert diffusion_infill(table_fn(0, rows), [], [], 3, threshold=0.9) == ([], False, 1)


def test_a_sliding_window_decides_among_the_leftmost_undecided_positions_only():
    # every canvas position sure of its own id (6 + i): above tau a step decides its whole window,
    # and the next looks twice as far
    sure = onehot([6 + i for i in range(8)], hi=20.0)
    ids, filled, steps = diffusion_infill(table_fn(0, sure), [], [], 8, threshold=0.9, window=3)
    assert (list(ids), filled, steps) == ([6 + i for i in range(8)], True, 2)  # 3, then the 5 left: sure of it all, twice as far
    assert diffusion_infill(table_fn(0, sure), [], [], 8, threshold=0.9, window=8)[2] == 1
    # below tau, one a step: position 5 (the surest) waits until the window reaches it
    unsure = onehot([6 + i for i in range(8)], hi=3.0)
    unsure[5, 11] = 6.0
    order = []

    def watch(ids):
        for i, t in enumerate(ids[:8]):
            if t != MASK and i not in order:
                order.append(i)
        return table_fn(0, unsure)(ids)
    diffusion_infill(watch, [], [], 8, threshold=1.0, window=3)
    assert order == [0, 1, 2, 5, 3, 4, 6]
    # back to the start width after a step that left part of its window undecided (as sampler.test.ts)
    mixed = onehot([6 + i for i in range(12)], hi=20.0)
    mixed[3, 9] = mixed[4, 10] = 3.0
    ids, _, steps = diffusion_infill(table_fn(0, mixed), [], [], 12, threshold=0.9, window=2)
    assert (len(ids), steps) == (12, 10)
    assert diffusion_infill(table_fn(0, mixed), [], [], 12, threshold=0.9)[2] == 3
