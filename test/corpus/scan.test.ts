import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import { runFolderGlobs } from '../../extension/corpus/build';
import { MAX_IGNORE_FILE_BYTES, nodeFs, scanWorkspace, ScanFs } from '../../extension/corpus/scan';
import { skipReasons, symlinkSafe, tempDir, write } from './helpers';

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
  const reason = skipReasons(skipped);
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
  const reason = skipReasons(skipped);
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
  const reason = skipReasons(skipped);
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

/** A ScanFs whose readFile fails with `code` for paths ending in one of `suffixes`. */
function failingReads(code: string, ...suffixes: string[]): ScanFs {
  return {
    ...nodeFs,
    readFile: async (p) => {
      if (suffixes.some((s) => p.endsWith(s))) throw Object.assign(new Error(`${code}: injected, open '${p}'`), { code });
      return nodeFs.readFile(p);
    },
  };
}

test('a .gitignore that cannot be read skips its folder as unreadable, naming the file and the error (injected EACCES)', async () => {
  const root = tempDir('gi-eacces');
  write(root, 'ok/a.py', 'print(1)\n');
  write(root, 'app/.gitignore', 'secrets.py\nbuild-cache/\n');
  write(root, 'app/secrets.py', 'TOKEN = "ignored by app/.gitignore"\n');
  write(root, 'app/main.py', 'print(2)\n');
  write(root, 'app/build-cache/x.py', 'print(3)\n');
  // Tests run as root here, where chmod 000 does not stop reading: the error is injected instead.
  const { candidates, skipped } = await scanWorkspace(root, { fs: failingReads('EACCES', join('app', '.gitignore')) });
  assert.deepEqual(candidates.map((c) => c.path), ['ok/a.py']);
  assert.deepEqual(skipped.find((s) => s.path === 'app/'), { path: 'app/', status: 'skipped', reason: 'unreadable', bytes: 0, detail: 'app/.gitignore: EACCES' });
});

test('an unreadable root .gitignore or .git/info/exclude skips the whole workspace (injected EIO / EACCES)', async () => {
  const root = tempDir('gi-root');
  write(root, '.gitignore', '*.secret.py\n');
  write(root, '.git/info/exclude', 'local.py\n');
  write(root, 'a.secret.py', 'x = 1\n');
  write(root, 'local.py', 'x = 2\n');
  write(root, 'main.py', 'x = 3\n');
  const viaGitignore = await scanWorkspace(root, { fs: failingReads('EIO', `${root}${sep}.gitignore`) });
  assert.deepEqual(viaGitignore.candidates, []);
  assert.deepEqual(viaGitignore.skipped, [{ path: './', status: 'skipped', reason: 'unreadable', bytes: 0, detail: '.gitignore: EIO' }]);
  const viaExclude = await scanWorkspace(root, { fs: failingReads('EACCES', join('.git', 'info', 'exclude')) });
  assert.deepEqual(viaExclude.candidates, []);
  assert.deepEqual(viaExclude.skipped, [{ path: './', status: 'skipped', reason: 'unreadable', bytes: 0, detail: '.git/info/exclude: EACCES' }]);
});

test('a missing .git/info/exclude, or a .git file (worktree, submodule: ENOTDIR), just means no rules', async () => {
  const root = tempDir('gitfile');
  write(root, '.git', 'gitdir: ../main/.git/worktrees/feature\n');
  write(root, 'main.py', 'x = 3\n');
  const { candidates, skipped } = await scanWorkspace(root);
  assert.ok(candidates.some((c) => c.path === 'main.py'));
  assert.ok(!skipped.some((s) => s.reason === 'unreadable'));
});

test('an ignore file over 1 MiB skips its folder as unreadable (EFBIG)', async () => {
  const root = tempDir('gi-big');
  write(root, 'ok.py', 'x = 1\n');
  write(root, 'big/.gitignore', '# padding\n'.repeat(Math.ceil(MAX_IGNORE_FILE_BYTES / 10) + 1));
  write(root, 'big/a.py', 'x = 2\n');
  const { candidates, skipped } = await scanWorkspace(root);
  assert.deepEqual(candidates.map((c) => c.path), ['ok.py']);
  assert.equal(skipped.find((s) => s.path === 'big/')?.detail, 'big/.gitignore: EFBIG');
});

test('a symlinked .gitignore is not followed (as git >= 2.32), and a FIFO named .gitignore does not hang the scan', async (t) => {
  const root = tempDir('gi-fifo');
  write(root, 'rules.txt', '*.py\n');
  write(root, 'linked/a.py', 'x = 1\n');
  write(root, 'piped/b.py', 'x = 2\n');
  write(root, 'fifo-target/c.py', 'x = 3\n');
  try {
    execFileSync('mkfifo', [join(root, 'piped', '.gitignore')]);
    execFileSync('mkfifo', [join(root, 'fifo')]);
  } catch {
    return t.skip('mkfifo is not available here');
  }
  if (!symlinkSafe('../rules.txt', join(root, 'linked', '.gitignore'), 'file') || !symlinkSafe('../fifo', join(root, 'fifo-target', '.gitignore'), 'file')) {
    return t.skip('this filesystem does not allow symbolic links');
  }
  // Before the fix, reading either FIFO blocked forever; the race turns that into a failure.
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the scan hung on a FIFO')), 5000)));
  const { candidates, skipped } = await Promise.race([scanWorkspace(root), hung]).finally(() => clearTimeout(timer));
  // The symlinked rules are not applied; the link itself is reported like any other.
  assert.deepEqual(candidates.map((c) => c.path).sort(), ['fifo-target/c.py', 'linked/a.py', 'piped/b.py', 'rules.txt']);
  const reason = skipReasons(skipped);
  assert.equal(reason.get('linked/.gitignore'), 'symlink');
  assert.equal(reason.get('fifo-target/.gitignore'), 'symlink');
  assert.equal(reason.get('piped/.gitignore'), 'special-file');
  assert.equal(reason.get('fifo'), 'special-file');
});

test('the run folder inside the workspace is never scanned: a subfolder, or the workspace itself', async () => {
  const root = tempDir('runfolder');
  write(root, 'src/a.py', 'x = 1\n');
  write(root, 'runs/r1/run.json', '{}\n');
  write(root, 'runs/r1/corpus/manifest.json', '{}\n');
  write(root, 'runs/r1/.corpus-tmp-1-abcd/manifest.json', '{}\n');
  write(root, 'runs/r0/notes.md', 'another run folder is not this run\'s output\n');
  const inside = await scanWorkspace(root, { output: await runFolderGlobs(nodeFs, root, join(root, 'runs', 'r1')) });
  assert.deepEqual(inside.candidates.map((c) => c.path).sort(), ['runs/r0/notes.md', 'src/a.py']);
  assert.deepEqual(inside.skipped.find((s) => s.path === 'runs/r1/'), { path: 'runs/r1/', status: 'skipped', reason: 'run-folder', bytes: 0, detail: 'output of the indexer' });

  // `index . --out .`: what a run writes at the top is left out, the sources are not.
  const self = tempDir('runself');
  write(self, 'main.py', 'x = 1\n');
  write(self, 'run.json', '{}\n');
  write(self, 'metrics.jsonl', '{}\n');
  write(self, 'corpus/manifest.json', '{}\n');
  write(self, 'corpus.old-12ab/manifest.json', '{}\n');
  write(self, '.corpus-tmp-9-ffff/eval.jsonl', '{}\n');
  write(self, 'lib/run.json', '{"a fixture": true}\n');
  const own = await scanWorkspace(self, { output: await runFolderGlobs(nodeFs, self, self) });
  assert.deepEqual(own.candidates.map((c) => c.path).sort(), ['lib/run.json', 'main.py']);
  assert.deepEqual(own.skipped.filter((s) => s.reason === 'run-folder').map((s) => s.path).sort(), ['.corpus-tmp-9-ffff/', 'corpus.old-12ab/', 'corpus/', 'metrics.jsonl', 'run.json']);

  // Outside the workspace, or not created yet: nothing to leave out.
  assert.deepEqual(await runFolderGlobs(nodeFs, root, tempDir('elsewhere')), []);
  assert.deepEqual(await runFolderGlobs(nodeFs, root, join(root, 'runs', 'r9')), []);
});
