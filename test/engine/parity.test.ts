// Parity with the trainer (docs/contracts.md: "Both implementations must give the same ids"):
//   1. sampler parity without training: trainer/sampling.py and the TypeScript samplers over the
//      same integer-rule fake model (logits are multiples of 1/8: bit-identical float32 in both),
//      compared id for id and step for step, over many thresholds, canvases and prompts;
//   2. a tiny model trained for a few seconds with `python -m trainer train` (no span-infill rows,
//      so that it rarely writes a pad and the canvases fill: many steps to compare), exported:
//      PyTorch logits (`export --parity-fixture`) against onnxruntime-node within the fixture's
//      atol, and the Python sampler on the PyTorch model against the TS engine on the ONNX model,
//      id for id, on a few prompts.
// Skipped (with the reason) when no Python with torch is found; REPO_DIFFUSION_PYTHON overrides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { arInfill, diffusionInfill, DEFAULT_DECODE_WINDOW, InfillEngine, OnnxModel, type LogitsModel } from '../../extension/engine/index';
import { trainTokenizer } from '../../extension/tokenizer/index';
import { PYTHON, tempDir, torchMissing as checkTorch } from './helpers';

const ROOT = resolve(__dirname, '..', '..');

function python(code: string, input = '', timeout = 60_000): string {
  const r = spawnSync(PYTHON, ['-c', code], { cwd: ROOT, input, encoding: 'utf8', timeout, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

const torchMissing = checkTorch();

// ---------------------------------------------------------------- 1. the samplers alone

const V = 24;

/** logits[t][v] = ((seed_t mod 1009) * (v + 1) * 37 + 11 v^2) mod 101 / 8, seed_t from t and its neighbours. */
function ruleLogits(ids: number[], t: number, out: Float32Array, base: number): void {
  const left = t > 0 ? ids[t - 1] : 0;
  const right = t + 1 < ids.length ? ids[t + 1] : 0;
  const seed = (31 * t + 17 * left + 13 * right + 7 * ids[t] + 7) % 1009;
  for (let v = 0; v < V; v++) out[base + v] = ((seed * (v + 1) * 37 + v * v * 11) % 101) / 8;
}
const PY_RULE = `
def rule_logits(ids):
    out = np.zeros((len(ids), ${V}), dtype=np.float32)
    for t in range(len(ids)):
        left = ids[t - 1] if t > 0 else 0
        right = ids[t + 1] if t + 1 < len(ids) else 0
        seed = (31 * t + 17 * left + 13 * right + 7 * ids[t] + 7) % 1009
        for v in range(${V}):
            out[t, v] = ((seed * (v + 1) * 37 + v * v * 11) % 101) / 8
    return out
`;

const ruleModel: LogitsModel = {
  vocabSize: V,
  async forward(ids, batch, seq) {
    const out = new Float32Array(batch * seq * V);
    for (let b = 0; b < batch; b++) {
      const row = Array.from(ids.subarray(b * seq, (b + 1) * seq), Number);
      for (let t = 0; t < seq; t++) ruleLogits(row, t, out, (b * seq + t) * V);
    }
    return out;
  },
};

interface Case { prefix: number[]; suffix: number[]; canvas: number; threshold: number; window: number }

function cases(): Case[] {
  const out: Case[] = [];
  const thresholds = [0.9, 0.5, 0.3, 0.2, 0.1, 1.0];
  for (let k = 0; k < 30; k++) {
    const prefix = Array.from({ length: (k * 7) % 13 }, (_, i) => 6 + ((i * 5 + k) % 18));
    const suffix = Array.from({ length: (k * 3) % 9 }, (_, i) => 6 + ((i * 11 + k) % 18));
    // a sliding window in some cases (0: the whole canvas)
    out.push({ prefix, suffix, canvas: [4, 8, 16, 32, 5][k % 5], threshold: thresholds[k % thresholds.length], window: [0, 0, 3, 0, 8, 1, 0][k % 7] });
  }
  return out;
}

test('the TS samplers equal trainer/sampling.py id for id and step for step on an integer-rule model', { skip: torchMissing }, async () => {
  const cs = cases();
  const py = JSON.parse(python(`
import json, sys
import numpy as np
from trainer.sampling import diffusion_infill, ar_infill
${PY_RULE}
out = []
for c in json.load(sys.stdin):
    ids, filled, steps = diffusion_infill(rule_logits, c["prefix"], c["suffix"], c["canvas"], c["threshold"], window=c["window"])
    ar = ar_infill(rule_logits, c["prefix"], c["suffix"], c["canvas"])
    out.append({"ids": [int(i) for i in ids], "filled": bool(filled), "steps": int(steps), "ar": [int(i) for i in ar]})
print(json.dumps(out))
`, JSON.stringify(cs)));
  let parallel = 0;
  let stopped = 0;
  for (let k = 0; k < cs.length; k++) {
    const c = cs[k];
    const r = await diffusionInfill(ruleModel, c.prefix, c.suffix, c.canvas, { threshold: c.threshold, window: c.window });
    assert.deepEqual({ ids: r.ids, filled: r.filled, steps: r.steps }, { ids: py[k].ids, filled: py[k].filled, steps: py[k].steps }, `case ${k} ${JSON.stringify(c)}`);
    const ar = await arInfill(ruleModel, c.prefix, c.suffix, c.canvas);
    assert.deepEqual(ar.ids, py[k].ar, `AR case ${k}`);
    if (r.steps < c.canvas) parallel++;
    if (!r.filled) stopped++;
  }
  // The cases exercise both parallel decoding and early stops, not just one token a step.
  assert.ok(parallel > 3 && stopped > 3, `parallel ${parallel}, stopped ${stopped}`);
});

test("the trainer evaluates with the editor's sliding window", { skip: torchMissing }, () => {
  assert.equal(Number(python('from trainer.sampling import DEFAULT_WINDOW; print(DEFAULT_WINDOW)').trim()), DEFAULT_DECODE_WINDOW);
});

// ---------------------------------------------------------------- 2. a trained model

const DOCS = Array.from({ length: 8 }, (_, k) =>
  `def add_${k}(a, b):\n    return a + b\n\n` +
  `def mul_${k}(a, b):\n    total = a * b\n    return total\n\n` +
  `class Box${k}:\n    def __init__(self, v):\n        self.v = v\n`);

/** RUN/corpus the way the indexer writes it, with a tokenizer trained by extension/tokenizer. */
function writeCorpus(runDir: string) {
  const cdir = join(runDir, 'corpus');
  mkdirSync(cdir, { recursive: true });
  const tok = trainTokenizer(DOCS, { vocabSize: 320 });
  const tokJson = JSON.stringify(tok.toJSON());
  writeFileSync(join(cdir, 'tokenizer.json'), tokJson);
  const enc = (ds: string[]) => Uint16Array.from(ds.flatMap((d) => [...tok.encode(d), tok.specialIds.eos]));
  const train = enc(DOCS);
  const val = enc(DOCS.slice(0, 2));
  writeFileSync(join(cdir, 'train.bin'), train);
  writeFileSync(join(cdir, 'val.bin'), val);
  writeFileSync(join(cdir, 'manifest.json'), JSON.stringify({
    vocab_size: tok.vocabSize, token_dtype: 'uint16', train_tokens: train.length, val_tokens: val.length, files: [],
    corpus_sha256: 'parity-test', tokenizer_sha256: createHash('sha256').update(tokJson).digest('hex'),
  }));
  writeFileSync(join(cdir, 'eval.jsonl'), '');
  return tok;
}

test('a tiny trained model: ONNX logits match PyTorch, and the TS engine matches the Python sampler', { skip: torchMissing, timeout: 120_000 }, async () => {
  const run = tempDir('rd-parity-');
  const tok = writeCorpus(run);
  const train = spawnSync(PYTHON, ['-m', 'trainer', 'train', run, '--preset', 'nano', '--device', 'cpu', '--max-steps', '60',
    '--eval-tasks', '0', '--seq-len', '128', '--batch-size', '8', '--seed', '0', '--span-rate', '0'], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });
  assert.equal(train.status, 0, train.stderr.slice(-2000));
  const fixturePath = join(run, 'parity.json');
  const exp = spawnSync(PYTHON, ['-m', 'trainer', 'export', run, '--parity-fixture', fixturePath], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(exp.status, 0, exp.stderr.slice(-2000));

  // Logits: PyTorch (fixture) vs onnxruntime-node.
  const fx = JSON.parse(readFileSync(fixturePath, 'utf8'));
  const meta = JSON.parse(readFileSync(join(run, 'model.json'), 'utf8'));
  const onnx = await OnnxModel.open(join(run, fx.model), meta.vocab_size, { threads: 1 });
  const [B, S] = [fx.input_ids.length, fx.input_ids[0].length];
  const got = await onnx.forward(BigInt64Array.from(fx.input_ids.flat().map(BigInt)), B, S);
  const want = (fx.logits as number[][][]).flat(2);
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  assert.ok(worst <= fx.atol, `max |onnx - torch| = ${worst} > ${fx.atol}`);
  await onnx.release();

  // Samplers: Python on the PyTorch model vs TypeScript on the ONNX model, same ids in.
  const prompts = [
    ['def add_3(a, b):\n    return ', '\n\ndef mul_3(a, b):\n'],
    ['class Box5:\n    def __init__(self, v):\n        ', '\n'],
    ['def mul_1(a, b):\n    total = ', '\n    return total\n'],
  ].map(([p, s]) => ({ prefix: tok.encode(p), suffix: tok.encode(s) }));
  const settings = [{ canvas: 16, threshold: 0.9 }, { canvas: 8, threshold: 1.0 }, { canvas: 16, threshold: 0.3 }];
  const jobs = prompts.flatMap((p) => settings.map((s) => ({ ...p, ...s })));
  const py = JSON.parse(python(`
import json, sys
import torch
torch.set_num_threads(1)
from trainer.checkpoint import load_checkpoint
from trainer.export import model_from_checkpoint
from trainer.sampling import diffusion_infill, model_logits_fn
import os
run = sys.argv[1] if len(sys.argv) > 1 else ${JSON.stringify(run)}
ck = os.path.join(run, "checkpoints", "best.pt")
if not os.path.exists(ck):
    ck = os.path.join(run, "checkpoints", "last.pt")
fn = model_logits_fn(model_from_checkpoint(load_checkpoint(ck)), "cpu")
out = []
for j in json.load(sys.stdin):
    ids, filled, steps = diffusion_infill(fn, j["prefix"], j["suffix"], j["canvas"], j["threshold"])
    out.append({"ids": [int(i) for i in ids], "filled": bool(filled), "steps": int(steps)})
print(json.dumps(out))
`, JSON.stringify(jobs)));
  const engine = await InfillEngine.load(run, { threads: 1 });
  const model = await OnnxModel.open(join(run, 'model.onnx'), meta.vocab_size, { threads: 1 });
  let nonEmpty = 0;
  for (let k = 0; k < jobs.length; k++) {
    const j = jobs[k];
    const r = await diffusionInfill(model, j.prefix, j.suffix, j.canvas, { threshold: j.threshold });
    assert.deepEqual({ ids: r.ids, filled: r.filled, steps: r.steps }, py[k], `job ${k}: ${JSON.stringify(tok.decode(j.prefix).slice(-30))}`);
    if (r.ids.length) nonEmpty++;
  }
  assert.ok(nonEmpty > 0);
  // The engine end to end on the same model (context, growth, postprocess) gives a suggestion.
  const r = await engine.complete({ prefix: 'def add_3(a, b):\n    return ', suffix: '\n\ndef mul_3(a, b):\n' });
  assert.equal(typeof r.text, 'string');
  await model.release();
  await engine.dispose();
});
