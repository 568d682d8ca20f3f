// Applies learned merges to one pre-tokenized piece: the standard byte-level BPE rule (GPT-2, and
// Hugging Face's BPE model): repeatedly merge the adjacent pair with the lowest merge rank, the
// leftmost one on ties, until no adjacent pair has a merge. Short pieces use a plain rescan; long
// ones (minified code, hex blobs) a heap over a linked list, so that no piece costs quadratic time.
// Knows ids and ranks only: no strings, no special tokens.

/** A merge: ids `a` and `b`, side by side, become id `to`. Rank = index in the merge list. */
export interface Merge {
  a: number;
  b: number;
  to: number;
}

/** Lookup from an adjacent id pair to its merge rank. */
export class MergeTable {
  private readonly rankOf = new Map<number, number>();
  private readonly result: Int32Array;

  /** `idLimit` is larger than every id (the vocabulary size). */
  constructor(readonly merges: readonly Merge[], private readonly idLimit: number) {
    this.result = new Int32Array(merges.length);
    merges.forEach((m, rank) => {
      const key = m.a * idLimit + m.b;
      // A pair listed twice keeps its first (lowest) rank, as Hugging Face does.
      if (!this.rankOf.has(key)) this.rankOf.set(key, rank);
      this.result[rank] = m.to;
    });
  }

  /** Rank of merging `a` then `b`, or -1. */
  rank(a: number, b: number): number {
    const r = this.rankOf.get(a * this.idLimit + b);
    return r === undefined ? -1 : r;
  }

  /** The id a merge of this rank produces. */
  to(rank: number): number {
    return this.result[rank];
  }
}

const SHORT = 48; // pieces up to this many symbols use the rescan (fewer allocations, faster)

/** Merges `syms` (initial ids, modified in place) and returns the resulting ids. */
export function applyMerges(table: MergeTable, syms: number[]): number[] {
  return syms.length <= SHORT ? mergeByRescan(table, syms) : mergeWithHeap(table, syms);
}

/** The plain rule: rescan for the lowest-ranked pair after every merge (quadratic; short pieces). */
export function mergeByRescan(table: MergeTable, syms: number[]): number[] {
  let n = syms.length;
  while (n > 1) {
    let best = -1;
    let at = -1;
    for (let i = 0; i + 1 < n; i++) {
      const r = table.rank(syms[i], syms[i + 1]);
      if (r >= 0 && (best < 0 || r < best)) {
        best = r;
        at = i;
      }
    }
    if (at < 0) break;
    syms[at] = table.to(best);
    syms.splice(at + 1, 1);
    n--;
  }
  return syms;
}

/**
 * Same result as `mergeByRescan` in O(n log n): a min-heap of (rank, position) candidates over a doubly
 * linked list of symbols; a popped candidate is dropped when its symbols have changed since it was
 * pushed (the rank no longer matches what stands there now).
 */
export function mergeWithHeap(table: MergeTable, syms: number[]): number[] {
  const n = syms.length;
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  const heap = new CandidateHeap(n);
  for (let i = 0; i + 1 < n; i++) {
    const r = table.rank(syms[i], syms[i + 1]);
    if (r >= 0) heap.push(r, i);
  }
  while (heap.size > 0) {
    const rank = heap.topRank();
    const pos = heap.topPos();
    heap.pop();
    if (!alive[pos]) continue;
    const nx = next[pos];
    if (nx < 0 || table.rank(syms[pos], syms[nx]) !== rank) continue;
    syms[pos] = table.to(rank);
    alive[nx] = 0;
    const after = next[nx];
    next[pos] = after;
    if (after >= 0) prev[after] = pos;
    const before = prev[pos];
    if (before >= 0) {
      const r = table.rank(syms[before], syms[pos]);
      if (r >= 0) heap.push(r, before);
    }
    if (after >= 0) {
      const r = table.rank(syms[pos], syms[after]);
      if (r >= 0) heap.push(r, pos);
    }
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]) out.push(syms[i]);
  return out;
}

const POS_SPAN = 2 ** 30; // positions stay below it (a JS string is shorter); ranks < 2^20: keys < 2^53

/**
 * Binary min-heap of (rank, position) candidates, each packed into one number rank * 2^30 + position
 * so that one comparison orders by rank, then leftmost position. Fixed capacity: a piece of n
 * symbols pushes at most n - 1 candidates up front and 2 per merge, of which there are at most n - 1.
 */
class CandidateHeap {
  private readonly keys: Float64Array;
  size = 0;

  constructor(symbols: number) {
    this.keys = new Float64Array(Math.max(1, 3 * symbols));
  }
  topRank(): number {
    return Math.floor(this.keys[0] / POS_SPAN);
  }
  topPos(): number {
    return this.keys[0] % POS_SPAN;
  }

  push(rank: number, pos: number): void {
    const keys = this.keys;
    const key = rank * POS_SPAN + pos;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent] <= key) break;
      keys[i] = keys[parent];
      i = parent;
    }
    keys[i] = key;
  }

  pop(): void {
    const keys = this.keys;
    const n = --this.size;
    const key = keys[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1] < keys[c]) c++;
      if (keys[c] >= key) break;
      keys[i] = keys[c];
      i = c;
    }
    keys[i] = key;
  }
}
