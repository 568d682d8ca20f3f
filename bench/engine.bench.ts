// Completion latency of the infill engine next to one full forward pass of the same model, in the
// same process: p50/p95 of `engine.complete` (a single-line request: canvas 16, no growth) and of
// one `forward` over the same sequence length, at 256 and 512 tokens of context, for the tiny and
// small presets. The models are RANDOM-INIT exports (latency does not depend on the weights, but
// the number of steps does: an untrained model is never confident, so the sampler decodes one
// position a step, 16 passes per completion; the worst case for the threshold sampler — a trained
// model decodes several positions a step and stops at its pad).
//   node --import tsx bench/engine.bench.ts [--presets tiny,small] [--contexts 256,512] [--runs N] [--threads T] [--json]
// Needs a Python with torch (REPO_DIFFUSION_PYTHON, else /usr/bin/python3) to export the models once
// (cached in $TMPDIR/rd-engine-bench).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InfillEngine, OnnxModel, defaultThreads } from '../extension/engine/index';
import { trainTokenizer } from '../extension/tokenizer/index';

const ROOT = resolve(__dirname, '..');
const PYTHON = process.env.REPO_DIFFUSION_PYTHON || '/usr/bin/python3';
const CANVAS = 16;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const presets = arg('presets', 'tiny,small').split(',');
const contexts = arg('contexts', '256,512').split(',').map(Number);
const runsArg = process.argv.includes('--runs') ? Number(arg('runs', '0')) : 0;
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

/** Exports a random-init model of `preset` (seed 0) with the given vocabulary, once. */
function exportModel(dir: string, preset: string, vocab: number): { path: string; params: number } {
  const path = join(dir, `${preset}-${vocab}.onnx`);
  const paramsPath = path + '.params';
  if (!existsSync(path) || !existsSync(paramsPath)) {
    log(`exporting a random-init ${preset} model (vocab ${vocab}) ...`);
    const r = spawnSync(PYTHON, ['-c', `
import sys, torch
from trainer.model import ModelConfig, PRESETS, Transformer
from trainer.export import onnx_bytes
torch.manual_seed(0)
m = Transformer(ModelConfig(**dict(PRESETS[sys.argv[1]], vocab_size=int(sys.argv[2]), max_seq_len=1024))).float().eval()
open(sys.argv[3], "wb").write(onnx_bytes(m))
print(m.num_params())
`, preset, String(vocab), path], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`export failed: ${r.stderr.slice(-1500)}`);
    writeFileSync(paramsPath, r.stdout.trim());
  }
  return { path, params: Number(readFileSync(paramsPath, 'utf8')) };
}

interface Row {
  preset: string;
  params: number;
  context: number;
  seq: number;
  runs: number;
  forward_p50_ms: number;
  forward_p95_ms: number;
  complete_p50_ms: number;
  complete_p95_ms: number;
  steps: number;
  ratio_p50: number;
}

async function main() {
  const dir = join(tmpdir(), 'rd-engine-bench');
  mkdirSync(dir, { recursive: true });
  const texts = sourceTexts();
  const tok = trainTokenizer(texts, { vocabSize: 8192 }); // the repo's own code reaches ~6.5k merges
  const tokJson = JSON.stringify(tok.toJSON());
  const sha = createHash('sha256').update(tokJson).digest('hex');
  const code = texts.join('\n');
  const rows: Row[] = [];
  for (const preset of presets) {
    const model = exportModel(dir, preset, tok.vocabSize);
    for (const context of contexts) {
      // model.json's max_seq_len = context + canvas, so that the engine's context cut keeps exactly
      // `context` tokens (the graph itself covers 1024 positions).
      const run = join(dir, `${preset}-${context}`);
      mkdirSync(join(run, 'corpus'), { recursive: true });
      writeFileSync(join(run, 'corpus', 'tokenizer.json'), tokJson);
      writeFileSync(join(run, 'model.json'), JSON.stringify({
        format: 1, objective: 'diffusion', vocab_size: tok.vocabSize, max_seq_len: context + CANVAS, preset, params: model.params,
        special_ids: { pad: 0, eos: 1, mask: 2, fim_prefix: 3, fim_suffix: 4, fim_middle: 5 }, tokenizer_sha256: sha,
        sampler: { threshold: 0.9, canvas_lengths: [16, 32, 64] }, graphs: { full: model.path },
      }));
      const engine = await InfillEngine.load(run, { threads, maxCanvas: CANVAS });
      const forwardModel = await OnnxModel.open(model.path, tok.vocabSize, { threads });
      const seq = context + CANVAS;
      const ids = BigInt64Array.from({ length: seq }, (_, i) => BigInt(6 + ((i * 7919) % (tok.vocabSize - 6))));
      const runs = runsArg || (preset === 'tiny' ? 20 : 8);
      const fwd: number[] = [];
      const cmp: number[] = [];
      let steps = 0;
      for (let k = -1; k < runs; k++) { // k = -1: warm-up
        const at = 20_000 + ((k + 1) * 997) % (code.length - 40_000);
        const cut = code.indexOf('\n', at) + 1;
        const t0 = performance.now();
        await forwardModel.forward(ids, 1, seq);
        const t1 = performance.now();
        // A different cursor each run: never a cache hit.
        const r = await engine.complete({ prefix: code.slice(cut - 20_000, cut) + `    const v${k} = `, suffix: '\n' + code.slice(cut, cut + 8000), mode: 'line' });
        const t2 = performance.now();
        if (k < 0) continue;
        fwd.push(t1 - t0);
        cmp.push(t2 - t1);
        steps += r.steps;
      }
      await engine.dispose();
      await forwardModel.release();
      const row: Row = {
        preset, params: model.params, context, seq, runs,
        forward_p50_ms: quantile(fwd, 0.5), forward_p95_ms: quantile(fwd, 0.95),
        complete_p50_ms: quantile(cmp, 0.5), complete_p95_ms: quantile(cmp, 0.95),
        steps: steps / runs, ratio_p50: quantile(cmp, 0.5) / quantile(fwd, 0.5),
      };
      rows.push(row);
      log(`${preset} ctx ${context}: forward p50 ${row.forward_p50_ms.toFixed(1)} ms, complete p50 ${row.complete_p50_ms.toFixed(1)} ms`);
    }
  }
  if (asJson) {
    process.stdout.write(JSON.stringify({ threads, cpus: cpus().length, cpu: cpus()[0]?.model, vocab: tok.vocabSize, canvas: CANVAS, rows }, null, 2) + '\n');
    return;
  }
  console.log(`engine latency, random-init models, vocab ${tok.vocabSize}, canvas ${CANVAS} (no growth), intraOpNumThreads ${threads}, ${cpus().length}x ${cpus()[0]?.model}`);
  console.log('| preset | params | context | seq | forward p50 / p95 (ms) | complete p50 / p95 (ms) | steps | complete / forward (p50) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.preset} | ${(r.params / 1e6).toFixed(1)}M | ${r.context} | ${r.seq} | ${r.forward_p50_ms.toFixed(1)} / ${r.forward_p95_ms.toFixed(1)} | ` +
      `${r.complete_p50_ms.toFixed(0)} / ${r.complete_p95_ms.toFixed(0)} | ${r.steps.toFixed(1)} | ${r.ratio_p50.toFixed(1)}x |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
