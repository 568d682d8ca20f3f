// Training: deterministic output, real compression on held-out code, smaller vocabularies for tiny
// corpora, progress and cancellation, and the two merge algorithms agreeing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseVocabSize, FIRST_MERGE_ID, Tokenizer, trainTokenizer, trainTokenizerAsync } from '../../extension/tokenizer';
import { MergeTable, mergeByRescan, mergeWithHeap } from '../../extension/tokenizer/bpe';
import { partsFromJSON } from '../../extension/tokenizer/format';
import { codeTokenizer, heldOutCode, prng, trainingCorpus } from './helpers';

test('the same texts and vocabulary size give a byte-identical tokenizer.json', () => {
  const texts = trainingCorpus();
  const a = JSON.stringify(trainTokenizer(texts, { vocabSize: 1024 }).toJSON());
  const b = JSON.stringify(trainTokenizer(texts.slice(), { vocabSize: 1024 }).toJSON());
  assert.equal(a, b);
});

test('training on an iterable gives the same tokenizer as training on an array', () => {
  const texts = trainingCorpus().slice(0, 20);
  function* gen() {
    yield* texts;
  }
  assert.equal(JSON.stringify(trainTokenizer(gen(), { vocabSize: 600 })), JSON.stringify(trainTokenizer(texts, { vocabSize: 600 })));
});

test('ties between equal pair counts are broken the same way every time', () => {
  // Every pair here occurs exactly twice: only the tie rule decides the order of merges.
  const texts = ['ab cd ef gh', 'gh ef cd ab'];
  const first = (trainTokenizer(texts, { vocabSize: 300 }).toJSON() as { model: { merges: string[] } }).model.merges;
  assert.deepEqual(first, ['a b', 'c d', 'e f', 'g h']);
});

test('merges compress held-out code to well under one token per byte', () => {
  const tok = codeTokenizer();
  const code = heldOutCode();
  const ratio = tok.encode(code).length / Buffer.byteLength(code);
  assert.ok(ratio < 0.55, `tokens per byte ${ratio.toFixed(3)}`);
  assert.equal(tok.vocabSize, 2048);
});

test('frequent keywords and indentation become single tokens', () => {
  const tok = codeTokenizer();
  for (const s of ['return', 'const', 'function', '    ', '\n']) assert.equal(tok.encode(s).length, 1, s);
});

test('a tiny corpus gets a smaller vocabulary than asked for: no merge of a pair seen once', () => {
  const tok = trainTokenizer(['def f(x):\n    return x\n'], { vocabSize: 8192 });
  assert.ok(tok.vocabSize > FIRST_MERGE_ID && tok.vocabSize < 300, `${tok.vocabSize}`);
  assert.equal(trainTokenizer([], { vocabSize: 8192 }).vocabSize, FIRST_MERGE_ID);
  assert.equal(trainTokenizer([''], { vocabSize: 8192 }).decode([6 + 65]), 'A');
});

test('chooseVocabSize shrinks the vocabulary for small corpora and caps it at 8192', () => {
  assert.equal(chooseVocabSize(0), 512);
  assert.equal(chooseVocabSize(10_000), 512);
  assert.equal(chooseVocabSize(40_000_000), 8192);
  const mid = chooseVocabSize(500_000);
  assert.ok(mid > 512 && mid < 8192 && mid % 64 === 0, `${mid}`);
  for (let b = 0; b < 5e6; b += 99_999) assert.ok(chooseVocabSize(b + 99_999) >= chooseVocabSize(b));
});

test('a vocabulary size below 262 or not an integer is refused with a RangeError', () => {
  for (const v of [100, 261, 1000.5, NaN]) assert.throws(() => trainTokenizer(['x'], { vocabSize: v }), RangeError);
});

test('progress goes up to done === total, once per call at the end', () => {
  const calls: [number, number][] = [];
  trainTokenizer(trainingCorpus(), { vocabSize: 700, onProgress: (d, t) => calls.push([d, t]) });
  assert.ok(calls.length >= 1);
  const [d, t] = calls[calls.length - 1];
  assert.equal(d, t);
  for (let i = 1; i < calls.length; i++) assert.ok(calls[i][0] >= calls[i - 1][0]);
});

test('aborting from onProgress stops the synchronous trainer with an AbortError', () => {
  const ctl = new AbortController();
  let calls = 0;
  assert.throws(
    () => trainTokenizer(trainingCorpus(), { vocabSize: 4000, signal: ctl.signal, onProgress: () => ++calls === 1 && ctl.abort() }),
    (err: Error) => err.name === 'AbortError',
  );
});

test('an already aborted signal stops training before it starts, with the signal\'s reason', () => {
  const reason = new Error('cancelled by user');
  assert.throws(() => trainTokenizer(['abc abc'], { vocabSize: 300, signal: AbortSignal.abort(reason) }), (err) => err === reason);
});

test('the async trainer can be aborted from the event loop while it runs', async () => {
  const ctl = new AbortController();
  const big = trainingCorpus().join('\n');
  const texts = Array.from({ length: 40 }, (_, i) => big + i); // ~9 MB: still running when aborted
  // The first progress report schedules the abort on the event loop; the trainer must notice it.
  const run = trainTokenizerAsync(texts, { vocabSize: 8192, signal: ctl.signal, onProgress: () => setImmediate(() => ctl.abort()) });
  await assert.rejects(run, (err: Error) => err.name === 'AbortError');
});

test('the async trainer gives the same tokenizer as the synchronous one', async () => {
  const texts = trainingCorpus().slice(0, 30);
  const a = await trainTokenizerAsync(texts, { vocabSize: 800 });
  assert.equal(JSON.stringify(a), JSON.stringify(trainTokenizer(texts, { vocabSize: 800 })));
});

test('a file where two merges spell the same token loads, and the lowest rank wins', () => {
  // Hugging Face files may hold such merges ("ab c" and "a bc" both make "abc").
  const j = JSON.parse(JSON.stringify(trainTokenizer([], { vocabSize: 300 })));
  Object.assign(j.model.vocab, { ab: 262, bc: 263, abc: 264 });
  j.model.merges = ['b c', 'a b', 'a bc', 'ab c'];
  const tok = Tokenizer.fromJSON(j);
  assert.equal(tok.vocabSize, 265);
  assert.deepEqual(tok.encode('abc'), [264]);
  assert.deepEqual(tok.encode('abd'), [262, 6 + 0x64]);
  assert.equal(JSON.stringify(Tokenizer.fromJSON(tok.toJSON()).toJSON()), JSON.stringify(tok.toJSON()));
});

test('the heap merge and the rescan merge give the same ids on long pieces', () => {
  const tok = codeTokenizer();
  const { merges } = partsFromJSON(tok.toJSON());
  const table = new MergeTable(merges, tok.vocabSize);
  const rand = prng(9);
  const letters = 'eeetttaaoinsrhl_dcumfpgwybvkxjqz0123456789';
  for (let k = 0; k < 200; k++) {
    const n = 2 + Math.floor(rand() * 120);
    const bytes = Buffer.from(Array.from({ length: n }, () => letters[Math.floor(rand() * letters.length)]).join(''));
    const syms = Array.from(bytes, (b) => 6 + b);
    assert.deepEqual(mergeWithHeap(table, syms.slice()), mergeByRescan(table, syms.slice()));
  }
});

test('a very long piece encodes and decodes without trouble', () => {
  const tok = codeTokenizer();
  const long = 'deadbeef'.repeat(20_000) + 'return';
  const ids = tok.encode(long);
  assert.equal(tok.decode(ids), long);
  assert.ok(ids.length < long.length);
});

test('a 300-kilobyte identifier trains in chunks and still encodes whole', () => {
  const rand = prng(13);
  let s = '';
  for (let i = 0; i < 300_000; i++) s += String.fromCharCode(97 + Math.floor(rand() * 26));
  const tok = trainTokenizer([s, 'foo bar foo bar'], { vocabSize: 2048 });
  assert.ok(tok.vocabSize > FIRST_MERGE_ID);
  const ids = tok.encode(s);
  assert.equal(tok.decode(ids), s);
});

test('long pieces of astral letters are never cut inside a surrogate pair while training', () => {
  const text = 'a' + '𝑥'.repeat(100) + ' ' + 'bb' + '𝑦'.repeat(99);
  const tok = trainTokenizer([text, text, text], { vocabSize: 2000 });
  const vocab = Object.keys((tok.toJSON() as { model: { vocab: Record<string, number> } }).model.vocab);
  const replacement = 'ï¿½'; // U+FFFD's bytes EF BF BD in the byte-level alphabet
  assert.ok(vocab.every((t) => !t.includes(replacement)));
  assert.equal(tok.decode(tok.encode(text)), text);
  assert.ok(tok.encode(text).length < 40);
});
