// The fast path (extension/engine/cached.ts + model.json graphs.context/step from trainer/cached.py):
// exact where the dual-cache approximation is exact, the AR KV cache exact, fallback to the plain
// model without the cached graphs. Random-init nano models (embeddings scaled up so that
// confidences spread), exported by the trainer; skipped without a Python with torch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  appendColumns, arInfill, CachedOnnxModel, cachedArInfill, cachedDiffusionInfill, canvasMask, DEFAULT_DECODE_WINDOW, DEFAULT_SPECIAL_IDS, diffusionInfill,
  contextKvBytes, forbiddenMask, freezeColumns, InfillEngine, INT8_KV_MIN_BYTES, OnnxModel, parseModelMeta, pickRow, type KV,
} from '../../extension/engine/index';
import { runBench, type BenchRow } from '../../extension/cli/commands/bench';
import { UsageError } from '../../extension/cli/errors';
import { CACHED_GRAPHS, makeRun, PYTHON, tempDir, testTokenizer, torchMissing as checkTorch } from './helpers';

const ROOT = resolve(__dirname, '..', '..');
const torchMissing = checkTorch();

/** A run folder with a random-init nano model exported with all three graphs. */
/** Python that builds the tests' random-init nano model `m` (argv: _, vocab size, objective), the same every time. */
const NANO_MODEL_PY = `
import sys, torch
from trainer.model import ModelConfig, PRESETS, Transformer
torch.manual_seed(0)
m = Transformer(ModelConfig(**dict(PRESETS["nano"], vocab_size=int(sys.argv[2]), causal=sys.argv[3] == "autoregressive", max_seq_len=128))).float().eval()
with torch.no_grad():
    m.embed.weight.mul_(8)
`;

function exportRun(objective: 'diffusion' | 'autoregressive', stepWeights: 'float32' | 'int8' | 'int8kv' = 'float32'): string {
  const { tok } = testTokenizer();
  const graphs = stepWeights === 'float32' ? CACHED_GRAPHS : { ...CACHED_GRAPHS, step_int8: 'model.step.int8.onnx',
    ...(stepWeights === 'int8kv' ? { step_int8_kv: 'model.step.int8kv.onnx' } : {}) };
  const run = makeRun(tempDir('rd-cached-'), { objective, maxSeqLen: 128, graphs });
  const r = spawnSync(PYTHON, ['-c', NANO_MODEL_PY + `
import os
from trainer.export import onnx_bytes
from trainer.cached import context_onnx_bytes, step_onnx_bytes
from trainer.quantize import step_int8_onnx_bytes, step_int8_kv_onnx_bytes
run = sys.argv[1]
open(os.path.join(run, "model.onnx"), "wb").write(onnx_bytes(m))
open(os.path.join(run, "model.context.onnx"), "wb").write(context_onnx_bytes(m))
open(os.path.join(run, "model.step.onnx"), "wb").write(step_onnx_bytes(m))
if sys.argv[4] in ("int8", "int8kv"):
    open(os.path.join(run, "model.step.int8.onnx"), "wb").write(step_int8_onnx_bytes(m))
if sys.argv[4] == "int8kv":
    open(os.path.join(run, "model.step.int8kv.onnx"), "wb").write(step_int8_kv_onnx_bytes(m))
`, run, String(tok.vocabSize), objective, stepWeights], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`export failed: ${r.stderr.slice(-2000)}`);
  return run;
}

/**
 * The same completion: ids, `filled` and steps exactly; the per-token confidences to float32
 * rounding (the cached graphs compute the same logits as the full model to ~1e-6, not bit for bit).
 */
function assertSame(got: { ids: number[]; confidences: number[] } & object, want: { ids: number[]; confidences: number[] } & object, what = ''): void {
  const { confidences: gc, ...g } = got;
  const { confidences: wc, ...w } = want;
  assert.deepEqual(g, w, what);
  assert.equal(gc.length, wc.length, what);
  gc.forEach((c, i) => assert.ok(Math.abs(c - wc[i]) < 1e-5, `${what} confidence ${i}: ${c} vs ${wc[i]}`));
}

/** A prompt with a masked canvas of L through the context pass: the step graph's inputs for a first step. */
async function freshStepInputs(model: CachedOnnxModel, prompt: [string, string], L: number) {
  const { tok } = testTokenizer();
  const prefix = tok.encode(prompt[0]);
  const suffix = tok.encode(prompt[1]);
  const c0 = prefix.length;
  const x = BigInt64Array.from([...prefix, ...new Array(L).fill(2), ...suffix], BigInt);
  const pos = BigInt64Array.from({ length: L }, (_, i) => BigInt(c0 + i));
  const ctx = await model.context(x, x.length, pos);
  return { x, canvas: x.slice(c0, c0 + L), pos, keys: ctx.keys, values: ctx.values, mask: canvasMask(x.length, c0, L), contextLogits: ctx.logits };
}

/** The same PROMPTS and canvases through two engines: how many texts agree, of how many, and how many took several steps. */
async function compareCompletions(a: InfillEngine, b: InfillEngine): Promise<{ sameText: number; multi: number; n: number }> {
  let sameText = 0;
  let multi = 0;
  let n = 0;
  for (const [p, s] of PROMPTS) {
    for (const canvasLength of [8, 16]) {
      const x = await a.infill({ prefix: p, suffix: s, canvasLength });
      const y = await b.infill({ prefix: p, suffix: s, canvasLength });
      if (x.text === y.text) sameText++;
      if (x.steps > 1 || y.steps > 1) multi++;
      n++;
    }
  }
  return { sameText, multi, n };
}

const PROMPTS: Array<[string, string]> = [
  ['def add(a, b):\n    return ', '\n\ndef mul(a, b):\n    return a * b\n'],
  ['for (let i = 0; i < n; i++) {\n  total += ', ';\n}\nreturn total;\n'],
  ['class Box:\n    def __init__(self, v):\n        self.v = ', '\n'],
];

test("contextKV 'auto' reads int8 K/V from 16 MiB of float32 K/V a window (small at 512 positions), not below", () => {
  const meta = (config: object | undefined, maxSeqLen: number) =>
    parseModelMeta({ format: 1, objective: 'diffusion', vocab_size: 8192, max_seq_len: maxSeqLen, ...(config ? { config } : {}) });
  const small = { n_layers: 8, d_model: 512 };
  assert.equal(contextKvBytes(meta(small, 528)), 2 * 8 * 512 * 528 * 4);
  assert.ok(contextKvBytes(meta(small, 528)) >= INT8_KV_MIN_BYTES);
  assert.ok(contextKvBytes(meta(small, 272)) < INT8_KV_MIN_BYTES); // measured: no gain at 256 positions
  assert.ok(contextKvBytes(meta({ n_layers: 4, d_model: 256 }, 528)) < INT8_KV_MIN_BYTES); // tiny at 512: none either
  assert.equal(contextKvBytes(meta(undefined, 528)), 0); // no config: float32 K/V
});

test('canvasMask masks the canvas columns; appendColumns moves whole head_dim rows along the length axis', () => {
  assert.deepEqual([...canvasMask(6, 2, 3)], [0, 0, -Infinity, -Infinity, -Infinity, 0]);
  // 2 layers, 2 heads, 2 positions, head_dim 1
  const d: KV = { layers: [Float32Array.from([0, 1, 6, 7]), Float32Array.from([8, 9, 14, 15])], dims: [1, 2, 2, 1] };
  const more: KV = { layers: [Float32Array.from([100, 101]), Float32Array.from([102, 103])], dims: [1, 2, 1, 1] };
  const a = appendColumns(d, more);
  assert.deepEqual(a.dims, [1, 2, 3, 1]);
  assert.deepEqual(a.layers.map((l) => [...l]), [[0, 1, 100, 6, 7, 101], [8, 9, 102, 14, 15, 103]]);
});

test('freezeColumns writes a step row into a context column: float32 as it is, int8 per token and head, keys transposed', () => {
  // context: 1 batch, 2 heads, 3 columns, head_dim 2; the step gave 2 canvas rows
  const ctx: KV = { layers: [new Float32Array(12)], dims: [1, 2, 3, 2] };
  const own: KV = { layers: [Float32Array.from([1, 2, 3, 4, /* head 1 */ 5, 6, 7, 8])], dims: [1, 2, 2, 2] };
  freezeColumns(ctx, own, [1], [2], true);
  assert.deepEqual([...ctx.layers[0]], [0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 7, 8]);
  const int8 = (): KV => ({ layers: [], dims: [1, 2, 3, 2], int8: { layers: [new Int8Array(12)], scales: [new Float32Array(6)] } });
  const keys = int8();
  const values = int8();
  const row = { layers: [Float32Array.from([0, 0, -7.875, 3.8125, /* head 1 */ 0, 0, -0.5, 2])], dims: [1, 2, 2, 2] } as KV;
  freezeColumns(keys, row, [1], [0], true);
  freezeColumns(values, row, [1], [0], false);
  // scale = max |x| / 63 per head: 0.125 and 2 / 63; 3.8125 / 0.125 = 30.5 rounds to the even 30
  // (torch.round; Math.round would give 31), -0.5 / (2 / 63) = -15.75 to -16
  assert.deepEqual([...keys.int8!.scales[0]], [0.125, 0, 0, Math.fround(2 / 63), 0, 0]);
  assert.deepEqual([...keys.int8!.layers[0]], [-63, 0, 0, 30, 0, 0, /* head 1 */ -16, 0, 0, 63, 0, 0]); // [h, d, column]
  assert.deepEqual([...values.int8!.layers[0]], [-63, 30, 0, 0, 0, 0, /* head 1 */ -16, 63, 0, 0, 0, 0]); // [h, column, d]
  assert.deepEqual([...values.int8!.scales[0]], [...keys.int8!.scales[0]]);
});

test('diffusion: step logits on a fresh context = full logits; one-step canvases and refreshEvery 1 give the naive ids', { skip: torchMissing, timeout: 120_000 }, async () => {
  const run = exportRun('diffusion');
  const { tok } = testTokenizer();
  const V = tok.vocabSize;
  const full = await OnnxModel.open(join(run, 'model.onnx'), V, { threads: 1 });
  const fast = await CachedOnnxModel.open(join(run, 'model.context.onnx'), join(run, 'model.step.onnx'), V, { threads: 1 });
  try {
    const prefix = tok.encode(PROMPTS[0][0]);
    const suffix = tok.encode(PROMPTS[0][1]);
    const L = 8;
    const c0 = prefix.length;
    const T = c0 + L + suffix.length;
    const x = BigInt64Array.from([...prefix, ...new Array(L).fill(2), ...suffix], BigInt);
    const ref = await full.forward(x, 1, T);
    const pos = BigInt64Array.from({ length: L }, (_, i) => BigInt(c0 + i));
    const ctx = await fast.context(x, T, pos);
    const step = await fast.step(x.slice(c0, c0 + L), pos, ctx.keys, ctx.values, canvasMask(T, c0, L));
    let worstCtx = 0;
    let worstStep = 0;
    for (let i = 0; i < L * V; i++) {
      worstCtx = Math.max(worstCtx, Math.abs(ctx.logits[i] - ref[c0 * V + i]));
      worstStep = Math.max(worstStep, Math.abs(step.logits[i] - ref[c0 * V + i]));
    }
    assert.ok(worstCtx < 1e-4 && worstStep < 1e-4, `context ${worstCtx}, step ${worstStep}`);
    // forward() of the cached model is the full model
    const all = await fast.forward(x, 1, T);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(all[i] - ref[i]));
    assert.ok(worst < 1e-4, `forward ${worst}`);
    let multiStep = 0;
    const jobs: Array<{ prefix: number[]; suffix: number[]; canvas: number; freeze: boolean; refresh: number; window: number; got: { ids: number[]; steps: number } }> = [];
    for (const [p, s] of PROMPTS) {
      const P = tok.encode(p);
      const S = tok.encode(s);
      for (const canvas of [4, 16]) {
        const a = await diffusionInfill(full, P, S, canvas, { threshold: 0 });
        const b = await cachedDiffusionInfill(fast, P, S, canvas, { threshold: 0 });
        assert.equal(b.steps, 1);
        assertSame(b, a);
        const c = await diffusionInfill(full, P, S, canvas, { threshold: 0.9 });
        const d = await cachedDiffusionInfill(fast, P, S, canvas, { threshold: 0.9, refreshEvery: 1 });
        assertSame(d, c);
        // with a sliding window too: a context pass every step is the plain sampler with that window
        const cw = await diffusionInfill(full, P, S, canvas, { threshold: 0.9, window: 3 });
        assertSame(await cachedDiffusionInfill(fast, P, S, canvas, { threshold: 0.9, window: 3, refreshEvery: 1 }), cw);
        for (const [freeze, refresh, window] of [[true, 0, 0], [false, 0, 0], [true, 3, 0], [true, 0, 3], [false, 0, 3], [true, 2, 3]] as const) {
          const e = await cachedDiffusionInfill(fast, P, S, canvas, { threshold: 0.9, freezeDecided: freeze, refreshEvery: refresh, window });
          assert.ok(e.steps >= 1 && e.steps <= canvas);
          jobs.push({ prefix: P, suffix: S, canvas, freeze, refresh, window, got: { ids: e.ids, steps: e.steps } });
        }
        if (c.steps > 1) multiStep++;
      }
    }
    assert.ok(multiStep > 0, 'some canvases took several steps');
    // The approximate path itself (stale context, decided positions frozen or not, steps scored in
    // the graph) against its PyTorch reference, trainer/cached.py cached_diffusion_infill on the
    // same weights: same ids and steps.
    const py = spawnSync(PYTHON, ['-c', NANO_MODEL_PY + `
import json
from trainer.cached import cached_diffusion_infill
out = []
for j in json.loads(sys.stdin.read()):
    ids, filled, steps = cached_diffusion_infill(m, j["prefix"], j["suffix"], j["canvas"], threshold=0.9, freeze_decided=j["freeze"],
                                                 refresh_every=j["refresh"], window=j["window"])
    out.append({"ids": [int(i) for i in ids], "steps": int(steps)})
print(json.dumps(out))
`, '', String(V), 'diffusion'], { cwd: ROOT, encoding: 'utf8', input: JSON.stringify(jobs), timeout: 120_000 });
    assert.equal(py.status, 0, py.stderr.slice(-2000));
    const pyRef = JSON.parse(py.stdout) as Array<{ ids: number[]; steps: number }>;
    jobs.forEach((j, k) => assert.deepEqual(j.got, pyRef[k], `job ${k}`));
    assert.ok(jobs.some((j) => j.got.steps > 2 && j.freeze), 'the reference comparison covers frozen positions');
    assert.ok(jobs.some((j) => j.got.steps > 3 && j.refresh), 'and frozen positions across a refresh');
    assert.ok(jobs.some((j) => j.got.steps > 2 && j.window && j.canvas > j.window), 'and parked positions beyond a window');
  } finally {
    await full.release();
    await fast.release();
  }
  // The engine picks the fast path with the graphs, the plain model without them (or when asked).
  // (the whole canvas as one window: a canvas decided in one step is where the two are exact)
  const engine = await InfillEngine.load(run, { threads: 1, threshold: 0, decodeWindow: 0 });
  const naive = await InfillEngine.load(run, { threads: 1, threshold: 0, decoding: 'naive', decodeWindow: 0 });
  assert.equal(engine.info.decoding, 'fast');
  assert.equal(naive.info.decoding, 'naive');
  for (const [p, s] of PROMPTS) {
    assertSame(await engine.infill({ prefix: p, suffix: s, canvasLength: 12 }), await naive.infill({ prefix: p, suffix: s, canvasLength: 12 }));
  }
  await engine.dispose();
  await naive.dispose();
  const meta = JSON.parse(readFileSync(join(run, 'model.json'), 'utf8'));
  writeFileSync(join(run, 'model.json'), JSON.stringify({ ...meta, graphs: { full: 'model.onnx' } }));
  const old = await InfillEngine.load(run, { threads: 1 });
  assert.equal(old.info.decoding, 'naive');
  assert.equal(typeof (await old.complete({ prefix: PROMPTS[0][0], suffix: PROMPTS[0][1] })).text, 'string');
  await old.dispose();
  writeFileSync(join(run, 'model.json'), JSON.stringify(meta));
  rmSync(join(run, 'model.step.onnx'));
  const missing = await InfillEngine.load(run, { threads: 1 });
  assert.equal(missing.info.decoding, 'naive');
  await missing.dispose();
});

test('freezeDecided: a decided position runs one more step with its id, then only its frozen K/V are attended', { skip: torchMissing, timeout: 120_000 }, async () => {
  const run = exportRun('diffusion', 'int8kv');
  const { tok } = testTokenizer();
  const V = tok.vocabSize;
  const P = tok.encode(PROMPTS[1][0]);
  const S = tok.encode(PROMPTS[1][1]);
  for (const [step, int8Kv] of [['model.step.onnx', false], ['model.step.int8kv.onnx', true]] as const) {
    const model = await CachedOnnxModel.open(join(run, 'model.context.onnx'), join(run, step), V, { threads: 1, int8Kv });
    assert.ok(model.stepGivesKV, step);
    // what each step is fed: the canvas positions run, the rows scored, and the context columns open
    const seen: Array<{ run: number[]; scored: number; open: number; kv: number }> = [];
    const recording = Object.create(model) as CachedOnnxModel;
    recording.stepScores = (ids, positions, keys, values, mask, rows, forbid, kvRows) => {
      seen.push({ run: Array.from(positions, Number), scored: rows.length, open: mask.filter((m) => m === 0).length, kv: kvRows?.length ?? 0 });
      return model.stepScores(ids, positions, keys, values, mask, rows, forbid, kvRows);
    };
    try {
      // a threshold above 1 decides one position a step: the worst case
      const L = 6;
      const r = await cachedDiffusionInfill(recording, P, S, L, { threshold: 1.5 });
      const c0 = P.length;
      const T = c0 + L + S.length;
      assert.equal(r.steps, L);
      // step 1 is the context pass; step k (2..L) runs the L - k + 1 masked positions and the one
      // decided at step k - 1; the positions decided before that are context columns
      assert.deepEqual(seen.map((x) => [x.run.length, x.scored, x.open]), [2, 3, 4, 5, 6].map((k) => [L - k + 2, L - k + 1, T - L + k - 2]));
      assert.deepEqual(seen.map((x) => x.kv), [1, 1, 1, 1, 1]); // only the position to freeze hands its K/V over
      assert.ok(seen.every((x) => x.run.every((p) => p >= c0 && p < c0 + L)));
      // frozen positions leave the canvas for good
      seen.slice(1).forEach((x, k) => assert.ok(x.run.every((p) => seen[k].run.includes(p)), `step ${k + 3}`));
      // a window of 2: the two leftmost masked positions run, with the one decided a step before;
      // the masked ones beyond the window are parked on open columns (the context pass's K/V)
      seen.length = 0;
      const windowed = await cachedDiffusionInfill(recording, P, S, L, { threshold: 1.5, window: 2 });
      assert.equal(windowed.steps, L);
      assert.deepEqual(seen.map((x) => [x.run.length, x.scored, x.open, x.kv]), [2, 3, 4, 5, 6].map((k) => [Math.min(2, L - k + 1) + 1, Math.min(2, L - k + 1), T - Math.min(2, L - k + 1) - 1, 1]));
      // the whole canvas every step when asked
      seen.length = 0;
      const whole = await cachedDiffusionInfill(recording, P, S, L, { threshold: 1.5, freezeDecided: false });
      assert.deepEqual(seen.map((x) => [x.run.length, x.open, x.kv]), [2, 3, 4, 5, 6].map(() => [L, T - L, 0]));
      assert.equal(whole.steps, L);
    } finally {
      await model.release();
    }
  }
  // Whole completions with int8 K/V, frozen or not: mostly the same text (the docs measure what
  // freezing costs a trained model's held-out exact match)
  const frozen = await InfillEngine.load(run, { threads: 1, contextKV: 'int8' });
  const whole = await InfillEngine.load(run, { threads: 1, contextKV: 'int8', freezeDecided: false });
  assert.deepEqual([frozen.info.contextKV, frozen.info.freezeDecided, whole.info.freezeDecided], ['int8', true, false]);
  const { sameText, multi, n } = await compareCompletions(frozen, whole);
  assert.ok(multi > 0, 'multi-step completions compared');
  assert.ok(sameText >= n / 2, `${sameText} of ${n} completions the same with and without freezing`);
  await frozen.dispose();
  await whole.dispose();
  // An int8-K/V step graph as exported before kv_rows (pred/conf only): served, every step the
  // whole canvas, and engine.info says so.
  const r = spawnSync(PYTHON, ['-c', `
import sys, onnx
path = sys.argv[1]
m = onnx.load(path)
g = m.graph
kept = [o for o in g.output if not o.name.startswith(("keys_", "values_"))]
del g.output[:]
g.output.extend(kept)
inputs = [i for i in g.input if i.name != "kv_rows"]
del g.input[:]
g.input.extend(inputs)
while True:  # drop what no longer feeds an output
    used = {o.name for o in g.output} | {n for node in g.node for n in node.input}
    dead = [node for node in g.node if not any(o in used for o in node.output)]
    if not dead:
        break
    for node in dead:
        g.node.remove(node)
onnx.save(m, path)
`, join(run, 'model.step.int8kv.onnx')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const old = await InfillEngine.load(run, { threads: 1, contextKV: 'int8' });
  assert.deepEqual([old.info.contextKV, old.info.freezeDecided], ['int8', false]);
  const done = await old.infill({ prefix: PROMPTS[1][0], suffix: PROMPTS[1][1], canvasLength: 8 });
  assert.ok(done.steps >= 1 && done.ids.length > 0);
  await old.dispose();
});

test('repo-diffusion bench --json: naive and fast side by side with a forward pass, lines and blocks', { skip: torchMissing, timeout: 180_000 }, async () => {
  const run = exportRun('diffusion', 'int8kv');
  const { tok } = testTokenizer();
  const tasks = PROMPTS.map(([prefix, suffix]) => ({ prefix, middle: 'x', suffix, prefix_ids: tok.encode(prefix.repeat(6)), suffix_ids: tok.encode(suffix.repeat(6)) }));
  writeFileSync(join(run, 'corpus', 'eval.jsonl'), tasks.map((t) => JSON.stringify(t)).join('\n') + '\n');
  const reports: Array<Record<string, unknown> & { rows: BenchRow[] }> = [];
  // lines with the engine's window, blocks with none (--window 0: the whole canvas a step)
  for (const [mode, window] of [['line', []], ['block', ['--window', '0']]] as const) {
    let out = '';
    await runBench([run, '--runs', '3', '--mode', mode, ...window, '--json'], (text) => { out += text; });
    reports.push(JSON.parse(out));
  }
  const [line, block] = reports;
  assert.deepEqual([line.mode, line.canvas, block.mode, block.canvas], ['line', 16, 'block', 64]); // nano: 128 positions
  assert.deepEqual([line.window, block.window], [DEFAULT_DECODE_WINDOW, 0]);
  for (const r of reports) {
    assert.deepEqual([r.decoding, r.step_weights, r.freeze_decided, r.positions], ['fast', 'int8', true, 128]);
    assert.ok(r.rows.length >= 1);
    for (const row of r.rows) {
      assert.ok(row.context + (r.canvas as number) <= 128, `context ${row.context}`);
      assert.equal(row.runs, 3);
      for (const v of [row.forward_p50_ms, row.complete_p50_ms, row.naive_p50_ms, row.fast_tok_s, row.naive_tok_s]) assert.ok(v > 0);
      assert.ok(Math.abs(row.ratio_p50 - row.complete_p50_ms / row.forward_p50_ms) < 1e-9);
      assert.ok(Math.abs(row.speedup_p50 - row.naive_p50_ms / row.complete_p50_ms) < 1e-9);
      assert.ok(row.steps_mean >= 1 && row.steps_mean <= (r.canvas as number) && row.naive_steps_mean >= 1);
    }
  }
  await assert.rejects(runBench([run, '--mode', 'file']), (e: Error) => e instanceof UsageError && /--mode must be one of line, block, got 'file'/.test(e.message));
  await assert.rejects(runBench([run, '--window', 'wide']), /--window must be an integer >= 0/);
});

test('AR: the KV cache gives the same ids and steps as full recompute', { skip: torchMissing, timeout: 120_000 }, async () => {
  const run = exportRun('autoregressive');
  const { tok } = testTokenizer();
  const V = tok.vocabSize;
  const full = await OnnxModel.open(join(run, 'model.onnx'), V, { threads: 1 });
  const fast = await CachedOnnxModel.open(join(run, 'model.context.onnx'), join(run, 'model.step.onnx'), V, { threads: 1 });
  try {
    for (const [p, s] of PROMPTS) {
      const a = await arInfill(full, tok.encode(p), tok.encode(s), 12);
      const b = await cachedArInfill(fast, tok.encode(p), tok.encode(s), 12);
      assertSame(b, a);
    }
  } finally {
    await full.release();
    await fast.release();
  }
  const engine = await InfillEngine.load(run, { threads: 1 });
  assert.equal(engine.info.decoding, 'fast');
  const naive = await InfillEngine.load(run, { threads: 1, decoding: 'naive' });
  for (const [p, s] of PROMPTS) assertSame(await engine.infill({ prefix: p, suffix: s }), await naive.infill({ prefix: p, suffix: s }));
  await engine.dispose();
  await naive.dispose();
});

test('AR with int8 steps (the engine default): the prompt pass is exact, the rest close to full recompute', { skip: torchMissing, timeout: 120_000 }, async () => {
  const run = exportRun('autoregressive', 'int8');
  const engine = await InfillEngine.load(run, { threads: 1 });
  const naive = await InfillEngine.load(run, { threads: 1, decoding: 'naive' });
  assert.deepEqual([engine.info.decoding, engine.info.stepWeights], ['fast', 'int8']);
  let same = 0;
  let total = 0;
  for (const [p, s] of PROMPTS) {
    const a = await engine.infill({ prefix: p, suffix: s });
    const b = await naive.infill({ prefix: p, suffix: s });
    assert.equal(a.ids[0], b.ids[0], 'the first token comes from the float32 prompt pass');
    for (let i = 0; i < Math.min(a.ids.length, b.ids.length) && a.ids[i] === b.ids[i]; i++) same++;
    total += b.ids.length;
  }
  // measured: all 48 tokens the same (3 prompts x 16)
  assert.ok(same >= 0.75 * total, `${same} of ${total} tokens before the first difference`);
  await engine.dispose();
  await naive.dispose();
});

test('the context and step graphs pick as pickRow does: same ids, confidences to float32 rounding', { skip: torchMissing, timeout: 120_000 }, async () => {
  const run = exportRun('diffusion');
  const { tok } = testTokenizer();
  const V = tok.vocabSize;
  const fast = await CachedOnnxModel.open(join(run, 'model.context.onnx'), join(run, 'model.step.onnx'), V, { threads: 1 });
  try {
    const forbidden = forbiddenMask(V, DEFAULT_SPECIAL_IDS);
    const forbid = Float32Array.from(forbidden, (f) => (f ? -Infinity : 0));
    let compared = 0;
    for (const prompt of PROMPTS) {
      const { x, canvas, pos, keys, values, mask, contextLogits } = await freshStepInputs(fast, prompt, 12);
      // the context pass's pick at the canvas rows (a completion's step 1), and its K/V unchanged
      const first = await fast.contextScores(x, x.length, pos, forbid);
      assert.deepEqual(first.keys.layers.map((l) => [...l]), keys.layers.map((l) => [...l]));
      for (let r = 0; r < pos.length; r++) {
        const [pred, conf] = pickRow(contextLogits, r * V, V, forbidden);
        assert.equal(first.pred[r], pred, `context row ${r}`);
        assert.ok(Math.abs(first.conf[r] - conf) <= 1e-6 * conf, `context row ${r}: ${first.conf[r]} vs ${conf}`);
        compared++;
      }
      canvas[3] = 40n; // a decided position or two, as in a later step
      canvas[7] = 41n;
      const rows = BigInt64Array.from([0, 1, 2, 4, 5, 6, 8, 9, 10, 11], BigInt);
      const logits = (await fast.step(canvas, pos, keys, values, mask, rows)).logits;
      const scores = await fast.stepScores(canvas, pos, keys, values, mask, rows, forbid);
      for (let r = 0; r < rows.length; r++) {
        const [pred, conf] = pickRow(logits, r * V, V, forbidden);
        assert.equal(scores.pred[r], pred, `row ${r}`);
        assert.ok(Math.abs(scores.conf[r] - conf) <= 1e-6 * conf, `row ${r}: ${scores.conf[r]} vs ${conf}`);
        assert.ok(!forbidden[scores.pred[r]]);
        compared++;
      }
    }
    assert.equal(compared, 66);
  } finally {
    await fast.release();
  }
});

test('int8 step weights: served by default, close to float32; stepWeights float32 and a damaged int8 graph use the float32 one', { skip: torchMissing, timeout: 120_000 }, async () => {
  const run = exportRun('diffusion', 'int8');
  const { tok } = testTokenizer();
  const V = tok.vocabSize;
  const f32 = await CachedOnnxModel.open(join(run, 'model.context.onnx'), join(run, 'model.step.onnx'), V, { threads: 1 });
  const int8 = await CachedOnnxModel.open(join(run, 'model.context.onnx'), join(run, 'model.step.int8.onnx'), V, { threads: 1 });
  try {
    let same = 0;
    let rowsSeen = 0;
    let worst = 0;
    const L = 12;
    for (const prompt of PROMPTS) {
      const { canvas, pos, keys, values, mask } = await freshStepInputs(f32, prompt, L);
      const a = await f32.step(canvas, pos, keys, values, mask);
      const b = await int8.step(canvas, pos, keys, values, mask);
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < a.logits.length; i++) {
        scale = Math.max(scale, Math.abs(a.logits[i]));
        diff = Math.max(diff, Math.abs(a.logits[i] - b.logits[i]));
      }
      worst = Math.max(worst, diff / scale);
      const forbidden = forbiddenMask(V, DEFAULT_SPECIAL_IDS);
      for (let r = 0; r < L; r++) {
        if (pickRow(a.logits, r * V, V, forbidden)[0] === pickRow(b.logits, r * V, V, forbidden)[0]) same++;
        rowsSeen++;
      }
    }
    // measured on this model: 0.49% of the largest logit, 34 of 36 argmaxes unchanged (docs/engine.md
    // measures what it costs a trained model's held-out exact match)
    assert.ok(worst > 0 && worst < 0.01, `int8 vs float32 logits: ${worst}`);
    assert.ok(same >= 0.9 * rowsSeen, `${same} of ${rowsSeen} argmaxes unchanged`);
  } finally {
    await f32.release();
    await int8.release();
  }
  const engine = await InfillEngine.load(run, { threads: 1 });
  const asked = await InfillEngine.load(run, { threads: 1, stepWeights: 'float32' });
  assert.equal(engine.info.stepWeights, 'int8');
  assert.equal(asked.info.stepWeights, 'float32');
  // Whole completions: int8 steps against float32 steps, same prompts and canvases (tau 0.9).
  const { sameText, multi, n } = await compareCompletions(engine, asked);
  assert.ok(multi > 0, 'multi-step completions compared');
  // measured: 4 of 6 the same text (the docs measure what the rest costs a trained model)
  assert.ok(sameText >= n / 2, `${sameText} of ${n} completions the same with int8 and float32 steps`);
  await engine.dispose();
  await asked.dispose();
  writeFileSync(join(run, 'model.step.int8.onnx'), Buffer.from('not onnx'));
  const damaged = await InfillEngine.load(run, { threads: 1 });
  assert.deepEqual([damaged.info.decoding, damaged.info.stepWeights], ['fast', 'float32']);
  assert.match(damaged.info.int8Unavailable ?? '', /model\.step\.int8\.onnx .*could not be loaded/);
  await damaged.dispose();
});

test('int8 context K/V (graphs.step_int8_kv): close to float32 K/V; served when asked or for windows of 512+ (auto), a damaged graph falls back to step_int8', { skip: torchMissing, timeout: 120_000 }, async () => {
  const run = exportRun('diffusion', 'int8kv');
  const { tok } = testTokenizer();
  const V = tok.vocabSize;
  const kvFloat = await CachedOnnxModel.open(join(run, 'model.context.onnx'), join(run, 'model.step.int8.onnx'), V, { threads: 1 });
  const kvInt8 = await CachedOnnxModel.open(join(run, 'model.context.onnx'), join(run, 'model.step.int8kv.onnx'), V, { threads: 1, int8Kv: true });
  try {
    let same = 0;
    let rowsSeen = 0;
    const L = 12;
    const forbidden = forbiddenMask(V, DEFAULT_SPECIAL_IDS);
    const forbid = Float32Array.from(forbidden, (f) => (f ? -Infinity : 0));
    for (const prompt of PROMPTS) {
      const { x, canvas, pos, mask } = await freshStepInputs(kvFloat, prompt, L);
      const rows = BigInt64Array.from({ length: L }, (_, i) => BigInt(i));
      const a = await kvFloat.contextScores(x, x.length, pos, forbid);
      const b = await kvInt8.contextScores(x, x.length, pos, forbid);
      // the context pass is the same graph either way: the first step's picks are identical
      assert.deepEqual(Array.from(b.pred), Array.from(a.pred));
      assert.equal(b.keys.layers.length, 0);
      assert.equal(b.keys.int8?.layers[0].length, a.keys.layers[0].length);
      const sa = await kvFloat.stepScores(canvas, pos, a.keys, a.values, mask, rows, forbid);
      const sb = await kvInt8.stepScores(canvas, pos, b.keys, b.values, mask, rows, forbid);
      for (let r = 0; r < L; r++) {
        if (sa.pred[r] === sb.pred[r]) same++;
        assert.ok(Math.abs(sa.conf[r] - sb.conf[r]) < 0.05, `row ${r} confidence ${sa.conf[r]} vs ${sb.conf[r]}`);
        rowsSeen++;
      }
    }
    assert.ok(same >= 0.9 * rowsSeen, `${same} of ${rowsSeen} picks unchanged by int8 K/V`);
    // an int8-K/V step graph hands over no K/V: the AR cache cannot use it
    const { canvas, pos, keys, values, mask } = await freshStepInputs(kvFloat, PROMPTS[0], L);
    await assert.rejects(kvInt8.step(canvas, pos, keys, values, mask), /scores a diffusion canvas only/);
  } finally {
    await kvFloat.release();
    await kvInt8.release();
  }
  // this model's K/V are far below INT8_KV_MIN_BYTES: 'auto' (the default) reads float32 K/V
  const byDefault = await InfillEngine.load(run, { threads: 1 });
  assert.deepEqual([byDefault.info.stepWeights, byDefault.info.contextKV], ['int8', 'float32']);
  await byDefault.dispose();
  const engine = await InfillEngine.load(run, { threads: 1, contextKV: 'int8' });
  const asked = await InfillEngine.load(run, { threads: 1, contextKV: 'float32' });
  assert.deepEqual([engine.info.stepWeights, engine.info.contextKV], ['int8', 'int8']);
  assert.deepEqual([asked.info.stepWeights, asked.info.contextKV], ['int8', 'float32']);
  const { sameText, multi, n } = await compareCompletions(engine, asked);
  assert.ok(multi > 0, 'multi-step completions compared');
  assert.ok(sameText >= n / 2, `${sameText} of ${n} completions the same with int8 and float32 context K/V`);
  await engine.dispose();
  await asked.dispose();
  writeFileSync(join(run, 'model.step.int8kv.onnx'), Buffer.from('not onnx'));
  const damaged = await InfillEngine.load(run, { threads: 1, contextKV: 'int8' });
  assert.deepEqual([damaged.info.decoding, damaged.info.stepWeights, damaged.info.contextKV], ['fast', 'int8', 'float32']);
  assert.match(damaged.info.int8KvUnavailable ?? '', /model\.step\.int8kv\.onnx .*could not be loaded/);
  await damaged.dispose();
});
