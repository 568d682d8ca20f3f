import { readFileSync } from 'node:fs';
import { InfillEngine } from '../extension/engine/index';
(async () => {
  const code = readFileSync('extension/engine/engine.ts', 'utf8').repeat(20);
  const fast = await InfillEngine.load('/tmp/rd-engine-bench/tiny-512', { threads: 2, maxCanvas: 16 });
  const request = (k: number) => { const at = 20_000 + ((k + 1) * 997) % (code.length - 40_000); const cut = code.indexOf('\n', at) + 1;
    return { prefix: code.slice(cut - 20_000, cut) + `    const v${k} = `, suffix: '\n' + code.slice(cut, cut + 8000), mode: 'line' as const }; };
  const ts: number[] = [];
  for (let k = 0; k < 12; k++) { const t = performance.now(); const r = await fast.complete(request(k)); ts.push(performance.now() - t); if (k === 0) console.log(r.steps, JSON.stringify(Object.keys(r))); }
  console.log(ts.map((x) => x.toFixed(0)).join(' '));
  await fast.dispose();
})();
