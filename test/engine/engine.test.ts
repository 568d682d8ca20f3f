// The orchestrator with a deterministic fake model: stages in order, canvas growth, cache,
// cancellation mid-decode, disposal, evaluation through the same engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DECODE_WINDOW, DEFAULT_MAX_POSITIONS, InfillEngine, servedPositions, UNSURE_AFTER_STEPS, UNSURE_MARGIN, confidenceOf, evaluateTasks, postprocess, shownConfidences, type ReleasableModel } from '../../extension/engine/index';
import { FakeModel, makeRun, tempDir, testTokenizer, type Rule } from './helpers';

const { tok } = testTokenizer();

/** An engine over a fake model built from `rule`; the fake is returned for call counts. `sampler`: model.json's, merged in. */
async function engineWith(rule: Rule, delayMs = 0, options = {}, sampler: Record<string, unknown> = {}) {
  const dir = makeRun(tempDir(), { sampler });
  const models: FakeModel[] = [];
  const engine = await InfillEngine.load(dir, {
    ...options,
    openModel: async (_path, meta): Promise<ReleasableModel> => {
      const m = new FakeModel(meta.vocabSize, rule, delayMs);
      models.push(m);
      return m;
    },
  });
  return { engine, models, dir };
}

/** Predicts `middle` (as token ids) in the canvas right after the prefix's tokens, then pad. */
function middleRule(prefix: string, suffix: string, middle: string): Rule {
  const p0 = tok.encode(prefix).length;
  const sLen = tok.encode(suffix).length;
  const target = tok.encode(middle);
  return (ids, t) => {
    if (t < p0 || t >= ids.length - sLen) return [];
    const i = t - p0;
    return [[i < target.length ? target[i] : 0, 12]];
  };
}

test('complete runs context -> sampler -> postprocess and reports its figures', async () => {
  const prefix = 'def add(a, b):\n    return ';
  const suffix = '\n\nclass Box:\n';
  const { engine } = await engineWith(middleRule(prefix, suffix, 'a + b\nprint(1)'));
  const r = await engine.complete({ prefix, suffix });
  assert.equal(r.text, 'a + b'); // single line: stopped at the line end
  assert.equal(r.mode, 'line');
  assert.equal(r.canvas, 16);
  assert.equal(r.cached, false);
  assert.ok(r.tokens > 0 && r.steps >= 1 && r.ms >= 0);
  await engine.dispose();
});

test('the canvas grows (16 -> 32 -> 64) while the model fills it to the end', async () => {
  const prefix = 'x = ';
  const middle = 'a'.repeat(1) + ' + b'.repeat(12); // longer than 16 and 32 tokens
  const n = tok.encode(middle).length;
  assert.ok(n > 32 && n < 64, `middle has ${n} tokens`);
  const { engine, models } = await engineWith(middleRule(prefix, '', middle), 0, { decodeWindow: 0 });
  const r = await engine.complete({ prefix, suffix: '' });
  assert.equal(r.canvas, 64);
  assert.equal(r.text, middle);
  assert.equal(models[0].calls, 3); // one parallel step per canvas: 16, 32, 64
  await engine.dispose();
});

test("diffusion decodes in the sampler's sliding window by default, wider while the model is sure of all of it", async () => {
  const prefix = 'x = ';
  const middle = 'a' + ' + b'.repeat(2);
  const n = tok.encode(middle).length;
  assert.ok(n > DEFAULT_DECODE_WINDOW && n < 16, `middle has ${n} tokens`);
  const windowed = await engineWith(middleRule(prefix, '', middle));
  assert.equal(windowed.engine.info.decodeWindow, DEFAULT_DECODE_WINDOW);
  const r = await windowed.engine.complete({ prefix, suffix: '' });
  // the first 8 positions, all sure; then twice as far, which holds the rest and the pad
  assert.deepEqual([r.text, r.canvas, windowed.models[0].calls], [middle, 16, 2]);
  const whole = await engineWith(middleRule(prefix, '', middle), 0, { decodeWindow: 0 });
  assert.equal(whole.engine.info.decodeWindow, 0);
  const w = await whole.engine.complete({ prefix, suffix: '' });
  assert.deepEqual([w.text, whole.models[0].calls], [middle, 1]);
  await windowed.engine.dispose();
  await whole.engine.dispose();
  // model.json's sampler.window (the one the trainer evaluated with) is the default; an option overrides it
  const asScored = await engineWith(middleRule(prefix, '', middle), 0, {}, { window: 0 });
  assert.equal(asScored.engine.info.decodeWindow, 0);
  const s = await asScored.engine.complete({ prefix, suffix: '' });
  assert.deepEqual([s.text, asScored.models[0].calls], [middle, 1]);
  const overridden = await engineWith(middleRule(prefix, '', middle), 0, { decodeWindow: 4 }, { window: 0 });
  assert.equal(overridden.engine.info.decodeWindow, 4);
  for (const bad of [-1, 2.5, '8']) { // not a window: the engine's default
    const e = await engineWith(middleRule(prefix, '', middle), 0, {}, { window: bad });
    assert.equal(e.engine.info.decodeWindow, DEFAULT_DECODE_WINDOW);
    await e.engine.dispose();
  }
  await asScored.engine.dispose();
  await overridden.engine.dispose();
});

test('under a minConfidence gate a canvas filled well below it is not grown, a hopeless one is abandoned; near or above it nothing changes', async () => {
  const prefix = 'x = ';
  const middle = 'a' + ' + b'.repeat(12); // longer than 32 tokens
  const target = tok.encode(middle);
  const p0 = tok.encode(prefix).length;
  const rule = (logit: number): Rule => (ids, t) => (t < p0 || t >= ids.length ? [] : [[t - p0 < target.length ? target[t - p0] : 0, logit]]);
  // ~0.70 sure everywhere (e^6.55 / (e^6.55 + 299)) with tau 0.5: each canvas filled in one step
  // (the whole canvas a step: the gate's logic, not the sampler's window, is what is counted here)
  const quick = await engineWith(rule(6.55), 0, { threshold: 0.5, decodeWindow: 0 });
  const kept = await quick.engine.complete({ prefix, suffix: '', minConfidence: 0.9 });
  assert.deepEqual([kept.canvas, kept.steps], [16, 1]); // 0.70 < 0.9 - UNSURE_MARGIN: not grown
  assert.ok(kept.confidence > 0.65 && kept.confidence < 0.75, `confidence ${kept.confidence}`);
  const free = await quick.engine.complete({ prefix, suffix: '', minConfidence: 0 });
  assert.deepEqual([free.canvas, free.steps], [64, 3]); // without a gate: 16 -> 32 -> 64
  // ~0.06 sure with tau 0.9: one position a step; abandoned after UNSURE_AFTER_STEPS, reported below the gate
  const hopeless = await engineWith(rule(3), 0, { decodeWindow: 0 });
  const dropped = await hopeless.engine.complete({ prefix, suffix: '', minConfidence: 0.6 });
  assert.deepEqual([dropped.canvas, dropped.steps], [16, UNSURE_AFTER_STEPS]);
  assert.ok(dropped.confidence < 0.6 - UNSURE_MARGIN, `confidence ${dropped.confidence}`);
  const whole = await hopeless.engine.infill({ prefix, suffix: '', mode: 'line' }); // evaluation's stage: never abandoned
  assert.ok(whole.steps > UNSURE_AFTER_STEPS && whole.abandoned === undefined);
  // ~0.55 sure, a gate of 0.6: within the margin, sampled as without a gate
  const near = await engineWith(rule(5.9), 0, { decodeWindow: 0 });
  const a = await near.engine.complete({ prefix, suffix: '', minConfidence: 0.6 });
  const b = await near.engine.complete({ prefix, suffix: '', minConfidence: 0 });
  assert.deepEqual([a.canvas, a.steps, a.text, a.confidence], [b.canvas, b.steps, b.text, b.confidence]);
  assert.equal(a.canvas, 64);
  const sure = await engineWith(rule(12), 0, { decodeWindow: 0 });
  const grown = await sure.engine.complete({ prefix, suffix: '', minConfidence: 0.6 });
  assert.deepEqual([grown.canvas, grown.text], [64, middle]);
  await Promise.all([quick, hopeless, near, sure].map((x) => x.engine.dispose()));
});

test('a single-line request whose full canvas already holds its line does not grow the canvas', async () => {
  const prefix = 'x = ';
  const middle = 'a + b\n' + 'c = d + e + f + g + h + i + j + k + l'; // the line, then more than the canvas
  assert.ok(tok.encode(middle).length > 16);
  const { engine, models } = await engineWith(middleRule(prefix, '', middle));
  const r = await engine.complete({ prefix, suffix: '', mode: 'line' });
  assert.deepEqual([r.text, r.canvas], ['a + b', 16]);
  assert.equal(models[0].calls, 1); // the filled 16-token canvas already ends the line: no 32, no 64
  await engine.dispose();
});

test('a line request stops sampling at its decided line break: the same text and confidence in fewer steps', async () => {
  const prefix = 'x = ';
  const middle = 'a + b\nprint(1)';
  const target = tok.encode(middle);
  const nl = target.findIndex((id) => tok.decode([id]).includes('\n'));
  assert.ok(nl > 0 && nl < target.length - 1, `line break at ${nl} of ${target.length}`);
  // Unsure everywhere: one position a step, left to right.
  const p0 = tok.encode(prefix).length;
  const rule: Rule = (ids, t) => (t < p0 || t >= ids.length ? [] : [[t - p0 < target.length ? target[t - p0] : 0, 3]]);
  const { engine, models } = await engineWith(rule);
  const full = await engine.infill({ prefix, suffix: '', mode: 'line' }); // the sampling stage: no early exit
  const calls = models[0].calls;
  const r = await engine.complete({ prefix, suffix: '', mode: 'line' });
  assert.equal(r.steps, nl + 1);
  assert.equal(models[0].calls - calls, nl + 1);
  assert.ok(full.steps > r.steps + 1, `${full.steps} steps without the exit`);
  assert.equal(r.text, postprocess(full.text, { prefix, suffix: '', mode: 'line' }));
  assert.equal(r.text, 'a + b');
  const shown = shownConfidences((ids) => tok.decode(ids), full.ids, full.confidences, full.text, r.text);
  assert.equal(r.confidence, confidenceOf(shown).mean);
  await engine.dispose();
});

test('a second identical request is served from the cache; typing through it too', async () => {
  const prefix = 'y = ';
  const { engine, models } = await engineWith(middleRule(prefix, '', 'foo(1)'));
  const a = await engine.complete({ prefix, suffix: '' });
  assert.equal(a.text, 'foo(1)');
  assert.ok(a.confidence > 0.9 && a.confidence <= 1, `a sure model's confidence: ${a.confidence}`);
  const raw = await engine.infill({ prefix, suffix: '', mode: 'line' });
  assert.equal(a.confidence, raw.confidences.reduce((x, y) => x + y, 0) / raw.confidences.length); // the mean
  const calls = models[0].calls;
  const b = await engine.complete({ prefix, suffix: '' });
  assert.deepEqual([b.text, b.cached, b.confidence], ['foo(1)', true, a.confidence]);
  const c = await engine.complete({ prefix: prefix + 'foo', suffix: '' });
  assert.deepEqual([c.text, c.cached], ['(1)', true]);
  assert.equal(models[0].calls, calls);
  await engine.dispose();
});

test('cancellation mid-decode rejects with AbortError and runs no further pass', async () => {
  // Low confidence everywhere: one position a step, 16 steps if not cancelled.
  const { engine, models } = await engineWith((ids, t) => [[100, 1]], 5);
  const controller = new AbortController();
  const pending = engine.complete({ prefix: 'z = ', suffix: '' }, controller.signal);
  while (models[0].calls < 3) await new Promise((r) => setImmediate(r));
  controller.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  const calls = models[0].calls;
  assert.ok(calls < 16, `${calls} passes`);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(models[0].calls, calls);
  // An already aborted signal does nothing at all.
  await assert.rejects(engine.complete({ prefix: 'q', suffix: '' }, controller.signal), { name: 'AbortError' });
  await engine.dispose();
});

test('dispose releases the model and refuses later requests', async () => {
  const { engine, models } = await engineWith((ids, t) => [[0, 12]]);
  await engine.dispose();
  assert.equal(models[0].released, true);
  await assert.rejects(engine.complete({ prefix: 'a', suffix: '' }), /disposed/);
});

test('an autoregressive model is sampled with the AR sampler', async () => {
  const dir = makeRun(tempDir(), { objective: 'autoregressive' });
  const target = tok.encode('hello');
  const rule: Rule = (ids, t) => {
    const m = ids.indexOf(5);
    if (t !== ids.length - 1 || t < m) return [];
    const k = t - m;
    return [[k < target.length ? target[k] : 1, 10]];
  };
  const engine = await InfillEngine.load(dir, { openModel: async (_p, meta) => new FakeModel(meta.vocabSize, rule) });
  const r = await engine.complete({ prefix: 'say ', suffix: '' });
  assert.equal(r.text, 'hello');
  assert.equal(r.steps, target.length + 1);
  await engine.dispose();
});

test('evaluateTasks scores exact match and edit similarity per kind, with the oracle length', async () => {
  const prefix = 'def add(a, b):\n    return ';
  const suffix = '\n';
  const { engine, dir } = await engineWith(middleRule(prefix, suffix, 'a + b'));
  const tasks = [
    { id: '1', kind: 'line', prefix, middle: 'a + b', suffix },
    { id: '2', kind: 'span', prefix, middle: 'a - b', suffix },
  ];
  writeFileSync(join(dir, 'eval.jsonl'), tasks.map((t) => JSON.stringify(t)).join('\n'));
  const r = await evaluateTasks(engine, tasks, { oracleLength: true });
  assert.equal(r.tasks, 2);
  assert.equal(r.exact, 0.5);
  assert.equal(r.by_kind.line.exact, 1);
  assert.equal(r.by_kind.span.exact, 0);
  assert.ok(Math.abs(r.by_kind.span.edit_sim - 0.8) < 1e-9);
  assert.equal(r.raw_exact, 0.5);
  assert.equal(r.samples.length, 2);
  const free = await evaluateTasks(engine, tasks);
  assert.equal(free.exact, 0.5);
  await engine.dispose();
});

test('maxPositions caps what a request feeds the model (context and canvas), never above max_seq_len nor below two line canvases', async () => {
  const prefix = 'x = a + b\n'.repeat(200);
  const suffix = 'y = c * d\n'.repeat(200);
  const seen: number[] = [];
  const rule: Rule = (ids) => {
    seen.push(ids.length);
    return [[0, 12]]; // pad everywhere: a one-step completion
  };
  const longest = async (options: { maxPositions?: number }) => {
    seen.length = 0;
    const { engine } = await engineWith(rule, 0, { ...options, cacheSize: 0 });
    await engine.complete({ prefix, suffix });
    const positions = engine.info.positions;
    await engine.dispose();
    return [Math.max(...seen), positions];
  };
  assert.deepEqual(await longest({}), [256, 256], 'the whole window by default (makeRun: max_seq_len 256)');
  const [fed, positions] = await longest({ maxPositions: 100 });
  assert.equal(positions, 100);
  assert.ok(fed <= 100 && fed > 80, `fed ${fed} positions`); // cut at line ends: close to the cap, never over
  assert.deepEqual(await longest({ maxPositions: 4096 }), [256, 256], 'never more than the model trained on');
  assert.equal((await longest({ maxPositions: 5 }))[1], 32, 'room for a line canvas and some context');
  assert.deepEqual(await longest({ maxPositions: 0 }), [256, 256], '0: the model\'s own window (the setting\'s "off")');
  // a model trained on 1024 positions (base, large) is served 512 unless told otherwise
  const base = { maxSeqLen: 1024 } as Parameters<typeof servedPositions>[0];
  assert.equal(DEFAULT_MAX_POSITIONS, 512);
  assert.deepEqual([servedPositions(base), servedPositions(base, 0), servedPositions(base, 768)], [512, 1024, 768]);
});
