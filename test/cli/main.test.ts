// The command line's own surface: help and bad commands, through the real entry point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', '..', 'extension', 'cli', 'main.ts');
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });

test('--help after a command prints that command\'s usage on stdout and exits 0, running nothing', () => {
  const r = cli('train', '/nonexistent/run', '--help');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^usage:\n {2}repo-diffusion train RUN .*--preset auto\|nano\|tiny\|small\|base\|large\]\n {23}\[--minutes M/);
  assert.doesNotMatch(r.stdout, /repo-diffusion (index|complete|compare)/);
  const h = cli('compare', '-h');
  assert.equal(h.status, 0);
  assert.equal(h.stdout.split('\n').filter((l) => l.startsWith('  ')).length, 3); // compare's usage is three lines
});

test('--help after -- is a positional, and bad options still exit 2 with the usage', () => {
  const r = cli('index', '--out', '/nonexistent/out', '--', '--help');
  assert.equal(r.status, 1); // the folder to index is named '--help', and there is none
  assert.match(r.stderr, /no such file or directory.*--help'/);
  assert.doesNotMatch(r.stdout, /usage:/);
  const bad = cli('bench', 'RUN', '--mode', 'file');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^repo-diffusion bench: --mode must be one of line, block, got 'file'\nusage:/);
});

test('the whole usage for --help or help, and an unknown command exits 2', () => {
  for (const arg of ['--help', 'help']) {
    const r = cli(arg);
    assert.equal(r.status, 0);
    for (const name of ['index', 'train', 'complete', 'eval', 'bench', 'compare', 'audit', 'doctor']) assert.match(r.stdout, new RegExp(`repo-diffusion ${name}`));
  }
  const r = cli('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});
