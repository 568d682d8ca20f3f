// `repo-diffusion audit RUN [--json]`: how much of its training data the run's model gives back
// verbatim, and whether it ever writes a secret (extension/compare/audit.ts; docs/compare.md).
// Exit 1 when secret-shaped output or a canary was found (after the report is printed).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { auditRun, formatAudit } from '../../compare/audit';
import { intOption, parse, requireRun } from '../args';
import { ProgressBar } from '../progressBar';
import { abortOnSignals } from '../signals';

export async function runAudit(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      prompts: { type: 'string' },
      'min-middle': { type: 'string' },
      'max-middle': { type: 'string' },
      'long-run': { type: 'string' },
      canaries: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
    },
    1,
  );
  const runDir = resolve(requireRun(positionals));
  // One canary a line; a file rather than arguments, so that no secret lands in a shell history.
  const canaries = values.canaries ? (await readFile(resolve(values.canaries), 'utf8')).split('\n').map((l) => l.trim()).filter(Boolean) : undefined;
  const bar = new ProgressBar();
  const abort = abortOnSignals();
  try {
    const report = await auditRun(runDir, {
      prompts: intOption(values.prompts, 'prompts', 1),
      minMiddle: intOption(values['min-middle'], 'min-middle', 1),
      maxMiddle: intOption(values['max-middle'], 'max-middle', 1),
      longRunChars: intOption(values['long-run'], 'long-run', 1),
      seed: intOption(values.seed, 'seed'),
      canaries,
      signal: abort.signal,
      onProgress: (done, total) => bar.update(done / total, `auditing ${done}/${total} prompts`),
    });
    bar.done();
    process.stdout.write(values.json ? JSON.stringify(report) + '\n' : formatAudit(report));
    if (report.leak) throw new Error('the audit found secret-shaped output or a canary (see the report)');
  } finally {
    bar.done();
    abort.dispose();
  }
}
