// `repo-diffusion eval RUN [--tasks FILE.jsonl]`: held-out infill tasks through the editor's
// engine; exact match and edit similarity overall and per kind, with the engine's own length
// decision (default) or the oracle middle length (--oracle-length).
import { resolve } from 'node:path';
import { runLayout } from '../../common/runLayout';
import { evaluateTasks, InfillEngine, readTasks, type EvalReport } from '../../engine/index';
import { intOption, parse, requireRun } from '../args';
import { ProgressBar } from '../progressBar';
import { abortOnSignals } from '../signals';

export async function runEval(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      tasks: { type: 'string' },
      limit: { type: 'string' },
      show: { type: 'string' },
      'oracle-length': { type: 'boolean' },
      'max-positions': { type: 'string' },
      json: { type: 'boolean' },
    },
    1,
  );
  const runDir = resolve(requireRun(positionals));
  const tasksPath = values.tasks ? resolve(values.tasks) : runLayout(runDir).evalTasks;
  const tasks = await readTasks(tasksPath);
  const show = intOption(values.show, 'show') ?? 3;
  const engine = await InfillEngine.load(runDir, { maxPositions: intOption(values['max-positions'], 'max-positions', 0) });
  const bar = new ProgressBar();
  const abort = abortOnSignals();
  try {
    const report = await evaluateTasks(engine, tasks, {
      oracleLength: values['oracle-length'],
      limit: intOption(values.limit, 'limit', 1),
      samples: show,
      signal: abort.signal,
      onProgress: (done, total) => bar.update(done / total, `evaluating ${done}/${total} tasks`),
    });
    bar.done();
    if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
    else process.stdout.write(formatReport(report, tasksPath));
  } finally {
    bar.done();
    abort.dispose();
    await engine.dispose();
  }
}

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
const oneLine = (s: string, n = 60) => {
  const t = JSON.stringify(s);
  return t.length > n ? t.slice(0, n - 1) + '…' : t;
};

export function formatReport(r: EvalReport, tasksPath: string): string {
  const out = [
    `held-out infill, ${r.tasks} tasks from ${tasksPath} (${r.oracle_length ? 'oracle middle length' : "engine's own length"})`,
    '',
    ...r.samples.flatMap((s, i) => [`  [${i + 1}] ${s.kind}${s.id ? ` ${s.id}` : ''}`, `      expected: ${oneLine(s.expected)}`, `      got:      ${oneLine(s.got)}`]),
    '',
    `  kind     tasks   exact   edit sim`,
    ...Object.entries(r.by_kind).map(([kind, k]) => `  ${kind.padEnd(8)} ${String(k.n).padStart(5)}  ${pct(k.exact).padStart(6)}  ${pct(k.edit_sim).padStart(8)}`),
    `  ${'all'.padEnd(8)} ${String(r.tasks).padStart(5)}  ${pct(r.exact).padStart(6)}  ${pct(r.edit_sim).padStart(8)}`,
    '',
    `exact match ${pct(r.exact)}, edit similarity ${pct(r.edit_sim)}; ${r.steps_per_task?.toFixed(1) ?? '-'} forward passes and ${r.ms_per_task?.toFixed(0) ?? '-'} ms per task`,
  ];
  return out.join('\n') + '\n';
}
