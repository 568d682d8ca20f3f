// `repo-diffusion compare [DIR] --out OUT [--tokens T | --minutes M] [--preset P]`: trains a
// diffusion and an autoregressive model on the same corpus at the same compute, and prints the
// comparison (extension/compare/compare.ts; docs/compare.md). OUT/compare.json has every figure,
// OUT/compare.svg the chart; --json prints compare.json instead of the table.
import { resolve } from 'node:path';
import { formatCompareTable, runCompare as compareRuns } from '../../compare/compare';
import { describeDevice } from '../../training/pythonFinder';
import { choiceOption, DEVICES, intOption, numberOption, parse, PRESETS } from '../args';
import { UsageError } from '../errors';
import { ProgressBar } from '../progressBar';
import { abortOnSignals } from '../signals';
import { findCliPython } from '../trainerRoot';

export async function runCompare(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      out: { type: 'string' },
      tokens: { type: 'string' },
      minutes: { type: 'string' },
      preset: { type: 'string' },
      device: { type: 'string' },
      seed: { type: 'string' },
      'eval-every': { type: 'string' },
      'eval-tasks': { type: 'string' },
      'final-tasks': { type: 'string' },
      'batch-size': { type: 'string' },
      'seq-len': { type: 'string' },
      'index-seed': { type: 'string' },
      python: { type: 'string' },
      json: { type: 'boolean' },
    },
    1,
  );
  if (!values.out) throw new UsageError('--out OUT is required');
  if (values.tokens !== undefined && values.minutes !== undefined) throw new UsageError('give one budget, not --tokens and --minutes');
  const trainerArgs: string[] = [];
  const batch = intOption(values['batch-size'], 'batch-size', 1);
  const seqLen = intOption(values['seq-len'], 'seq-len', 8);
  if (batch !== undefined) trainerArgs.push('--batch-size', String(batch));
  if (seqLen !== undefined) trainerArgs.push('--seq-len', String(seqLen));
  const indexSeed = intOption(values['index-seed'], 'index-seed');
  // Every argument is checked before looking for Python (a usage error should be instant).
  const budget = { tokens: intOption(values.tokens, 'tokens', 1), minutes: numberOption(values.minutes, 'minutes') };
  const preset = choiceOption(values.preset, 'preset', PRESETS);
  const device = choiceOption(values.device, 'device', DEVICES);
  const seed = intOption(values.seed, 'seed');
  const evalEvery = intOption(values['eval-every'], 'eval-every', 1);
  const evalTasks = intOption(values['eval-tasks'], 'eval-tasks');
  const finalTasks = intOption(values['final-tasks'], 'final-tasks');
  const { found, trainerRoot } = await findCliPython(values.python);
  process.stderr.write(`python: ${found.python} (torch ${found.doctor.torch}); device: ${describeDevice(found.doctor)}\n`);

  const bar = new ProgressBar();
  const abort = abortOnSignals();
  const plain = (line: string) => {
    bar.done();
    process.stderr.write(line + '\n');
  };
  let lastPlain = 0;
  try {
    const report = await compareRuns(
      {
        source: positionals[0] !== undefined ? resolve(positionals[0]) : undefined,
        out: resolve(values.out),
        ...budget,
        preset,
        device,
        seed,
        evalEvery,
        evalTasks,
        finalTasks,
        trainerArgs,
        index: indexSeed !== undefined ? { seed: indexSeed } : undefined,
        python: found.python,
        trainerRoot,
      },
      {
        signal: abort.signal,
        onLog: plain,
        onEvent: (objective, e) => {
          if (e.type === 'start') plain(`${objective}: ${e.preset ?? ''} ${Math.round(e.params ?? 0).toLocaleString('en-US')} params on ${e.device ?? '?'}, ${e.planned_steps ?? '?'} steps planned`);
          else if (e.type === 'eval') plain(`${objective}: eval @ step ${e.step} (epoch ${e.epoch.toFixed(1)}): infill exact ${((e.infill_exact ?? 0) * 100).toFixed(1)}%, edit sim ${((e.infill_edit_sim ?? 0) * 100).toFixed(1)}%`);
          else if (e.type === 'step') {
            const label = `${objective}: step ${e.step} epoch ${e.epoch.toFixed(2)} loss ${e.loss.toFixed(3)}`;
            if (bar.enabled) bar.update(undefined, label);
            else if (Date.now() - lastPlain > 15_000) {
              lastPlain = Date.now();
              process.stderr.write(label + '\n');
            }
          }
        },
        onEvalProgress: (label, done, total) => bar.update(done / total, `${label}: ${done}/${total} tasks`),
      },
    );
    bar.done();
    if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
    else process.stdout.write(formatCompareTable(report) + `\nwritten: ${report.out}/compare.json, ${report.out}/compare.svg\n`);
  } finally {
    bar.done();
    abort.dispose();
  }
}
