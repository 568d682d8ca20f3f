// `repo-diffusion bench RUN [--runs N] [--mode line|block] [--max-positions N] [--window N] [--json]`: completion latency of a trained run through the
// editor's engine, naive (a full forward pass per sampler step) and fast (the cached graphs:
// docs/engine.md "Fast decoding"; the same as naive when the export has no cached graphs), side by
// side with one full forward pass of the same model in the same process (DESIGN.md: the price of
// diffusion is several forward passes per completion; this says how many), and decode tokens/s.
// Contexts are cut from the run's held-out eval tasks, so the model sees real code.
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runLayout } from '../../common/runLayout';
import { BLOCK_CANVAS, DEFAULT_MIN_CONFIDENCE, describeServing, InfillEngine, LINE_CANVAS, OnnxModel, readTasks, type CompletionMode, type EvalTask } from '../../engine/index';
import { choiceOption, intOption, parse, requireRun } from '../args';

export interface BenchRow {
  context: number;
  runs: number;
  forward_p50_ms: number;
  forward_p95_ms: number;
  /** the fast engine (cached graphs) */
  complete_p50_ms: number;
  complete_p95_ms: number;
  steps_mean: number;
  /** fast p50 / forward p50, fast p95 / forward p50 */
  ratio_p50: number;
  ratio_p95: number;
  /** the naive engine (a full forward pass per step) */
  naive_p50_ms: number;
  naive_p95_ms: number;
  naive_steps_mean: number;
  naive_ratio_p50: number;
  /** naive p50 / fast p50 */
  speedup_p50: number;
  /** tokens decoded (before postprocessing) per second of completion time */
  fast_tok_s: number;
  naive_tok_s: number;
}

let gc: (() => void) | undefined;

/**
 * A full garbage collection, between timed calls of a benchmark: a naive completion leaves ~16
 * logits arrays of 16 MB behind (8k ids x 512 rows), and collecting them inside the next timed
 * call (a fast completion, measured right after) added 10-30 ms to it. Each call's own garbage
 * is still paid inside it when it is made.
 */
function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** `call`'s result and its wall time in ms, timed from after a full collection (collectGarbage). */
export async function timedAfterGc<T>(call: () => Promise<T>): Promise<[T, number]> {
  collectGarbage();
  const t0 = performance.now();
  const result = await call();
  return [result, performance.now() - t0];
}

export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/** `write`: where the report goes (stdout; tests collect it). */
export async function runBench(argv: string[], write: (text: string) => void = (text) => process.stdout.write(text)): Promise<void> {
  const { values, positionals } = parse(argv, { runs: { type: 'string' }, mode: { type: 'string' }, 'max-positions': { type: 'string' }, window: { type: 'string' }, json: { type: 'boolean' } }, 1);
  const mode: CompletionMode = choiceOption(values.mode, 'mode', ['line', 'block'] as const) ?? 'line';
  const runDir = resolve(requireRun(positionals));
  const runs = intOption(values.runs, 'runs', 3) ?? 20;
  const tasks = (await readTasks(runLayout(runDir).evalTasks)).filter((t) => t.prefix_ids && t.suffix_ids);
  if (tasks.length === 0) throw new Error(`${runDir} has no eval tasks with token ids to take contexts from`);

  const maxPositions = intOption(values['max-positions'], 'max-positions', 0);
  const decodeWindow = intOption(values.window, 'window', 0); // the sampler's window, both engines alike (default: the engine's)
  const engine = await InfillEngine.load(runDir, { cacheSize: 0, maxPositions, decodeWindow }); // every request sampled: no type-through hit between tasks
  const naive = await InfillEngine.load(runDir, { decoding: 'naive', cacheSize: 0, maxPositions, decodeWindow });
  const { maxSeqLen, positions, vocabSize, preset, params, objective, decoding, stepWeights, contextKV, freezeDecided, decodeWindow: window } = engine.info;
  // a single line's canvas, or a block's (the engine's: 64, at most half the window; never grown at that size)
  const canvas = mode === 'line' ? LINE_CANVAS : Math.min(BLOCK_CANVAS, Math.floor(positions / 2));
  const forwardModel = await OnnxModel.open(join(runDir, 'model.onnx'), vocabSize, {});
  const rows: BenchRow[] = [];
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  try {
    // The contexts are 256 and 512 tokens, and the window the engine serves (base and large
    // train on 1024; --max-positions lowers it); a model with a shorter window gets its longest.
    const contexts = [...new Set([256, 512, positions - canvas].map((c) => Math.min(c, positions - canvas)))].sort((a, b) => a - b);
    for (const context of contexts) {
      const fwd: number[] = [];
      const done: number[] = [];
      const slow: number[] = [];
      let steps = 0, naiveSteps = 0, tokens = 0, naiveTokens = 0;
      const ids = BigInt64Array.from({ length: context + canvas }, (_, i) => BigInt(6 + (i % (vocabSize - 6))));
      for (let k = -1; k < runs; k++) { // k = -1 warms all up
        const { prefix, suffix } = contextOf(engine, tasks[(k + 1) % tasks.length], context, k);
        const request = { prefix, suffix, mode, minConfidence: DEFAULT_MIN_CONFIDENCE };
        const [, tf] = await timedAfterGc(() => forwardModel.forward(ids, 1, context + canvas));
        const [result, tq] = await timedAfterGc(() => engine.complete(request));
        const [reference, tn] = await timedAfterGc(() => naive.complete(request));
        if (k < 0) continue;
        fwd.push(tf);
        done.push(tq);
        slow.push(tn);
        steps += result.steps;
        naiveSteps += reference.steps;
        tokens += result.tokens;
        naiveTokens += reference.tokens;
      }
      const f50 = quantile(fwd, 0.5);
      rows.push({
        context, runs,
        forward_p50_ms: f50, forward_p95_ms: quantile(fwd, 0.95),
        complete_p50_ms: quantile(done, 0.5), complete_p95_ms: quantile(done, 0.95),
        steps_mean: steps / runs,
        ratio_p50: quantile(done, 0.5) / f50,
        ratio_p95: quantile(done, 0.95) / f50,
        naive_p50_ms: quantile(slow, 0.5), naive_p95_ms: quantile(slow, 0.95), naive_steps_mean: naiveSteps / runs,
        naive_ratio_p50: quantile(slow, 0.5) / f50, speedup_p50: quantile(slow, 0.5) / quantile(done, 0.5),
        fast_tok_s: tokens / (sum(done) / 1000), naive_tok_s: naiveTokens / (sum(slow) / 1000),
      });
    }
  } finally {
    await forwardModel.release();
    await engine.dispose();
    await naive.dispose();
  }
  const report = { run: runDir, preset, params, objective, decoding, step_weights: stepWeights, context_kv: contextKV, freeze_decided: freezeDecided, window, max_seq_len: maxSeqLen, positions, mode, canvas, min_confidence: DEFAULT_MIN_CONFIDENCE, rows };
  if (values.json) {
    write(JSON.stringify(report) + '\n');
    return;
  }
  const out = [
    `completion latency, ${objective} ${preset ?? '?'} (${((params ?? 0) / 1e6).toFixed(1)}M params), ${mode === 'line' ? 'single-line' : 'block'} canvas ${canvas} (grown only at confidence >= ${DEFAULT_MIN_CONFIDENCE}, the editor's gate), ${runs} runs each; ` +
      `fast = ${describeServing(engine.info, runDir).text}`,
    '| context | forward p50 / p95 (ms) | naive p50 / p95 (ms) | fast p50 / p95 (ms) | steps naive / fast | naive / forward p50 | fast / forward p50, p95 | speed-up p50 | tokens/s naive / fast |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.context} | ${r.forward_p50_ms.toFixed(1)} / ${r.forward_p95_ms.toFixed(1)} | ${r.naive_p50_ms.toFixed(1)} / ${r.naive_p95_ms.toFixed(1)} | ` +
      `${r.complete_p50_ms.toFixed(1)} / ${r.complete_p95_ms.toFixed(1)} | ${r.naive_steps_mean.toFixed(1)} / ${r.steps_mean.toFixed(1)} | ${r.naive_ratio_p50.toFixed(2)}x | ` +
      `${r.ratio_p50.toFixed(2)}x, ${r.ratio_p95.toFixed(2)}x | ${r.speedup_p50.toFixed(1)}x | ${r.naive_tok_s.toFixed(1)} / ${r.fast_tok_s.toFixed(1)} |`),
  ];
  write(out.join('\n') + '\n');
}

/** About `context` tokens around a task's cursor: 70% before, 30% after; a new cursor each run so no cache hit. */
function contextOf(engine: InfillEngine, task: EvalTask, context: number, k: number): { prefix: string; suffix: string } {
  const tok = engine.tokenizer;
  const before = Math.round(context * 0.7);
  const prefixIds = task.prefix_ids!.slice(-before);
  const suffixIds = task.suffix_ids!.slice(0, context - prefixIds.length);
  return { prefix: tok.decode(prefixIds) + (k >= 0 ? '' : ' '), suffix: tok.decode(suffixIds) };
}
