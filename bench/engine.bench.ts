// Completion latency of the infill engine, naive (a full forward pass per sampler step) and fast
// (extension/engine/cached.ts: one context pass, then canvas-only steps against the cached K/V),
// side by side with one full forward pass of the same model in the same process: p50/p95 of
// `engine.complete` (a single-line request: canvas 16, no growth), at 256 and 512 tokens of
// context, for the tiny and small presets; plus an AR model of the same size with and without its
// KV cache, and decode tokens/s. The models are RANDOM-INIT exports (latency does not depend on
// the weights, but the number of steps does: an untrained model is never confident, so the
// diffusion sampler decodes one position a step, 16 steps per completion, the worst case; the AR
// model never stops early either, 16 tokens).
//   node --import tsx bench/engine.bench.ts [--presets tiny,small] [--contexts 256,512] [--runs N] [--ar-runs N] [--threads T] [--json]
// Accuracy of the fast path on a trained run (held-out exact match through evaluateTasks, oracle
// canvas length, naive vs fast, per threshold and refresh policy; or, with --windows, naive and
// fast per sliding window, 0 being the whole canvas):
//   node --import tsx bench/engine.bench.ts --accuracy RUN [--taus 0.5,0.7,0.8,0.9,0.95] [--refresh 0,4 | --windows 0,4,8] [--tasks N] [--json]
// Needs a Python with torch (REPO_DIFFUSION_PYTHON, else /usr/bin/python3) to export the models once
// (cached in $TMPDIR/rd-engine-bench).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InfillEngine, OnnxModel, defaultThreads, evaluateTasks, readTasks } from '../extension/engine/index';
import { trainTokenizer } from '../extension/tokenizer/index';
import { timedAfterGc } from '../extension/cli/commands/bench';

const ROOT = resolve(__dirname, '..');
const PYTHON = process.env.REPO_DIFFUSION_PYTHON || '/usr/bin/python3';
const CANVAS = 16;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const presets = arg('presets', 'tiny,small').split(',');
const contexts = arg('contexts', '256,512').split(',').map(Number);
// The random-init models are built with 1024 positions (the largest preset window); an AR prompt
// adds 3 fim ids to the context and the canvas.
const MAX_CONTEXT = 1024 - CANVAS - 3;
if (contexts.some((c) => !Number.isInteger(c) || c < 1 || c > MAX_CONTEXT)) {
  console.error(`--contexts: integers from 1 to ${MAX_CONTEXT} (the bench models have 1024 positions, with a canvas of ${CANVAS})`);
  process.exit(2);
}
const runsArg = process.argv.includes('--runs') ? Number(arg('runs', '0')) : 0;
const arRunsArg = Number(arg('ar-runs', '2'));
const threads = Number(arg('threads', String(defaultThreads())));
const asJson = process.argv.includes('--json');
const log = (s: string) => process.stderr.write(s + '\n');

function sourceTexts(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|py)$/.test(n)) out.push(readFileSync(p, 'utf8'));
    }
  };
  for (const d of ['extension', 'trainer', 'test']) if (existsSync(join(ROOT, d))) walk(join(ROOT, d));
  return out;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
}

/** Exports a random-init model of `preset` (seed 0) with the given vocabulary, all three graphs, once. */
function exportModel(dir: string, preset: string, vocab: number, causal: boolean): { path: string; context: string; step: string; stepInt8: string; stepInt8Kv: string; params: number } {
  const base = join(dir, `${preset}-${vocab}${causal ? '-ar' : ''}-g13`); // g13: the step graphs hand over the canvas's K/V at kv_rows (freezeDecided) (docs/contracts.md "Cached graphs")
  const path = base + '.onnx';
  const context = base + '.context.onnx';
  const step = base + '.step.onnx';
  const stepInt8 = base + '.step.int8.onnx';
  const stepInt8Kv = base + '.step.int8kv.onnx';
  const paramsPath = path + '.params';
  if (![path, context, step, stepInt8, stepInt8Kv, paramsPath].every((p) => existsSync(p))) {
    log(`exporting a random-init ${causal ? 'AR ' : ''}${preset} model (vocab ${vocab}) ...`);
    const r = spawnSync(PYTHON, ['-c', `
import sys, torch
from trainer.model import ModelConfig, PRESETS, Transformer
from trainer.export import onnx_bytes
from trainer.cached import context_onnx_bytes, step_onnx_bytes
from trainer.quantize import step_int8_onnx_bytes, step_int8_kv_onnx_bytes
torch.manual_seed(0)
m = Transformer(ModelConfig(**dict(PRESETS[sys.argv[1]], vocab_size=int(sys.argv[2]), max_seq_len=1024, causal=sys.argv[4] == "1"))).float().eval()
open(sys.argv[3] + ".onnx", "wb").write(onnx_bytes(m))
open(sys.argv[3] + ".context.onnx", "wb").write(context_onnx_bytes(m))
open(sys.argv[3] + ".step.onnx", "wb").write(step_onnx_bytes(m))
open(sys.argv[3] + ".step.int8.onnx", "wb").write(step_int8_onnx_bytes(m))
open(sys.argv[3] + ".step.int8kv.onnx", "wb").write(step_int8_kv_onnx_bytes(m))
print(m.num_params())
`, preset, String(vocab), base, causal ? '1' : '0'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`export failed: ${r.stderr.slice(-1500)}`);
    writeFileSync(paramsPath, r.stdout.trim());
  }
  return { path, context, step, stepInt8, stepInt8Kv, params: Number(readFileSync(paramsPath, 'utf8')) };
}

interface Row {
  preset: string;
  params: number;
  context: number;
  seq: number;
  runs: number;
  forward_p50_ms: number;
  forward_p95_ms: number;
  naive_p50_ms: number;
  naive_p95_ms: number;
  naive_steps: number;
  fast_p50_ms: number;
  fast_p95_ms: number;
  /** the fast path with float32 step weights (the default is int8) */
  fast_f32_p50_ms: number;
  fast_f32_p95_ms: number;
  /** the default's graphs, no sliding window (decodeWindow 0: the whole canvas every step) */
  fast_no_window_p50_ms: number;
  fast_no_window_p95_ms: number;
  fast_no_window_ratio_p50: number;
  /** the fast path's context K/V (int8 or float32: INT8_KV_MIN_BYTES), and the same int8 steps with the other */
  context_kv: string;
  other_kv: string;
  fast_other_kv_p50_ms: number;
  fast_other_kv_p95_ms: number;
  fast_other_kv_ratio_p50: number;
  fast_steps: number;
  /** fast p50 / forward p50, fast p95 / forward p50, naive p50 / fast p50 */
  fast_ratio_p50: number;
  fast_ratio_p95: number;
  naive_ratio_p50: number;
  speedup_p50: number;
  /** decode tokens/s (canvas tokens decided / completion time; AR: tokens / time), p50 times */
  diffusion_fast_tok_s: number;
  diffusion_naive_tok_s: number;
  ar_runs: number;
  ar_naive_p50_ms: number;
  ar_fast_p50_ms: number;
  ar_fast_p95_ms: number;
  ar_naive_tok_s: number;
  ar_fast_tok_s: number;
}

/** The trainer's presets (trainer/model.py PRESETS), for model.json's config (the engine sizes the context K/V from it). */
function presetConfigs(): Record<string, Record<string, number>> {
  const r = spawnSync(PYTHON, ['-c', 'import json; from trainer.model import PRESETS; print(json.dumps(PRESETS))'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reading the trainer's presets failed: ${r.stderr.slice(-1500)}`);
  return JSON.parse(r.stdout);
}

function writeRun(run: string, tokJson: string, sha: string, vocab: number, context: number, preset: string,
  m: { path: string; context: string; step: string; stepInt8: string; stepInt8Kv: string; params: number }, objective: string,
  config: Record<string, number>): void {
  // model.json's max_seq_len = context + canvas (+ 3 fim ids for AR), so that the engine's context
  // cut keeps exactly `context` tokens (the graphs themselves cover 1024 positions).
  mkdirSync(join(run, 'corpus'), { recursive: true });
  writeFileSync(join(run, 'corpus', 'tokenizer.json'), tokJson);
  writeFileSync(join(run, 'model.json'), JSON.stringify({
    format: 1, objective, vocab_size: vocab, max_seq_len: context + CANVAS + (objective === 'autoregressive' ? 3 : 0), preset, params: m.params, config,
    special_ids: { pad: 0, eos: 1, mask: 2, fim_prefix: 3, fim_suffix: 4, fim_middle: 5 }, tokenizer_sha256: sha,
    sampler: { threshold: 0.9, canvas_lengths: [16, 32, 64] }, graphs: { full: m.path, context: m.context, step: m.step, step_int8: m.stepInt8, ...(objective === 'diffusion' ? { step_int8_kv: m.stepInt8Kv } : {}) },
  }));
}

async function accuracy(runDir: string) {
  const taus = arg('taus', '0.5,0.7,0.8,0.9,0.95').split(',').map(Number);
  const refresh = arg('refresh', '0').split(',').map(Number);
  const windows = process.argv.includes('--windows') ? arg('windows', '').split(',').map(Number) : [];
  const tasks = await readTasks(join(runDir, 'corpus', 'eval.jsonl'));
  const limit = Number(arg('tasks', String(tasks.length)));
  const out: Array<Record<string, unknown>> = [];
  for (const tau of taus) {
    let reference: string[] = [];
    // fast: int8 step weights (the engine's default) with int8 or float32 context K/V (the default
    // picks by their size, INT8_KV_MIN_BYTES), beside float32 steps
    const settings: Array<[string, object]> = [['naive', { decoding: 'naive' }]];
    // --windows: the sampler's sliding window (decodeWindow), naive and fast (the default's graphs)
    for (const w of windows) {
      if (w > 0) settings.push([`naive, window ${w}`, { decoding: 'naive', decodeWindow: w }]);
      settings.push([`fast, window ${w}`, { decodeWindow: w }]);
    }
    for (const r of windows.length ? [] : refresh) {
      const name = `fast${r ? ` refresh ${r}` : ''}`;
      // each with decided positions frozen (the default), then without
      for (const [whole, freezeDecided] of [['', true], [', whole canvas', false]] as const) {
        settings.push([`${name} int8 K/V${whole}`, { refreshEvery: r, contextKV: 'int8', freezeDecided }],
          [`${name} float32 K/V${whole}`, { refreshEvery: r, contextKV: 'float32', freezeDecided }],
          [`${name} float32 steps${whole}`, { refreshEvery: r, stepWeights: 'float32', freezeDecided }]);
      }
    }
    for (const [name, o] of settings) {
      const engine = await InfillEngine.load(runDir, { threads, threshold: tau, ...o });
      const r = await evaluateTasks(engine, tasks, { oracleLength: true, limit, samples: tasks.length });
      await engine.dispose();
      const got = r.samples.map((x) => x.got);
      if (name === 'naive') reference = got;
      // agree: the share of tasks whose (postprocessed) completion is the naive sampler's, same tau
      const agree = got.filter((g, i) => g === reference[i]).length / Math.max(1, got.length);
      const row = { tau, decoding: name, tasks: r.tasks, exact: r.exact, edit_sim: r.edit_sim, agree, steps_per_task: r.steps_per_task, ms_per_task: r.ms_per_task };
      out.push(row);
      log(JSON.stringify(row));
    }
  }
  if (asJson) {
    process.stdout.write(JSON.stringify({ run: runDir, threads, rows: out }, null, 2) + '\n');
    return;
  }
  console.log(`held-out infill (oracle canvas length), ${out[0]?.tasks} tasks of ${runDir}, intraOpNumThreads ${threads}`);
  console.log('| tau | decoding | exact | edit sim | same text as naive | steps / task | ms / task |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of out) {
    console.log(`| ${r.tau} | ${r.decoding} | ${(100 * (r.exact as number)).toFixed(1)}% | ${(100 * (r.edit_sim as number)).toFixed(1)}% | ${(100 * (r.agree as number)).toFixed(0)}% | ` +
      `${(r.steps_per_task as number).toFixed(2)} | ${(r.ms_per_task as number).toFixed(1)} |`);
  }
}

async function main() {
  if (process.argv.includes('--accuracy')) return accuracy(resolve(arg('accuracy', '')));
  const dir = join(tmpdir(), 'rd-engine-bench');
  mkdirSync(dir, { recursive: true });
  const texts = sourceTexts();
  const tok = trainTokenizer(texts, { vocabSize: 8192 }); // the repo's own code reaches ~7.7k ids
  const tokJson = JSON.stringify(tok.toJSON());
  const sha = createHash('sha256').update(tokJson).digest('hex');
  const code = texts.join('\n');
  const rows: Row[] = [];
  const request = (k: number) => {
    // A different cursor each run: never a cache hit.
    const at = 20_000 + ((k + 1) * 997) % (code.length - 40_000);
    const cut = code.indexOf('\n', at) + 1;
    return { prefix: code.slice(cut - 20_000, cut) + `    const v${k} = `, suffix: '\n' + code.slice(cut, cut + 8000), mode: 'line' as const };
  };
  const configs = presetConfigs();
  for (const preset of presets) {
    const model = exportModel(dir, preset, tok.vocabSize, false);
    const arModel = exportModel(dir, preset, tok.vocabSize, true);
    for (const context of contexts) {
      const run = join(dir, `${preset}-${context}`);
      const arRun = join(dir, `${preset}-${context}-ar`);
      writeRun(run, tokJson, sha, tok.vocabSize, context, preset, model, 'diffusion', configs[preset]);
      writeRun(arRun, tokJson, sha, tok.vocabSize, context, preset, arModel, 'autoregressive', configs[preset]);
      // maxPositions 0: the whole window (context + canvas), the length the forward pass is timed at
      const measured = { threads, cacheSize: 0, maxCanvas: CANVAS, maxPositions: 0 };
      const naive = await InfillEngine.load(run, { ...measured, decoding: 'naive' });
      const fast = await InfillEngine.load(run, measured);
      // the same int8 steps with the other context K/V than the default chose for this window
      const otherKv = fast.info.contextKV === 'int8' ? 'float32' : 'int8';
      const fastKvOther = await InfillEngine.load(run, { ...measured, contextKV: otherKv });
      const fast32 = await InfillEngine.load(run, { ...measured, stepWeights: 'float32' });
      // the default's graphs without the sampler's window (every masked position a candidate every step)
      const fastNoWindow = await InfillEngine.load(run, { ...measured, decodeWindow: 0 });
      if (!fast.info.freezeDecided || !fast.info.decodeWindow || fastNoWindow.info.decodeWindow !== 0 || fastNoWindow.info.contextKV !== fast.info.contextKV) {
        throw new Error(`the window is not what was asked: ${JSON.stringify([fast.info, fastNoWindow.info])}`);
      }
      if (fast.info.stepWeights !== 'int8' || fastKvOther.info.contextKV !== otherKv || fastKvOther.info.stepWeights !== 'int8' || fast32.info.stepWeights !== 'float32') {
        throw new Error(`the fast engines did not load the cached graphs: ${JSON.stringify([fast.info, fastKvOther.info, fast32.info])}`);
      }
      const forwardModel = await OnnxModel.open(model.path, tok.vocabSize, { threads });
      const seq = context + CANVAS;
      const ids = BigInt64Array.from({ length: seq }, (_, i) => BigInt(6 + ((i * 7919) % (tok.vocabSize - 6))));
      const runs = runsArg || (preset === 'tiny' ? 20 : 8);
      const fwd: number[] = [];
      const nv: number[] = [];
      const fs: number[] = [];
      const f32: number[] = [];
      const fkv: number[] = [];
      const fw: number[] = [];
      let nSteps = 0, fSteps = 0, nTok = 0, fTok = 0;
      // Each timed call starts after a full collection: not paying for the garbage of the one before.
      for (let k = -1; k < runs; k++) { // k = -1: warm-up
        const [, tf] = await timedAfterGc(() => forwardModel.forward(ids, 1, seq));
        const [a, tn] = await timedAfterGc(() => naive.complete(request(k)));
        // the default and the same without the window right after each other, in turn first (what ran
        // before a completion leaves the caches colder or warmer for it)
        const timeNoWindow = async () => (await timedAfterGc(() => fastNoWindow.complete(request(k))))[1];
        const noWindowFirst = k % 2 !== 0;
        let tw = noWindowFirst ? await timeNoWindow() : 0;
        const [b, tq] = await timedAfterGc(() => fast.complete(request(k)));
        if (!noWindowFirst) tw = await timeNoWindow();
        const [, tkv] = await timedAfterGc(() => fastKvOther.complete(request(k)));
        const [, t32] = await timedAfterGc(() => fast32.complete(request(k)));
        if (k < 0) continue;
        fw.push(tw);
        fkv.push(tkv);
        fwd.push(tf);
        nv.push(tn);
        fs.push(tq);
        f32.push(t32);
        nSteps += a.steps; fSteps += b.steps; nTok += a.tokens; fTok += b.tokens;
      }
      await naive.dispose();
      await fast.dispose();
      await fastKvOther.dispose();
      await fast32.dispose();
      await fastNoWindow.dispose();
      // AR: 16 new tokens (a random model never stops), full recompute vs the KV cache.
      const arNaive = await InfillEngine.load(arRun, { ...measured, decoding: 'naive' });
      const arFast = await InfillEngine.load(arRun, measured);
      const an: number[] = [];
      const af: number[] = [];
      let anTok = 0, afTok = 0;
      const arRuns = Math.max(1, arRunsArg);
      for (let k = -1; k < runs; k++) {
        const [b, tb] = await timedAfterGc(() => arFast.complete(request(k)));
        if (k >= 0) { af.push(tb); afTok += b.tokens; }
        if (k < arRuns) { // full recompute is slow: fewer runs
          const [a, ta] = await timedAfterGc(() => arNaive.complete(request(k + 1000)));
          if (k >= 0) { an.push(ta); anTok += a.tokens; }
        }
      }
      await arNaive.dispose();
      await arFast.dispose();
      await forwardModel.release();
      const f50 = quantile(fwd, 0.5);
      const row: Row = {
        preset, params: model.params, context, seq, runs,
        forward_p50_ms: f50, forward_p95_ms: quantile(fwd, 0.95),
        naive_p50_ms: quantile(nv, 0.5), naive_p95_ms: quantile(nv, 0.95), naive_steps: nSteps / runs,
        fast_p50_ms: quantile(fs, 0.5), fast_p95_ms: quantile(fs, 0.95), fast_steps: fSteps / runs,
        fast_f32_p50_ms: quantile(f32, 0.5), fast_f32_p95_ms: quantile(f32, 0.95),
        fast_no_window_p50_ms: quantile(fw, 0.5), fast_no_window_p95_ms: quantile(fw, 0.95), fast_no_window_ratio_p50: quantile(fw, 0.5) / f50,
        context_kv: fast.info.contextKV ?? '', other_kv: otherKv,
        fast_other_kv_p50_ms: quantile(fkv, 0.5), fast_other_kv_p95_ms: quantile(fkv, 0.95), fast_other_kv_ratio_p50: quantile(fkv, 0.5) / f50,
        fast_ratio_p50: quantile(fs, 0.5) / f50, fast_ratio_p95: quantile(fs, 0.95) / f50,
        naive_ratio_p50: quantile(nv, 0.5) / f50, speedup_p50: quantile(nv, 0.5) / quantile(fs, 0.5),
        diffusion_fast_tok_s: (fTok / runs) / (quantile(fs, 0.5) / 1000), diffusion_naive_tok_s: (nTok / runs) / (quantile(nv, 0.5) / 1000),
        ar_runs: arRuns, ar_naive_p50_ms: quantile(an, 0.5), ar_fast_p50_ms: quantile(af, 0.5), ar_fast_p95_ms: quantile(af, 0.95),
        ar_naive_tok_s: (anTok / an.length) / (quantile(an, 0.5) / 1000), ar_fast_tok_s: (afTok / af.length) / (quantile(af, 0.5) / 1000),
      };
      rows.push(row);
      log(`${preset} ctx ${context}: forward p50 ${f50.toFixed(1)} ms, naive p50 ${row.naive_p50_ms.toFixed(1)} ms, fast p50 ${row.fast_p50_ms.toFixed(1)} ms (${row.fast_ratio_p50.toFixed(2)}x forward)`);
    }
  }
  if (asJson) {
    process.stdout.write(JSON.stringify({ threads, cpus: cpus().length, cpu: cpus()[0]?.model, vocab: tok.vocabSize, canvas: CANVAS, rows }, null, 2) + '\n');
    return;
  }
  console.log(`engine latency, random-init models, vocab ${tok.vocabSize}, canvas ${CANVAS} (no growth), intraOpNumThreads ${threads}, ${cpus().length}x ${cpus()[0]?.model}`);
  console.log('| preset | params | context | forward p50 / p95 (ms) | naive p50 / p95 (ms) | fast p50 / p95 (ms), context K/V | fast with the other context K/V, p50 / p95 (ms), / forward p50 | fast, float32 steps, p50 / p95 (ms) | fast, no window, p50 / p95 (ms), / forward p50 | steps naive / fast | fast / forward p50, p95 | naive / forward p50 | fast speed-up | diffusion tok/s naive / fast | AR p50 naive / KV (ms) | AR tok/s naive / KV |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.preset} | ${(r.params / 1e6).toFixed(1)}M | ${r.context} | ${r.forward_p50_ms.toFixed(1)} / ${r.forward_p95_ms.toFixed(1)} | ` +
      `${r.naive_p50_ms.toFixed(0)} / ${r.naive_p95_ms.toFixed(0)} | ${r.fast_p50_ms.toFixed(0)} / ${r.fast_p95_ms.toFixed(0)}, ${r.context_kv} | ` +
      `${r.fast_other_kv_p50_ms.toFixed(0)} / ${r.fast_other_kv_p95_ms.toFixed(0)} (${r.other_kv}), ${r.fast_other_kv_ratio_p50.toFixed(2)}x | ` +
      `${r.fast_f32_p50_ms.toFixed(0)} / ${r.fast_f32_p95_ms.toFixed(0)} | ` +
      `${r.fast_no_window_p50_ms.toFixed(0)} / ${r.fast_no_window_p95_ms.toFixed(0)}, ${r.fast_no_window_ratio_p50.toFixed(2)}x | ${r.naive_steps.toFixed(1)} / ${r.fast_steps.toFixed(1)} | ` +
      `${r.fast_ratio_p50.toFixed(2)}x, ${r.fast_ratio_p95.toFixed(2)}x | ${r.naive_ratio_p50.toFixed(1)}x | ${r.speedup_p50.toFixed(1)}x | ` +
      `${r.diffusion_naive_tok_s.toFixed(1)} / ${r.diffusion_fast_tok_s.toFixed(1)} | ${r.ar_naive_p50_ms.toFixed(0)} / ${r.ar_fast_p50_ms.toFixed(0)} | ${r.ar_naive_tok_s.toFixed(1)} / ${r.ar_fast_tok_s.toFixed(1)} |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
