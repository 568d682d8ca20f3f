// The retrieval baseline on hand-made training text and tasks: it finds the cursor's place by the
// lines above it, copies what followed, and stops where the suffix begins; scored like the models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetrievalIndex, scoreRetrieval, trigramSimilarity } from '../../extension/compare/index';

const TRAIN = [
  'proc ::json::write {value} {',
  '    set out [string map {\\" \\\\\\"} $value]',
  '    return "\\"$out\\""',
  '}',
  '',
  'proc ::csv::split {line sep} {',
  '    set fields [list]',
  '    foreach f [split $line $sep] { lappend fields [string trim $f] }',
  '    return $fields',
  '}',
  '',
  'proc ::counter::incr {name} {',
  '    variable counts',
  '    dict incr counts $name',
  '}',
].join('\n');

const index = new RetrievalIndex(TRAIN);

test('trigram similarity is 1 for equal lines, 0 for unrelated ones, in between otherwise', () => {
  assert.equal(trigramSimilarity('set fields [list]', 'set fields [list]'), 1);
  assert.equal(trigramSimilarity('abc', 'xyz'), 0);
  const s = trigramSimilarity('set fields [list]', 'set field [list]');
  assert.ok(s > 0.5 && s < 1, String(s));
});

test('a line task gets the training line that followed the most similar context', () => {
  // The held-out file has the same shape with another name: the lines above match csv::split.
  const hit = index.predict({ kind: 'line', prefix: 'proc ::csv::split2 {line sep} {\n    set fields [list]\n', suffix: '\n    return $fields\n}\n' });
  assert.equal(hit.text, '    foreach f [split $line $sep] { lappend fields [string trim $f] }');
});

test('what is typed on the cursor line must match, and the copy stops where the suffix begins', () => {
  const hit = index.predict({ kind: 'span', prefix: 'proc ::counter::incr {name} {\n    variable counts\n    dict ', suffix: ' $name\n}\n' });
  assert.equal(hit.text, 'incr counts');
  const block = index.predict({ kind: 'block', prefix: 'proc ::json::write {value} {\n', suffix: '\n}\n' });
  assert.equal(block.text, '    set out [string map {\\" \\\\\\"} $value]\n    return "\\"$out\\""');
});

test('with no lines above the cursor, the lines below stand in', () => {
  const hit = index.predict({ kind: 'line', prefix: '', suffix: '\n    variable counts\n    dict incr counts $name\n' });
  assert.equal(hit.text, 'proc ::counter::incr {name} {');
});

test('nothing similar gives an empty answer, and scoring matches evaluateTasks (trailing space ignored)', () => {
  assert.equal(index.predict({ kind: 'line', prefix: 'zzz qqq\n', suffix: '' }).text, '');
  const score = scoreRetrieval(index, [
    { kind: 'line', prefix: 'proc ::csv::split {line sep} {\n    set fields [list]\n', middle: '    foreach f [split $line $sep] { lappend fields [string trim $f] }  ', suffix: '\n' },
    { kind: 'line', prefix: 'zzz qqq\n', middle: 'abcd', suffix: '' },
  ]);
  assert.equal(score.tasks, 2);
  assert.equal(score.exact, 0.5);
  assert.equal(score.edit_sim, 0.5);
  assert.deepEqual(Object.keys(score.by_kind), ['line']);
});
