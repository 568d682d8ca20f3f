// Benchmark: `repo-diffusion compare` on Debian's tcllib at a fixed token budget (docs/compare.md).
//   cd /tmp && apt-get download tcllib && dpkg -x tcllib_*.deb /tmp/tcllib
//   node --import tsx bench/compare.bench.ts [--src DIR] [--modules a,b,c | --all] [--tokens N]
//        [--preset nano] [--out DIR] [--eval-tasks N] [--eval-every N] [--final-tasks N] [--svg PATH]
//        [--engine-length] [--render-only]
// By default it indexes a few tcllib modules (about 60k training tokens) so that a budget that fits
// ~10 minutes of a 2-core CPU repeats the data for many epochs: the regime where the research says
// diffusion overtakes AR (DESIGN.md). Prints the comparison table, the sentence and the timings.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { chartFromReport, formatCompareTable, runCompare } from '../extension/compare/index';
import { findPython } from '../extension/training/pythonFinder';
import { findTrainerRoot } from '../extension/cli/trainerRoot';

const { values } = parseArgs({
  options: {
    src: { type: 'string', default: '/tmp/tcllib/usr/share/tcltk/tcllib1.21' },
    modules: { type: 'string', default: 'json,csv,base64,cmdline,counter' },
    all: { type: 'boolean', default: false },
    tokens: { type: 'string', default: '1800000' },
    preset: { type: 'string', default: 'nano' },
    out: { type: 'string', default: '/tmp/compare-bench' },
    'eval-tasks': { type: 'string', default: '32' },
    'eval-every': { type: 'string' },
    'final-tasks': { type: 'string', default: '64' },
    svg: { type: 'string' },
    'engine-length': { type: 'boolean', default: false },
    /** Draw OUT/compare.svg again from OUT/compare.json (no training) and copy it to --svg. */
    'render-only': { type: 'boolean', default: false },
  },
});

async function main() {
  if (values['render-only']) {
    const report = JSON.parse(readFileSync(resolve(values.out!, 'compare.json'), 'utf8'));
    writeFileSync(resolve(values.out!, 'compare.svg'), chartFromReport(report));
    if (values.svg) copyFileSync(resolve(values.out!, 'compare.svg'), resolve(values.svg));
    return;
  }
  const src = resolve(values.src!);
  if (!existsSync(src)) {
    throw new Error(`${src} not found: cd /tmp && apt-get download tcllib && dpkg -x tcllib_*.deb /tmp/tcllib`);
  }
  const include = values.all ? [] : values.modules!.split(',').map((m) => `${m.trim()}/**`);
  const trainerRoot = findTrainerRoot(resolve(__dirname, '..', 'extension', 'cli'));
  const python = (await findPython({ explicit: process.env.REPO_DIFFUSION_PYTHON, trainerRoot })).python;
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  let phaseStart = t0;
  let phase = 'index';
  const mark = (next: string) => {
    const now = performance.now();
    phases[phase] = (phases[phase] ?? 0) + (now - phaseStart) / 1000;
    phase = next;
    phaseStart = now;
  };
  const report = await runCompare(
    {
      source: src,
      out: resolve(values.out!),
      tokens: Number(values.tokens),
      preset: values.preset,
      device: 'cpu',
      seed: 0,
      evalTasks: Number(values['eval-tasks']),
      evalEvery: values['eval-every'] ? Number(values['eval-every']) : undefined,
      finalTasks: Number(values['final-tasks']),
      // The trainer's curves use the oracle length only (its engine-length pass doubles the cost of
      // each diffusion evaluation on a CPU); the final figures run both lengths through the engine.
      trainerArgs: values['engine-length'] ? [] : ['--no-engine-length'],
      index: { include, seed: 1234 },
      python,
      trainerRoot,
    },
    {
      onLog: (line) => {
        if (line.startsWith('diffusion: python')) mark('train diffusion');
        else if (line.startsWith('autoregressive: python')) mark('train autoregressive');
        else if (line.startsWith('retrieval baseline')) mark('retrieval');
        else if (line.startsWith('final evaluation')) mark('final evaluation');
        process.stderr.write(line + '\n');
      },
      onEvent: (objective, e) => {
        if (e.type === 'eval') process.stderr.write(`${objective} eval @ step ${e.step} epoch ${e.epoch.toFixed(1)}: exact ${e.infill_exact}\n`);
        if (e.type === 'start') process.stderr.write(`${objective}: ${e.params} params, ${e.tokens_per_epoch} tokens/epoch, ${e.planned_steps} steps\n`);
      },
    },
  );
  mark('done');
  const wall = (performance.now() - t0) / 1000;
  process.stdout.write(`$ node --import tsx bench/compare.bench.ts ${process.argv.slice(2).join(' ')}\n`);
  process.stdout.write(`source: ${src}${include.length ? ` (modules ${values.modules})` : ''}; preset ${values.preset}; ${Number(values.tokens).toLocaleString('en-US')} tokens each\n\n`);
  process.stdout.write(formatCompareTable(report));
  process.stdout.write(`\nwall clock: ${wall.toFixed(0)} s in all; ${Object.entries(phases).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')}\n`);
  if (values.svg) {
    copyFileSync(resolve(report.out, 'compare.svg'), resolve(values.svg));
    process.stdout.write(`chart copied to ${values.svg}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
});
