// `repo-diffusion bench RUN [--json]`: completion latency of a trained run through the editor's
// engine, side by side with one full forward pass of the same model in the same process
// (DESIGN.md: the price of diffusion is several forward passes per completion; this says how many).
// Contexts are cut from the run's held-out eval tasks, so the model sees real code.
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runLayout } from '../../common/runLayout';
import { InfillEngine, OnnxModel, readTasks, type EvalTask } from '../../engine/index';
import { intOption, parse, requireRun } from '../args';

export interface BenchRow {
  context: number;
  runs: number;
  forward_p50_ms: number;
  forward_p95_ms: number;
  complete_p50_ms: number;
  complete_p95_ms: number;
  steps_mean: number;
  ratio_p50: number;
  ratio_p95: number;
}

export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

export async function runBench(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { runs: { type: 'string' }, json: { type: 'boolean' } }, 1);
  const runDir = resolve(requireRun(positionals));
  const runs = intOption(values.runs, 'runs', 3) ?? 20;
  const tasks = (await readTasks(runLayout(runDir).evalTasks)).filter((t) => t.prefix_ids && t.suffix_ids);
  if (tasks.length === 0) throw new Error(`${runDir} has no eval tasks with token ids to take contexts from`);

  const engine = await InfillEngine.load(runDir);
  const { maxSeqLen, vocabSize, preset, params } = engine.info;
  const canvas = 16;
  const forwardModel = await OnnxModel.open(join(runDir, 'model.onnx'), vocabSize, {});
  const rows: BenchRow[] = [];
  try {
    // The contexts are 256 and 512 tokens; a model with a shorter window gets its longest.
    const contexts = [...new Set([256, 512].map((c) => Math.min(c, maxSeqLen - canvas)))];
    for (const context of contexts) {
      const fwd: number[] = [];
      const done: number[] = [];
      let steps = 0;
      const ids = BigInt64Array.from({ length: context + canvas }, (_, i) => BigInt(6 + (i % (vocabSize - 6))));
      for (let k = -1; k < runs; k++) { // k = -1 warms both up
        const { prefix, suffix } = contextOf(engine, tasks[(k + 1) % tasks.length], context, k);
        const t0 = performance.now();
        await forwardModel.forward(ids, 1, context + canvas);
        const t1 = performance.now();
        const result = await engine.complete({ prefix, suffix, mode: 'line' });
        const t2 = performance.now();
        if (k < 0) continue;
        fwd.push(t1 - t0);
        done.push(t2 - t1);
        steps += result.steps;
      }
      rows.push({
        context, runs,
        forward_p50_ms: quantile(fwd, 0.5), forward_p95_ms: quantile(fwd, 0.95),
        complete_p50_ms: quantile(done, 0.5), complete_p95_ms: quantile(done, 0.95),
        steps_mean: steps / runs,
        ratio_p50: quantile(done, 0.5) / quantile(fwd, 0.5),
        ratio_p95: quantile(done, 0.95) / quantile(fwd, 0.5),
      });
    }
  } finally {
    await forwardModel.release();
    await engine.dispose();
  }
  const report = { run: runDir, preset, params, max_seq_len: maxSeqLen, canvas, rows };
  if (values.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  const out = [
    `completion latency, ${preset ?? '?'} (${((params ?? 0) / 1e6).toFixed(1)}M params), single-line canvas ${canvas}, ${runs} runs each`,
    '| context | forward p50 / p95 (ms) | complete p50 / p95 (ms) | steps | complete / forward p50 | p95 / forward p50 |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.context} | ${r.forward_p50_ms.toFixed(1)} / ${r.forward_p95_ms.toFixed(1)} | ${r.complete_p50_ms.toFixed(1)} / ${r.complete_p95_ms.toFixed(1)} | ${r.steps_mean.toFixed(1)} | ${r.ratio_p50.toFixed(2)}x | ${r.ratio_p95.toFixed(2)}x |`),
  ];
  process.stdout.write(out.join('\n') + '\n');
}

/** About `context` tokens around a task's cursor: 70% before, 30% after; a new cursor each run so no cache hit. */
function contextOf(engine: InfillEngine, task: EvalTask, context: number, k: number): { prefix: string; suffix: string } {
  const tok = engine.tokenizer;
  const before = Math.round(context * 0.7);
  const prefixIds = task.prefix_ids!.slice(-before);
  const suffixIds = task.suffix_ids!.slice(0, context - prefixIds.length);
  return { prefix: tok.decode(prefixIds) + (k >= 0 ? '' : ' '), suffix: tok.decode(suffixIds) };
}
