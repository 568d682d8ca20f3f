import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { estimatedJaccard, findDuplicates, minhash } from '../../extension/corpus/dedupe';
import { FIXTURES } from './helpers';

const read = (p: string) => readFileSync(join(FIXTURES, 'polyglot', p), 'utf8');

test('exact copies (up to line endings and trailing blanks) and near copies are found; the first stays', async () => {
  const a = read('src/inventory.py');
  const crlf = a.replace(/\n/g, '  \r\n');
  const near = read('src/inventory_v2.py');
  const other = read('src/pricing.ts');
  const verdicts = await findDuplicates([a, other, crlf, near], 0.85);
  assert.equal(verdicts[0], undefined);
  assert.equal(verdicts[1], undefined);
  assert.deepEqual(verdicts[2], { of: 0, kind: 'duplicate', similarity: 1 });
  assert.equal(verdicts[3]?.kind, 'near-duplicate');
  assert.equal(verdicts[3]?.of, 0);
});

test('different files of the same language are not near duplicates', async () => {
  const texts = ['src/inventory.py', 'src/pricing.ts', 'src/server.go', 'lib/matrix.rs', 'niche/queue.lua'].map(read);
  assert.deepEqual(await findDuplicates(texts, 0.85), [undefined, undefined, undefined, undefined, undefined]);
  const s1 = minhash(texts[0])!;
  const s2 = minhash(texts[1])!;
  assert.ok(estimatedJaccard(s1, s2) < 0.3);
});

test('signatures are deterministic and tiny texts have none', () => {
  assert.deepEqual(minhash(read('src/server.go')), minhash(read('src/server.go')));
  assert.equal(minhash('x = 1'), undefined);
});
