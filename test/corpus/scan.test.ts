import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { nodeFs, scanWorkspace, ScanFs } from '../../extension/corpus/scan';
import { symlinkSafe, tempDir, write } from './helpers';

function gitignoreMaze(): string {
  const root = tempDir('maze');
  write(root, '.git/HEAD', 'ref: refs/heads/main\n');
  write(root, '.git/config', '[core]\n');
  write(root, '.git/info/exclude', 'local-only.txt\n');
  write(root, 'local-only.txt', 'excluded by .git/info/exclude\n');
  write(root, '.gitignore', ['*.log', '!important.log', 'tmp/', '/top-only.txt', 'secret-dir/', 'gen/**', '!gen/keep.ts', '*.[oa]', 'docs/**/draft-*.md'].join('\n') + '\n');
  write(root, 'app.log', 'x\n');
  write(root, 'important.log', 'kept by negation\n');
  write(root, 'main.c', 'int main(void) { return 0; }\n');
  write(root, 'main.o', 'obj');
  write(root, 'lib.a', 'archive');
  write(root, 'top-only.txt', 'anchored: ignored here\n');
  write(root, 'sub/top-only.txt', 'anchored: kept in sub\n');
  write(root, 'tmp/cache.txt', 'ignored dir\n');
  write(root, 'sub/tmp/cache.txt', 'ignored dir at depth\n');
  write(root, 'secret-dir/keep.txt', 'cannot be re-included: its folder is excluded\n');
  write(root, 'sub/.gitignore', '!app.log\n*.md\n!README.md\n');
  write(root, 'sub/app.log', 're-included by the nested .gitignore\n');
  write(root, 'sub/notes.md', 'ignored by nested rule\n');
  write(root, 'sub/README.md', 're-included\n');
  write(root, 'gen/a.ts', 'export const a = 1;\n');
  write(root, 'gen/keep.ts', 'export const keep = 1;\n');
  write(root, 'docs/guide/draft-1.md', 'draft\n');
  write(root, 'docs/guide/final.md', 'final\n');
  write(root, 'docs/draft-0.md', 'draft at zero depth\n');
  write(root, 'node_modules/pkg/index.js', 'vendored\n');
  write(root, 'src/third_party/lib.c', 'vendored at depth\n');
  return root;
}

test('the .gitignore maze: nested files, negation, anchoring, dir-only, **, classes, info/exclude', async () => {
  const root = gitignoreMaze();
  const { candidates, skipped } = await scanWorkspace(root);
  const kept = candidates.map((c) => c.path).sort();
  const reason = new Map(skipped.map((s) => [s.path, s.reason]));
  assert.deepEqual(kept, [
    '.gitignore',
    'docs/guide/final.md',
    'gen/keep.ts',
    'important.log',
    'main.c',
    'sub/.gitignore',
    'sub/README.md',
    'sub/app.log',
    'sub/top-only.txt',
  ]);
  for (const p of ['app.log', 'main.o', 'lib.a', 'top-only.txt', 'local-only.txt', 'tmp/', 'sub/tmp/', 'secret-dir/', 'sub/notes.md', 'gen/a.ts', 'docs/guide/draft-1.md', 'docs/draft-0.md']) {
    assert.equal(reason.get(p), 'gitignored', p);
  }
  assert.equal(reason.get('node_modules/'), 'vendored');
  assert.equal(reason.get('src/third_party/'), 'vendored');
  assert.ok(![...reason.keys()].some((p) => p.startsWith('.git/')), '.git is never entered or listed');
});

test('include and exclude globs narrow the scan', async () => {
  const root = gitignoreMaze();
  const { candidates, skipped } = await scanWorkspace(root, { include: ['*.c', '*.md'], exclude: ['sub/'] });
  assert.deepEqual(candidates.map((c) => c.path).sort(), ['docs/guide/final.md', 'main.c']);
  const reason = new Map(skipped.map((s) => [s.path, s.reason]));
  assert.equal(reason.get('sub/'), 'excluded');
  assert.equal(reason.get('important.log'), 'not-included');
});

test('symbolic links are never followed: loops, links out of the tree and dangling links are reported', async (t) => {
  const root = tempDir('links');
  const outside = tempDir('outside');
  write(outside, 'private.py', 'print("outside the workspace")\n');
  write(root, 'src/a.py', 'print("a")\n');
  const made = [
    symlinkSafe('..', join(root, 'src', 'loop'), 'dir'),
    symlinkSafe(outside, join(root, 'escape'), 'dir'),
    symlinkSafe(join(outside, 'private.py'), join(root, 'escape.py'), 'file'),
    symlinkSafe(join(root, 'src', 'a.py'), join(root, 'alias.py'), 'file'),
    symlinkSafe(join(root, 'missing'), join(root, 'dangling'), 'file'),
    symlinkSafe('self-a', join(root, 'self-b'), 'file') && symlinkSafe('self-b', join(root, 'self-a'), 'file'),
  ];
  if (made.some((m) => !m)) return t.skip('this filesystem does not allow symbolic links');
  const { candidates, skipped } = await scanWorkspace(root);
  assert.deepEqual(candidates.map((c) => c.path), ['src/a.py']);
  const reason = new Map(skipped.map((s) => [s.path, s.reason]));
  assert.equal(reason.get('src/loop'), 'symlink-loop');
  assert.equal(reason.get('escape'), 'symlink-outside');
  assert.equal(reason.get('escape.py'), 'symlink-outside');
  assert.equal(reason.get('alias.py'), 'symlink');
  assert.equal(reason.get('dangling'), 'symlink-broken');
  assert.equal(reason.get('self-a'), 'symlink-loop');
});

test('an unreadable folder is skipped with its error code (injected EACCES)', async () => {
  const root = tempDir('eacces');
  write(root, 'ok/a.py', 'print(1)\n');
  write(root, 'locked/b.py', 'print(2)\n');
  // Tests run as root here, where chmod 000 does not stop reading: the error is injected instead.
  const fs: ScanFs = {
    ...nodeFs,
    readdir: async (p) => {
      if (p.endsWith('locked')) throw Object.assign(new Error(`EACCES: permission denied, scandir '${p}'`), { code: 'EACCES' });
      return nodeFs.readdir(p);
    },
  };
  const { candidates, skipped } = await scanWorkspace(root, { fs });
  assert.deepEqual(candidates.map((c) => c.path), ['ok/a.py']);
  assert.deepEqual(skipped.find((s) => s.path === 'locked/'), { path: 'locked/', status: 'skipped', reason: 'unreadable', bytes: 0, detail: 'EACCES' });
});

test('an unreadable folder on the real filesystem (chmod 000; skipped when running as root)', async (t) => {
  if (process.getuid?.() === 0) return t.skip('root reads through chmod 000; the injected-error test covers this path');
  const root = tempDir('chmod');
  write(root, 'locked/b.py', 'print(2)\n');
  mkdirSync(join(root, 'ok'));
  chmodSync(join(root, 'locked'), 0o000);
  try {
    const { skipped } = await scanWorkspace(root);
    assert.equal(skipped.find((s) => s.path === 'locked/')?.reason, 'unreadable');
  } finally {
    chmodSync(join(root, 'locked'), 0o755);
  }
});
