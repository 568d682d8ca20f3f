import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlobSet, matchIgnore, parseGitignore } from '../../extension/corpus/gitignore';

// [gitignore text, base folder, path, isDir, expected (true ignored, false re-included, undefined no match)]
const cases: [string, string, string, boolean, boolean | undefined][] = [
  ['*.log', '', 'debug.log', false, true],
  ['*.log', '', 'a/b/debug.log', false, true],
  ['*.log\n!keep.log', '', 'keep.log', false, false],
  ['*.log\n!keep.log', '', 'x/keep.log', false, false],
  ['# comment\n\n*.tmp', '', '# comment', false, undefined],
  ['\\#hash', '', '#hash', false, true],
  ['\\!bang', '', '!bang', false, true],
  ['trailing   ', '', 'trailing', false, true],
  ['space\\ ', '', 'space ', false, true],
  ['build/', '', 'build', true, true],
  ['build/', '', 'build', false, undefined],
  ['build/', '', 'src/build', true, true],
  ['/root.txt', '', 'root.txt', false, true],
  ['/root.txt', '', 'sub/root.txt', false, undefined],
  ['doc/frotz', '', 'doc/frotz', false, true],
  ['doc/frotz', '', 'a/doc/frotz', false, undefined],
  ['**/foo', '', 'foo', false, true],
  ['**/foo', '', 'a/b/foo', false, true],
  ['**/foo/bar', '', 'x/foo/bar', false, true],
  ['abc/**', '', 'abc/x/y', false, true],
  ['abc/**', '', 'abc', true, undefined],
  ['a/**/b', '', 'a/b', false, true],
  ['a/**/b', '', 'a/x/y/b', false, true],
  ['a/**/b', '', 'a/xb', false, undefined],
  ['*.[oa]', '', 'lib.o', false, true],
  ['*.[oa]', '', 'lib.a', false, true],
  ['*.[oa]', '', 'lib.c', false, undefined],
  ['file[0-9].txt', '', 'file7.txt', false, true],
  ['file[!0-9].txt', '', 'file7.txt', false, undefined],
  ['file[!0-9].txt', '', 'fileX.txt', false, true],
  ['?.c', '', 'a.c', false, true],
  ['?.c', '', 'ab.c', false, undefined],
  ['a*', '', 'dir/abc', false, true],
  ['a/*.c', '', 'a/b/c.c', false, undefined],
  ['*.gen.ts', 'src', 'src/x.gen.ts', false, true],
  ['/only-here', 'src', 'src/only-here', false, true],
  ['/only-here', 'src', 'only-here', false, undefined],
  ['sub/x', 'src', 'src/sub/x', false, true],
  ['sub/x', 'src', 'other/sub/x', false, undefined],
];

for (const [text, base, path, isDir, expected] of cases) {
  test(`gitignore ${JSON.stringify(text)} in "${base}" decides ${path}${isDir ? '/' : ''} as ${expected}`, () => {
    assert.equal(matchIgnore(parseGitignore(text, base), path, isDir), expected);
  });
}

test('a deeper .gitignore overrides a shallower one, and the last rule wins', () => {
  const rules = [...parseGitignore('*.txt', ''), ...parseGitignore('!keep.txt', 'a'), ...parseGitignore('keep.txt', 'a/b')];
  assert.equal(matchIgnore(rules, 'x.txt', false), true);
  assert.equal(matchIgnore(rules, 'a/keep.txt', false), false);
  assert.equal(matchIgnore(rules, 'a/b/keep.txt', false), true);
  assert.equal(matchIgnore(rules, 'a/other.txt', false), true);
});

test('user globs match a file directly or through one of its folders', () => {
  const set = new GlobSet(['src/**/*.ts', 'legacy/']);
  assert.equal(set.matches('src/a/b.ts'), true);
  assert.equal(set.matches('src/b.js'), false);
  assert.equal(set.matches('legacy/old/thing.c'), true);
  assert.equal(new GlobSet([]).empty, true);
});
