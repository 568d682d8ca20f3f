// Curves from progress events, the crossover, the sentence and the chart, on event tables written
// by hand (the shapes a trainer emits: start, step, eval, done).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curveFromEvents, findCrossover, pairPoints, resultSentence, trainingFlops, renderCompareSvg } from '../../extension/compare/index';
import type { TrainerEvent } from '../../extension/training/protocol';

/** A run's events: eval every 10 steps of 4 x 32 tokens, one eval per given exact match. */
function run(objective: string, exacts: number[], params = 1000): TrainerEvent[] {
  const ev: TrainerEvent[] = [{ type: 'start', time: 1, objective, params, batch_size: 4, seq_len: 32, world_size: 1, preset: 'nano', tokens_per_epoch: 640 }];
  exacts.forEach((x, i) => {
    const step = (i + 1) * 10;
    ev.push({ type: 'step', time: 2 + i, step: step - 1, epoch: (step - 1) / 5, loss: 1, tokens_per_s: 900 });
    ev.push({ type: 'step', time: 2 + i, step, epoch: step / 5, loss: 1, tokens_per_s: 1000 });
    ev.push({ type: 'eval', time: 2 + i, step, epoch: step / 5, infill_exact: x, infill_edit_sim: x / 2 + 0.1, val_loss: 2 });
  });
  const steps = exacts.length * 10;
  ev.push({ type: 'done', time: 99, reason: 'budget', step: steps, tokens: steps * 128, epoch: steps / 5, elapsed_s: 12.5 });
  return ev;
}

test('a curve puts each evaluation on the token and FLOP axis (6 x params x tokens)', () => {
  const c = curveFromEvents(run('diffusion', [0, 0.25]));
  assert.equal(c.tokensPerStep, 128);
  assert.deepEqual(c.points.map((p) => [p.step, p.tokens, p.flops]), [[10, 1280, 6 * 1000 * 1280], [20, 2560, 6 * 1000 * 2560]]);
  assert.equal(trainingFlops(1000, 2560), 15_360_000);
  assert.equal(c.trainedTokens, 2560);
  assert.equal(c.wallSeconds, 12.5);
  assert.equal(c.tokensPerSecond, 1000, 'a step right after an evaluation is left out of the rate');
});

test('after a resume the latest evaluation of a step wins', () => {
  const ev = run('diffusion', [0.1, 0.2]);
  ev.push({ type: 'eval', time: 100, step: 20, epoch: 4, infill_exact: 0.5 });
  assert.equal(curveFromEvents(ev).points.at(-1)!.exact, 0.5);
});

test('the crossover is where diffusion gets ahead and stays ahead, after AR led', () => {
  const d = curveFromEvents(run('diffusion', [0.0, 0.1, 0.3, 0.2, 0.4, 0.5]));
  const a = curveFromEvents(run('autoregressive', [0.1, 0.2, 0.25, 0.3, 0.3, 0.3]));
  const pairs = pairPoints(d, a, 'exact');
  assert.equal(pairs.length, 6);
  const x = findCrossover(pairs, d)!;
  // Ahead at step 30, behind again at 40, ahead for good from step 50.
  assert.equal(x.step, 50);
  assert.equal(x.epoch, 10);
  assert.equal(x.flops, 6 * 1000 * 50 * 128);
  const s = resultSentence(pairs, x, { diffusion: 0.312, autoregressive: 0.245, label: 'exact match' }, 'budget');
  assert.match(s, /^diffusion passed AR at epoch 10\.0 \(3\.84e7 training FLOPs\) and stayed ahead; at the end 31\.2% \(diffusion\) vs 24\.5% \(AR\) exact match\.$/);
});

test('no crossover: AR ahead at the end, or diffusion ahead from the start', () => {
  const d = curveFromEvents(run('diffusion', [0.0, 0.1]));
  const a = curveFromEvents(run('autoregressive', [0.1, 0.2]));
  const pairs = pairPoints(d, a, 'exact');
  assert.equal(findCrossover(pairs, d), undefined);
  assert.match(resultSentence(pairs, undefined, { diffusion: 0.1, autoregressive: 0.2, label: 'x' }, '1,000 tokens'), /^no crossover within this budget \(1,000 tokens\): at the last paired evaluation \(epoch 4\.0\) AR was ahead at 10\.0% vs 20\.0%/);
  const lead = pairPoints(a, d, 'exact');
  assert.equal(findCrossover(lead, a), undefined);
  assert.match(resultSentence(lead, undefined, { diffusion: 0.2, autoregressive: 0.1, label: 'x' }, 'b'), /^diffusion led AR from the first evaluation/);
});

test('the chart has both curves, the retrieval level, axes, a legend and the crossover marker', () => {
  const d = curveFromEvents(run('diffusion', [0.0, 0.1, 0.4]));
  const a = curveFromEvents(run('autoregressive', [0.1, 0.2, 0.2]));
  const x = findCrossover(pairPoints(d, a, 'exact'), d);
  assert.ok(x);
  const svg = renderCompareSvg({ title: 'T <&>', diffusion: d, autoregressive: a, retrievalExact: 0.15, crossover: x, subtitle: 's' });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.equal((svg.match(/<path d="M/g) ?? []).length, 8, 'two curves and their edit-similarity companions in each panel');
  assert.equal((svg.match(/stroke-dasharray="6 4"/g) ?? []).length, 3, 'the retrieval line in both panels and the legend');
  assert.equal((svg.match(/>crossover</g) ?? []).length, 2);
  assert.match(svg, /T &lt;&amp;&gt;/);
  assert.match(svg, /epochs \(passes over the unique training tokens\)/);
  assert.match(svg, /training FLOPs \(6 x params x tokens\)/);
  assert.match(svg, /retrieval, exact \(no training\)/);
  assert.equal(svg, renderCompareSvg({ title: 'T <&>', diffusion: d, autoregressive: a, retrievalExact: 0.15, crossover: x, subtitle: 's' }), 'the same figures give the same bytes');
});
