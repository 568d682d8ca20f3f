import * as ort from 'onnxruntime-node';
(async () => {
  const preset = process.argv[2] ?? 'tiny';
  const s = await ort.InferenceSession.create(`/tmp/rd-engine-bench/${process.argv[3] ?? "g3"}.step.onnx`, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: !!process.env.PROF, profileFilePrefix: '/tmp/prof/step', extra: { session: { intra_op: { allow_spinning: '0' } } } } as any);
  const nl = preset === 'tiny' ? 6 : 8; const H = preset === 'tiny' ? 4 : 8; const D = 64;
  const cfg = JSON.parse(require('child_process').execFileSync('/usr/bin/python3', ['-c', `from trainer.model import PRESETS; import json; print(json.dumps(PRESETS["${preset}"]))`], { encoding: 'utf8' }));
  const L = cfg.n_layers, Hh = cfg.n_heads, Dd = cfg.d_model / cfg.n_heads;
  const T = 512, c = 16;
  const k = new Float32Array(L * Hh * T * Dd).map(() => Math.random());
  const feeds: any = { canvas_ids: new ort.Tensor('int64', BigInt64Array.from({ length: c }, (_, i) => BigInt(10 + i)), [1, c]),
    canvas_positions: new ort.Tensor('int64', BigInt64Array.from({ length: c }, (_, i) => BigInt(T + i)), [1, c]),
    ctx_keys: new ort.Tensor('float32', k, [L, 1, Hh, T, Dd]), ctx_values: new ort.Tensor('float32', k, [L, 1, Hh, T, Dd]),
    rows: new ort.Tensor('int64', BigInt64Array.from({ length: c }, (_, i) => BigInt(i)), [1, c]), forbid: new ort.Tensor('float32', new Float32Array(8192), [8192]) };
  const ts: number[] = [];
  for (let r = 0; r < 40; r++) { const t = performance.now(); await s.run(feeds, ['pred', 'conf']); ts.push(performance.now() - t); }
  ts.sort((a, b) => a - b); console.log(preset, cfg, 'median', ts[20].toFixed(2));
  if (process.env.PROF) s.endProfiling();
})();
