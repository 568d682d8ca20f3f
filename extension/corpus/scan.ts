// Walks the workspace and lists the files worth reading, and every path left out with its reason.
// Honours .git/info/exclude, .gitignore files at every depth, and the user's include/exclude globs;
// never enters .git; never follows a symbolic link (a link inside the tree points at content the
// walk reaches anyway; a link out of the tree or into a loop is reported). Reads no file content
// except ignore files. The filesystem is passed in so that tests can inject errors.
import { promises as fsp, Dirent } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { GlobSet, IgnoreRule, matchIgnore, parseGitignore } from './gitignore';
import { ManifestFile } from './types';

export interface ScanFs {
  readdir(path: string): Promise<Dirent[]>;
  readFile(path: string): Promise<Buffer>;
  realpath(path: string): Promise<string>;
  stat(path: string): Promise<{ isDirectory(): boolean; size: number }>;
}

export const nodeFs: ScanFs = {
  readdir: (p) => fsp.readdir(p, { withFileTypes: true }),
  readFile: (p) => fsp.readFile(p),
  realpath: (p) => fsp.realpath(p),
  stat: (p) => fsp.stat(p),
};

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
  signal?: AbortSignal;
  onDir?(dirsDone: number, filesFound: number): void;
}

export async function scanWorkspace(root: string, options: ScanOptions = {}): Promise<ScanResult> {
  const fs = options.fs ?? nodeFs;
  const include = new GlobSet(options.include ?? []);
  const exclude = new GlobSet(options.exclude ?? []);
  const rootReal = await fs.realpath(root);
  const candidates: ScanCandidate[] = [];
  const skipped: ManifestFile[] = [];
  const skip = (path: string, reason: ManifestFile['reason'], detail?: string) =>
    skipped.push({ path, status: 'skipped', reason, bytes: 0, ...(detail ? { detail } : {}) });

  let baseRules: IgnoreRule[] = [];
  const exclude0 = await readOptional(fs, join(root, '.git', 'info', 'exclude'));
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
      const text = await readOptional(fs, join(abs, '.gitignore'));
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

async function readOptional(fs: ScanFs, path: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(path)).toString('utf8');
  } catch {
    return undefined;
  }
}

export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (err instanceof Error ? err.message : String(err));
}
