// The samplers with a deterministic fake model: the contract's invariants (docs/contracts.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arInfill, diffusionInfill, pickRow, forbiddenMask, DEFAULT_SPECIAL_IDS } from '../../extension/engine/index';
import { EOS, FakeModel, MASK, PAD, targetRule } from './helpers';

const V = 300;
const P = [10, 11, 12, 13];
const S = [20, 21];

test('pickRow forbids mask and fim ids and takes the lowest id on ties', () => {
  const row = new Float32Array(V);
  row[MASK] = 50; row[3] = 50; row[4] = 50; row[5] = 50; // forbidden, however large
  row[40] = 7; row[30] = 7; // a tie: the lowest id wins
  const [pred, conf] = pickRow(row, 0, V, forbiddenMask(V, DEFAULT_SPECIAL_IDS));
  assert.equal(pred, 30);
  assert.ok(conf > 0.4 && conf < 0.5, `conf ${conf}`);
});

test('diffusion infill writes the middle and stops at the pad', async () => {
  const target = [40, 41, 42, 43, 44];
  const model = new FakeModel(V, targetRule(P.length, S.length, target));
  const r = await diffusionInfill(model, P, S, 16);
  assert.deepEqual(r.ids, target);
  assert.equal(r.filled, false);
  assert.equal(r.steps, 1); // every position above tau: one parallel step
});

test('diffusion infill never emits mask or fim ids, even when the model prefers them', async () => {
  const model = new FakeModel(V, (ids, t) => [[MASK, 30], [3, 30], [4, 30], [5, 30], [50 + (t % 7), 5]]);
  const r = await diffusionInfill(model, P, S, 16);
  assert.equal(r.ids.length, 16);
  assert.ok(r.ids.every((id) => id > 5), `ids ${r.ids}`);
  assert.equal(r.filled, true);
});

test('diffusion infill stops once everything left of a decided pad is decided', async () => {
  // Position 3 is a confident pad; positions 0..2 are unsure (one a step); 4.. never decided.
  const rule = (ids: number[], t: number): Array<[number, number]> => {
    const i = t - P.length;
    if (i < 0 || i >= 16) return [];
    if (i === 3) return [[PAD, 12]];
    if (i < 3) return [[60 + i, 4 - i * 0.5]];
    return [[70, 1]];
  };
  const r = await diffusionInfill(new FakeModel(V, rule), P, S, 16);
  assert.deepEqual(r.ids, [60, 61, 62]);
  assert.equal(r.filled, false);
  assert.equal(r.steps, 4); // pad in step 1, then 60, 61, 62 one by one (most confident first)
});

test('EOS ends the middle like PAD', async () => {
  const model = new FakeModel(V, (ids, t) => (t === P.length + 2 ? [[EOS, 12]] : t >= P.length && t < P.length + 16 ? [[80, 12]] : []));
  const r = await diffusionInfill(model, P, S, 16);
  assert.deepEqual(r.ids, [80, 80]);
});

/**
 * Eight canvas positions, each predicting 100 + its index; position 5 the most confident, the rest
 * tied below it. `order` records the positions in the order they were decided, as each forward
 * pass sees the canvas.
 */
function orderedModel(): { model: FakeModel; order: number[] } {
  const order: number[] = [];
  const model = new FakeModel(V, (ids, t) => {
    const i = t - P.length;
    if (i < 0 || i >= 8) return [];
    return [[100 + i, i === 5 ? 6 : 3]];
  });
  const forward = model.forward.bind(model);
  model.forward = async (ids, b, s) => {
    const decided = Array.from(ids.subarray(P.length, P.length + 8), Number).map((id, i) => (id !== MASK ? i : -1)).filter((i) => i >= 0);
    for (const i of decided) if (!order.includes(i)) order.push(i);
    return forward(ids, b, s);
  };
  return { model, order };
}

test('threshold 1 decodes one position a step, most confident first, leftmost on ties', async () => {
  const { model, order } = orderedModel();
  const r = await diffusionInfill(model, P, S, 8, { threshold: 1 });
  assert.equal(r.steps, 8);
  assert.deepEqual(r.ids, [100, 101, 102, 103, 104, 105, 106, 107]);
  assert.deepEqual(order, [5, 0, 1, 2, 3, 4, 6]); // as seen by the next forward pass
});

test('a sliding window decides among the leftmost undecided positions only', async () => {
  const { model, order } = orderedModel();
  const r = await diffusionInfill(model, P, S, 8, { threshold: 1, window: 3 });
  assert.equal(r.steps, 8);
  assert.deepEqual(r.ids, [100, 101, 102, 103, 104, 105, 106, 107]);
  // position 5 waits until it is among the three leftmost undecided ones (after 0, 1, 2), then wins
  assert.deepEqual(order, [0, 1, 2, 5, 3, 4, 6]);
  // a window as wide as the canvas is no window
  order.length = 0;
  const wide = await diffusionInfill(model, P, S, 8, { threshold: 1, window: 8 });
  assert.deepEqual([wide.ids, order], [r.ids, [5, 0, 1, 2, 3, 4, 6]]);
  // above tau a step decides its whole window at once, never past it; the next looks twice as far
  const sure = new FakeModel(V, (ids, t) => (t >= P.length && t < P.length + 8 ? [[100 + t - P.length, 20]] : []));
  const seen: number[] = [];
  const forwardSure = sure.forward.bind(sure);
  sure.forward = async (ids, b, s) => {
    seen.push(Array.from(ids.subarray(P.length, P.length + 8), Number).filter((id) => id !== MASK).length);
    return forwardSure(ids, b, s);
  };
  const fast = await diffusionInfill(sure, P, S, 8, { threshold: 0.9, window: 3 });
  assert.deepEqual([fast.ids.length, fast.steps, seen], [8, 2, [0, 3]]); // 3, then the 5 left (a window of 6)
  // back to the start width after a step that left part of its window undecided
  const mixed = new FakeModel(V, (ids, t) => (t >= P.length && t < P.length + 12 ? [[100 + t - P.length, t - P.length === 3 || t - P.length === 4 ? 3 : 20]] : []));
  const m = await diffusionInfill(mixed, P, S, 12, { threshold: 0.9, window: 2 });
  // steps: {0,1} sure (a window of 4 next); {2,3,4,5}: 2 and 5 sure, 3 and 4 not (back to 2);
  // {3,4}: the leftmost of a tie; then {4,6}, {4,7}, ..., {4,11}: one sure position a step while 4
  // holds its place; {4}. The price of a window: the whole canvas takes 3 steps (all the sure ones, 3, 4).
  assert.deepEqual([m.ids.length, m.steps], [12, 10]);
  const whole = await diffusionInfill(mixed, P, S, 12, { threshold: 0.9 });
  assert.deepEqual([whole.ids, whole.steps], [m.ids, 3]);
});

test('below the threshold, content is decided before a more confident trailing pad (ends last)', async () => {
  // Canvas 0..3: content 60 (logit 3) and 61 (logit 4) are less sure than the pads at 2 and 3
  // (logit 6); none reaches tau. The pads wait; then, with only ends left, both go in one step.
  const rule = (ids: number[], t: number): Array<[number, number]> => {
    const i = t - P.length;
    if (i < 0 || i >= 4) return [];
    return i < 2 ? [[60 + i, 3 + i]] : [[PAD, 6]];
  };
  const r = await diffusionInfill(new FakeModel(V, rule), P, S, 4);
  assert.deepEqual(r.ids, [60, 61]);
  assert.equal(r.filled, false);
  assert.equal(r.steps, 3); // 61, then 60, then both pads
});

test('a canvas whose every position predicts an end is decided in one step and gives nothing', async () => {
  const rule = (ids: number[], t: number): Array<[number, number]> => (t >= P.length && t < P.length + 4 ? [[t % 2 ? PAD : EOS, 2]] : []);
  const r = await diffusionInfill(new FakeModel(V, rule), P, S, 4);
  assert.deepEqual([r.ids, r.filled, r.steps], [[], false, 1]);
});

test('the same inputs give the same ids and steps', async () => {
  const rule = (ids: number[], t: number): Array<[number, number]> => {
    const left = ids[t - 1] ?? 0;
    return [[(left * 7 + t) % 250 + 6, 2 + (t % 3)], [((left * 3) % 250) + 6, 2 + ((t + 1) % 3)]];
  };
  const a = await diffusionInfill(new FakeModel(V, rule), P, S, 16);
  const b = await diffusionInfill(new FakeModel(V, rule), P, S, 16);
  assert.deepEqual(a, b);
  assert.ok(a.steps > 1);
});

test('max steps bounds the decoding; undecided positions are skipped', async () => {
  const rule = (ids: number[], t: number): Array<[number, number]> => (t >= P.length && t < P.length + 6 ? [[90, 2]] : []);
  const r = await diffusionInfill(new FakeModel(V, rule), P, S, 6, { maxSteps: 2 });
  assert.equal(r.steps, 2);
  assert.deepEqual(r.ids, [90, 90]);
});

test('an aborted signal stops the decoding between steps', async () => {
  const controller = new AbortController();
  const model = new FakeModel(V, (ids, t) => (t >= P.length && t < P.length + 16 ? [[90, 2]] : []));
  const forward = model.forward.bind(model);
  model.forward = async (ids, b, s) => {
    if (model.calls === 2) controller.abort();
    return forward(ids, b, s);
  };
  await assert.rejects(diffusionInfill(model, P, S, 16, { threshold: 1, signal: controller.signal }), { name: 'AbortError' });
  assert.equal(model.calls, 3); // the third pass was running when the signal fired; no fourth
});

test('AR infill: greedy after <fim_middle>, stops at EOS, forbids mask and fim ids', async () => {
  const target = [40, 41, 42];
  const rule = (ids: number[], t: number): Array<[number, number]> => {
    const m = ids.indexOf(DEFAULT_SPECIAL_IDS.fimMiddle);
    if (t < m || t !== ids.length - 1) return [];
    const k = t - m;
    return [[MASK, 40], [3, 40], [k < target.length ? target[k] : EOS, 10]];
  };
  const model = new FakeModel(V, rule);
  const r = await arInfill(model, P, S, 10);
  assert.deepEqual(r.ids, target);
  assert.equal(r.filled, false);
  assert.equal(r.steps, 4);
  const short = await arInfill(new FakeModel(V, rule), P, S, 2);
  assert.deepEqual(short.ids, [40, 41]);
  assert.equal(short.filled, true);
});

test('each decided id carries its confidence at the step that decided it: the sure ones in one step, the unsure one after', async () => {
  // positions 0-2 predict their id with logit 12 (p ~ 0.99 of 300 ids), position 3 with logit 4
  // (p ~ 0.15, decided alone in the next step), then pads
  const sure = targetRule(P.length, S.length, [40, 41, 42]);
  const rule = (ids: number[], t: number): Array<[number, number]> => (t === P.length + 3 ? [[43, 4]] : sure(ids, t));
  const r = await diffusionInfill(new FakeModel(V, rule), P, S, 8);
  assert.deepEqual(r.ids, [40, 41, 42, 43]);
  assert.equal(r.confidences.length, r.ids.length);
  for (const c of r.confidences.slice(0, 3)) assert.ok(c > 0.9, `sure: ${c}`);
  const [, unsure] = pickRow(Float32Array.from({ length: V }, (_, v) => (v === 43 ? 4 : 0)), 0, V, forbiddenMask(V, DEFAULT_SPECIAL_IDS));
  assert.equal(r.confidences[3], unsure);
  assert.ok(unsure < 0.3);
  const ar = await arInfill(new FakeModel(V, (ids, t) => (t === ids.length - 1 && ids.length < P.length + S.length + 5 ? [[70, 12]] : [[EOS, 12]])), P, S, 4);
  assert.equal(ar.confidences.length, ar.ids.length);
  assert.ok(ar.ids.length > 0 && ar.confidences.every((c) => c > 0.9));
});

test('`until` ends the decoding once the ids decided from the canvas start without a gap satisfy it', async () => {
  // Unsure everywhere (one position a step), position 5 most sure: decided first, then 0, 1, 2, ...
  const rule = (ids: number[], t: number): Array<[number, number]> => {
    const i = t - P.length;
    if (i < 0 || i >= 16) return [];
    return [[40 + i, i === 5 ? 4 : 3]];
  };
  const seen: number[][] = [];
  const progress: number[] = [];
  const until = (ids: readonly number[], p: { steps: number; meanConfidence: number }) => {
    seen.push([...ids]);
    progress.push(p.steps);
    return ids.includes(42);
  };
  const r = await diffusionInfill(new FakeModel(V, rule), P, S, 16, { until });
  assert.equal(r.steps, 4); // 45, then 40, 41, 42: the prefix [40, 41, 42] holds 42
  assert.deepEqual(r.ids, [40, 41, 42, 45]); // what was decided, in canvas order (the gap skipped)
  assert.deepEqual(seen, [[], [40], [40, 41], [40, 41, 42]]); // asked after every step: nothing from the start at first
  assert.deepEqual(progress, [1, 2, 3, 4]);
  const plain = await diffusionInfill(new FakeModel(V, rule), P, S, 16);
  assert.deepEqual([plain.steps, plain.ids.slice(0, 3)], [16, [40, 41, 42]]); // the same ids, all 16 steps

  const ar = new FakeModel(V, (ids, t) => (t === ids.length - 1 ? [[60 + ids.length % 7, 9]] : []));
  const all = await arInfill(ar, P, S, 10);
  const cut = await arInfill(ar, P, S, 10, { until: (ids) => ids.length === 3 });
  assert.deepEqual([cut.ids, cut.steps, cut.filled], [all.ids.slice(0, 3), 3, false]);
});
