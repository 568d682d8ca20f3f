// The syntax check through the corpus's real tree-sitter parse workers: a completion that keeps a
// Python file clean, one that breaks it, a language without a grammar, and a reference that does
// not parse itself (so it cannot judge the completion).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSyntax } from '../../extension/compare/index';

test('completions are judged only where a grammar exists and the reference parses cleanly', async () => {
  const py = { language: 'python', prefix: 'def f(x):\n    return ', middle: 'x + 1', suffix: '\n\n\nprint(f(2))\n' };
  const tasks = [
    py,
    py,
    { language: 'tcl', prefix: 'proc f {x} {\n    return ', middle: '[expr {$x + 1}]', suffix: '\n}\n' },
    { language: 'python', prefix: 'def f(:\n    return ', middle: 'x', suffix: '\n' },
  ];
  const r = await checkSyntax(tasks, ['x + 1', 'x + (', 'oops {', 'x']);
  assert.equal(r.checked, 2);
  assert.equal(r.parses, 1, 'the unclosed parenthesis breaks the file');
  assert.equal(r.rate, 0.5);
  assert.equal(r.skippedNoGrammar, 1);
  assert.equal(r.skippedReferenceErrors, 1);
  assert.deepEqual(r.byLanguage, { python: { checked: 2, parses: 1 } });
});
