// Exact and near-duplicate detection over whole files. Exact: sha256 of the text with line endings
// and trailing blanks normalised. Near: MinHash (64 hash functions) over word 5-shingles (a fixed,
// hash-chosen quarter of them), banded
// LSH (16 bands x 4 rows) to find candidates, then the estimated Jaccard similarity against a
// threshold (default 0.85). Of each group the first file in path order is kept. Knows nothing of
// files on disk or tokens; words are runs of identifier characters or single punctuation.
import { createHash } from 'node:crypto';

const NUM_HASHES = 64;
const BANDS = 16;
const ROWS = NUM_HASHES / BANDS;
const SHINGLE = 5;

// Fixed (a, b) pairs for h_i(x) = a_i * x + b_i (mod 2^32), from a seeded generator so that the
// signatures are identical across runs and machines.
const A = new Uint32Array(NUM_HASHES);
const B = new Uint32Array(NUM_HASHES);
{
  let s = 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  for (let i = 0; i < NUM_HASHES; i++) {
    A[i] = next() | 1;
    B[i] = next();
  }
}

export function normalisedHash(text: string): string {
  // Fast path: most files have no CR and no trailing blanks; the regexes run only when needed.
  let norm = text;
  if (norm.includes('\r')) norm = norm.replace(/\r\n?/g, '\n');
  if (/[ \t]\n|[ \t]$/.test(norm)) norm = norm.replace(/[ \t]+$/gm, '');
  norm = norm.replace(/\n+$/, '');
  return createHash('sha256').update(norm).digest('hex');
}

/** MinHash signature of a text's word 5-shingles (undefined when too short to have one). */
export function minhash(text: string): Uint32Array | undefined {
  // Words: runs of [A-Za-z0-9_] or single other non-space characters, hashed with FNV-1a as they
  // are read; a rolling window of the last five word hashes makes the shingle.
  const sig = new Uint32Array(NUM_HASHES).fill(0xffffffff);
  const win = new Uint32Array(SHINGLE);
  let words = 0;
  let sampled = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 9 || c === 13) {
      i++;
      continue;
    }
    let h = 0x811c9dc5;
    if (isWordChar(c)) {
      while (i < n && isWordChar(text.charCodeAt(i))) {
        h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
        i++;
      }
    } else {
      h = Math.imul(h ^ c, 0x01000193);
      i++;
    }
    win[words % SHINGLE] = h >>> 0;
    words++;
    if (words < SHINGLE) continue;
    let sh = 0x811c9dc5;
    for (let k = 0; k < SHINGLE; k++) sh = Math.imul(sh ^ win[(words + k) % SHINGLE], 0x01000193);
    sh >>>= 0;
    // Only a quarter of the shingles, chosen by their own hash (so the same ones in every file):
    // the Jaccard estimate stays unbiased over the sampled set, at a quarter of the work.
    if ((sh & 3) !== 0) continue;
    sampled++;
    for (let j = 0; j < NUM_HASHES; j++) {
      const v = (Math.imul(A[j], sh) + B[j]) >>> 0;
      if (v < sig[j]) sig[j] = v;
    }
  }
  return sampled < 2 ? undefined : sig;
}

function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

export function estimatedJaccard(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < NUM_HASHES; i++) if (a[i] === b[i]) same++;
  return same / NUM_HASHES;
}

export interface DedupeVerdict {
  /** index of the kept file this one duplicates */
  of: number;
  kind: 'duplicate' | 'near-duplicate';
  similarity: number;
}

/**
 * Resolves, per input index, to undefined (kept) or the verdict. Inputs must already be in the order
 * of preference (path order), so that the earliest copy is the one kept.
 */
export async function findDuplicates(texts: readonly string[], threshold: number, signal?: AbortSignal): Promise<(DedupeVerdict | undefined)[]> {
  let lastYield = performance.now();
  const out: (DedupeVerdict | undefined)[] = Array.from({ length: texts.length }, () => undefined);
  const exact = new Map<string, number>();
  const buckets = new Map<string, number[]>();
  const sigs: (Uint32Array | undefined)[] = new Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    if ((i & 15) === 0 && performance.now() - lastYield > 20) {
      // Let the parse workers' messages through (they wait on this thread for their next file).
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
      lastYield = performance.now();
    }
    const h = normalisedHash(texts[i]);
    const first = exact.get(h);
    if (first !== undefined) {
      out[i] = { of: first, kind: 'duplicate', similarity: 1 };
      continue;
    }
    exact.set(h, i);
    const sig = minhash(texts[i]);
    sigs[i] = sig;
    if (!sig) continue;
    const keys: string[] = [];
    let best: DedupeVerdict | undefined;
    for (let b = 0; b < BANDS; b++) {
      let key = `${b}`;
      for (let r = 0; r < ROWS; r++) key += ':' + sig[b * ROWS + r].toString(36);
      keys.push(key);
      for (const j of buckets.get(key) ?? []) {
        const sim = estimatedJaccard(sig, sigs[j]!);
        if (sim >= threshold && (!best || sim > best.similarity)) best = { of: j, kind: 'near-duplicate', similarity: sim };
      }
    }
    if (best) {
      out[i] = best;
      continue; // a dropped file does not become a bucket member (no chains of drift)
    }
    for (const key of keys) {
      const list = buckets.get(key);
      if (list) list.push(i);
      else buckets.set(key, [i]);
    }
  }
  return out;
}
