// Walks the workspace and lists the files worth reading, and every path left out with its reason.
// Honours .git/info/exclude, .gitignore files at every depth, and the user's include/exclude globs;
// never enters .git; never follows a symbolic link (a link inside the tree points at content the
// walk reaches anyway; a link out of the tree or into a loop is reported). Reads no file content
// except ignore files, and those only when they are regular files of at most 1 MiB; a folder whose
// .gitignore cannot be read is skipped whole, so that what it ignores never reaches the corpus.
// The filesystem is passed in so that tests can inject errors.
import { promises as fsp, Dirent } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { GlobSet, IgnoreRule, matchIgnore, parseGitignore } from './gitignore';
import { ManifestFile } from './types';

export interface ScanFs {
  readdir(path: string): Promise<Dirent[]>;
  readFile(path: string): Promise<Buffer>;
  realpath(path: string): Promise<string>;
  stat(path: string): Promise<{ isDirectory(): boolean; size: number }>;
  lstat(path: string): Promise<{ isFile(): boolean; size: number }>;
}

export const nodeFs: ScanFs = {
  readdir: (p) => fsp.readdir(p, { withFileTypes: true }),
  readFile: (p) => fsp.readFile(p),
  realpath: (p) => fsp.realpath(p),
  stat: (p) => fsp.stat(p),
  lstat: (p) => fsp.lstat(p),
};

/**
 * Largest ignore file read (docs/corpus.md). Real ones are a few KiB; the cap keeps a huge file
 * (or one that never ends, like /dev/zero behind a rename race) from stalling the scan.
 */
export const MAX_IGNORE_FILE_BYTES = 1024 * 1024;

/** Folder names whose content is someone else's code or build output (issue: vendored). */
export const VENDORED_DIRS = new Set([
  'node_modules', 'vendor', 'vendors', 'third_party', 'third-party', 'thirdparty', 'dist', 'build',
  'bower_components', 'jspm_packages', '.yarn', '.pnpm-store', '.venv', 'venv', 'site-packages',
  '__pycache__', '.tox', '.mypy_cache', '.pytest_cache', 'Pods', 'Carthage', '.gradle', '.next', '.nuxt',
]);

/** Version-control folders: never entered and not reported. */
const VCS_DIRS = new Set(['.git', '.hg', '.svn']);

export interface ScanCandidate {
  path: string; // posix, relative to the root
  abs: string;
}

export interface ScanResult {
  candidates: ScanCandidate[];
  skipped: ManifestFile[];
}

export interface ScanOptions {
  include?: readonly string[];
  exclude?: readonly string[];
  fs?: ScanFs;
  /**
   * Globs (gitignore syntax) of the indexer's own output inside the workspace (the run folder):
   * reported as `run-folder` and never entered, so that a run never indexes run.json, the corpus or
   * a leftover .corpus-tmp-* of an earlier one.
   */
  output?: readonly string[];
  signal?: AbortSignal;
  onDir?(dirsDone: number, filesFound: number): void;
}

export async function scanWorkspace(root: string, options: ScanOptions = {}): Promise<ScanResult> {
  const fs = options.fs ?? nodeFs;
  const include = new GlobSet(options.include ?? []);
  const exclude = new GlobSet(options.exclude ?? []);
  const output = new GlobSet(options.output ?? []);
  const rootReal = await fs.realpath(root);
  const candidates: ScanCandidate[] = [];
  const skipped: ManifestFile[] = [];
  const skip = (path: string, reason: ManifestFile['reason'], detail?: string) =>
    skipped.push({ path, status: 'skipped', reason, bytes: 0, ...(detail ? { detail } : {}) });

  let baseRules: IgnoreRule[] = [];
  let exclude0: string | undefined;
  try {
    exclude0 = await readIgnoreFile(fs, join(root, '.git', 'info', 'exclude'));
  } catch (err) {
    // Without its rules nothing can be trusted to be wanted: skip everything, and say why.
    skip('./', 'unreadable', `.git/info/exclude: ${errorCode(err)}`);
    return { candidates, skipped };
  }
  if (exclude0 !== undefined) baseRules = parseGitignore(exclude0, '');

  let dirsDone = 0;
  // Depth-first, names sorted, so that the output order never depends on the filesystem.
  const walk = async (rel: string, inherited: IgnoreRule[]): Promise<void> => {
    options.signal?.throwIfAborted();
    const abs = rel === '' ? root : join(root, ...rel.split('/'));
    let entries: Dirent[];
    try {
      entries = await fs.readdir(abs);
    } catch (err) {
      skip(rel === '' ? './' : rel + '/', 'unreadable', errorCode(err));
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let rules = inherited;
    if (entries.some((e) => e.name === '.gitignore' && !e.isDirectory())) {
      let text: string | undefined;
      try {
        text = await readIgnoreFile(fs, join(abs, '.gitignore'));
      } catch (err) {
        // Walking on without this folder's rules would index what it ignores (build output,
        // credentials): the folder is skipped as a whole instead.
        skip(rel === '' ? './' : rel + '/', 'unreadable', `${rel === '' ? '' : rel + '/'}.gitignore: ${errorCode(err)}`);
        return;
      }
      if (text !== undefined) rules = inherited.concat(parseGitignore(text, rel));
    }
    dirsDone++;
    options.onDir?.(dirsDone, candidates.length);
    const subdirs: string[] = [];
    for (const entry of entries) {
      const name = entry.name;
      const path = rel === '' ? name : `${rel}/${name}`;
      if (entry.isDirectory() && VCS_DIRS.has(name)) continue;
      if (entry.isSymbolicLink()) {
        if (matchIgnore(rules, path, false) === true) {
          skip(path, 'gitignored');
          continue;
        }
        await classifySymlink(fs, rootReal, join(abs, name), path, skip);
        continue;
      }
      const isDir = entry.isDirectory();
      if (!isDir && !entry.isFile()) {
        skip(path, 'special-file');
        continue;
      }
      if (matchIgnore(rules, path, isDir) === true) {
        skip(isDir ? path + '/' : path, 'gitignored');
        continue;
      }
      if (!output.empty && output.matches(path, isDir)) {
        skip(isDir ? path + '/' : path, 'run-folder', 'output of the indexer');
        continue;
      }
      if (isDir) {
        if (VENDORED_DIRS.has(name)) skip(path + '/', 'vendored');
        else if (exclude.matches(path, true)) skip(path + '/', 'excluded');
        else subdirs.push(path);
        continue;
      }
      if (exclude.matches(path)) skip(path, 'excluded');
      else if (!include.empty && !include.matches(path)) skip(path, 'not-included');
      else candidates.push({ path, abs: join(abs, name) });
    }
    for (const sub of subdirs) await walk(sub, rules);
  };
  await walk('', baseRules);
  return { candidates, skipped };
}

async function classifySymlink(
  fs: ScanFs,
  rootReal: string,
  linkAbs: string,
  path: string,
  skip: (path: string, reason: ManifestFile['reason'], detail?: string) => void,
): Promise<void> {
  let target: string;
  try {
    target = await fs.realpath(linkAbs);
  } catch (err) {
    // ELOOP (a link cycle) or ENOENT (dangling).
    const code = errorCode(err);
    skip(path, code === 'ELOOP' ? 'symlink-loop' : 'symlink-broken', code);
    return;
  }
  const rel = relative(rootReal, target);
  if (rel.startsWith('..') || rel === '..' || (sep === '\\' && /^[a-zA-Z]:/.test(rel))) {
    skip(path, 'symlink-outside', 'points outside the workspace');
    return;
  }
  const relPosix = rel.split(sep).join('/');
  let isDir = false;
  try {
    isDir = (await fs.stat(linkAbs)).isDirectory();
  } catch {
    /* raced away: treat as a file link */
  }
  if (isDir && (relPosix === '' || path === relPosix || path.startsWith(relPosix + '/'))) {
    skip(path, 'symlink-loop', `points to its own ancestor ${relPosix || '.'}`);
    return;
  }
  skip(path, 'symlink', `not followed; target ${relPosix} is indexed at its own path`);
}

/**
 * The text of a .gitignore or .git/info/exclude. Undefined when there is none (ENOENT; ENOTDIR when
 * `.git` is a file, as in a worktree or submodule) or when it is not a regular file: a symbolic link
 * is not followed (git >= 2.32 does not follow a symlinked .gitignore either) and a FIFO would block
 * the read forever. Throws on any other error (EACCES, EIO) and, with code EFBIG, past
 * MAX_IGNORE_FILE_BYTES: the caller must not go on as if the file had no rules.
 */
export async function readIgnoreFile(fs: ScanFs, path: string): Promise<string | undefined> {
  const absent = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes(errorCode(err));
  const tooLarge = (size: number) =>
    Object.assign(new Error(`${path}: ${size} bytes, over ${MAX_IGNORE_FILE_BYTES}`), { code: 'EFBIG' });
  let info: { isFile(): boolean; size: number };
  try {
    info = await fs.lstat(path);
  } catch (err) {
    if (absent(err)) return undefined;
    throw err;
  }
  if (!info.isFile()) return undefined;
  if (info.size > MAX_IGNORE_FILE_BYTES) throw tooLarge(info.size);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    if (absent(err)) return undefined; // removed since the lstat
    throw err;
  }
  if (bytes.length > MAX_IGNORE_FILE_BYTES) throw tooLarge(bytes.length); // grew since the lstat
  return bytes.toString('utf8');
}

export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (err instanceof Error ? err.message : String(err));
}
