// Context stage: line-boundary cuts within a token budget, the 70/30 share, and the mode choice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseMode, gatherContext, splitLines } from '../../extension/engine/index';

/** One id per character: budgets are easy to count. */
const chars = { encode: (s: string) => Array.from(s, (c) => c.charCodeAt(0)) };
const decode = (ids: number[]) => String.fromCharCode(...ids);

test('splitLines keeps line ends', () => {
  assert.deepEqual(splitLines('a\nbb\n\nc'), ['a\n', 'bb\n', '\n', 'c']);
  assert.deepEqual(splitLines('a\n'), ['a\n']);
  assert.deepEqual(splitLines(''), []);
});

test('everything is kept when it fits', () => {
  const c = gatherContext(chars, 'ab\ncd', 'ef\ngh', 100);
  assert.equal(decode(c.prefixIds), 'ab\ncd');
  assert.equal(decode(c.suffixIds), 'ef\ngh');
});

test('cuts at line boundaries, nearest lines first, ~70% prefix / 30% suffix', () => {
  const prefix = Array.from({ length: 20 }, (_, i) => `p${String(i).padStart(2, '0')}\n`).join('') + 'cur';
  const suffix = 'rest\n' + Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(2, '0')}\n`).join('');
  const c = gatherContext(chars, prefix, suffix, 40);
  const p = decode(c.prefixIds);
  const s = decode(c.suffixIds);
  assert.ok(prefix.endsWith(p) && suffix.startsWith(s));
  assert.ok(p.length <= 28 && p.length > 20, `prefix ${p.length}`); // 28 = 70% of 40, whole lines
  assert.ok(p.startsWith('p') && p.endsWith('cur'), p); // a whole line first
  assert.ok(s.endsWith('\n'), s);
  assert.ok(c.prefixIds.length + c.suffixIds.length <= 40);
  assert.equal(c.prefixText, p);
});

test('a side that needs less gives its room to the other', () => {
  const prefix = Array.from({ length: 30 }, () => 'xxxx\n').join('');
  const c = gatherContext(chars, prefix, 'y\n', 50);
  assert.equal(c.suffixIds.length, 2);
  assert.equal(c.prefixIds.length, 45); // nine whole lines of five
});

test('a cursor line longer than the budget is cut at a token, nearest the cursor', () => {
  const c = gatherContext(chars, 'z'.repeat(100) + 'END', '', 10);
  assert.equal(decode(c.prefixIds), 'zzzzzzzEND');
});

test('mode: block on an empty line or after a block opener, otherwise line', () => {
  const table: Array<[string, string, string]> = [
    ['def f():\n    ', '\n', 'block'],
    ['x = 1\n', '\ny = 2', 'block'],
    ['function f() {', '\n}', 'block'],
    ['if (a) {', '}', 'block'],
    ['def f(a):', '', 'block'],
    ['x = foo(', ')', 'block'],
    ['    return a', ' + b\n', 'line'],
    ['x = ', '\n', 'line'],
    ['print(', 'x)\n', 'line'],
  ];
  for (const [prefix, suffix, want] of table) assert.equal(chooseMode(prefix, suffix), want, JSON.stringify([prefix, suffix]));
});
