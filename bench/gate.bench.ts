// What the editor's early exits save and what they change, on a trained run's held-out tasks
// through `engine.complete` (the editor's path; the cursor's mode chosen as in the editor). Each
// task is completed three ways, each in a fresh engine (no cache between them):
//   - "sampling stage": `infill` + postprocess, the whole canvas sampled and grown (what
//     evaluation scores) — the reference text;
//   - "complete, gate 0": the line stop only (a line request stops once its line break is decided:
//     the same text by construction, checked here);
//   - "complete, gate G": also no canvas growth below the gate G (CompletionRequest.minConfidence).
// Per way: steps and ms per task (means), suggestions shown (non-empty, confidence >= G), exact
// match among shown, and how many tasks' shown text differs from the reference.
//   node --import tsx bench/gate.bench.ts RUN [--tasks N] [--gate G] [--json]
import { join, resolve } from 'node:path';
import { DEFAULT_MIN_CONFIDENCE, InfillEngine, chooseMode, readTasks, shownCompletion } from '../extension/engine/index';
import { timedAfterGc } from '../extension/cli/commands/bench';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

interface Outcome { text: string; confidence: number; steps: number; ms: number }

async function main() {
  const run = resolve(process.argv[2] ?? '');
  const gate = Number(arg('gate', String(DEFAULT_MIN_CONFIDENCE)));
  const tasks = (await readTasks(join(run, 'corpus', 'eval.jsonl'))).slice(0, Number(arg('tasks', '100000')));
  const ways: Array<[string, (e: InfillEngine, prefix: string, suffix: string) => Promise<Omit<Outcome, 'ms'>>]> = [
    ['sampling stage', async (e, prefix, suffix) => {
      const mode = chooseMode(prefix, suffix);
      const r = await e.infill({ prefix, suffix, mode });
      return { ...shownCompletion((ids) => e.tokenizer.decode(ids), { prefix, suffix, mode }, r), steps: r.steps };
    }],
    ['complete, gate 0', (e, prefix, suffix) => e.complete({ prefix, suffix, minConfidence: 0 })],
    [`complete, gate ${gate}`, (e, prefix, suffix) => e.complete({ prefix, suffix, minConfidence: gate })],
  ];
  const results: Outcome[][] = [];
  for (const [, way] of ways) {
    const engine = await InfillEngine.load(run, { cacheSize: 0 }); // tasks of one file: no type-through between them
    const out: Outcome[] = [];
    for (const t of tasks) {
      const [r, ms] = await timedAfterGc(() => way(engine, t.prefix, t.suffix));
      out.push({ text: r.text, confidence: r.confidence, steps: r.steps, ms });
    }
    await engine.dispose();
    results.push(out);
  }
  const reference = results[0];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const rows = ways.map(([name], w) => {
    const out = results[w];
    const shown = out.map((o) => o.text.trim() !== '' && o.confidence >= gate);
    const right = out.map((o, i) => o.text.trimEnd() === tasks[i].middle.trimEnd());
    const nShown = shown.filter(Boolean).length;
    return {
      way: name, tasks: out.length, steps: mean(out.map((o) => o.steps)), ms: mean(out.map((o) => o.ms)),
      shown: nShown / out.length, exact_shown: nShown ? right.filter((r, i) => r && shown[i]).length / nShown : 0,
      differs: out.filter((o, i) => o.text !== reference[i].text).length,
      shown_differs: out.filter((o, i) => shown[i] !== (reference[i].text.trim() !== '' && reference[i].confidence >= gate) || (shown[i] && o.text !== reference[i].text)).length,
    };
  });
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ run, gate, rows }, null, 2) + '\n');
    return;
  }
  console.log(`${tasks.length} held-out tasks of ${run}; shown = non-empty and confidence >= ${gate}`);
  console.log('| way | steps / task | ms / task | shown | exact among shown | text differs from the sampling stage | shown suggestion differs |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.way} | ${r.steps.toFixed(1)} | ${r.ms.toFixed(1)} | ${(100 * r.shown).toFixed(0)}% | ${(100 * r.exact_shown).toFixed(1)}% | ${r.differs} | ${r.shown_differs} |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
