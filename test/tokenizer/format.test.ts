// tokenizer.json: Hugging Face layout, exact reload, and clear errors for corrupt files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BYTE_TO_CHAR, SPECIAL_TOKENS, Tokenizer, TokenizerFormatError, trainTokenizer } from '../../extension/tokenizer';
import { codeTokenizer, heldOutCode } from './helpers';

const tok = codeTokenizer();
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const fresh = (): Json => JSON.parse(JSON.stringify(tok.toJSON()));

test('tokenizer.json has the Hugging Face BPE layout with a byte-level decoder', () => {
  const j = fresh();
  assert.equal(j.model.type, 'BPE');
  assert.equal(j.decoder.type, 'ByteLevel');
  assert.equal(j.pre_tokenizer.type, 'Sequence');
  assert.deepEqual(j.pre_tokenizer.pretokenizers.map((p: Json) => p.type), ['Split', 'ByteLevel']);
  assert.ok(Array.isArray(j.model.merges) && j.model.merges.every((m: unknown) => typeof m === 'string' && m.split(' ').length === 2));
  assert.equal(Object.keys(j.model.vocab).length, tok.vocabSize);
});

test('the six special tokens come first, in the contract order, as added tokens', () => {
  const j = fresh();
  assert.deepEqual(SPECIAL_TOKENS, ['<|pad|>', '<|eos|>', '<|mask|>', '<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>']);
  assert.deepEqual(j.added_tokens.map((t: Json) => [t.id, t.content, t.special]), SPECIAL_TOKENS.map((t, i) => [i, t, true]));
  SPECIAL_TOKENS.forEach((t, i) => assert.equal(j.model.vocab[t], i));
  assert.deepEqual(tok.specialIds, { pad: 0, eos: 1, mask: 2, fimPrefix: 3, fimSuffix: 4, fimMiddle: 5 });
});

test('ids 6..261 are the 256 bytes in byte order, spelled in the GPT-2 byte-to-unicode alphabet', () => {
  const j = fresh();
  for (let b = 0; b < 256; b++) assert.equal(j.model.vocab[BYTE_TO_CHAR[b]], 6 + b);
  assert.equal(BYTE_TO_CHAR[0x20], 'Ġ'); // GPT-2's well-known space
  assert.equal(BYTE_TO_CHAR[0x0a], 'Ċ');
  assert.equal(BYTE_TO_CHAR[0x41], 'A');
});

test('decoding through model.vocab and the byte table alone gives the text (what the Python trainer does)', () => {
  const j = fresh();
  const inv = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
  const idToBytes = new Map<number, number[]>();
  for (const [s, id] of Object.entries(j.model.vocab) as [string, number][]) if (id >= 6) idToBytes.set(id, [...s].map((c) => inv.get(c)!));
  const code = heldOutCode();
  const bytes = tok.encode(code).flatMap((id) => idToBytes.get(id)!);
  assert.equal(Buffer.from(bytes).toString('utf8'), code);
});

test('fromJSON(toJSON()) gives a tokenizer that writes the same file and encodes the same ids', () => {
  const again = Tokenizer.fromJSON(fresh());
  assert.equal(JSON.stringify(again.toJSON()), JSON.stringify(tok.toJSON()));
  const code = heldOutCode();
  assert.deepEqual(again.encode(code), tok.encode(code));
  assert.equal(again.vocabSize, tok.vocabSize);
});

test('fromJSON accepts the file text as well as the parsed object', () => {
  assert.equal(Tokenizer.fromJSON(JSON.stringify(tok)).vocabSize, tok.vocabSize);
});

test('a token named __proto__ survives the save and reload', () => {
  const t = trainTokenizer(Array(5).fill('x.__proto__ = y.__proto__;\n'), { vocabSize: 400 });
  const text = JSON.stringify(t.toJSON());
  assert.ok(text.includes('"__proto__":'));
  const again = Tokenizer.fromJSON(JSON.parse(text));
  assert.equal(JSON.stringify(again.toJSON()), text);
  assert.deepEqual(again.encode('a.__proto__'), t.encode('a.__proto__'));
  assert.equal(t.encode('__proto__').length, 1);
});

test('load reads a file, and a corrupt file is rejected with its path in the message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  const good = join(dir, 'tokenizer.json');
  writeFileSync(good, JSON.stringify(tok.toJSON()));
  assert.equal((await Tokenizer.load(good)).vocabSize, tok.vocabSize);
  const bad = join(dir, 'broken.json');
  writeFileSync(bad, JSON.stringify(tok.toJSON()).slice(0, 5000));
  await assert.rejects(Tokenizer.load(bad), (err: Error) => err instanceof TokenizerFormatError && /not valid JSON/.test(err.message) && err.message.includes(bad));
});

// Each corruption, and the words the error message must contain.
const CORRUPT: [string, (j: Json) => unknown, RegExp][] = [
  ['not an object', () => [1, 2], /expected a JSON object/],
  ['null', () => null, /expected a JSON object/],
  ['no model', (j) => (delete j.model, j), /"model" is missing/],
  ['another model type', (j) => ((j.model.type = 'WordPiece'), j), /model\.type is "WordPiece"/],
  ['no vocab', (j) => (delete j.model.vocab, j), /model\.vocab is missing/],
  ['a non-integer id', (j) => ((j.model.vocab['Ġ'] = 'x'), j), /not a non-negative integer id/],
  ['a gap in the ids', (j) => (delete j.model.vocab[Object.keys(j.model.vocab).find((k) => j.model.vocab[k] === 300)!], j), /no token with id 300/],
  ['two tokens with one id', (j) => ((j.model.vocab['zzzzzz'] = 300), j), /gives id 300 to both/],
  ['bytes out of order', (j) => ((j.model.vocab['A'] = 6 + 0x42), (j.model.vocab['B'] = 6 + 0x41), j), /single bytes in byte order/],
  ['a token outside the byte alphabet', (j) => ((j.model.vocab['a b'] = Object.keys(j.model.vocab).length), j), /not a byte-level string/],
  ['a special token moved', (j) => ((j.added_tokens[2].content = '<|pad|>'), j), /special tokens must be/],
  ['a special token missing', (j) => (j.added_tokens.pop(), j), /all six special tokens/],
  ['no merges', (j) => (delete j.model.merges, j), /model\.merges is missing/],
  ['a merge with an unknown token', (j) => ((j.model.merges[3] = 'Ġ qqqqqqqq'), j), /model\.merges\[3\].*not in model\.vocab/],
  ['a merge of three tokens', (j) => ((j.model.merges[0] = 'a b c'), j), /is not two tokens/],
  ['a merge whose result is missing', (j) => ((j.model.merges[1] = 'z q'), j), /makes "zq", which is not in model\.vocab/],
  ['a merge that is a number', (j) => ((j.model.merges[0] = 7), j), /neither an "a b" string nor a pair/],
  ['another pre-tokenizer', (j) => ((j.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: true, use_regex: true }), j), /pre_tokenizer must split/],
  ['another decoder', (j) => ((j.decoder = { type: 'WordPiece' }), j), /"decoder" must be/],
  ['a normalizer', (j) => ((j.normalizer = { type: 'NFC' }), j), /"normalizer" is set/],
];

for (const [name, corrupt, message] of CORRUPT) {
  test(`fromJSON rejects a file with ${name}, saying what is wrong`, () => {
    assert.throws(() => Tokenizer.fromJSON(corrupt(fresh())), (err: Error) => {
      assert.ok(err instanceof TokenizerFormatError, `${err}`);
      assert.match(err.message, /^Invalid tokenizer\.json: /);
      assert.match(err.message, message);
      return true;
    });
  });
}

test('fromJSON reads merges written as pairs, Hugging Face\'s newer form', () => {
  const j = fresh();
  j.model.merges = j.model.merges.map((m: string) => m.split(' '));
  const again = Tokenizer.fromJSON(j);
  assert.deepEqual(again.encode(heldOutCode()), tok.encode(heldOutCode()));
});
