// The code-aware split: what stays apart, and the fast scanner agreeing with the stated pattern.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRE_TOKENIZE_PATTERN, preTokenize } from '../../extension/tokenizer';
import { preTokenizeRegExp } from '../../extension/tokenizer/pretokenize';
import { prng, TRICKY_TEXTS } from './helpers';

const CASES: [string, string, string[]][] = [
  ['identifiers, punctuation and single spaces stay apart', 'foo_bar(x1, y);', ['foo_bar', '(', 'x1', ',', ' ', 'y', ')', ';']],
  ['indentation is one piece and newlines another', 'if a:\n        return b\n\n', ['if', ' ', 'a', ':', '\n', '        ', 'return', ' ', 'b', '\n\n']],
  ['CRLF and tabs', '\tx\r\n\t\ty', ['\t', 'x', '\r\n', '\t\t', 'y']],
  ['each punctuation mark is alone, operators included', 'a->b == c;', ['a', '-', '>', 'b', ' ', '=', '=', ' ', 'c', ';']],
  ['numbers are digit runs apart from what follows', '3.14 0xFF 10px', ['3', '.', '14', ' ', '0', 'xFF', ' ', '10', 'px']],
  ['non-ASCII letters are part of identifiers', 'café = 変数', ['café', ' ', '=', ' ', '変数']],
  ['an emoji is one piece', 'a😀b', ['a', '😀', 'b']],
  ['special token strings are split like any text', '<|mask|>', ['<', '|', 'mask', '|', '>']],
];

for (const [name, text, pieces] of CASES) {
  test(`pre-tokenizer: ${name}`, () => assert.deepEqual(preTokenize(text), pieces));
}

function byRegExp(text: string): string[] {
  return text.match(preTokenizeRegExp()) ?? [];
}

test('the scanner splits exactly as PRE_TOKENIZE_PATTERN does on tricky text', () => {
  for (const [, text] of TRICKY_TEXTS) assert.deepEqual(preTokenize(text), byRegExp(text));
  for (const [, text] of CASES) assert.deepEqual(preTokenize(text), byRegExp(text));
});

test('the scanner splits exactly as PRE_TOKENIZE_PATTERN does on random text, lone surrogates included', () => {
  const rand = prng(5);
  const chars = ['a', 'Z', '_', '0', '9', ' ', '\t', '\n', '\r', '(', '.', '"', '\u0000', 'é', 'e\u0301', '٣', '²', '\u00a0', '\u2028', '\u0085', '\ufeff', '変', '😀', '𝑥', '\ud800', '\udfff', '\u200b', 'Ⅻ'];
  for (let k = 0; k < 300; k++) {
    let text = '';
    const n = Math.floor(rand() * 40);
    for (let i = 0; i < n; i++) text += chars[Math.floor(rand() * chars.length)];
    assert.deepEqual(preTokenize(text), byRegExp(text), JSON.stringify(text));
  }
});

test('the pieces of any text join back to the text', () => {
  for (const [, text] of TRICKY_TEXTS) assert.equal(preTokenize(text).join(''), text);
});

test('the pattern compiles as a Unicode regular expression', () => {
  assert.doesNotThrow(() => new RegExp(PRE_TOKENIZE_PATTERN, 'u'));
});
