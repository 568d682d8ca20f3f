import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../extension/common/atomicWrite';

test('atomic write replaces the content and leaves no temporary file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-atomic-'));
  const target = join(dir, 'a.json');
  writeFileSync(target, 'old');
  await writeFileAtomic(target, 'new');
  assert.equal(readFileSync(target, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['a.json']);
});
