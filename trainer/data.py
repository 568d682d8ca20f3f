"""Reading a run's corpus/ (docs/contracts.md) and streaming training windows from it.

The corpus is token ids only: the trainer never tokenizes. tokenizer.json is read just to turn
ids back into text for evaluation and samples (GPT-2 byte-to-unicode table, reversed).

Data order is a pure function of the seed: epoch e visits windows of train.bin in the
permutation drawn from (seed, e), after a random shift so that window edges move between
epochs. The stream's position (epoch, index) and its random generator are part of the
checkpoint, so a resumed run sees exactly the batches an unkilled run would have seen.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import numpy as np

from .errors import TrainerError
from .objectives import PAD, span_infill_example


def bytes_to_unicode() -> dict:
    """GPT-2's byte -> printable unicode character table (openai/gpt-2 encoder.py)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


class Decoder:
    """ids -> bytes/text from tokenizer.json's model.vocab + added_tokens. Never throws:
    unknown ids and special tokens decode to nothing; invalid UTF-8 becomes U+FFFD."""

    def __init__(self, tokenizer: dict):
        inv = {c: b for b, c in bytes_to_unicode().items()}
        vocab = dict(tokenizer.get("model", {}).get("vocab", {}))
        specials = {t["id"] for t in tokenizer.get("added_tokens", []) if t.get("special", True)}
        self.id_bytes = {}
        for tok, i in vocab.items():
            if i in specials:
                continue
            try:
                self.id_bytes[int(i)] = bytes(inv[ch] for ch in tok)
            except KeyError:
                self.id_bytes[int(i)] = tok.encode("utf-8")
        self.size = max([int(i) for i in vocab.values()] + [t["id"] for t in tokenizer.get("added_tokens", [])] + [-1]) + 1

    def decode_bytes(self, ids) -> bytes:
        return b"".join(self.id_bytes.get(int(i), b"") for i in ids)

    def decode(self, ids) -> str:
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def newline_table(self, vocab_size: int) -> np.ndarray:
        """(vocab_size,) bool: ids whose bytes end a line (contain b'\\n')."""
        table = np.zeros(vocab_size, dtype=bool)
        for i, b in self.id_bytes.items():
            if i < vocab_size and b"\n" in b:
                table[i] = True
        return table


def sha256_files(*paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        if os.path.exists(p):
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


@dataclass
class Corpus:
    dir: str
    vocab_size: int
    train: np.ndarray  # memmap of train.bin
    val: np.ndarray  # val.bin (may be empty)
    spans: np.ndarray  # (n, 3) int32 (start, end, kind), sorted by start; may be empty
    eval_tasks: list  # dicts from eval.jsonl that carry prefix_ids/middle_ids/suffix_ids
    decoder: Decoder | None
    manifest: dict = field(default_factory=dict)
    corpus_sha256: str = ""
    tokenizer_sha256: str = ""


def _read_bin(path: str, dtype, expected: int | None, vocab_size: int, what: str) -> np.ndarray:
    size = os.path.getsize(path)
    item = np.dtype(dtype).itemsize
    if size % item:
        raise TrainerError(f"{what} is truncated: {size} bytes is not a multiple of {item} ({np.dtype(dtype).name})",
                           "Re-index the workspace (Repo Diffusion: Train on This Repo rebuilds corpus/).")
    if expected is not None and size // item != expected:
        raise TrainerError(f"{what} holds {size // item} tokens but manifest.json says {expected}",
                           "The corpus is incomplete or was changed after indexing; re-index the workspace.")
    arr = np.memmap(path, dtype=np.dtype(dtype).newbyteorder("<"), mode="r") if size else np.zeros(0, dtype)
    if len(arr) and int(arr.max()) >= vocab_size:
        raise TrainerError(f"{what} contains token id {int(arr.max())} >= vocab_size {vocab_size}",
                           "The corpus and tokenizer do not match; re-index the workspace.")
    return arr


def load_corpus(run_dir: str, log=lambda msg: None) -> Corpus:
    cdir = os.path.join(run_dir, "corpus")
    train_path = os.path.join(cdir, "train.bin")
    if not os.path.isfile(train_path):
        raise TrainerError(f"no corpus: {train_path} does not exist",
                           "Index the workspace first (Repo Diffusion: Train on This Repo, or `repo-diffusion index DIR --out RUN`).")
    manifest = {}
    mpath = os.path.join(cdir, "manifest.json")
    if os.path.exists(mpath):
        try:
            with open(mpath, encoding="utf-8") as f:
                manifest = json.load(f)
        except (OSError, ValueError) as e:
            raise TrainerError(f"corpus/manifest.json is unreadable: {e}", "Re-index the workspace.")
    tokenizer, decoder = None, None
    tpath = os.path.join(cdir, "tokenizer.json")
    if os.path.exists(tpath):
        try:
            with open(tpath, encoding="utf-8") as f:
                tokenizer = json.load(f)
            decoder = Decoder(tokenizer)
        except (OSError, ValueError, TypeError, AttributeError) as e:
            raise TrainerError(f"corpus/tokenizer.json is unreadable: {e}", "Re-index the workspace.")
    vocab_size = manifest.get("vocab_size") or (decoder.size if decoder else None)
    if not vocab_size:
        raise TrainerError("cannot tell the vocabulary size: corpus/manifest.json has no vocab_size and there is no tokenizer.json",
                           "Re-index the workspace.")
    vocab_size = int(vocab_size)
    dtype = manifest.get("token_dtype", "uint16")  # contracts.md: uint16 unless the manifest says so
    if dtype not in ("uint16", "uint32"):
        raise TrainerError(f"manifest.json token_dtype {dtype!r} is not uint16 or uint32", "Re-index the workspace.")
    train = _read_bin(train_path, dtype, manifest.get("train_tokens"), vocab_size, "corpus/train.bin")
    if len(train) < 16:
        raise TrainerError(f"corpus/train.bin holds only {len(train)} tokens",
                           "The workspace has too little code to train on; add files or loosen the filters.")
    val_path = os.path.join(cdir, "val.bin")
    if os.path.exists(val_path):
        val = _read_bin(val_path, dtype, manifest.get("val_tokens"), vocab_size, "corpus/val.bin")
    elif manifest.get("val_tokens"):
        raise TrainerError("corpus/val.bin is missing but manifest.json lists validation tokens", "Re-index the workspace.")
    else:
        log("no corpus/val.bin: validation loss will be skipped")
        val = np.zeros(0, dtype=np.int64)
    spans = np.zeros((0, 3), dtype=np.int32)
    spath = os.path.join(cdir, "train.spans.bin")
    if os.path.exists(spath):
        raw = np.fromfile(spath, dtype="<i4")
        if len(raw) % 3:
            raise TrainerError(f"corpus/train.spans.bin is truncated: {len(raw)} int32 values is not a multiple of 3",
                               "Re-index the workspace.")
        spans = raw.reshape(-1, 3)
        ok = (spans[:, 0] >= 0) & (spans[:, 0] < spans[:, 1]) & (spans[:, 1] <= len(train))
        spans = spans[ok]
        spans = spans[np.argsort(spans[:, 0], kind="stable")]
    tasks = []
    epath = os.path.join(cdir, "eval.jsonl")
    if os.path.exists(epath):
        with open(epath, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    task = json.loads(line)
                except ValueError:
                    raise TrainerError(f"corpus/eval.jsonl line {n} is not JSON", "Re-index the workspace.")
                if all(k in task for k in ("prefix_ids", "middle_ids", "suffix_ids")):
                    if max(task["prefix_ids"] + task["middle_ids"] + task["suffix_ids"] + [0]) < vocab_size:
                        tasks.append(task)
        if not tasks:
            log("corpus/eval.jsonl has no tasks with prefix_ids/middle_ids/suffix_ids: infill evaluation skipped")
    return Corpus(cdir, vocab_size, train, val, spans, tasks, decoder, manifest,
                  manifest.get("corpus_sha256") or sha256_files(train_path, val_path),
                  manifest.get("tokenizer_sha256") or (sha256_files(tpath) if tokenizer else ""))


class Stream:
    """Deterministic, resumable stream of training rows over train.bin.

    Each row consumes one window of `window` tokens from the epoch's permutation; epochs count
    passes over the unique tokens. For the diffusion objective a row becomes a span-infill
    example at `span_rate`, its middle a syntax span inside the window (train.spans.bin) or
    random lines/tokens of it (Open-dCoder, LLaDA)."""

    def __init__(self, corpus: Corpus, window: int, seed: int, span_rate: float = 0.0,
                 seq_len: int | None = None):
        self.tokens = corpus.train
        self.n = len(self.tokens)
        self.window = min(window, self.n)
        self.seq_len = seq_len or window
        self.seed = seed
        self.span_rate = span_rate if self.seq_len >= 32 else 0.0  # a 16-token canvas needs room
        self.spans = corpus.spans
        self.span_starts = corpus.spans[:, 0] if len(corpus.spans) else np.zeros(0, np.int32)
        self.newline = corpus.decoder.newline_table(corpus.vocab_size) if corpus.decoder else None
        self.epoch, self.index = 0, 0
        self.rng = np.random.default_rng([seed, 7])
        self._perm_epoch = -1
        self._perm = None

    def windows_per_epoch(self) -> int:
        return max(1, self.n // self.window)

    def _epoch_starts(self, epoch: int) -> np.ndarray:
        if self._perm_epoch != epoch:
            r = np.random.default_rng([self.seed, 1000 + epoch])
            k = self.windows_per_epoch()
            slack = self.n - k * self.window
            shift = int(r.integers(0, slack + 1)) if slack > 0 else 0
            self._perm = shift + r.permutation(k) * self.window
            self._perm_epoch = epoch
        return self._perm

    @property
    def epoch_float(self) -> float:
        return self.epoch + self.index / self.windows_per_epoch()

    def next_windows(self, count: int):
        """The next `count` window start offsets, advancing the cursor."""
        out = []
        for _ in range(count):
            starts = self._epoch_starts(self.epoch)
            out.append(int(starts[self.index]))
            self.index += 1
            if self.index >= len(starts):
                self.epoch, self.index = self.epoch + 1, 0
        return out

    def window_tokens(self, start: int) -> np.ndarray:
        return np.asarray(self.tokens[start:start + self.window], dtype=np.int64)

    def diffusion_rows(self, count: int):
        """-> (rows (count, seq_len) int64, canvases: list of None | (canvas_start, canvas_len))."""
        rows, canvases = [], []
        for s in self.next_windows(count):
            span = self._pick_middle(s) if self.rng.random() < self.span_rate else None
            if span is None:
                w = self.window_tokens(s)
                row = np.full(self.seq_len, PAD, dtype=np.int64)
                row[:len(w)] = w
                rows.append(row)
                canvases.append(None)
            else:
                row, c0, c = span_infill_example(self.tokens, span[0], span[1], self.seq_len, self.rng)
                rows.append(row)
                canvases.append((c0, c))
        return np.stack(rows), canvases

    def ar_windows(self, count: int):
        return [self.window_tokens(s) for s in self.next_windows(count)]

    def _pick_middle(self, s: int):
        """A (start, end) middle inside window [s, s+window), or None."""
        max_mid = max(1, min(63, self.seq_len // 2 - 1))
        e = s + self.window
        r = self.rng.random()
        if len(self.spans) and r < 0.5:
            lo, hi = np.searchsorted(self.span_starts, [s, e])
            cand = self.spans[lo:hi]
            cand = cand[(cand[:, 1] <= e) & (cand[:, 1] - cand[:, 0] <= max_mid)]
            if len(cand):
                a, b, _ = cand[int(self.rng.integers(len(cand)))]
                return int(a), int(b)
        w = self.window_tokens(s)
        if self.newline is not None and r < 0.85:
            ends = np.flatnonzero(self.newline[w])  # indices of line-ending tokens
            if len(ends) >= 2:
                i = int(self.rng.integers(len(ends) - 1))
                j = min(len(ends) - 1, i + int(self.rng.integers(1, 4)))  # 1-3 lines
                a, b = int(ends[i]) + 1, int(ends[j]) + 1
                if 0 < b - a <= max_mid:
                    return s + a, s + b
        n = int(self.rng.integers(1, max_mid + 1))
        a = int(self.rng.integers(0, max(1, len(w) - n)))
        return s + a, s + min(len(w), a + n)

    def state(self) -> dict:
        return {"epoch": self.epoch, "index": self.index, "rng": self.rng.bit_generator.state}

    def load_state(self, st: dict):
        self.epoch, self.index = int(st["epoch"]), int(st["index"])
        self.rng.bit_generator.state = st["rng"]
        if self.index >= self.windows_per_epoch():
            # Re-indexed to a smaller corpus since the checkpoint: the saved position is past this
            # corpus's last window, so that epoch is over; go on with the next one.
            self.epoch, self.index = self.epoch + 1, 0


def eval_subset(tasks: list, n: int, seed: int) -> list:
    """Up to n tasks, spread evenly over kinds, chosen deterministically from the seed."""
    if n <= 0 or not tasks:
        return []
    by_kind = {}
    for t in tasks:
        by_kind.setdefault(t.get("kind", "span"), []).append(t)
    rng = np.random.default_rng([seed, 99])
    kinds = sorted(by_kind)
    pools = {k: [by_kind[k][i] for i in rng.permutation(len(by_kind[k]))] for k in kinds}
    out = []
    while len(out) < n and any(pools.values()):
        for k in kinds:
            if pools[k] and len(out) < n:
                out.append(pools[k].pop(0))
    return out
