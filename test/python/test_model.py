import pytest
import torch

from trainer import model as M


@pytest.mark.parametrize("preset,target", [("tiny", 5e6), ("small", 30e6), ("base", 120e6), ("large", 400e6)])
def test_presets_have_about_their_advertised_size(preset, target):
    n = M.count_params(preset, 8192)
    assert 0.85 * target < n < 1.15 * target, f"{preset}: {n:,}"


@pytest.mark.parametrize("preset", ["nano", "tiny"])
def test_count_params_matches_the_built_model(preset):
    assert M.count_params(preset, 262) == M.build_model(preset, 262, causal=False).num_params()


def test_logits_have_batch_seq_vocab_shape():
    m = M.build_model("nano", 100, causal=False)
    assert m(torch.randint(0, 100, (3, 7))).shape == (3, 7, 100)


def test_causal_model_never_looks_ahead_and_bidirectional_does():
    torch.manual_seed(0)
    x = torch.randint(6, 100, (1, 12))
    y = x.clone()
    y[0, 8] = 50 if x[0, 8] != 50 else 51
    for causal in (True, False):
        m = M.build_model("nano", 100, causal=causal).eval()
        with torch.no_grad():
            a, b = m(x), m(y)
        same_before = torch.allclose(a[0, :8], b[0, :8], atol=1e-6)
        assert same_before == causal


@pytest.mark.parametrize("causal", [False, True])
def test_export_attention_path_matches_the_training_path(causal):
    torch.manual_seed(0)
    m = M.build_model("nano", 100, causal=causal).eval()
    x = torch.randint(0, 100, (2, 9))
    with torch.no_grad():
        a = m(x)
        m.exporting = True
        b = m(x)
    assert torch.allclose(a, b, atol=1e-5)


def test_embeddings_are_tied_and_there_are_no_biases():
    m = M.build_model("nano", 100, causal=False)
    assert not any(n.endswith("bias") for n, _ in m.named_parameters())
    names = [n for n, _ in m.named_parameters()]
    assert "embed.weight" in names and not any("lm_head" in n for n in names)


def test_sequences_longer_than_max_seq_len_are_refused():
    m = M.build_model("nano", 100, causal=False, max_seq_len=16)
    with pytest.raises(AssertionError, match="max_seq_len"):
        m(torch.zeros(1, 17, dtype=torch.long))


def test_auto_preset_follows_device_memory_and_corpus():
    assert M.auto_preset("cpu", 0, 100_000) == "tiny"
    assert M.auto_preset("cpu", 0, 50_000_000) == "small"
    assert M.auto_preset("mps", 0, 100_000) == "tiny"
    assert M.auto_preset("cuda", 80, 100_000_000) == "large"
    assert M.auto_preset("cuda", 24, 5_000_000) == "base"
    assert M.auto_preset("cuda", 8, 1_000_000) == "small"
    assert M.auto_preset("cuda", 80, 50_000) == "tiny"
