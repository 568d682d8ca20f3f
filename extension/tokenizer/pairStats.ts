// The merge statistics of BPE training: the distinct pieces as id sequences, the count of every
// adjacent pair (weighted by how often each piece occurs), the pieces that hold each pair, and a
// lazy max-heap to find the most frequent pair. Merging a pair rewrites only the pieces that hold
// it and updates the counts of the pairs around each occurrence, as Hugging Face's BpeTrainer does.
// Knows nothing of texts, bytes or files: pieces arrive as id sequences.

/**
 * The distinct pieces as id sequences, with the pair statistics. A pair (a, b) is the number
 * a * idLimit + b, which keeps map keys small integers for the usual vocabulary sizes.
 */
export class WordSet {
  private readonly syms: Int32Array[] = [];
  private readonly lens: number[] = [];
  private readonly freq: number[] = [];
  private readonly pairCount = new Map<number, number>();
  private readonly pairWords = new Map<number, number[]>(); // may list a piece that lost the pair
  private readonly heap = new PairHeap();

  /** `pieces` yields each distinct piece's ids and count; every id is below `idLimit`. */
  constructor(pieces: Iterable<[Int32Array, number]>, private readonly idLimit: number) {
    for (const [s, f] of pieces) {
      const w = this.syms.length;
      this.syms.push(s);
      this.lens.push(s.length);
      this.freq.push(f);
      for (let k = 0; k + 1 < s.length; k++) this.add(s[k] * idLimit + s[k + 1], f, w);
    }
    for (const [pair, c] of this.pairCount) this.heap.push(c, pair);
  }

  count(pair: number): number {
    return this.pairCount.get(pair) ?? 0;
  }

  /** The pair with the highest count (smallest pair on ties), or -1 when none is left. */
  bestPair(): number {
    while (this.heap.size > 0) {
      const c = this.heap.topCount();
      const pair = this.heap.topPair();
      this.heap.pop();
      const now = this.count(pair);
      if (now === c) return pair;
      // A stale entry: re-queue the current count if it is lower (when it is higher, an entry
      // with that count was pushed when it grew).
      if (now > 0 && now < c) this.heap.push(now, pair);
    }
    return -1;
  }

  /** Replaces every occurrence of `pair` by `to` and updates the pair statistics. */
  merge(pair: number, to: number): void {
    const L = this.idLimit;
    const a = Math.floor(pair / L);
    const b = pair % L;
    const list = this.pairWords.get(pair) ?? [];
    this.pairWords.delete(pair);
    this.pairCount.delete(pair);
    const grown = new Set<number>();
    for (const w of list) {
      const s = this.syms[w];
      const n = this.lens[w];
      const f = this.freq[w];
      let r = 0;
      let out = 0;
      while (r < n) {
        if (r + 1 < n && s[r] === a && s[r + 1] === b) {
          // Sequential, as if merging left to right in place: the left neighbour may already be `to`.
          if (out > 0) {
            const left = s[out - 1];
            this.add(left * L + a, -f, w, pair);
            grown.add(this.add(left * L + to, f, w, pair));
          }
          if (r + 2 < n) {
            const right = s[r + 2];
            this.add(b * L + right, -f, w, pair);
            grown.add(this.add(to * L + right, f, w, pair));
          }
          s[out++] = to;
          r += 2;
        } else {
          s[out++] = s[r++];
        }
      }
      this.lens[w] = out;
    }
    for (const p of grown) {
      const c = this.count(p);
      if (c > 0) this.heap.push(c, p);
    }
  }

  /** Adds `delta` to a pair's count (ignoring the pair being merged); returns the pair. */
  private add(p: number, delta: number, w: number, merging = -1): number {
    if (p === merging) return p;
    const c = (this.pairCount.get(p) ?? 0) + delta;
    if (c > 0) {
      this.pairCount.set(p, c);
      if (delta > 0) {
        let list = this.pairWords.get(p);
        if (list === undefined) this.pairWords.set(p, (list = []));
        if (list[list.length - 1] !== w) list.push(w);
      }
    } else {
      this.pairCount.delete(p);
      this.pairWords.delete(p);
    }
    return p;
  }
}

/** Binary max-heap of (count, pair): highest count first, then the smallest pair number. */
class PairHeap {
  private counts: number[] = [];
  private pairs: number[] = [];

  get size(): number {
    return this.counts.length;
  }
  topCount(): number {
    return this.counts[0];
  }
  topPair(): number {
    return this.pairs[0];
  }

  private before(i: number, j: number): boolean {
    const a = this.counts[i];
    const b = this.counts[j];
    return a > b || (a === b && this.pairs[i] < this.pairs[j]);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i];
    this.counts[i] = this.counts[j];
    this.counts[j] = c;
    const p = this.pairs[i];
    this.pairs[i] = this.pairs[j];
    this.pairs[j] = p;
  }

  push(count: number, pair: number): void {
    this.counts.push(count);
    this.pairs.push(pair);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): void {
    const last = this.counts.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.pairs.pop();
    const n = this.counts.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.before(l, m)) m = l;
      if (r < n && this.before(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
}
