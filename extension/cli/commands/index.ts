// `repo-diffusion index [DIR] --out RUN`: builds RUN/corpus from a folder, printing a progress bar
// on a TTY and a summary (or, with --json, the summary as one JSON document).
import { resolve } from 'node:path';
import { indexWorkspace } from '../../corpus/index';
import type { IndexSummary } from '../../corpus/types';
import { intOption, parse } from '../args';
import { UsageError } from '../errors';
import { ProgressBar } from '../progressBar';
import { abortOnSignals } from '../signals';

export async function runIndex(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      out: { type: 'string' },
      include: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      'max-file-bytes': { type: 'string' },
      'vocab-size': { type: 'string' },
      seed: { type: 'string' },
      'eval-tasks': { type: 'string' },
      json: { type: 'boolean' },
    },
    1,
  );
  if (!values.out) throw new UsageError('--out RUN is required');
  const root = resolve(positionals[0] ?? '.');
  const runDir = resolve(values.out);
  const bar = new ProgressBar();
  const abort = abortOnSignals();
  try {
    const summary = await indexWorkspace(
      root,
      runDir,
      {
        include: values.include,
        exclude: values.exclude,
        maxFileBytes: intOption(values['max-file-bytes'], 'max-file-bytes', 1),
        vocabSize: intOption(values['vocab-size'], 'vocab-size', 300),
        seed: intOption(values.seed, 'seed'),
        evalTasks: intOption(values['eval-tasks'], 'eval-tasks'),
      },
      {
        signal: abort.signal,
        onProgress: (p) => {
          const fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.filesTotal > 0 ? p.filesDone / p.filesTotal : undefined;
          bar.update(fraction, `${p.phase} ${p.filesDone}/${p.filesTotal} files ${(p.bytesDone / 1e6).toFixed(1)} MB`);
        },
      },
    );
    bar.done();
    if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
    else process.stdout.write(formatSummary(summary, runDir));
  } finally {
    bar.done();
    abort.dispose();
  }
}

export function formatSummary(s: IndexSummary, runDir: string): string {
  const skipped = Object.entries(s.skipped)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const scrubbed = Object.entries(s.scrubbed)
    .filter(([, n]) => n > 0)
    .map(([rule, n]) => `${rule} ${n}`)
    .join(', ');
  const lines = [
    `corpus written to ${s.corpusDir}`,
    `  files: ${s.filesSeen} seen, ${s.filesKept} kept (${s.trainFiles} train, ${s.valFiles} val)`,
    `  skipped: ${skipped || 'none'}`,
    `  duplicates dropped: ${s.duplicates.exact} exact, ${s.duplicates.near} near`,
    `  secrets scrubbed: ${scrubbed || 'none'}`,
    `  tokens: ${s.trainTokens} train, ${s.valTokens} val; vocabulary ${s.vocabSize}; ${s.evalTasks} eval tasks`,
    ...s.notes.map((n) => `  note: ${n}`),
    `next: repo-diffusion train ${runDir}`,
  ];
  return lines.join('\n') + '\n';
}
