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
