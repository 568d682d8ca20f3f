// Cache stage: exact hits (LRU) and typing through a suggestion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompletionCache } from '../../extension/engine/index';

const v = (text: string) => ({ text, tokens: 3, steps: 1, confidence: 0.9 });

test('an exact context is a hit; another model generation is not', () => {
  const c = new CompletionCache();
  c.set(1, 'line', 'x = ', '\n', v('foo(1)'));
  assert.equal(c.get(1, 'line', 'x = ', '\n')?.text, 'foo(1)');
  assert.equal(c.get(2, 'line', 'x = ', '\n'), undefined);
  assert.equal(c.get(1, 'block', 'x = ', '\n'), undefined);
  assert.equal(c.get(1, 'line', 'x =', '\n'), undefined);
});

test('typing through a suggestion returns the rest of it', () => {
  const c = new CompletionCache();
  c.set(1, 'line', 'x = ', '\n', v('foo(1)'));
  assert.equal(c.get(1, 'line', 'x = f', '\n')?.text, 'oo(1)');
  assert.equal(c.get(1, 'line', 'x = foo(', '\n')?.text, '1)');
  assert.equal(c.get(1, 'line', 'x = foo(', '\n')?.confidence, 0.9); // the same suggestion, the same gate
  assert.equal(c.get(1, 'line', 'x = g', '\n'), undefined); // typed something else
  assert.equal(c.get(1, 'line', 'x = f', ')\n'), undefined); // the suffix changed
  assert.equal(c.get(1, 'line', 'x = foo(1)', '\n'), undefined); // typed all of it
});

test('the LRU drops the least recently used entry', () => {
  const c = new CompletionCache(2);
  c.set(1, 'line', 'a', '', v('1'));
  c.set(1, 'line', 'b', '', v('2'));
  c.get(1, 'line', 'a', '');
  c.set(1, 'line', 'c', '', v('3'));
  assert.equal(c.size, 2);
  assert.equal(c.get(1, 'line', 'b', ''), undefined);
  assert.equal(c.get(1, 'line', 'a', '')?.text, '1');
});
