// Test helpers for the engine: a deterministic fake model (logits from a plain JS rule), a run
// folder with model.json + corpus/tokenizer.json, and a hand-encoded ONNX model (one Gather node:
// logits[b, s, :] = table[ids[b, s], :]) so that the onnxruntime path runs without Python.
// Everything is written to temp dirs, never into the repository.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainTokenizer, Tokenizer } from '../../extension/tokenizer/index';
import type { LogitsModel } from '../../extension/engine/index';

/** The Python the trainer-backed tests run (docs/engine.md "Tests"). */
export const PYTHON = process.env.REPO_DIFFUSION_PYTHON || '/usr/bin/python3';

/**
 * false when PYTHON can import torch and numpy, else the reason to skip. A function, called by the
 * test files that need it, so that the other engine tests do not start Python at import.
 */
export function torchMissing(): false | string {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? false : `no Python with torch at ${PYTHON} (set REPO_DIFFUSION_PYTHON)`;
}

/** model.json `graphs` of an export with the cached graphs (docs/contracts.md "Cached graphs"). */
export const CACHED_GRAPHS = { full: 'model.onnx', context: 'model.context.onnx', step: 'model.step.onnx' };

export const PAD = 0;
export const EOS = 1;
export const MASK = 2;

/** A rule gives, for position t of one sequence, the (id, logit) pairs to set; all others stay 0. */
export type Rule = (ids: number[], t: number) => Array<[number, number]>;

export class FakeModel implements LogitsModel {
  calls = 0;
  released = false;
  constructor(readonly vocabSize: number, private readonly rule: Rule, private readonly delayMs = 0) {}

  async forward(ids: BigInt64Array, batch: number, seq: number): Promise<Float32Array> {
    this.calls++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const V = this.vocabSize;
    const out = new Float32Array(batch * seq * V);
    for (let b = 0; b < batch; b++) {
      const row = Array.from(ids.subarray(b * seq, (b + 1) * seq), Number);
      for (let t = 0; t < seq; t++) for (const [id, logit] of this.rule(row, t)) out[(b * seq + t) * V + id] = logit;
    }
    return out;
  }

  async release(): Promise<void> {
    this.released = true;
  }
}

/**
 * A model that "knows" the middle: canvas position i (sequence position p0 + i, up to the suffix)
 * predicts target[i], then PAD; `logit` sets its confidence (12: ~0.99 with 300 ids).
 */
export function targetRule(p0: number, suffixLen: number, target: number[], logit = 12): Rule {
  return (ids, t) => {
    if (t < p0 || t >= ids.length - suffixLen) return [];
    const i = t - p0;
    return [[i < target.length ? target[i] : PAD, logit]];
  };
}

export function tempDir(name = 'rd-engine-'): string {
  return mkdtempSync(join(tmpdir(), name));
}

const DOCS = [
  'def add(a, b):\n    return a + b\n\nclass Box:\n    def __init__(self, v):\n        self.v = v\n',
  'function greet(name) {\n  return `hello ${name}`;\n}\nconst xs = [1, 2, 3].map((x) => x * 2);\n',
];

let tokenizerCache: { json: string; tok: Tokenizer } | undefined;

/** A small trained tokenizer (300 ids) shared by the tests. */
export function testTokenizer(): { json: string; tok: Tokenizer } {
  if (!tokenizerCache) {
    const tok = trainTokenizer(DOCS, { vocabSize: 300 });
    const json = JSON.stringify(tok.toJSON());
    tokenizerCache = { json, tok: Tokenizer.fromJSON(json) };
  }
  return tokenizerCache;
}

export interface RunOptions {
  objective?: 'diffusion' | 'autoregressive';
  maxSeqLen?: number;
  format?: number;
  vocabSize?: number;
  tokenizerSha?: string | null;
  onnx?: Uint8Array;
  /** model.json `graphs` (default: the plain model only). */
  graphs?: Record<string, string>;
  /** Fields merged into model.json `sampler` (default: threshold 0.9, canvas lengths 16/32/64). */
  sampler?: Record<string, unknown>;
}

/** Writes RUN/model.json, RUN/corpus/tokenizer.json and optionally RUN/model.onnx. */
export function makeRun(dir: string, o: RunOptions = {}): string {
  const { json, tok } = testTokenizer();
  mkdirSync(join(dir, 'corpus'), { recursive: true });
  writeFileSync(join(dir, 'corpus', 'tokenizer.json'), json);
  const sha = createHash('sha256').update(json).digest('hex');
  const meta = {
    format: o.format ?? 1, objective: o.objective ?? 'diffusion', vocab_size: o.vocabSize ?? tok.vocabSize,
    special_ids: { pad: 0, eos: 1, mask: 2, fim_prefix: 3, fim_suffix: 4, fim_middle: 5 },
    max_seq_len: o.maxSeqLen ?? 256, preset: 'test', config: {}, params: 1, trained_tokens: 0, epochs: 0, best_step: 0,
    corpus_sha256: 'test', tokenizer_sha256: o.tokenizerSha === undefined ? sha : o.tokenizerSha,
    eval: {}, sampler: { threshold: 0.9, canvas_lengths: [16, 32, 64], ...o.sampler }, graphs: o.graphs ?? { full: 'model.onnx' },
  };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(meta));
  if (o.onnx) writeFileSync(join(dir, 'model.onnx'), o.onnx);
  return dir;
}

// ---------------------------------------------------------------- a hand-encoded ONNX model

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}
function field(no: number, wire: 0 | 2, value: number | number[] | Uint8Array | string): number[] {
  const key = varint(no * 8 + wire);
  if (wire === 0) return [...key, ...varint(value as number)];
  const bytes = typeof value === 'string' ? [...Buffer.from(value, 'utf8')] : Array.from(value as ArrayLike<number>);
  return [...key, ...varint(bytes.length), ...bytes];
}
function dim(d: number | string): number[] {
  return typeof d === 'string' ? field(2, 2, d) : field(1, 0, d);
}
function valueInfo(name: string, elemType: number, dims: Array<number | string>): number[] {
  const shape = dims.flatMap((d) => field(1, 2, dim(d)));
  const tensorType = [...field(1, 0, elemType), ...field(2, 2, shape)];
  return [...field(1, 2, name), ...field(2, 2, field(1, 2, tensorType))];
}

/**
 * ONNX (opset 17) with input `input_ids` int64 [batch, seq] and output `logits` float32
 * [batch, seq, V]: logits[b, s, :] = table[ids[b, s], :] (a Gather). `table` is V x V.
 */
export function gatherModel(table: Float32Array, V: number): Uint8Array {
  const raw = new Uint8Array(table.buffer, table.byteOffset, table.byteLength);
  const tensor = [...field(1, 0, V), ...field(1, 0, V), ...field(2, 0, 1), ...field(8, 2, 'table'), ...field(9, 2, raw)];
  const node = [...field(1, 2, 'table'), ...field(1, 2, 'input_ids'), ...field(2, 2, 'logits'), ...field(3, 2, 'gather'), ...field(4, 2, 'Gather')];
  const graph = [
    ...field(1, 2, node), ...field(2, 2, 'g'), ...field(5, 2, tensor),
    ...field(11, 2, valueInfo('input_ids', 7, ['batch', 'seq'])), ...field(12, 2, valueInfo('logits', 1, ['batch', 'seq', V])),
  ];
  const opset = [...field(1, 2, ''), ...field(2, 0, 17)];
  return Uint8Array.from([...field(1, 0, 8), ...field(2, 2, 'repo-diffusion-test'), ...field(7, 2, graph), ...field(8, 2, opset)]);
}

/** A Gather model whose masked positions all predict `id` (logit 12), and every other id itself. */
export function constantModel(V: number, id: number): Uint8Array {
  const table = new Float32Array(V * V);
  for (let v = 0; v < V; v++) table[v * V + v] = 12;
  table.fill(0, MASK * V, MASK * V + V);
  table[MASK * V + id] = 12;
  return gatherModel(table, V);
}
