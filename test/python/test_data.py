import json
import os

import numpy as np
import pytest

from conftest import encode, make_corpus, sample_docs
from trainer.data import Decoder, Stream, eval_subset, load_corpus
from trainer.errors import TrainerError


def test_corpus_loads_tokens_spans_tasks_and_vocab(corpus_run):
    c = load_corpus(corpus_run)
    assert c.vocab_size == 262
    assert c.train[-1] == 1 and len(c.val) > 0 and len(c.spans) > 0 and len(c.eval_tasks) > 0
    assert c.decoder.decode(c.train[:len(encode("def add_0"))]) == "def add_0"


def test_uint32_corpora_are_read_as_uint32(tmp_path):
    c = load_corpus(make_corpus(tmp_path / "r", dtype="uint32"))
    assert c.decoder.decode(c.train[:3]) == "def"


def test_a_manifest_without_token_dtype_means_uint16(tmp_path):
    run = make_corpus(tmp_path / "r")
    mpath = os.path.join(run, "corpus", "manifest.json")
    m = json.load(open(mpath))
    del m["token_dtype"]
    json.dump(m, open(mpath, "w"))
    assert load_corpus(run).decoder.decode(load_corpus(run).train[:3]) == "def"


def test_decoder_maps_bytes_back_and_never_throws():
    from conftest import byte_tokenizer
    d = Decoder(byte_tokenizer())
    text = "héllo\n\tworld ✓"
    assert d.decode(encode(text)) == text
    assert d.decode([0, 1, 2, 6 + 0xFF, 99999]) == "\ufffd"  # specials and unknown ids vanish
    assert d.newline_table(262)[6 + 10] and not d.newline_table(262)[6 + 32]


def test_one_epoch_visits_every_window_once_and_epochs_reshuffle(corpus_run):
    c = load_corpus(corpus_run)
    s = Stream(c, 32, seed=5)
    k = s.windows_per_epoch()
    first = s.next_windows(k)
    assert s.epoch == 1 and s.index == 0
    assert len(set(first)) == k and all(0 <= w <= len(c.train) - 32 for w in first)
    assert s.next_windows(k) != first


def test_the_stream_resumes_exactly_from_its_state(corpus_run):
    c = load_corpus(corpus_run)
    a = Stream(c, 32, seed=1, span_rate=0.5)
    a.diffusion_rows(7)
    st = a.state()
    rows_a, cv_a = a.diffusion_rows(9)
    b = Stream(c, 32, seed=1, span_rate=0.5)
    b.load_state(st)
    rows_b, cv_b = b.diffusion_rows(9)
    assert np.array_equal(rows_a, rows_b) and cv_a == cv_b


def test_a_stream_resumed_on_a_smaller_corpus_starts_the_next_epoch(tmp_path):
    """A checkpoint's position late in an epoch of a large corpus, resumed after the workspace was
    re-indexed to fewer windows: that epoch is over, the next begins (it used to raise IndexError)."""
    big = load_corpus(make_corpus(tmp_path / "big", docs=sample_docs(12)))
    small = load_corpus(make_corpus(tmp_path / "small", docs=sample_docs(2)))
    a = Stream(big, 32, seed=2)
    a.next_windows(a.windows_per_epoch() - 2)
    st = a.state()
    b = Stream(small, 32, seed=2)
    assert st["epoch"] == 0 and st["index"] >= b.windows_per_epoch()
    b.load_state(st)
    assert (b.epoch, b.index) == (1, 0)
    k = b.windows_per_epoch()
    starts = b.next_windows(k)  # the whole of epoch 1 over the small corpus, each window once
    assert len(set(starts)) == k and all(0 <= s <= len(small.train) - 32 for s in starts)
    assert (b.epoch, b.index) == (2, 0)
    c = Stream(small, 32, seed=2)  # a position that still fits is kept as it was
    c.load_state(dict(st, index=3))
    assert (c.epoch, c.index) == (0, 3)


def test_span_rows_take_their_middle_from_the_window(corpus_run):
    c = load_corpus(corpus_run)
    s = Stream(c, 64, seed=0, span_rate=1.0)
    rows, canvases = s.diffusion_rows(20)
    assert all(cv is not None for cv in canvases)
    for row, (c0, cl) in zip(rows, canvases):
        assert cl in (16, 32, 64) and c0 + cl <= 64
        assert row[c0 + cl - 1] == 0  # a canvas always ends with at least one pad


def test_eval_subset_spreads_over_kinds_deterministically():
    tasks = [{"kind": k, "id": i} for i, k in enumerate(["line"] * 10 + ["block"] * 10 + ["call"] * 2)]
    sub = eval_subset(tasks, 6, seed=0)
    assert [t["kind"] for t in sub].count("call") == 2 and len(sub) == 6
    assert sub == eval_subset(tasks, 6, seed=0)


@pytest.mark.parametrize("damage,match", [
    ("missing", "does not exist"), ("odd_bytes", "truncated"), ("short", "manifest.json says"),
    ("big_id", "vocab_size"), ("spans", "train.spans.bin is truncated"),
])
def test_damaged_corpora_raise_errors_with_hints(tmp_path, damage, match):
    run = make_corpus(tmp_path / "r")
    train = os.path.join(run, "corpus", "train.bin")
    if damage == "missing":
        os.remove(train)
    elif damage == "odd_bytes":
        with open(train, "ab") as f:
            f.write(b"\x01")
    elif damage == "short":
        data = open(train, "rb").read()
        open(train, "wb").write(data[:-20])
    elif damage == "big_id":
        with open(train, "r+b") as f:
            f.write(np.asarray([5000], "<u2").tobytes())
    elif damage == "spans":
        with open(os.path.join(run, "corpus", "train.spans.bin"), "ab") as f:
            f.write(b"\x00\x00\x00\x00")
    with pytest.raises(TrainerError, match=match) as e:
        load_corpus(run)
    assert e.value.hint
