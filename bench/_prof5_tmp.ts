import * as ort from 'onnxruntime-node';
import { execFileSync } from 'node:child_process';
(async () => {
  const preset = process.argv[2] ?? 'tiny';
  const cfg = JSON.parse(execFileSync('/usr/bin/python3', ['-c', `from trainer.model import PRESETS; import json; print(json.dumps(PRESETS["${preset}"]))`], { encoding: 'utf8' }));
  for (const g of ['step', 'step.int8']) {
    const s = await ort.InferenceSession.create(`/tmp/rd-engine-bench/${preset}-8192-${process.argv[3] ?? 'g4'}.${g}.onnx`, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } } } as any);
    const L = cfg.n_layers, Hh = cfg.n_heads, Dd = cfg.d_model / cfg.n_heads;
    const out: string[] = [];
    for (const T of [16, 256, 512]) for (const c of [1, 16]) {
      const k = new Float32Array(L * Hh * T * Dd).map(() => Math.random());
      const feeds: any = { canvas_ids: new ort.Tensor('int64', BigInt64Array.from({ length: c }, (_, i) => BigInt(10 + i)), [1, c]),
        canvas_positions: new ort.Tensor('int64', BigInt64Array.from({ length: c }, (_, i) => BigInt(T + i)), [1, c]),
        ...(process.argv[3] === 'g5' ? Object.fromEntries(Array.from({ length: 2 * L }, (_, i) => [i < L ? `ctx_keys_${i}` : `ctx_values_${i - L}`, new ort.Tensor('float32', k.subarray((i % L) * Hh * T * Dd, (i % L + 1) * Hh * T * Dd), [1, Hh, T, Dd])]))
          : { ctx_keys: new ort.Tensor('float32', k, [L, 1, Hh, T, Dd]), ctx_values: new ort.Tensor('float32', k, [L, 1, Hh, T, Dd]) }),
        rows: new ort.Tensor('int64', BigInt64Array.from({ length: c }, (_, i) => BigInt(i)), [1, c]), forbid: new ort.Tensor('float32', new Float32Array(8192), [8192]) };
      const ts: number[] = [];
      for (let r = 0; r < 30; r++) { const t = performance.now(); await s.run(feeds, ['pred', 'conf']); ts.push(performance.now() - t); }
      ts.sort((a, b) => a - b); out.push(`T${T} c${c}: ${ts[15].toFixed(2)}`);
    }
    console.log(preset, g, out.join(' | '));
  }
})();
