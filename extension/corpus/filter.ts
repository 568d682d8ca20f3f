// Decides, per file, whether it is source worth training on, and says why not: secret files
// (.env and keys, never read), lockfiles, too large, empty, binary, minified, generated, data-like.
// Decodes UTF-8; a file with a few invalid bytes is decoded with U+FFFD replacements and marked
// `utf-8-replaced`, one with many is treated as binary. Knows nothing of parsing or tokens.
import { SkipReason } from './types';

export interface FilterLimits {
  maxFileBytes: number;
}

/**
 * Names of files that hold credentials: skipped without being read (issue: .env-style files).
 * Case-insensitive: on Windows and macOS `.ENV` is the same file as `.env` to the tools that load it.
 */
export function isSecretFile(name: string): boolean {
  return (
    /^\.env(\..*)?$/i.test(name) ||
    /\.env$/i.test(name) ||
    /^\.envrc$/i.test(name) || // direnv: exported variables, usually credentials
    /^\.?(netrc|pgpass|npmrc|pypirc|git-credentials|htpasswd)$/i.test(name) ||
    /^id_(rsa|dsa|ecdsa|ed25519)(\.pub)?$/i.test(name) ||
    /\.(pem|key|p12|pfx|jks|keystore|kdbx|gpg|asc|ppk)$/i.test(name) || // .ppk: PuTTY private keys
    /\.tfvars(\.json)?$/i.test(name) || // Terraform variable values: provider credentials, passwords
    /^credentials(\.json)?$/i.test(name) ||
    /^secrets?\.(json|ya?ml|toml)$/i.test(name)
  );
}

const LOCKFILES = new Set([
  'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'Cargo.lock',
  'poetry.lock', 'Pipfile.lock', 'Gemfile.lock', 'composer.lock', 'go.sum', 'mix.lock', 'pubspec.lock',
  'Podfile.lock', 'flake.lock', 'packages.lock.json', 'gradle.lockfile', 'uv.lock', 'deno.lock',
]);

export function isLockfile(name: string): boolean {
  return LOCKFILES.has(name) || name.endsWith('.lock');
}

/** Extensions that are binary for sure: skipped without reading. */
const BINARY_EXT = new Set([
  'png', 'jpg', 'jpeg', 'gif', 'bmp', 'ico', 'webp', 'tif', 'tiff', 'psd', 'pdf', 'zip', 'gz', 'tgz', 'bz2',
  'xz', 'zst', '7z', 'rar', 'jar', 'war', 'class', 'o', 'a', 'so', 'dylib', 'dll', 'exe', 'bin', 'wasm',
  'pyc', 'pyo', 'mp3', 'mp4', 'wav', 'ogg', 'flac', 'mov', 'avi', 'mkv', 'woff', 'woff2', 'ttf', 'otf',
  'eot', 'sqlite', 'db', 'onnx', 'pt', 'pth', 'npy', 'npz', 'pkl', 'parquet', 'deb', 'rpm', 'dmg', 'iso',
]);

/** Extensions of data rather than code. */
const DATA_EXT = new Set(['csv', 'tsv', 'jsonl', 'ndjson', 'log']);

/** Checks that need only the name and size (before reading). */
export function classifyByName(path: string, size: number, limits: FilterLimits): { reason: SkipReason; detail?: string } | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (isSecretFile(name)) return { reason: 'secret-file', detail: 'credential-style file name; never read' };
  if (isLockfile(name)) return { reason: 'lockfile' };
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : '';
  if (BINARY_EXT.has(ext)) return { reason: 'binary', detail: `.${ext}` };
  if (DATA_EXT.has(ext)) return { reason: 'data', detail: `.${ext}` };
  if (/\.min\.(js|css|mjs)$/.test(name) || /\.(js|css)\.map$/.test(name)) return { reason: 'minified', detail: 'file name' };
  if (size === 0) return { reason: 'empty' };
  if (size > limits.maxFileBytes) return { reason: 'too-large', detail: `${size} > ${limits.maxFileBytes} bytes` };
  return undefined;
}

export type DecodeResult =
  | { ok: true; text: string; encoding: 'utf-8' | 'utf-8-replaced' }
  | { ok: false; reason: SkipReason; detail: string };

const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const lenientDecoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Binary test and UTF-8 decoding. A NUL byte in the first 8 KiB means binary (git's own test).
 * Invalid UTF-8: replaced when under 1% of the characters would be U+FFFD, binary otherwise.
 */
export function decodeSource(bytes: Uint8Array): DecodeResult {
  const head = bytes.subarray(0, 8192);
  if (head.indexOf(0) >= 0) return { ok: false, reason: 'binary', detail: 'NUL byte' };
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3; // BOM
  const body = bytes.subarray(start);
  try {
    return { ok: true, text: strictDecoder.decode(body), encoding: 'utf-8' };
  } catch {
    const text = lenientDecoder.decode(body);
    let bad = 0;
    for (let i = text.indexOf('\ufffd'); i >= 0; i = text.indexOf('\ufffd', i + 1)) bad++;
    if (bad > Math.max(2, text.length * 0.01)) {
      return { ok: false, reason: 'binary', detail: `not UTF-8 (${bad} invalid sequences)` };
    }
    return { ok: true, text, encoding: 'utf-8-replaced' };
  }
}

// Looked for in the first five lines only, where tools put their banner.
const GENERATED_MARKERS =
  /@generated\b|\bDO NOT EDIT\b|\bauto-?generated\b|\bautomatically generated\b|^[\s#/*;!%'"-]*(?:this (?:file|code|module) (?:is|was|has been) )?generated (?:by|from|with)\b/im;

/** Checks on the decoded text. Thresholds: see docs/corpus.md. */
export function classifyText(text: string): { reason: SkipReason; detail?: string } | undefined {
  if (text.trim() === '') return { reason: 'empty', detail: 'whitespace only' };
  // Line lengths: one pass, no split (a 1 MB single line must not allocate much).
  let lines = 0;
  let longest = 0;
  let lineStart = 0;
  let longLines = 0;
  for (let i = text.indexOf('\n'); ; i = text.indexOf('\n', i + 1)) {
    const end = i < 0 ? text.length : i;
    const len = end - lineStart;
    if (len > longest) longest = len;
    if (len > 500) longLines++;
    lines++;
    lineStart = end + 1;
    if (i < 0) break;
  }
  const avg = text.length / lines;
  if (longest > 5000 || (longest > 1000 && longLines * 20 > lines) || (avg > 200 && text.length > 2000)) {
    return { reason: 'minified', detail: `longest line ${longest}, mean ${Math.round(avg)}` };
  }
  let headEnd = 0;
  for (let k = 0; k < 5 && headEnd >= 0; k++) headEnd = text.indexOf('\n', headEnd + 1);
  const head = text.slice(0, Math.min(headEnd < 0 ? text.length : headEnd, 1200));
  const m = GENERATED_MARKERS.exec(head);
  if (m) return { reason: 'generated', detail: `header says "${m[0].slice(0, 40)}"` };
  // Data-like: mostly digits among the non-space characters (tables, dumps, embedded blobs).
  if (text.length >= 256) {
    let digits = 0;
    let nonSpace = 0;
    const step = text.length > 200_000 ? Math.floor(text.length / 100_000) : 1;
    for (let i = 0; i < text.length; i += step) {
      const c = text.charCodeAt(i);
      if (c > 32) {
        nonSpace++;
        if (c >= 48 && c <= 57) digits++;
      }
    }
    if (nonSpace > 0 && digits / nonSpace > 0.5) {
      return { reason: 'data', detail: `${Math.round((100 * digits) / nonSpace)}% digits` };
    }
  }
  return undefined;
}
