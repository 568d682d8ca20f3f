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
