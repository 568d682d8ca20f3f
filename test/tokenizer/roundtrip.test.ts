// Encoding then decoding gives back the input byte for byte, for text and for arbitrary bytes;
// decoding never throws; text never turns into special ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIRST_MERGE_ID, SPECIAL_TOKENS } from '../../extension/tokenizer';
import { codeTokenizer, heldOutCode, prng, randomBytes, TRICKY_TEXTS } from './helpers';

const tok = codeTokenizer();

for (const [name, text] of TRICKY_TEXTS) {
  test(`text with ${name} decodes to itself`, () => {
    const ids = tok.encode(text);
    assert.equal(tok.decode(ids), text);
    assert.deepEqual(tok.decodeBytes(ids), new Uint8Array(Buffer.from(text, 'utf8')));
  });
}

test('held-out source code decodes to itself', () => {
  const code = heldOutCode();
  assert.equal(tok.decode(tok.encode(code)), code);
});

test('random bytes, invalid UTF-8 included, decode to the same bytes', () => {
  const rand = prng(42);
  for (let k = 0; k < 200; k++) {
    const bytes = randomBytes(rand, Math.floor(rand() * 300));
    assert.deepEqual(tok.decodeBytes(tok.encodeBytes(bytes)), bytes);
  }
});

test('random mixes of code-like bytes and broken sequences decode to the same bytes', () => {
  const rand = prng(7);
  const alphabet = Buffer.from('abcXYZ_019 \t\n\r(){}[];:.,"\'<|>=+-*/\\é😀変\u0000', 'utf8');
  const broken = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf0, 0x9f, 0x98]];
  for (let k = 0; k < 200; k++) {
    const parts: number[] = [];
    const n = Math.floor(rand() * 200);
    for (let i = 0; i < n; i++) {
      if (rand() < 0.05) parts.push(...broken[Math.floor(rand() * broken.length)]);
      else parts.push(alphabet[Math.floor(rand() * alphabet.length)]);
    }
    const bytes = Uint8Array.from(parts);
    assert.deepEqual(tok.decodeBytes(tok.encodeBytes(bytes)), bytes);
  }
});

test('valid UTF-8 bytes encode exactly as the text they spell', () => {
  for (const [, text] of TRICKY_TEXTS) assert.deepEqual(tok.encodeBytes(Buffer.from(text, 'utf8')), tok.encode(text));
});

test('an invalid byte becomes its own byte token and the text around it encodes as usual', () => {
  const bytes = Buffer.concat([Buffer.from('return value'), Buffer.from([0xff]), Buffer.from('return value')]);
  const ids = tok.encodeBytes(bytes);
  const half = tok.encode('return value');
  assert.deepEqual(ids, [...half, 6 + 0xff, ...half]);
});

test('a lone surrogate encodes as U+FFFD, like every UTF-8 encoder', () => {
  assert.equal(tok.decode(tok.encode('a\ud800b')), 'a\ufffdb');
  assert.equal(tok.decode(tok.encode('\udc00')), '\ufffd');
});

test('special token strings in text are encoded as ordinary bytes, never as special ids', () => {
  for (const s of [...SPECIAL_TOKENS, SPECIAL_TOKENS.join(''), `x<|mask|>y`]) {
    const ids = tok.encode(s);
    assert.ok(ids.every((id) => id >= 6), `${s} gave ${ids}`);
    assert.equal(tok.decode(ids), s);
  }
  const rand = prng(3);
  for (let k = 0; k < 50; k++) assert.ok(tok.encodeBytes(randomBytes(rand, 100)).every((id) => id >= 6));
});

test('every id encode produces is inside the vocabulary', () => {
  const ids = tok.encode(heldOutCode());
  assert.ok(ids.every((id) => Number.isInteger(id) && id >= 6 && id < tok.vocabSize));
  assert.ok(ids.some((id) => id >= FIRST_MERGE_ID));
});

test('special ids decode to nothing and ordinary ids around them are kept', () => {
  const ids = tok.encode('ab');
  const withSpecials = [0, ...ids, 1, 2, 3, 4, 5];
  assert.equal(tok.decode(withSpecials), 'ab');
  assert.equal(tok.decodeBytes([0, 1, 2]).length, 0);
});

test('decoding any id sequence never throws', () => {
  const odd = [-1, tok.vocabSize, tok.vocabSize + 1000, 2 ** 40, 1.5, NaN, Infinity, -Infinity, -0];
  assert.equal(tok.decode(odd), ''); // -0 is id 0 (pad): nothing; the rest are not ids
  const rand = prng(11);
  for (let k = 0; k < 200; k++) {
    const ids = Array.from({ length: 50 }, () => Math.floor(rand() * (tok.vocabSize + 20)) - 10);
    assert.equal(typeof tok.decode(ids), 'string');
    assert.ok(tok.decodeBytes(Int32Array.from(ids)) instanceof Uint8Array);
  }
});

test('decoding a cut through a multi-byte character gives U+FFFD instead of throwing', () => {
  const ids = tok.encodeBytes(Buffer.from('é', 'utf8').subarray(0, 1));
  assert.equal(tok.decode(ids), '\ufffd');
});
