// Gather context: the prefix and suffix around the cursor, cut at line boundaries to a token
// budget, and the choice of canvas (single line or block). Knows the tokenizer only as `encode`,
// and nothing of models or sampling.
//
// Budget: the room left in the model's window (max_seq_len minus the canvas) is shared ~70% prefix
// / 30% suffix (the code above the cursor says more about what comes next than the code below),
// and what one side does not need goes to the other. Whole lines are kept, nearest to the cursor
// first; only the cursor's own line may be cut mid-line (at a token), when it alone is longer
// than its share.

export interface Encoder {
  encode(text: string): number[];
}

export type CompletionMode = 'line' | 'block';

export interface GatheredContext {
  prefixIds: number[];
  suffixIds: number[];
  /** The text the ids encode (a tail of the prefix, a head of the suffix). */
  prefixText: string;
  suffixText: string;
}

export const DEFAULT_PREFIX_SHARE = 0.7;

/** Lines with their line ends ("a\nb" -> ["a\n", "b"]). */
export function splitLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      out.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/** Token counts of whole lines walked outward from the cursor, until more than `limit` are counted. */
function lineCounts(enc: Encoder, lines: string[], fromEnd: boolean, limit: number): number[] {
  const counts: number[] = [];
  let total = 0;
  for (let k = 0; k < lines.length && total <= limit; k++) {
    const n = enc.encode(lines[fromEnd ? lines.length - 1 - k : k]).length;
    counts.push(n);
    total += n;
  }
  return counts;
}

function sum(xs: number[], n = xs.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += xs[i];
  return s;
}

/** How many whole lines (from the cursor outward) fit `budget`, re-encoded as one text to be sure. */
function take(enc: Encoder, lines: string[], counts: number[], budget: number, fromEnd: boolean): [string, number[]] {
  let k = 0;
  while (k < counts.length && sum(counts, k + 1) <= budget) k++;
  for (; k > 0; k--) {
    const text = (fromEnd ? lines.slice(lines.length - k) : lines.slice(0, k)).join('');
    const ids = enc.encode(text);
    if (ids.length <= budget) return [text, ids];
  }
  if (budget <= 0 || lines.length === 0) return ['', []];
  // The cursor's own line alone is longer than the budget: keep the tokens nearest the cursor.
  const line = fromEnd ? lines[lines.length - 1] : lines[0];
  const ids = enc.encode(line);
  return [line, fromEnd ? ids.slice(ids.length - budget) : ids.slice(0, budget)];
}

/**
 * Prefix and suffix ids with len(prefix) + len(suffix) <= room, cut at line boundaries. The prefix
 * gets `prefixShare` of the room, the suffix the rest; a side that needs less gives the
 * difference to the other.
 */
export function gatherContext(enc: Encoder, prefix: string, suffix: string, room: number,
  prefixShare = DEFAULT_PREFIX_SHARE): GatheredContext {
  room = Math.max(0, Math.floor(room));
  const pLines = splitLines(prefix);
  const sLines = splitLines(suffix);
  const pCounts = lineCounts(enc, pLines, true, room);
  const sCounts = lineCounts(enc, sLines, false, room);
  const pNeed = sum(pCounts);
  const sNeed = sum(sCounts);
  let pBudget = Math.floor(room * prefixShare);
  if (pNeed < pBudget) pBudget = pNeed;
  else if (sNeed < room - pBudget) pBudget = room - sNeed;
  const [prefixText, prefixIds] = take(enc, pLines, pCounts, pBudget, true);
  // What the prefix left unused (the next whole line did not fit) goes to the suffix.
  const [suffixText, suffixIds] = take(enc, sLines, sCounts, room - prefixIds.length, false);
  return { prefixIds, suffixIds, prefixText, suffixText };
}

const OPENS_BLOCK = /(?:[{([:]|=>|\bthen|\bdo|\bbegin|\belse)\s*$/;
const ONLY_CLOSERS = /^[\s)\]}>;,]*$/;

/** The cursor's line before the cursor, and after it. */
export function cursorLine(prefix: string, suffix: string): { before: string; after: string } {
  const nl = suffix.indexOf('\n');
  return { before: prefix.slice(prefix.lastIndexOf('\n') + 1), after: nl < 0 ? suffix : suffix.slice(0, nl) };
}

/**
 * Single line or block: a block when the cursor is on an empty line, or at the end of a line that
 * opens a block (`{`, `:`, `=>`, `then` ...; at most closing brackets after the cursor);
 * otherwise the rest of the current line.
 */
export function chooseMode(prefix: string, suffix: string): CompletionMode {
  const { before, after } = cursorLine(prefix, suffix);
  if (!ONLY_CLOSERS.test(after)) return 'line';
  if (before.trim() === '' && after.trim() === '') return 'block';
  if (OPENS_BLOCK.test(before)) return 'block';
  return 'line';
}
