// Shared by the tokenizer tests: a seeded PRNG, and a real code corpus (this repository's own
// TypeScript outside extension/tokenizer/, which is held out to measure compression on).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { trainTokenizer, Tokenizer } from '../../extension/tokenizer';

export const ROOT = resolve(__dirname, '..', '..');

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

function tsFiles(dir: string, skip: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (path === skip) continue;
    if (statSync(path).isDirectory()) out.push(...tsFiles(path, skip));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Training texts: the extension's TypeScript except the tokenizer's own files. */
export function trainingCorpus(): string[] {
  return tsFiles(join(ROOT, 'extension'), join(ROOT, 'extension', 'tokenizer')).map((p) => readFileSync(p, 'utf8'));
}

/** Held-out code: the tokenizer's own source files. */
export function heldOutCode(): string {
  return tsFiles(join(ROOT, 'extension', 'tokenizer'), '').map((p) => readFileSync(p, 'utf8')).join('\n');
}

let shared: Tokenizer | undefined;
/** One tokenizer trained on trainingCorpus() with 2048 ids, shared by the tests of a file. */
export function codeTokenizer(): Tokenizer {
  shared ??= trainTokenizer(trainingCorpus(), { vocabSize: 2048 });
  return shared;
}

/** Text that exercises every corner of the byte-level round trip. */
export const TRICKY_TEXTS: readonly [string, string][] = [
  ['empty', ''],
  ['one space', ' '],
  ['CRLF line endings', 'if x:\r\n    return 1\r\n\r\nelse:\r\n\treturn 2\r\n'],
  ['lone CR', 'a\rb\r\r\nc'],
  ['tabs and mixed indentation', '\t\tfoo()\n  \t  bar()\n\t \n'],
  ['a NUL and other control bytes', 'a\u0000b\u0001\u001b[31mred\u007f'],
  ['emoji, with ZWJ sequences and skin tones', 'ok 👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 — done ✅'],
  ['CJK, accents and combining marks', '変数 = "日本語"; café naïve e\u0301 Ωμέγα'],
  ['a byte order mark at the start', '\uFEFFconst x = 1;'],
  ['unicode whitespace and separators', 'a\u00a0b\u2028c\u2029d\u3000e\u0085f'],
  ['special token strings written in code', 'tok = "<|mask|><|pad|><|eos|>" + "<|fim_prefix|><|fim_suffix|><|fim_middle|>"'],
  ['digits and numbers', 'x = 0xFF + 3.14159e-10 - 1_000_000 + ١٢٣'],
  ['a long identifier', 'a'.repeat(500) + '_' + 'b1'.repeat(300)],
  ['a long run of spaces', ' '.repeat(1000) + 'x'],
  ['the __proto__ name', 'obj.__proto__ = constructor.prototype; toString hasOwnProperty'],
];
