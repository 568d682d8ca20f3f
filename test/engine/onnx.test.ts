// The real onnxruntime-node path with small hand-encoded ONNX models (helpers.ts gatherModel):
// loading, refusing bad files with clear messages, and hot-swapping under concurrent requests
// while the previous model keeps serving whenever a new one fails to load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfillEngine, OnnxModel, type EngineOptions } from '../../extension/engine/index';
import { CACHED_GRAPHS, constantModel, makeRun, tempDir, testTokenizer } from './helpers';

const { tok } = testTokenizer();
const V = tok.vocabSize;
const byteId = (ch: string) => 6 + ch.charCodeAt(0); // the byte tokens follow the 6 specials
const run = (ch: string, extra = {}) => makeRun(tempDir(), { onnx: constantModel(V, byteId(ch)), ...extra });

/** Options that record which sessions were released, and can hold every forward pass at a gate. */
function tracking() {
  const released: string[] = [];
  let gate: Promise<void> | undefined;
  let openGate = () => {};
  const options: EngineOptions = {
    threads: 1,
    async openModel(path, meta, o) {
      const m = await OnnxModel.open(path, meta.vocabSize, o);
      return {
        vocabSize: m.vocabSize,
        async forward(ids, b, s) {
          if (gate) await gate;
          return m.forward(ids, b, s);
        },
        async release() {
          released.push(path);
          await m.release();
        },
      };
    },
  };
  const hold = () => { gate = new Promise((r) => { openGate = r; }); };
  const open = () => { gate = undefined; openGate(); };
  return { released, options, hold, open };
}

test('a real ONNX model loads and completes (masked positions predict one byte)', async () => {
  const engine = await InfillEngine.load(run('a'), { threads: 1 });
  const r = await engine.complete({ prefix: 'x = ', suffix: '' });
  assert.equal(r.text, 'a'.repeat(64)); // fills 16 and 32, then 64 (the cap)
  assert.equal(r.canvas, 64);
  assert.equal(engine.info.objective, 'diffusion');
  await engine.dispose();
});

test('hot-swap under 5 concurrent requests: in-flight ones finish on the old model, which is then released', async () => {
  const a = run('a');
  const b = run('b');
  const { released, options, hold, open } = tracking();
  const engine = await InfillEngine.load(a, options);
  hold(); // the requests below stay in flight until the swap is done
  const before = Array.from({ length: 4 }, (_, i) => engine.complete({ prefix: `v${i} = `, suffix: '' }));
  const swapped = engine.swap(b);
  const during = engine.complete({ prefix: 'w = ', suffix: '' }); // started before the swap completes
  await swapped;
  assert.deepEqual(released, [], 'the old session is released only after its requests');
  open();
  const after = await engine.complete({ prefix: 'u = ', suffix: '' });
  assert.equal(after.text[0], 'b');
  for (const r of await Promise.all(before)) assert.equal(r.text[0], 'a');
  assert.equal((await during).text[0], 'a');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(released, [join(a, 'model.onnx')]);
  await engine.dispose();
  assert.deepEqual(released, [join(a, 'model.onnx'), join(b, 'model.onnx')]);
});

test('a truncated or corrupt model gives a clear error and the previous model keeps serving', async () => {
  const engine = await InfillEngine.load(run('a'), { threads: 1 });
  const truncated = run('b');
  const bytes = readFileSync(join(truncated, 'model.onnx'));
  writeFileSync(join(truncated, 'model.onnx'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  await assert.rejects(engine.swap(truncated), (err: Error) => {
    assert.equal(err.name, 'ModelLoadError');
    assert.match(err.message, /model\.onnx .*could not be loaded: it is corrupt or truncated/);
    assert.match(err.message, /Export the model again/);
    return true;
  });
  const garbage = run('b');
  writeFileSync(join(garbage, 'model.onnx'), Buffer.from('this is not an onnx file'));
  await assert.rejects(engine.swap(garbage), /corrupt or truncated/);
  await assert.rejects(InfillEngine.load(garbage, { threads: 1 }), /corrupt or truncated/);
  const r = await engine.complete({ prefix: 'still = ', suffix: '' });
  assert.equal(r.text[0], 'a');
  await engine.dispose();
});

test('an unknown model.json format is refused with a clear message', async () => {
  await assert.rejects(InfillEngine.load(run('a', { format: 2 })), (err: Error) => {
    assert.equal(err.name, 'ModelLoadError');
    assert.match(err.message, /format 2, which this version of Repo Diffusion does not understand \(it reads format 1\)/);
    return true;
  });
});

test('a model trained with another tokenizer is refused (vocabulary size, tokenizer hash)', async () => {
  await assert.rejects(InfillEngine.load(run('a', { vocabSize: V + 1 })), /vocabulary of \d+ ids but corpus\/tokenizer\.json has \d+/);
  await assert.rejects(InfillEngine.load(run('a', { tokenizerSha: 'f'.repeat(64) })), /trained with another tokenizer/);
  const engine = await InfillEngine.load(run('a', { tokenizerSha: null }), { threads: 1 }); // none recorded: accepted
  await engine.dispose();
});

test('a missing model says to train or export first', async () => {
  await assert.rejects(InfillEngine.load(tempDir()), /No exported model in .*train a model first/);
});

test('cached graphs with another interface (an older export) fall back to the plain model, which serves', async () => {
  // model.json names cached graphs, but the files are plain input_ids -> logits models: what an
  // export from before a change to the step graph's inputs looks like to this engine.
  const dir = run('c', { graphs: CACHED_GRAPHS });
  writeFileSync(join(dir, 'model.context.onnx'), readFileSync(join(dir, 'model.onnx')));
  writeFileSync(join(dir, 'model.step.onnx'), readFileSync(join(dir, 'model.onnx')));
  const engine = await InfillEngine.load(dir, { threads: 1 });
  assert.equal(engine.info.decoding, 'naive');
  assert.match(engine.info.fastUnavailable ?? '', /model\.context\.onnx has inputs \[input_ids\]/);
  const r = await engine.complete({ prefix: 'x = ', suffix: '' });
  assert.equal(r.text, 'c'.repeat(64));
  await engine.dispose();
});

test('a corrupt plain model is still reported when the cached graphs cannot be used either', async () => {
  const dir = run('d', { graphs: CACHED_GRAPHS });
  writeFileSync(join(dir, 'model.context.onnx'), Buffer.from('not onnx'));
  writeFileSync(join(dir, 'model.step.onnx'), Buffer.from('not onnx'));
  writeFileSync(join(dir, 'model.onnx'), readFileSync(join(dir, 'model.onnx')).subarray(0, 40));
  await assert.rejects(InfillEngine.load(dir, { threads: 1 }), (err: Error) => err.name === 'ModelLoadError' && /model\.onnx \(40 bytes\).*corrupt or truncated/.test(err.message));
});
