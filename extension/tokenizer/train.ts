// Trains the byte-level BPE vocabulary. Two passes, neither quadratic:
//   1. count: pre-tokenize every text and count each distinct piece once (code repeats itself, so
//      40 MB of source has a few hundred thousand distinct pieces);
//   2. merge: pairStats.ts keeps the pair counts over distinct pieces, the pieces holding each pair
//      and a lazy max-heap, and updates them incrementally around each merged occurrence.
// Deterministic: ties between equal counts go to the smaller (left id, right id), and the result
// never depends on the iteration order of a Map or Set. Stops at the vocabulary size or when no pair occurs twice (so tiny
// corpora get a smaller vocabulary). Progress and cancellation are checked between steps; the
// synchronous trainer can only be cancelled from onProgress, the async one from anywhere.
import { Merge } from './bpe';
import { pieceEnd } from './pretokenize';
import { BYTE_BASE, FIRST_MERGE_ID } from './specials';
import { Tokenizer } from './tokenizer';
import { WordSet } from './pairStats';

export interface TrainOptions {
  /** Largest vocabulary wanted, specials and bytes included (>= 262). */
  vocabSize: number;
  /**
   * Called now and then, and once at the end with done === total. Units are steps: one per text
   * read, then one per merge planned; total is known up front when `texts` is an array.
   */
  onProgress?(done: number, total: number): void;
  /** Aborting makes training throw the signal's reason (an AbortError by default). */
  signal?: AbortSignal;
}

export const DEFAULT_VOCAB_SIZE = 8192;
export const MAX_VOCAB_SIZE = 1 << 20;
const BYTE0 = BYTE_BASE; // a local copy: an imported binding is a getter call in CommonJS output
const MIN_PAIR_COUNT = 2; // a pair seen once compresses nothing
// Longer pieces (hex blobs, minified names, long space runs) are counted as chunks of this many
// UTF-16 units: a merge rewrites every piece holding its pair, so one megabyte-long piece would
// make each merge cost a megabyte. Encoding still takes such pieces whole.
const MAX_TRAIN_PIECE = 64;

/**
 * Vocabulary size for a training text of `totalBytes`: about one merge per 200 bytes (smaller
 * corpora cannot support more: rare merges only waste embedding rows), between 512 and 8192,
 * rounded up to a multiple of 64. The trainer may still stop below it when pairs run out.
 */
export function chooseVocabSize(totalBytes: number, max = DEFAULT_VOCAB_SIZE): number {
  const want = FIRST_MERGE_ID + Math.floor(Math.max(0, totalBytes) / 200);
  const rounded = Math.ceil(want / 64) * 64;
  return Math.max(512, Math.min(max, rounded));
}

/** Trains on `texts` (the training split). Blocks until done; see trainTokenizerAsync. */
export function trainTokenizer(texts: Iterable<string>, options: TrainOptions): Tokenizer {
  const steps = trainSteps(texts, options);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** As trainTokenizer, but yields to the event loop every ~20 ms so that a signal can abort it. */
export async function trainTokenizerAsync(texts: Iterable<string>, options: TrainOptions): Promise<Tokenizer> {
  const steps = trainSteps(texts, options);
  let last = Date.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (Date.now() - last >= 20) {
      await new Promise((resolve) => setImmediate(resolve));
      options.signal?.throwIfAborted();
      last = Date.now();
    }
  }
}

function checkVocabSize(v: number): void {
  if (!Number.isInteger(v) || v < FIRST_MERGE_ID || v > MAX_VOCAB_SIZE) {
    throw new RangeError(`vocabSize must be an integer from ${FIRST_MERGE_ID} (6 special + 256 byte tokens) to ${MAX_VOCAB_SIZE}, got ${v}`);
  }
}

/** The training, as a generator that yields between bounded amounts of work. */
function* trainSteps(texts: Iterable<string>, options: TrainOptions): Generator<void, Tokenizer> {
  checkVocabSize(options.vocabSize);
  const { signal, onProgress } = options;
  const vocabSize = options.vocabSize;
  const textCount = Array.isArray(texts) ? texts.length : -1;
  let textsRead = 0;
  const total = () => (textCount >= 0 ? textCount : textsRead) + (vocabSize - FIRST_MERGE_ID);
  let lastReport = 0;
  const report = (done: number, force = false) => {
    const now = Date.now();
    if (onProgress && (force || now - lastReport >= 50)) {
      lastReport = now;
      onProgress(done, total());
    }
    signal?.throwIfAborted();
  };
  signal?.throwIfAborted();

  // ---- 1. count distinct pieces (one-byte pieces can hold no pair and are skipped)
  const counts = new Map<string, number>();
  let work = 0;
  for (const text of texts) {
    const n = text.length;
    for (let i = 0; i < n; ) {
      const j = pieceEnd(text, i);
      if (j - i <= MAX_TRAIN_PIECE) {
        if (j > i + 1 || text.charCodeAt(i) >= 0x80) {
          const piece = text.slice(i, j);
          counts.set(piece, (counts.get(piece) ?? 0) + 1);
        }
      } else {
        countChunks(counts, text, i, j);
      }
      i = j;
    }
    textsRead++;
    work += n;
    if (work >= 1 << 18) {
      work = 0;
      report(textsRead);
      yield;
    }
  }
  report(textsRead, true);
  yield;

  // ---- 2. merges
  const words = new WordSet(pieceIds(counts), vocabSize);
  counts.clear();
  const tokenBytes: Uint8Array[] = [];
  for (let id = 0; id < BYTE_BASE; id++) tokenBytes.push(new Uint8Array(0));
  for (let b = 0; b < 256; b++) tokenBytes.push(Uint8Array.of(b));
  const idOfBytes = new Map<string, number>(); // latin1 string of a merged token's bytes -> id
  const merges: Merge[] = [];
  let steps = 0;
  while (tokenBytes.length < vocabSize) {
    const best = words.bestPair();
    if (best < 0 || words.count(best) < MIN_PAIR_COUNT) break;
    const a = Math.floor(best / vocabSize);
    const b = best % vocabSize;
    const bytes = new Uint8Array(tokenBytes[a].length + tokenBytes[b].length);
    bytes.set(tokenBytes[a]);
    bytes.set(tokenBytes[b], tokenBytes[a].length);
    // Two merges can spell the same token ("ab c" and "a bc"): the second reuses the id.
    const key = Buffer.from(bytes).toString('latin1');
    let to = idOfBytes.get(key);
    if (to === undefined) {
      to = tokenBytes.length;
      tokenBytes.push(bytes);
      idOfBytes.set(key, to);
    }
    merges.push({ a, b, to });
    words.merge(best, to);
    if ((++steps & 15) === 0) {
      report(textsRead + tokenBytes.length - FIRST_MERGE_ID);
      yield;
    }
  }
  if (onProgress) onProgress(total(), total());
  signal?.throwIfAborted();
  return new Tokenizer({ tokenBytes, merges });
}

/** Each counted piece as its UTF-8 bytes' ids, with its count. */
function* pieceIds(counts: Map<string, number>): Generator<[Int32Array, number]> {
  for (const [piece, f] of counts) {
    const bytes = Buffer.from(piece, 'utf8');
    const ids = new Int32Array(bytes.length);
    for (let k = 0; k < bytes.length; k++) ids[k] = BYTE0 + bytes[k];
    yield [ids, f];
  }
}

/** Counts text[start, end) as consecutive chunks of at most MAX_TRAIN_PIECE units (whole characters). */
function countChunks(counts: Map<string, number>, text: string, start: number, end: number): void {
  for (let i = start; i < end; ) {
    let j = Math.min(end, i + MAX_TRAIN_PIECE);
    const last = text.charCodeAt(j - 1);
    if (j < end && last >= 0xd800 && last <= 0xdbff) j--; // do not split a surrogate pair
    const chunk = text.slice(i, j);
    counts.set(chunk, (counts.get(chunk) ?? 0) + 1);
    i = j;
  }
}
