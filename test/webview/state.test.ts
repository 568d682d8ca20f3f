// The reducer the host and the page share (webview/state.ts), as data-driven cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvents, emptyRun, replayRun, MAX_STEP_POINTS, formatDuration, formatCount } from '../../webview/state';
import type { TrainerEvent } from '../../webview/protocol';

const step = (i: number): TrainerEvent => ({ type: 'step', time: i, step: i, epoch: i / 100, loss: 5 - i / 1e4, tokens_per_s: 1000 });

test('a long run keeps at most MAX_STEP_POINTS points per series, evenly thinned', () => {
  const run = applyEvents(emptyRun('r'), Array.from({ length: 10_000 }, (_, i) => step(i + 1)));
  assert.ok(run.series.trainLoss.length <= MAX_STEP_POINTS);
  assert.ok(run.series.trainLoss.length > MAX_STEP_POINTS / 4);
  assert.equal(run.series.trainLoss.length, run.series.tokensPerS.length);
  const xs = run.series.trainLoss.map((p) => p.x);
  assert.deepEqual(xs, [...xs].sort((a, b) => a - b));
  assert.equal(run.step, 10_000, 'the header always has the latest step');
  const gaps = new Set(xs.slice(1).map((x, i) => Math.round((x - xs[i]) * 100)));
  assert.deepEqual([...gaps], [run.stride]);
});

const cases: Array<{ name: string; events: TrainerEvent[]; expect: Record<string, unknown> }> = [
  { name: 'done with reason budget', events: [{ type: 'start', time: 1 }, { type: 'done', time: 2, reason: 'budget', best_step: 4 }], expect: { phase: 'done', etaS: 0 } },
  { name: 'done cancelled', events: [{ type: 'done', time: 2, reason: 'cancelled' }], expect: { phase: 'cancelled' } },
  { name: 'error with hint', events: [{ type: 'error', time: 2, message: 'disk full', hint: 'free space' }], expect: { phase: 'failed', message: 'disk full', hint: 'free space' } },
  { name: 'history without done is crashed', events: [{ type: 'start', time: 1 }, step(1)], expect: { phase: 'crashed' } },
  { name: 'unknown events change nothing', events: [{ type: 'unknown', originalType: 'x', time: 0 } as TrainerEvent], expect: { phase: 'crashed', step: undefined } },
  { name: 'null planned epochs (minutes budget) stays unknown', events: [{ type: 'start', time: 1, planned_epochs: null as unknown as number }], expect: { plannedEpochs: undefined } },
  {
    name: 'best checkpoint explains itself by infill accuracy',
    events: [{ type: 'eval', time: 1, step: 10, epoch: 1, val_loss: 2, infill_exact: 0.25 }, { type: 'checkpoint', time: 2, step: 10, path: 'b.pt', best: true }],
    expect: { best: { step: 10, epoch: 1, infillExact: 0.25, why: 'highest held-out infill exact match so far (25.0%)' } },
  },
];

for (const c of cases) {
  test(`replay: ${c.name}`, () => {
    const run = replayRun('r', c.events);
    for (const [k, v] of Object.entries(c.expect)) assert.deepEqual((run as unknown as Record<string, unknown>)[k], v, k);
  });
}

test('durations and counts read well', () => {
  assert.equal(formatDuration(59), '59 s');
  assert.equal(formatDuration(61), '1 min 01 s');
  assert.equal(formatDuration(3 * 3600 + 5 * 60), '3 h 05 min');
  assert.equal(formatDuration(undefined), '–');
  assert.equal(formatCount(21_300_000), '21.3 M');
  assert.equal(formatCount(1_250_000_000), '1.25 B');
  assert.equal(formatCount(999), '999');
});
