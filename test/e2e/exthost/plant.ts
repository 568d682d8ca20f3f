// Run folders with a deterministic model for the extension-host suite: the engine tests'
// hand-encoded ONNX Gather model (test/engine/helpers.ts) whose masked positions all predict one
// character, with model.json, corpus/tokenizer.json and run.json as a finished run has them. The
// extension serves it through the real engine and onnxruntime-node: its suggestion is that
// character repeated, so the suite knows exactly what the provider must return.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constantModel, makeRun, testTokenizer } from '../../engine/helpers';

/** Writes DIR/<id>/ for each character; returns the run ids. */
export function plantRuns(dir: string, chars: string[]): string[] {
  const V = testTokenizer().tok.vocabSize;
  return chars.map((ch, i) => {
    const id = `2026-01-0${i + 1}T00-00-00-000Z`;
    const run = join(dir, id);
    mkdirSync(run, { recursive: true });
    makeRun(run, { onnx: constantModel(V, 6 + ch.charCodeAt(0)) }); // byte tokens follow the 6 specials
    writeFileSync(join(run, 'run.json'), JSON.stringify({ objective: 'diffusion', preset: 'test', created: Date.parse('2026-01-01') + i * 1000 }));
    return id;
  });
}
