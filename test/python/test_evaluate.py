import pytest
import torch

from trainer.evaluate import infill_eval
from trainer.model import build_model


@pytest.mark.parametrize("objective", ["diffusion", "autoregressive"])
def test_a_middle_too_long_for_the_window_is_skipped_not_a_crash(objective):
    torch.manual_seed(0)
    model = build_model("nano", 262, causal=objective == "autoregressive", max_seq_len=32).eval()
    short = {"id": "a", "kind": "line", "prefix_ids": [10] * 8, "middle_ids": [11] * 4, "suffix_ids": [12] * 8}
    long = {"id": "b", "kind": "block", "prefix_ids": [10] * 8, "middle_ids": [11] * 40, "suffix_ids": [12] * 8}
    result = infill_eval(model, [short, long], objective, 32, torch.device("cpu"), None, engine_length=False)
    assert result["by_kind"].keys() == {"line"}


def test_whitespace_alone_scores_as_the_nothing_the_editor_shows():
    from trainer.evaluate import edit_similarity, shown
    assert shown("  \n\t ") == "" and shown(" x ") == " x " and shown([1, 2]) == [1, 2]
    want = "    set total [expr {$a + $b}]"
    assert edit_similarity(want, "        ") > 0.1  # spaces share characters with code...
    assert edit_similarity(want, shown("        ")) == 0.0  # ...but the editor shows nothing


def test_the_engine_length_figure_decodes_as_the_engine_does_by_default():
    """infill_exact_engine_length runs the fast path's sampler (cached.py), the engine's default:
    tasks whose middles are what that sampler writes score 1.0, though the plain model's sampler
    writes something else for some of them (its context K/V see every decided id)."""
    from trainer.cached import cached_diffusion_infill
    from trainer.objectives import CANVAS_CHOICES
    from trainer.sampling import DEFAULT_WINDOW, diffusion_infill, fit_context, model_logits_fn
    torch.manual_seed(0)
    T = 256  # room for a middle of 64 (a random model fills every canvas) and its oracle canvas
    model = build_model("nano", 262, causal=False, max_seq_len=T).eval()
    fn = model_logits_fn(model, torch.device("cpu"))

    def engine_way(sample, P, S):
        for L in CANVAS_CHOICES:
            if L > T // 2:
                break
            p, s = fit_context(P, S, T - L)
            got, filled, _ = sample(p, s, L)
            if not filled:
                break
        return got

    gen = torch.Generator().manual_seed(1)
    tasks, differs = [], 0
    for i in range(6):
        P, S = torch.randint(6, 262, (40,), generator=gen).tolist(), torch.randint(6, 262, (30,), generator=gen).tolist()
        fast = engine_way(lambda p, s, L: cached_diffusion_infill(model, p, s, L, 0.9, window=DEFAULT_WINDOW), P, S)
        plain = engine_way(lambda p, s, L: diffusion_infill(fn, p, s, L, 0.9, window=DEFAULT_WINDOW), P, S)
        differs += fast != plain
        tasks.append({"id": str(i), "kind": "line", "prefix_ids": P, "middle_ids": fast, "suffix_ids": S})
    assert differs > 0  # else this test could not tell the two samplers apart
    result = infill_eval(model, tasks, "diffusion", T, torch.device("cpu"), None)
    assert result["tasks"] == 6 and result["infill_exact_engine_length"] == 1.0
