import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { structuralSpans } from '../../extension/corpus/fallback';
import { SPAN_KIND } from '../../extension/corpus/types';
import { FIXTURES } from './helpers';

function spansOf(file: string) {
  const text = readFileSync(join(FIXTURES, 'polyglot', 'nogrammar', file), 'utf8');
  const { spans, chunkStarts } = structuralSpans(text);
  const pieces = (kind: number) => spans.filter((s) => s[2] === kind).map(([s, e]) => text.slice(s, e));
  return { text, spans, chunkStarts, lines: pieces(SPAN_KIND.line), blocks: pieces(SPAN_KIND.block), calls: pieces(SPAN_KIND.call) };
}

test('Erlang without a grammar: clause bodies are blocks, calls are found, functions are chunks', () => {
  const { blocks, calls, lines, chunkStarts, text } = spansOf('bank.erl');
  assert.ok(blocks.some((b) => b.startsWith('Account ! {deposit, Amount, self()},') && b.includes('{error, timeout}')));
  assert.ok(calls.includes('spawn(fun() -> loop(Initial) end)'));
  assert.ok(calls.includes('loop(New)'));
  assert.ok(lines.includes('New = Balance + Amount,'));
  const chunkHeads = chunkStarts.map((s) => text.slice(s, text.indexOf('\n', s)));
  assert.ok(chunkHeads.includes('deposit(Account, Amount) when Amount > 0 ->'), JSON.stringify(chunkHeads));
  assert.ok(chunkHeads.includes('loop(Balance) ->'));
});

test('Tcl without a grammar: proc bodies from braces, [command ...] substitutions as calls', () => {
  const { blocks, calls, chunkStarts, text } = spansOf('cache.tcl');
  assert.ok(blocks.some((b) => b.startsWith('variable store') && b.includes('return [dict get $store $key]')));
  assert.ok(calls.includes('[lsearch -exact $order $key]'));
  assert.ok(calls.includes('[dict get $store $key]'));
  assert.equal(chunkStarts.length, 3, 'comment+namespace, get, put: cut at top-level blank lines');
  assert.ok(text.slice(chunkStarts[2]).startsWith('proc ::lru::put'));
});

test('COBOL and Fortran without a grammar: indentation blocks, not fixed windows', () => {
  const cob = spansOf('payroll.cob');
  assert.ok(cob.blocks.some((b) => b.startsWith('COMPUTE OVERTIME-HOURS') && b.includes('+ OVERTIME-HOURS * EMP-RATE * 1.5')));
  const f90 = spansOf('heat.f90');
  assert.ok(f90.blocks.some((b) => b.startsWith('next(i) = u(i) + alpha') && !b.includes('end do')));
  assert.ok(f90.calls.includes('size(u)'));
});

test('a house DSL without any known language still gets blocks and chunks', () => {
  const { blocks, chunkStarts, text } = spansOf('routing.hdsl');
  assert.ok(blocks.some((b) => b.startsWith('validate schema "order.v2"')));
  assert.deepEqual(
    chunkStarts.map((s) => text.slice(s, text.indexOf('\n', s))),
    ['route orders {', 'route health {', 'policy rate-limit {'],
  );
});

test('spans are sorted, non-empty and inside the text', () => {
  for (const f of ['bank.erl', 'cache.tcl', 'payroll.cob', 'heat.f90', 'routing.hdsl']) {
    const { spans, text } = spansOf(f);
    let prev = -1;
    for (const [s, e, k] of spans) {
      assert.ok(s >= 0 && e <= text.length && s < e && k >= 1 && k <= 3);
      assert.ok(s >= prev);
      prev = s;
    }
  }
});
