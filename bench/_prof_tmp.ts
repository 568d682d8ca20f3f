import { CachedOnnxModel } from '../extension/engine/model';
import { dropColumns } from '../extension/engine/cached';
import { pickRow, forbiddenMask, DEFAULT_SPECIAL_IDS } from '../extension/engine/sampler';
const preset = process.argv[2] ?? 'tiny';
const threads = Number(process.argv[3] ?? 2);
const dir = '/tmp/rd-engine-bench/';
const V = 8192;
function med(a: number[]) { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; }
(async () => {
  const m = await CachedOnnxModel.open(`${dir}${preset}-8192-g3.context.onnx`, `${dir}${preset}-8192-g3.step.onnx`, V, { threads });
  const P = 512, L = 16, T = P + L;
  const ids = new BigInt64Array(T); for (let i = 0; i < T; i++) ids[i] = BigInt(6 + (i * 37) % 8000);
  for (let i = P; i < T; i++) ids[i] = 2n;
  const pos = new BigInt64Array(L); for (let i = 0; i < L; i++) pos[i] = BigInt(P + i);
  const sc16: number[] = [];
  const forbid = Float32Array.from(forbiddenMask(V, DEFAULT_SPECIAL_IDS), (f) => (f ? -Infinity : 0));
  const full: number[] = [], ctx: number[] = [], drop: number[] = [], step16: number[] = [], step8: number[] = [], step1: number[] = [], pick: number[] = [];
  const forbidden = forbiddenMask(V, DEFAULT_SPECIAL_IDS);
  for (let r = 0; r < 8; r++) {
    let t = performance.now();
    await m.forward(ids, 1, T); full.push(performance.now() - t);
    t = performance.now();
    const out = await m.context(ids, T, pos); ctx.push(performance.now() - t);
    t = performance.now();
    const k = dropColumns(out.keys, P, L), v = dropColumns(out.values, P, L); drop.push(performance.now() - t);
    const canvas = ids.slice(P, T);
    for (const [n, arr] of [[16, step16], [8, step8], [1, step1]] as const) {
      const rows = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
      for (let s = 0; s < 4; s++) { t = performance.now(); const o = await m.step(canvas, pos, k, v, rows); arr.push(performance.now() - t);
        if (n === 16) { t = performance.now(); for (let i = 0; i < 16; i++) pickRow(o.logits, i * V, V, forbidden); pick.push(performance.now() - t); } }
    }
    const rows = BigInt64Array.from({ length: 16 }, (_, i) => BigInt(i));
    for (let s = 0; s < 4; s++) { t = performance.now(); await m.stepScores!(canvas, pos, k, v, rows, forbid); sc16.push(performance.now() - t); }
  }
  console.log(JSON.stringify({ preset, threads, full: med(full), ctx: med(ctx), drop: med(drop), step16: med(step16), step8: med(step8), step1: med(step1), pick16: med(pick), scores16: med(sc16) }));
})();
import { cachedDiffusionInfill } from '../extension/engine/cached';
(async () => {
  await new Promise((r) => setTimeout(r, 8000));
  const m = await CachedOnnxModel.open(`${dir}${preset}-8192-g3.context.onnx`, `${dir}${preset}-8192-g3.step.onnx`, V, { threads });
  const prefix = Array.from({ length: 512 }, (_, i) => 6 + (i * 37) % 8000);
  const ts: number[] = []; let steps = 0;
  for (let r = 0; r < 6; r++) { const t = performance.now(); const o = await cachedDiffusionInfill(m, prefix, [], 16, { threshold: 2 }); ts.push(performance.now() - t); steps = o.steps; }
  console.log('infill', steps, ts.map((x) => x.toFixed(1)).join(' '));
})();
(async () => {
  await new Promise((r) => setTimeout(r, 16000));
  const m = await CachedOnnxModel.open(`${dir}${preset}-8192-g3.context.onnx`, `${dir}${preset}-8192-g3.step.onnx`, V, { threads });
  const prefix = Array.from({ length: 512 }, (_, i) => 6 + (i * 37) % 8000);
  const times: string[] = [];
  const wrap: any = { vocabSize: V, cachedGraphs: true, forward: m.forward.bind(m),
    context: async (...a: any[]) => { const t = performance.now(); const o = await (m.context as any)(...a); times.push('c' + (performance.now() - t).toFixed(1)); return o; },
    step: m.step.bind(m),
    stepScores: async (...a: any[]) => { const t = performance.now(); const o = await (m.stepScores as any)(...a); times.push((performance.now() - t).toFixed(1)); return o; } };
  for (let r = 0; r < 3; r++) { times.length = 0; const t = performance.now(); await cachedDiffusionInfill(wrap, prefix, [], 16, { threshold: 2 }); console.log('total', (performance.now() - t).toFixed(1), times.join(' ')); }
})();
