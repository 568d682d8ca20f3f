// The editor-independent training session with real fake-trainer processes: state replay for a
// view that attaches late, batched live events, outcome, cancel, comparison run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainingController } from '../../extension/training/controller';
import { launchTrainer, type LaunchOptions } from '../../extension/training/launcher';
import type { HostMessage } from '../../webview/protocol';
import { applyEvents } from '../../webview/state';

const FAKE = join(__dirname, 'fixtures', 'fakeTrainer.mjs');
const RUNS = join(__dirname, 'fixtures', 'runs');

function fakeLaunch(mode: string) {
  return (o: LaunchOptions) => launchTrainer({ ...o, python: process.execPath, argvOverride: [FAKE, mode, o.runDir] });
}

test('a launched run streams batched events, ends done, and a late view gets the same state', async () => {
  const runsDir = mkdtempSync(join(tmpdir(), 'rd-ctl-'));
  const outcomes: string[] = [];
  const ctl = new TrainingController({ runsDir, trainerRoot: __dirname, flushMs: 10, launch: fakeLaunch('normal'), onOutcome: (_d, o) => outcomes.push(o.kind) });
  const messages: HostMessage[] = [];
  ctl.attach((m) => messages.push(m));
  const runDir = ctl.newRunDir();
  const proc = await ctl.startRun({ runDir, python: 'unused', args: [], runInfo: { objective: 'diffusion', preset: 'tiny' } });
  await proc.outcome;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(outcomes, ['done']);
  assert.equal(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')).preset, 'tiny');
  const cur = ctl.state.current!;
  assert.equal(cur.phase, 'done');
  assert.equal(cur.device, 'cpu');
  assert.equal(cur.series.trainLoss.length, 6);
  assert.equal(cur.best?.step, 6);
  assert.match(cur.best!.why, /held-out infill exact match.*25\.0%/);
  assert.equal(ctl.state.training, false);
  // The view saw a first state, then events; rebuilding from them gives what the host holds.
  const first = messages.find((m) => m.type === 'state' && m.state.current?.runId === cur.runId) as Extract<HostMessage, { type: 'state' }>;
  const events = messages.filter((m): m is Extract<HostMessage, { type: 'events' }> => m.type === 'events').flatMap((m) => m.events);
  assert.ok(events.length >= 12);
  const late: HostMessage[] = [];
  ctl.replayTo((m) => late.push(m));
  assert.equal(late.length, 1);
  assert.equal(late[0].type, 'state');
  assert.deepEqual((late[0] as Extract<HostMessage, { type: 'state' }>).state.current!.series, cur.series);
  assert.ok(first);
  ctl.dispose();
});

test('a crash shows in the run view and frees the controller for a new run', async () => {
  const runsDir = mkdtempSync(join(tmpdir(), 'rd-ctl-'));
  const ctl = new TrainingController({ runsDir, trainerRoot: __dirname, flushMs: 10, launch: fakeLaunch('crash') });
  const proc = await ctl.startRun({ runDir: ctl.newRunDir(), python: 'x', args: [] });
  const outcome = await proc.outcome;
  await new Promise((r) => setImmediate(r));
  assert.equal(outcome.kind, 'crashed');
  assert.equal(ctl.state.current!.phase, 'crashed');
  assert.match(ctl.state.current!.message!, /CUDA out of memory/);
  assert.equal(ctl.state.training, false);
  ctl.dispose();
});

test('cancel stops a running trainer; a second start while running is refused', async () => {
  const runsDir = mkdtempSync(join(tmpdir(), 'rd-ctl-'));
  const ctl = new TrainingController({ runsDir, trainerRoot: __dirname, flushMs: 10, launch: fakeLaunch('cancellable') });
  const runDir = ctl.newRunDir();
  const proc = await ctl.startRun({ runDir, python: 'x', args: [] });
  await assert.rejects(ctl.startRun({ runDir: ctl.newRunDir(new Date(0)), python: 'x', args: [] }), /already in progress/);
  assert.equal(await ctl.cancel(), true);
  const outcome = await proc.outcome;
  assert.equal(outcome.kind, 'cancelled');
  await new Promise((r) => setImmediate(r));
  assert.equal(ctl.state.current!.phase, 'cancelled');
  assert.equal(existsSync(join(runDir, 'trainer.pid')), false);
  ctl.dispose();
});

test('showing a finished run replays it with its corpus and the comparison run', async () => {
  const runsDir = mkdtempSync(join(tmpdir(), 'rd-ctl-'));
  cpSync(RUNS, runsDir, { recursive: true });
  const ctl = new TrainingController({ runsDir, trainerRoot: __dirname });
  const { live } = await ctl.showRun(join(runsDir, '2026-11-27T06-00-00-000Z'));
  assert.equal(live, false);
  assert.equal(ctl.state.current!.phase, 'done');
  assert.equal(ctl.state.current!.objective, 'diffusion');
  assert.equal(ctl.state.comparison!.objective, 'autoregressive');
  assert.equal(ctl.state.corpus!.filesKept, 3);
  assert.equal(ctl.state.runs.length, 2);
  ctl.dispose();
});

test('after a reload, a trainer found by its pid file is followed through metrics.jsonl', async () => {
  const runsDir = mkdtempSync(join(tmpdir(), 'rd-ctl-'));
  // "Before the reload": a trainer started by another controller that is then disposed.
  const before = new TrainingController({ runsDir, trainerRoot: __dirname, launch: fakeLaunch('cancellable') });
  const runDir = before.newRunDir();
  const proc = await before.startRun({ runDir, python: 'x', args: [] });
  before.dispose();
  const after = new TrainingController({ runsDir, trainerRoot: __dirname, followMs: 30, flushMs: 10 });
  const live = await after.findLiveRun();
  assert.equal(live?.dir, runDir);
  const messages: HostMessage[] = [];
  after.attach((m) => messages.push(m));
  assert.equal((await after.showRun(runDir)).live, true);
  const stepsAtAttach = after.state.current!.step ?? 0;
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if ((after.state.current!.step ?? 0) > stepsAtAttach + 2) {
        clearInterval(t);
        resolve();
      }
    }, 20);
  });
  const ended = new Promise<string>((resolve) => {
    const t = setInterval(() => {
      if (!after.state.training) {
        clearInterval(t);
        resolve(after.state.current!.phase);
      }
    }, 20);
  });
  assert.equal(await after.cancel(5000), true);
  await proc.outcome;
  assert.equal(await ended, 'cancelled');
  // the streamed events rebuild the same view the host holds
  const state = messages.filter((m): m is Extract<HostMessage, { type: 'state' }> => m.type === 'state').pop()!;
  assert.ok(state);
  assert.equal(applyEvents(structuredClone(state.state.current!), []).runId, after.state.current!.runId);
  after.dispose();
});
