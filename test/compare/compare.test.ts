// The whole comparison for real on a small fixture repository (test/compare/fixtures/shapes): index
// once, train the nano diffusion and AR models with the same tiny token budget through the real
// trainer, evaluate both exported models through the engine, the retrieval baseline, compare.json,
// compare.svg and the sentence; a second call reuses the finished runs. Needs a Python with torch
// (REPO_DIFFUSION_PYTHON, default /usr/bin/python3); about 30-60 s on 2 cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatCompareTable, runCompare, type CompareOptions } from '../../extension/compare/index';
import { runCompare as runCompareCommand } from '../../extension/cli/commands/compare';
import { runAudit } from '../../extension/cli/commands/audit';
import { UsageError } from '../../extension/cli/errors';

const PYTHON = process.env.REPO_DIFFUSION_PYTHON || '/usr/bin/python3';
const ROOT = resolve(__dirname, '..', '..');
const FIXTURE = join(__dirname, 'fixtures', 'shapes');

test('diffusion and AR train on the same corpus with the same token budget, and the comparison is written', async () => {
  const out = mkdtempSync(join(tmpdir(), 'rd-compare-'));
  const options: CompareOptions = {
    source: FIXTURE, out, tokens: 4096, preset: 'nano', device: 'cpu', seed: 0,
    evalEvery: 2, evalTasks: 4, finalTasks: 6, trainerArgs: ['--no-engine-length'],
    python: PYTHON, trainerRoot: ROOT, threads: 1,
  };
  const logs: string[] = [];
  const r = await runCompare(options, { onLog: (l) => logs.push(l) });

  // Two self-contained runs sharing one corpus (hard links where the file system allows).
  for (const name of ['diffusion', 'autoregressive']) {
    assert.ok(existsSync(join(out, name, 'model.onnx')), `${name} exported`);
    const a = readFileSync(join(out, 'corpus', 'train.bin'));
    assert.deepEqual(readFileSync(join(out, name, 'corpus', 'train.bin')), a);
    assert.equal(statSync(join(out, name, 'corpus', 'train.bin')).ino, statSync(join(out, 'corpus', 'train.bin')).ino);
  }
  // Equal budgets, equal FLOPs: 4096 tokens = 4 steps of 8 x 128.
  const d = r.runs.diffusion;
  const a = r.runs.autoregressive;
  assert.equal(d.trained_tokens, 4096);
  assert.equal(a.trained_tokens, 4096);
  assert.equal(r.equal_tokens, true);
  assert.equal(d.params, a.params, 'the same network for both objectives');
  assert.equal(d.flops, 6 * d.params * 4096);
  assert.equal(a.flops, d.flops);
  assert.ok(d.wall_s! > 0 && a.wall_s! > 0, 'measured wall time is reported');
  // Evaluated at the same steps: every evaluation pairs up.
  assert.deepEqual(d.curve.map((p) => p.step), [2, 4]);
  assert.deepEqual(a.curve.map((p) => p.step), [2, 4]);
  assert.deepEqual(r.paired.exact.map((p) => p.tokens), [2048, 4096]);
  assert.equal(d.curve[1].flops, 6 * d.params * 4096);

  // The same tasks through the engine, both lengths, and the retrieval baseline on them too.
  for (const name of ['diffusion', 'autoregressive'] as const) {
    assert.equal(r.final[name].oracle.tasks, 6);
    assert.equal(r.final[name].oracle.oracle_length, true);
    assert.equal(r.final[name].engine.oracle_length, false);
    assert.equal(r.final[name].syntax.skippedNoGrammar, 0, 'the fixture is Python, which has a grammar');
  }
  assert.equal(r.retrieval.tasks, 6);
  assert.ok(r.retrieval.exact! > 0, 'the near-identical training files give the retrieval baseline exact hits');

  // The files and the sentence.
  const json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
  assert.equal(json.sentence, r.sentence);
  assert.equal(json.runs.diffusion.trained_tokens, 4096);
  assert.match(r.sentence, /^(diffusion passed AR at epoch [\d.]+|diffusion led AR from the first evaluation|no crossover within this budget)/);
  assert.match(r.sentence, /at the end [\d.]+% \(diffusion\) vs [\d.]+% \(AR\)/);
  const svg = readFileSync(join(out, 'compare.svg'), 'utf8');
  assert.match(svg, /^<svg /);
  assert.equal((svg.match(/<path d="M/g) ?? []).length, 8);
  const table = formatCompareTable(r);
  assert.match(table, /training FLOPs \(6ND\)/);
  assert.ok(table.includes(r.sentence));

  // Same arguments again: nothing is retrained.
  const again = await runCompare(options);
  assert.equal(again.runs.diffusion.reused, true);
  assert.equal(again.runs.autoregressive.reused, true);
  assert.equal(again.corpus.reused, true);
  assert.deepEqual(again.runs.diffusion.curve, d.curve);
});

test('the commands refuse bad arguments with a usage error', async () => {
  await assert.rejects(runCompareCommand(['x']), UsageError);
  await assert.rejects(runCompareCommand(['x', '--out', '/tmp/x', '--tokens', '5', '--minutes', '1']), UsageError);
  await assert.rejects(runCompareCommand(['--out', '/tmp/x', '--preset', 'huge']), UsageError);
  await assert.rejects(runAudit([]), UsageError);
  await assert.rejects(runAudit(['r', '--prompts', '0']), UsageError);
});
