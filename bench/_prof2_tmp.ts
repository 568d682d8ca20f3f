import { CachedOnnxModel, OnnxModel } from '../extension/engine/model';
import { cachedDiffusionInfill } from '../extension/engine/cached';
const preset = process.argv[2] ?? 'tiny';
const mode = process.argv[3] ?? 'full';
const dir = '/tmp/rd-engine-bench/';
const V = 8192;
function med(a: number[]) { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; }
(async () => {
  const prefix = Array.from({ length: 512 }, (_, i) => 6 + (i * 37) % 8000);
  const ts: number[] = [];
  if (mode === 'full') {
    const m = await OnnxModel.open(`${dir}${preset}-8192-g3.onnx`, V, { threads: 2 });
    const ids = BigInt64Array.from([...prefix, ...new Array(16).fill(2)], BigInt);
    for (let r = 0; r < 12; r++) { const t = performance.now(); await m.forward(ids, 1, 528); ts.push(performance.now() - t); }
  } else {
    const m = await CachedOnnxModel.open(`${dir}${preset}-8192-g3.context.onnx`, `${dir}${preset}-8192-g3.step.onnx`, V, { threads: 2 });
    for (let r = 0; r < 8; r++) { const t = performance.now(); await cachedDiffusionInfill(m, prefix, [], 16, { threshold: 2 }); ts.push(performance.now() - t); }
  }
  console.log(preset, mode, 'spin', process.env.RD_SPIN ?? 'default', 'median', med(ts).toFixed(1), ts.map((x) => x.toFixed(0)).join(' '));
})();
