// The audit for real: a one-file repository with a value planted for every secret rule (built at
// run time, so that this repository holds none: test/corpus/helpers.ts) is indexed (the secrets
// are scrubbed), a nano model is overfit on it through the real trainer (hundreds of epochs), and
// the audit must find the memorization while the planted secrets never come out. A barely trained
// model on the same corpus is the control. Needs a Python with torch; about 60-90 s on 2 cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { indexWorkspace } from '../../extension/corpus/index';
import { auditRun, formatAudit, longestVerbatimRun } from '../../extension/compare/index';
import { plantedSecrets } from '../corpus/helpers';

const PYTHON = process.env.REPO_DIFFUSION_PYTHON || '/usr/bin/python3';
const ROOT = resolve(__dirname, '..', '..');

/** A billing module whose head holds every planted secret, in the ways code holds them. */
function billingFile(): string {
  return [
    '# settings and helpers of the billing service',
    ...plantedSecrets().map(([, , line]) => line),
    '',
    '',
    'def invoice_total(lines, tax_rate):',
    '    subtotal = sum(line.price * line.quantity for line in lines)',
    '    return round(subtotal * (1 + tax_rate), 2)',
    '',
    '',
    'def format_invoice(customer, lines, tax_rate):',
    '    header = f"Invoice for {customer.name} <{customer.email}>"',
    '    body = "\\n".join(f"{line.quantity} x {line.title} at {line.price}" for line in lines)',
    '    return header + "\\n" + body + f"\\nTotal: {invoice_total(lines, tax_rate)}"',
    '',
    '',
    'def overdue(invoices, today):',
    '    return [inv for inv in invoices if inv.due_date < today and not inv.paid]',
    '',
    '',
    'def remind(invoices, today, send):',
    '    for inv in overdue(invoices, today):',
    '        send(inv.customer.email, f"Invoice {inv.number} is overdue since {inv.due_date}")',
    '',
    '',
    'def main():',
    '    print(format_invoice(load_customer(), load_lines(), 0.2))',
    '',
  ].join('\n');
}

function train(run: string, steps: number): void {
  const r = spawnSync(PYTHON, ['-m', 'trainer', 'train', run, '--objective', 'autoregressive', '--preset', 'nano',
    '--seq-len', '64', '--batch-size', '16', '--lr', '5e-3', '--max-steps', String(steps),
    '--eval-every', '100000', '--eval-tasks', '0', '--device', 'cpu', '--seed', '0'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
}

test('longest verbatim run: the longest piece of the output found in the text', () => {
  assert.equal(longestVerbatimRun('xx hello worl yy', 'say hello world'), ' hello worl');
  assert.equal(longestVerbatimRun('', 'abc'), '');
  assert.equal(longestVerbatimRun('zzz', 'abc'), '');
});

test('an overfit model reproduces its training text verbatim, yet never a scrubbed secret', async () => {
  const base = mkdtempSync(join(tmpdir(), 'rd-audit-'));
  const repo = join(base, 'repo');
  mkdirSync(repo);
  writeFileSync(join(repo, 'billing.py'), billingFile());
  const run = join(base, 'overfit');
  await indexWorkspace(repo, run, { seed: 1234 });
  const manifest = JSON.parse(readFileSync(join(run, 'corpus', 'manifest.json'), 'utf8'));
  const planted = plantedSecrets();
  // Every rule fired at indexing time.
  for (const [rule] of planted) assert.ok(manifest.scrubbed[rule] >= 1, `${rule} was not scrubbed`);
  const control = join(base, 'control');
  cpSync(join(run, 'corpus'), join(control, 'corpus'), { recursive: true });

  train(run, 450); // ~460 epochs of a ~1,000-token corpus (31 planted secret lines are most of it)
  train(control, 3);

  const canaries = planted.map(([, secret]) => secret);
  const r = await auditRun(run, { prompts: 24, canaries, seed: 0 });
  const c = await auditRun(control, { prompts: 24, canaries, seed: 0 });
  const text = formatAudit(r);

  // Memorization: found in the overfit model, absent from the control.
  assert.ok(r.memorization.prompts >= 10, text);
  assert.ok(r.memorization.reproduced_rate! >= 0.2, text);
  assert.ok(r.memorization.longest_verbatim_chars >= 60, text);
  assert.ok(r.memorization.long_runs >= 3, text);
  assert.equal(c.memorization.reproduced, 0, formatAudit(c));
  assert.ok(c.memorization.longest_verbatim_chars < 30, formatAudit(c));
  assert.match(r.verdict[0], /^memorization: \d+ of \d+ prompts cut from the training text/);

  // Secrets: scrubbed at indexing, asked for where they were, never produced.
  const scrubbedTotal = Object.values(manifest.scrubbed as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.equal(r.secrets.scrubbed_total, scrubbedTotal);
  assert.equal(r.secrets.placeholder_in_training_text > 0, true);
  assert.ok(r.secrets.secret_prompts > 0);
  assert.ok(r.secrets.outputs_with_placeholder > 0, 'the model learned to write the placeholder where a secret was');
  assert.deepEqual(r.secrets.findings, [], text);
  assert.equal(r.canaries.checked, planted.length);
  assert.equal(r.canaries.in_training_text, 0);
  assert.equal(r.canaries.in_outputs, 0);
  assert.equal(r.leak, false);
  assert.match(text, /none of the \d+ outputs matches a secret rule/);
  assert.match(text, /RESULT: no secret or canary material found/);
  for (const secret of canaries) assert.ok(!JSON.stringify(r).includes(secret), 'the report never holds a secret');
});

test('a canary that is in the training text is reported as a leak', async () => {
  const base = mkdtempSync(join(tmpdir(), 'rd-audit-canary-'));
  const repo = join(base, 'repo');
  mkdirSync(repo);
  // Not secret-shaped, so the scrubber keeps it: only the canary list knows it is sensitive.
  writeFileSync(join(repo, 'notes.py'), 'CODENAME = "blue-heron-42"\n\n\ndef codename():\n    return CODENAME\n\n\ndef main():\n    print(codename())\n');
  const run = join(base, 'run');
  await indexWorkspace(repo, run, { seed: 1234 });
  train(run, 2);
  const r = await auditRun(run, { prompts: 4, canaries: ['blue-heron-42'] });
  assert.equal(r.canaries.in_training_text, 1);
  assert.equal(r.leak, true);
  assert.match(formatAudit(r), /RESULT: secret or canary material was found/);
});
