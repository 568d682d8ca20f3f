"""Shared helpers: tiny corpora written the way the indexer writes them (docs/contracts.md),
with a byte-level tokenizer (6 specials + 256 byte tokens, no merges), and a way to run the
trainer's CLI as a subprocess and read its events."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from trainer.data import bytes_to_unicode  # noqa: E402

SPECIALS = ["<|pad|>", "<|eos|>", "<|mask|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"]
VOCAB = 262


def byte_tokenizer() -> dict:
    b2u = bytes_to_unicode()
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for b in range(256):
        vocab[b2u[b]] = 6 + b
    return {"version": "1.0", "model": {"type": "BPE", "vocab": vocab, "merges": []},
            "added_tokens": [{"id": i, "content": t, "special": True} for i, t in enumerate(SPECIALS)],
            "decoder": {"type": "ByteLevel"}}


def encode(text: str) -> list:
    return [6 + b for b in text.encode("utf-8")]


def sample_docs(n: int = 6) -> list:
    """Small, very regular Python files: a tiny model can learn them by heart."""
    docs = []
    for k in range(n):
        docs.append(
            f"def add_{k}(a, b):\n    return a + b\n\n"
            f"def mul_{k}(a, b):\n    return a * b\n\n"
            f"class Box{k}:\n    def __init__(self, v):\n        self.v = v\n"
        )
    return docs


def make_corpus(run_dir, docs=None, val_docs=None, tasks=None, dtype="uint16", spans=True,
                manifest_extra=None) -> str:
    """Write run_dir/corpus like the indexer does; returns run_dir."""
    docs = docs or sample_docs()
    val_docs = val_docs if val_docs is not None else docs[:2]
    cdir = os.path.join(run_dir, "corpus")
    os.makedirs(cdir, exist_ok=True)
    train, span_rows = [], []
    for d in docs:
        base = len(train)
        # one line span per line of each document (kind 1)
        pos = 0
        for line in d.splitlines(keepends=True):
            n = len(line.encode("utf-8"))
            span_rows.append((base + pos, base + pos + n, 1))
            pos += n
        train += encode(d) + [1]
    val = []
    for d in val_docs:
        val += encode(d) + [1]
    np.asarray(train, dtype="<" + ("u2" if dtype == "uint16" else "u4")).tofile(os.path.join(cdir, "train.bin"))
    np.asarray(val, dtype="<" + ("u2" if dtype == "uint16" else "u4")).tofile(os.path.join(cdir, "val.bin"))
    if spans:
        np.asarray(span_rows, dtype="<i4").tofile(os.path.join(cdir, "train.spans.bin"))
    with open(os.path.join(cdir, "tokenizer.json"), "w") as f:
        json.dump(byte_tokenizer(), f)
    if tasks is None:
        tasks = line_tasks(docs)
    with open(os.path.join(cdir, "eval.jsonl"), "w") as f:
        for t in tasks:
            f.write(json.dumps(t) + "\n")
    manifest = {"vocab_size": VOCAB, "token_dtype": dtype, "train_tokens": len(train), "val_tokens": len(val),
                "files": [], "corpus_sha256": "test", "tokenizer_sha256": "test"}
    manifest.update(manifest_extra or {})
    with open(os.path.join(cdir, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    return str(run_dir)


def line_tasks(docs) -> list:
    """One 'line' task per 'return' line: prefix up to the line, the line as middle, the rest."""
    tasks = []
    for i, d in enumerate(docs):
        lines = d.splitlines(keepends=True)
        for j, line in enumerate(lines):
            if "return" in line:
                pre, mid, suf = "".join(lines[:j]), line, "".join(lines[j + 1:])
                tasks.append({"id": f"{i}:{j}", "path": f"f{i}.py", "language": "python", "kind": "line",
                              "prefix": pre, "middle": mid, "suffix": suf,
                              "prefix_ids": encode(pre), "middle_ids": encode(mid), "suffix_ids": encode(suf)})
    return tasks


def run_trainer(args, timeout=120, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "trainer", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, **kw)


def events_of(stdout: str) -> list:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture
def corpus_run(tmp_path):
    return make_corpus(tmp_path / "run")
