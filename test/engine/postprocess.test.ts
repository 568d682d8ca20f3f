// Postprocess as a data table: each case is (stage, input, context) -> expected text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  balanceBrackets, dropSuffixOverlap, postprocess, shownConfidences, stopAtBlockEnd, stopAtLineEnd, endsLine, stopAtPad, trimTrailing,
  type CompletionMode,
} from '../../extension/engine/index';

interface Case {
  name: string;
  stage: 'line' | 'block' | 'overlap' | 'brackets' | 'trim' | 'all';
  text: string;
  prefix?: string;
  suffix?: string;
  mode?: CompletionMode;
  want: string;
}

const CASES: Case[] = [
  // single line
  { name: 'line: stops at the line end', stage: 'line', text: 'a + b\n    return c', want: 'a + b' },
  { name: 'line: CRLF', stage: 'line', text: 'a + b\r\nnext', want: 'a + b' },
  { name: 'line: a leading line break keeps the next line', stage: 'line', text: '\n    return x\n    y', want: '\n    return x' },
  { name: 'line: no line break', stage: 'line', text: 'foo(1)', want: 'foo(1)' },
  // block, indentation-based
  { name: 'block: body of the block the cursor opens ends at the dedent', stage: 'block', prefix: 'def f(a):', text: '\n    x = a\n    return x\ndef g():\n    pass', want: '\n    x = a\n    return x' },
  { name: 'block: a closing brace at the opener\'s indentation is kept', stage: 'block', prefix: '  if (a) {', text: '\n    b();\n  }\n  c();', want: '\n    b();\n  }' },
  { name: 'block: on an empty line, lines at the same indentation continue', stage: 'block', prefix: 'def f():\n    x = 1\n', text: '    y = 2\n    return y\nprint(1)', want: '    y = 2\n    return y' },
  { name: 'block: a nested block is kept whole', stage: 'block', prefix: 'function f() {\n', text: '  if (a) {\n    b();\n  }\n  return 1;\n}\nconst z = 1;', want: '  if (a) {\n    b();\n  }\n  return 1;' },
  { name: 'block: blank lines inside are kept', stage: 'block', prefix: 'class A:', text: '\n    a = 1\n\n    b = 2\nx = 3', want: '\n    a = 1\n\n    b = 2' },
  // suffix overlap
  { name: 'overlap: a closing paren the suffix has', stage: 'overlap', text: 'a, b)', suffix: ')\n', want: 'a, b' },
  { name: 'overlap: ignoring white space between', stage: 'overlap', text: '  return x;\n}', suffix: '\n}\n', want: '  return x;' },
  { name: 'overlap: the next line repeated', stage: 'overlap', text: 'x = 1\nprint(x)\nmore', suffix: '\nprint(x)\n', want: 'x = 1' },
  { name: 'overlap: not inside a word', stage: 'overlap', text: 'retur', suffix: 'rn x', want: 'retur' },
  { name: 'overlap: none', stage: 'overlap', text: 'foo', suffix: 'bar', want: 'foo' },
  // brackets
  { name: 'brackets: closes what it opened', stage: 'brackets', text: 'foo(a, [1, 2', prefix: 'x = ', suffix: '\n', mode: 'line', want: 'foo(a, [1, 2])' },
  { name: 'brackets: cuts a closer it did not open when the suffix closes it', stage: 'brackets', text: 'a, b) + 1', prefix: 'f(', suffix: ')', mode: 'line', want: 'a, b' },
  { name: 'brackets: may close the prefix\'s opener the suffix leaves open', stage: 'brackets', text: 'a, b)', prefix: 'f(', suffix: '\n', mode: 'line', want: 'a, b)' },
  { name: 'brackets: a mismatched closer cuts', stage: 'brackets', text: 'a(b]', prefix: '', suffix: '', mode: 'line', want: 'a(b)' },
  { name: 'brackets: brackets in strings do not count', stage: 'brackets', text: 'print("(")', prefix: '', suffix: '\n', mode: 'line', want: 'print("(")' },
  { name: 'brackets: a block opener closes on its own line', stage: 'brackets', text: 'if (a) {\n    b();', prefix: '  ', suffix: '\n', mode: 'block', want: 'if (a) {\n    b();\n  }' },
  { name: 'brackets: not added when the suffix has them', stage: 'brackets', text: 'foo(a', prefix: '', suffix: ')', mode: 'line', want: 'foo(a' },
  // trim, indentation kept
  { name: 'trim: trailing space and blank lines, indentation kept', stage: 'trim', text: '    a = 1   \n        b = 2\n\n  \n', want: '    a = 1\n        b = 2' },
  // the whole pipeline
  { name: 'all: single line with the suffix\'s closer', stage: 'all', prefix: 'print(len(', suffix: '))\nnext()', mode: 'line', text: 'xs))\nnext()\n', want: 'xs' },
  { name: 'all: multi-line block keeps its indentation', stage: 'all', prefix: 'def f(a, b):', suffix: '\n\ndef g():\n    pass\n', mode: 'block', text: '\n    s = a + b\n    return s\n\ndef g():\n', want: '\n    s = a + b\n    return s' },
  { name: 'all: only white space is no suggestion', stage: 'all', prefix: 'x = 1', suffix: '', mode: 'line', text: '   ', want: '' },
];

for (const c of CASES) {
  test(`postprocess ${c.name}`, () => {
    const ctx = { prefix: c.prefix ?? '', suffix: c.suffix ?? '', mode: c.mode ?? 'line' };
    const got = {
      line: () => stopAtLineEnd(c.text),
      block: () => stopAtBlockEnd(c.text, ctx.prefix),
      overlap: () => dropSuffixOverlap(c.text, ctx.suffix),
      brackets: () => balanceBrackets(c.text, ctx),
      trim: () => trimTrailing(c.text),
      all: () => postprocess(c.text, ctx),
    }[c.stage]();
    assert.equal(got, c.want);
  });
}

test('stopAtPad cuts at the first pad or eos', () => {
  assert.deepEqual(stopAtPad([7, 8, 0, 9]), [7, 8]);
  assert.deepEqual(stopAtPad([7, 1, 0]), [7]);
  assert.deepEqual(stopAtPad([7, 8]), [7, 8]);
});

test('shownConfidences keeps the ids whose text is shown', () => {
  const pieces = ['foo', '(x)', '\n', 'bar', ' baz'];
  const decode = (ids: number[]) => ids.map((i) => pieces[i]).join('');
  const ids = [0, 1, 2, 3, 4];
  const conf = [0.9, 0.8, 0.5, 0.2, 0.1];
  const raw = decode(ids);
  // a single line: the ids after the line break are not shown
  assert.deepEqual(shownConfidences(decode, ids, conf, raw, 'foo(x)'), [0.9, 0.8]);
  // a part cut mid-token counts the token
  assert.deepEqual(shownConfidences(decode, ids, conf, raw, 'foo(x'), [0.9, 0.8]);
  // the first non-blank line of a completion that starts with a line break
  const lead = [2, 3, 2, 4];
  assert.deepEqual(shownConfidences(decode, lead, [0.4, 0.7, 0.3, 0.6], decode(lead), 'bar'), [0.7]);
  // a closer appended by balanceBrackets has no id of its own
  assert.deepEqual(shownConfidences(decode, [0, 3], [0.9, 0.6], 'foobar', 'foobar)'), [0.9, 0.6]);
  // not found (another rewrite): every id; nothing shown: none
  assert.deepEqual(shownConfidences(decode, ids, conf, raw, 'qux'), conf);
  assert.deepEqual(shownConfidences(decode, ids, conf, raw, ''), []);
});

test('endsLine: true exactly when no continuation changes what stopAtLineEnd keeps', () => {
  const cases: Array<[string, boolean]> = [
    ['', false], ['foo', false], ['foo\n', true], ['foo\r\n', true], ['foo\nbar', true], ['\n', false],
    ['\n\n', false], ['\r\n', false], ['\nfoo', false], ['\n\nfoo\n', true], ['\r', false], ['\r\rfoo\n', true], ['\n\r', false],
  ];
  const continuations = ['', '\n', 'x', '\nx', '\r\nzz\n', ' y\n'];
  for (const [text, want] of cases) {
    assert.equal(endsLine(text), want, JSON.stringify(text));
    const kept = new Set(continuations.map((more) => stopAtLineEnd(text + more)));
    if (want) assert.equal(kept.size, 1, `${JSON.stringify(text)} + any continuation keeps one line`);
    else assert.ok(kept.size > 1, `${JSON.stringify(text)}: some continuation changes the line`);
  }
});
