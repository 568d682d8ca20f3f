// Is the sampler's confidence a usable gate for showing a suggestion? On a trained run's held-out
// tasks (engine length, all postprocessing, as the editor would show them), each completion's
// mean and least per-token confidence against whether it was right; then, per gate g, the share of
// suggestions shown (confidence >= g), exact match and edit similarity among those shown, and the
// share of the right (exact) answers kept. The editor's `repoDiffusion.minConfidence` default
// comes from this table (docs/engine.md "Confidence gate").
//   node --import tsx bench/confidence.bench.ts RUN [--tasks N] [--by mean|min] [--json]
import { join, resolve } from 'node:path';
import { InfillEngine, evaluateTasks, readTasks, editSimilarity } from '../extension/engine/index';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

async function main() {
  const run = resolve(process.argv[2] ?? '');
  const by = arg('by', 'mean') === 'min' ? 'min_confidence' : 'confidence';
  const tasks = await readTasks(join(run, 'corpus', 'eval.jsonl'));
  const limit = Math.min(tasks.length, Number(arg('tasks', String(tasks.length))));
  const engine = await InfillEngine.load(run);
  const report = await evaluateTasks(engine, tasks, { limit, samples: limit });
  await engine.dispose();
  const rows = report.samples.map((s) => ({
    conf: s[by], exact: s.got.trimEnd() === s.expected.trimEnd(), sim: editSimilarity(s.expected.trimEnd(), s.got.trimEnd()), empty: s.got.trim() === '',
  }));
  const right = rows.filter((r) => r.exact).length;
  const gates = [0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  const table = gates.map((g) => {
    const shown = rows.filter((r) => r.conf >= g && !r.empty);
    const n = shown.length;
    return {
      gate: g, shown: n / rows.length, exact_shown: n ? shown.filter((r) => r.exact).length / n : 0,
      edit_sim_shown: n ? shown.reduce((a, r) => a + r.sim, 0) / n : 0, right_kept: right ? shown.filter((r) => r.exact).length / right : 0,
    };
  });
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const summary = {
    run, tasks: rows.length, by, exact: report.exact, edit_sim: report.edit_sim,
    confidence_right: mean(rows.filter((r) => r.exact).map((r) => r.conf)), confidence_wrong: mean(rows.filter((r) => !r.exact).map((r) => r.conf)),
  };
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ ...summary, gates: table }, null, 2) + '\n');
    return;
  }
  console.log(`${summary.tasks} held-out tasks of ${run} (engine length), gate on the ${by === 'confidence' ? 'mean' : 'least'} per-token confidence; ` +
    `exact ${(100 * (summary.exact ?? 0)).toFixed(1)}%, edit sim ${(100 * (summary.edit_sim ?? 0)).toFixed(1)}%; ` +
    `confidence of right answers ${summary.confidence_right.toFixed(3)}, of wrong ones ${summary.confidence_wrong.toFixed(3)}`);
  console.log('| gate | shown | exact among shown | edit sim among shown | right answers kept |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of table) {
    console.log(`| ${r.gate} | ${(100 * r.shown).toFixed(0)}% | ${(100 * r.exact_shown).toFixed(1)}% | ${(100 * r.edit_sim_shown).toFixed(1)}% | ${(100 * r.right_kept).toFixed(0)}% |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
