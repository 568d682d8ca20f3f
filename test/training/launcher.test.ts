// The launcher against real child processes: a fake trainer script (fixtures/fakeTrainer.mjs) that
// prints protocol lines, crashes, hangs, ignores SIGTERM or reports an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchTrainer, buildTrainArgs, PID_FILE, type LaunchOptions } from '../../extension/training/launcher';
import type { GarbageLine, TrainerEvent } from '../../extension/training/protocol';
import { trainerLiveness } from '../../extension/training/runState';

const FAKE = join(__dirname, 'fixtures', 'fakeTrainer.mjs');

function start(mode: string, extra: Partial<LaunchOptions> = {}) {
  const runDir = mkdtempSync(join(tmpdir(), 'rd-launch-'));
  const events: TrainerEvent[] = [];
  const logs: string[] = [];
  const garbage: GarbageLine[] = [];
  const waiters: Array<{ pred: (e: TrainerEvent) => boolean; resolve: () => void }> = [];
  const p = launchTrainer({
    python: process.execPath,
    trainerRoot: __dirname,
    runDir,
    argvOverride: [FAKE, mode, runDir],
    onEvent: (e) => {
      events.push(e);
      for (const w of waiters.splice(0)) (w.pred(e) ? w.resolve() : waiters.push(w));
    },
    onLog: (l) => logs.push(l),
    onGarbage: (g) => garbage.push(g),
    ...extra,
  });
  const waitFor = (pred: (e: TrainerEvent) => boolean) =>
    new Promise<void>((resolve) => (events.some(pred) ? resolve() : waiters.push({ pred, resolve })));
  return { p, runDir, events, logs, garbage, waitFor };
}

test('a normal run streams every event, reports garbage, and ends done', async () => {
  const { p, runDir, events, logs, garbage } = start('normal');
  const proc = await p;
  assert.ok(proc.pid > 0);
  const outcome = await proc.outcome;
  assert.equal(outcome.kind, 'done', outcome.message);
  assert.equal(outcome.exitCode, 0);
  assert.deepEqual(
    events.map((e) => e.type),
    ['start', 'step', 'step', 'step', 'step', 'step', 'step', 'eval', 'unknown', 'checkpoint', 'export', 'done'],
  );
  assert.equal(garbage.length, 1);
  assert.equal(garbage[0].text, 'this is not json');
  assert.ok(logs.some((l) => l.includes('fake trainer: mode normal')));
  assert.equal(existsSync(join(runDir, PID_FILE)), false, 'pid file removed after exit');
});

test('the pid file names the live process while it runs', async () => {
  const { p, runDir, waitFor } = start('cancellable', { killGraceMs: 5000 });
  const proc = await p;
  await waitFor((e) => e.type === 'step');
  const content = JSON.parse(readFileSync(join(runDir, PID_FILE), 'utf8'));
  assert.equal(content.pid, proc.pid);
  assert.equal((await trainerLiveness(runDir)).alive, true);
  await proc.cancel();
  assert.equal((await trainerLiveness(runDir)).alive, false);
});

test('a non-zero exit without done is a crash, with the last stderr line as reason', async () => {
  const { p } = start('crash');
  const outcome = await (await p).outcome;
  assert.equal(outcome.kind, 'crashed');
  assert.equal(outcome.exitCode, 3);
  assert.match(outcome.message, /code 3.*CUDA out of memory/);
  assert.ok(outcome.stderrTail.includes('Traceback (most recent call last):'));
});

test('exit 0 without done still counts as a crash', async () => {
  const outcome = await (await start('silent-exit').p).outcome;
  assert.equal(outcome.kind, 'crashed');
  assert.match(outcome.message, /without saying it was done/);
});

test('an error event makes the outcome failed, with the hint', async () => {
  const outcome = await (await start('error').p).outcome;
  assert.equal(outcome.kind, 'failed');
  assert.equal(outcome.message, 'corpus is empty — index a folder with source files');
});

test('cancel sends SIGTERM and the trainer ends with done cancelled', async () => {
  const { p, events, waitFor } = start('cancellable', { killGraceMs: 5000 });
  const proc = await p;
  await waitFor((e) => e.type === 'step' && e.step >= 2);
  const outcome = await proc.cancel();
  assert.equal(outcome.kind, 'cancelled');
  assert.equal(outcome.done?.reason, 'cancelled');
  assert.equal(events[events.length - 1].type, 'done');
  assert.equal(proc.running, false);
});

test('a trainer that ignores SIGTERM is killed after the grace period', async () => {
  const { p, logs, waitFor } = start('stubborn', { killGraceMs: 300 });
  const proc = await p;
  await waitFor((e) => e.type === 'step');
  const outcome = await proc.cancel();
  assert.equal(outcome.kind, 'killed');
  assert.equal(outcome.signal, 'SIGKILL');
  assert.ok(logs.some((l) => l.includes('SIGKILL')));
});

test('a trainer killed from outside is reported as killed', async () => {
  const { p, waitFor } = start('hang', { hangTimeoutMs: 0 });
  const proc = await p;
  await waitFor((e) => e.type === 'step');
  process.kill(proc.pid, 'SIGKILL');
  const outcome = await proc.outcome;
  assert.equal(outcome.kind, 'killed');
  assert.match(outcome.message, /SIGKILL/);
});

test('no event within the hang timeout stops the trainer and reports hung', async () => {
  const { p } = start('hang', { hangTimeoutMs: 400, killGraceMs: 2000 });
  const outcome = await (await p).outcome;
  assert.equal(outcome.kind, 'hung');
  assert.match(outcome.message, /no progress/);
});

test('an interpreter that does not exist fails to launch with a clear error', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'rd-launch-'));
  await assert.rejects(
    launchTrainer({ python: '/nonexistent/python3', trainerRoot: __dirname, runDir }),
    /Could not start the trainer with \/nonexistent\/python3/,
  );
});

/** Pids of the processes whose command line names `needle` (Linux /proc). */
function processesNaming(needle: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(needle)) found.push(Number(name));
    } catch {
      /* ended meanwhile */
    }
  }
  return found;
}

test('a pid file that cannot be written fails the launch and stops the trainer it started', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'rd-launch-'));
  // A folder where the pid file should go: writing it fails (EISDIR), as on a full or read-only disk.
  mkdirSync(join(runDir, PID_FILE));
  await assert.rejects(
    launchTrainer({ python: process.execPath, trainerRoot: __dirname, runDir, argvOverride: [FAKE, 'hang', runDir], hangTimeoutMs: 0 }),
    /Could not write the trainer's pid file .*the trainer was stopped/,
  );
  // The 'hang' trainer would run forever: it must be gone, not left running untracked.
  const deadline = Date.now() + 5000;
  while (processesNaming(runDir).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const left = processesNaming(runDir);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  assert.deepEqual(left, []);
});

test('train arguments are built as an array with one budget flag', () => {
  assert.deepEqual(buildTrainArgs({ objective: 'diffusion', preset: 'tiny', minutes: 5, device: 'cpu' }), [
    '--objective', 'diffusion', '--preset', 'tiny', '--minutes', '5', '--device', 'cpu',
  ]);
  assert.deepEqual(buildTrainArgs({ epochs: 3, minutes: 5, resume: true }), ['--epochs', '3', '--resume']);
});
