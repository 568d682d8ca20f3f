import { ensureRecordedRuns } from './recordedRuns';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBaseline, followMetrics, listRuns, readMetrics, runFolderName, trainerLiveness } from '../../extension/training/runState';
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

test('a run with a live pid file is running; a stale pid file is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-state-'));
  const run = join(dir, runFolderName(new Date(Date.UTC(2026, 0, 1))));
  mkdirSync(run);
  writeFileSync(join(run, 'trainer.pid'), JSON.stringify({ pid: process.pid, startedAt: Date.now(), python: 'node', args: [] }));
  assert.equal(trainerLiveness(run).alive, true);
  assert.equal((await listRuns(dir))[0].status, 'running');
  writeFileSync(join(run, 'trainer.pid'), JSON.stringify({ pid: 2 ** 22 + 12345, startedAt: 0, python: 'x', args: [] }));
  assert.equal(trainerLiveness(run).alive, false);
  // a pid that now belongs to another program (this test process, whose argv lacks the run args)
  writeFileSync(join(run, 'trainer.pid'), JSON.stringify({ pid: process.pid, startedAt: 0, python: 'python3', args: ['-m', 'trainer', 'train', '/other/run'] }));
  assert.equal(trainerLiveness(run).reason, process.platform === 'linux' ? 'pid reused by another program' : undefined);
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
