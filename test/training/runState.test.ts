import { ensureRecordedRuns } from './recordedRuns';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTrainerProcess, findBaseline, followMetrics, listRuns, readMetrics, runFolderName, stopTrainerByPid, trainerLiveness } from '../../extension/training/runState';
import { readCorpusSummary } from '../../extension/training/corpusSummary';
import type { TrainerEvent } from '../../extension/training/protocol';

const RUNS = ensureRecordedRuns();
const DIFF = join(RUNS, '2026-11-27T06-00-00-000Z');

test('a recorded metrics.jsonl replays every event', async () => {
  const r = await readMetrics(join(DIFF, 'metrics.jsonl'));
  assert.equal(r.events.length, 327);
  assert.equal(r.garbage.length, 0);
  assert.equal(r.tornTail, false);
  assert.equal(r.events[0].type, 'start');
  assert.equal(r.events[r.events.length - 1].type, 'done');
});

test('a torn last line is skipped and the offset stops before it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-state-'));
  const path = join(dir, 'metrics.jsonl');
  const whole = '{"type":"start","time":1}\n{"type":"step","time":2,"step":1,"epoch":0.1,"loss":3}\n';
  writeFileSync(path, whole + '{"type":"step","ti');
  const r = await readMetrics(path);
  assert.deepEqual(r.events.map((e) => e.type), ['start', 'step']);
  assert.equal(r.tornTail, true);
  assert.equal(r.offset, Buffer.byteLength(whole));
});

test('a missing metrics file is an empty history', async () => {
  const r = await readMetrics('/nonexistent/metrics.jsonl');
  assert.deepEqual(r.events, []);
});

test('following a metrics file picks up the torn line once it is completed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-state-'));
  const path = join(dir, 'metrics.jsonl');
  writeFileSync(path, '{"type":"start","time":1}\n{"type":"step","ti');
  const first = await readMetrics(path);
  const seen: TrainerEvent[] = [];
  await new Promise<void>((resolve) => {
    const stop = followMetrics(path, first.offset, {
      onEvent: (e) => {
        seen.push(e);
        if (e.type === 'done') {
          stop();
          resolve();
        }
      },
    }, 20);
    appendFileSync(path, 'me":2,"step":1,"epoch":0.1,"loss":3}\n');
    setTimeout(() => appendFileSync(path, '{"type":"done","time":3,"reason":"budget"}\n'), 30);
  });
  assert.deepEqual(seen.map((e) => e.type), ['step', 'done']);
});

test('runs are listed newest first with status, model and best accuracy', async () => {
  const runs = await listRuns(RUNS);
  assert.deepEqual(runs.map((r) => r.id), ['2026-11-27T06-00-00-000Z', '2026-11-27T05-00-00-000Z']);
  const [diff, ar] = runs;
  assert.equal(diff.status, 'done');
  assert.equal(diff.objective, 'diffusion');
  assert.equal(diff.hasModel, true);
  assert.equal(diff.hasCheckpoint, true);
  assert.ok(diff.bestInfillExact! > 0.4);
  assert.equal(ar.objective, 'autoregressive');
  assert.equal(findBaseline(runs, diff)?.id, ar.id);
  assert.equal(findBaseline(runs, ar)?.id, diff.id);
});

/** A real process whose command line names `runDir`, as the trainer's does; ended after the test. */
function standIn(runDir: string): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)', runDir], { stdio: 'ignore' });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function writePid(run: string, content: Record<string, unknown>): void {
  writeFileSync(join(run, 'trainer.pid'), JSON.stringify(content));
}

test('a run with a live pid file is running; a stale pid file is not, and is removed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-state-'));
  const run = join(dir, runFolderName(new Date(Date.UTC(2026, 0, 1))));
  mkdirSync(run);
  const child = standIn(run);
  t.after(() => child.kill('SIGKILL'));
  await once(child, 'spawn');
  writePid(run, { pid: child.pid, startedAt: Date.now(), python: 'python3', args: ['-m', 'trainer', 'train', run] });
  assert.equal((await trainerLiveness(run)).alive, process.platform !== 'win32');
  assert.equal((await listRuns(dir))[0].status, process.platform !== 'win32' ? 'running' : 'new');
  writePid(run, { pid: 2 ** 22 + 12345, startedAt: 0, python: 'x', args: ['-m', 'trainer', 'train', run] });
  assert.deepEqual(await trainerLiveness(run).then((l) => [l.alive, l.reason]), [false, 'process gone']);
  assert.equal(existsSync(join(run, 'trainer.pid')), false, 'the stale pid file is deleted');
});

test('an unrelated process that got the pid is not the trainer and is never signalled', { skip: process.platform === 'win32' && 'no sleep' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-state-'));
  const run = join(dir, runFolderName(new Date(Date.UTC(2026, 0, 1))));
  mkdirSync(run);
  // `sleep 30` stands for a program that was given the trainer's pid after a reboot or crash.
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => sleeper.kill('SIGKILL'));
  await once(sleeper, 'spawn');
  const args = ['-m', 'trainer', 'train', join(dir, 'another-run'), '--objective', 'diffusion', '--preset', 'auto', '--minutes', '30'];
  // the pid file names another run folder; then this one (the pid file is right, the process is not)
  for (const runArg of [join(dir, 'another-run'), run]) {
    args[3] = runArg;
    writePid(run, { pid: sleeper.pid, pgid: sleeper.pid, startedAt: Date.now(), python: 'python3', args });
    const live = await trainerLiveness(run);
    assert.equal(live.alive, false);
    assert.equal(live.reason, 'pid reused by another program');
    assert.equal(existsSync(join(run, 'trainer.pid')), false, 'the stale pid file is deleted');
    writePid(run, { pid: sleeper.pid, pgid: sleeper.pid, startedAt: Date.now(), python: 'python3', args });
    assert.equal((await listRuns(dir))[0].status, 'new');
    writePid(run, { pid: sleeper.pid, pgid: sleeper.pid, startedAt: Date.now(), python: 'python3', args });
    assert.equal(await stopTrainerByPid(run, 300, 50), true);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(sleeper.pid!), true, 'Cancel did not touch the unrelated process');
    assert.equal(sleeper.exitCode, null);
    assert.equal(sleeper.signalCode, null);
  }
});

test('off Linux, the command and the start time from ps decide; on Windows nothing is signalled', { skip: process.platform === 'win32' && 'no ps' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-state-'));
  const run = join(dir, 'run');
  mkdirSync(run);
  const child = standIn(run);
  t.after(() => child.kill('SIGKILL'));
  await once(child, 'spawn');
  const content = { pid: child.pid!, startedAt: Date.now(), python: 'python3', args: ['-m', 'trainer', 'train', run] };
  assert.equal(await checkTrainerProcess(child.pid!, content, run, 'darwin'), 'ours');
  // the same command, but started an hour after the pid file says: a reused pid
  assert.equal(await checkTrainerProcess(child.pid!, { ...content, startedAt: content.startedAt - 3_600_000 }, run, 'darwin'), 'other');
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => sleeper.kill('SIGKILL'));
  await once(sleeper, 'spawn');
  assert.equal(await checkTrainerProcess(sleeper.pid!, { ...content, pid: sleeper.pid! }, run, 'darwin'), 'other');
  // Windows: no safe way to tell, so not alive, not signalled, and the pid file stays.
  writePid(run, content);
  const win = await trainerLiveness(run, 'win32');
  assert.deepEqual([win.alive, win.unverified], [false, true]);
  assert.equal(existsSync(join(run, 'trainer.pid')), true);
});

test('the corpus summary comes from the manifest', () => {
  const c = readCorpusSummary(DIFF)!;
  assert.equal(c.filesKept, 3);
  assert.equal(c.filesSkipped, 3);
  assert.deepEqual(c.skippedByReason, { generated: 1, binary: 2 });
  assert.deepEqual(c.languages.map((l) => l.language), ['python', 'typescript']);
  assert.equal(c.scrubbed, 2);
  assert.equal(c.duplicates, 2);
  assert.equal(c.evalTasks, 90);
  assert.equal(readCorpusSummary(tmpdir()), undefined);
});

test('an incomplete copied run with a checkpoint is listed as incomplete', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-state-'));
  cpSync(DIFF, join(dir, 'r1'), { recursive: true });
  const lines = (await readMetrics(join(DIFF, 'metrics.jsonl'))).events.slice(0, 50).map((e) => JSON.stringify(e)).join('\n') + '\n';
  writeFileSync(join(dir, 'r1', 'metrics.jsonl'), lines);
  const [r] = await listRuns(dir);
  assert.equal(r.status, 'incomplete');
  assert.equal(r.hasCheckpoint, true);
});
