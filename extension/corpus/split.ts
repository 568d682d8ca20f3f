// The train/val split (whole files, chosen by a seeded hash of the path, so that adding a file
// does not reshuffle the others) and the held-out infill tasks of eval.jsonl. A corpus of one file
// cannot be split by file: its tail, cut at a top-level chunk boundary, becomes the validation
// document, and the manifest says so. Knows texts and character spans, not tokens.
import { createHash } from 'node:crypto';
import { SPAN_KIND, TextSpan } from './types';

/** mulberry32: a small, fast, seedable generator (deterministic across platforms). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SplitDecision {
  val: Set<number>;
  note?: string;
}

/** Picks the validation files among n (given by path), deterministic in (seed, paths). */
export function splitFiles(paths: readonly string[], seed: number, valFraction: number): SplitDecision {
  const n = paths.length;
  if (n < 2) return { val: new Set() };
  const nVal = Math.min(n - 1, Math.max(1, Math.round(n * valFraction)));
  const keyed = paths.map((p, i) => ({ i, key: createHash('sha256').update(`${seed}\0${p}`).digest('hex') }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const val = new Set(keyed.slice(0, nVal).map((k) => k.i));
  const note = n < 4 ? `tiny corpus: ${n} files, ${nVal} held out for validation and eval` : undefined;
  return { val, note };
}

/**
 * Where to cut a single file into a training head and a validation tail: the chunk start nearest
 * to 80% of the text that leaves at least 10% on each side; else the blank line nearest to 80%;
 * else undefined (too small to split).
 */
export function singleFileCut(text: string, chunkStarts: readonly number[]): number | undefined {
  const n = text.length;
  const target = n * 0.8;
  const ok = (c: number) => c >= n * 0.1 && c <= n * 0.9 && text.slice(c).trim() !== '' && text.slice(0, c).trim() !== '';
  let best: number | undefined;
  for (const c of chunkStarts) if (ok(c) && (best === undefined || Math.abs(c - target) < Math.abs(best - target))) best = c;
  if (best !== undefined) return best;
  const re = /\n[ \t]*\n/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const c = m.index + m[0].length;
    if (ok(c) && (best === undefined || Math.abs(c - target) < Math.abs(best - target))) best = c;
  }
  if (best !== undefined) return best;
  // Last resort: a line boundary, when the file has at least 5 lines.
  const lines: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.push(i + 1);
  if (lines.length >= 5) {
    for (const c of lines) if (ok(c) && (best === undefined || Math.abs(c - target) < Math.abs(best - target))) best = c;
  }
  return best;
}

export type EvalKind = 'line' | 'block' | 'call' | 'span';

export interface EvalDoc {
  path: string;
  language: string;
  text: string;
  spans: readonly TextSpan[];
}

export interface EvalTask {
  id: string;
  path: string;
  language: string;
  kind: EvalKind;
  prefix: string;
  middle: string;
  suffix: string;
}

/** Context kept around a middle (characters, cut at line boundaries): enough for any engine budget. */
const PREFIX_CHARS = 4000;
const SUFFIX_CHARS = 2000;
const MAX_MIDDLE: Record<EvalKind, number> = { line: 300, block: 1500, call: 300, span: 200 };

const KIND_BY_NUMBER: Record<number, EvalKind> = { [SPAN_KIND.line]: 'line', [SPAN_KIND.block]: 'block', [SPAN_KIND.call]: 'call' };

/**
 * Builds up to `count` tasks from the held-out documents: a quarter per kind (line, block, call,
 * random span), the shortfall of one kind filled from the others. Deterministic in (docs, seed).
 */
export function buildEvalTasks(docs: readonly EvalDoc[], count: number, seed: number): EvalTask[] {
  const random = rng(seed ^ 0x5eed);
  const pools: Record<EvalKind, { doc: number; s: number; e: number }[]> = { line: [], block: [], call: [], span: [] };
  docs.forEach((d, di) => {
    for (const [s, e, k] of d.spans) {
      const kind = KIND_BY_NUMBER[k];
      if (!kind) continue;
      const middle = d.text.slice(s, e);
      if (middle.trim() === '' || middle.length > MAX_MIDDLE[kind]) continue;
      if (kind === 'call' && !/[\w]/.test(middle)) continue;
      pools[kind].push({ doc: di, s, e });
    }
  });
  // Random spans: 2 per 1000 characters of held-out text, at word boundaries, 8..200 characters.
  docs.forEach((d, di) => {
    const want = Math.max(2, Math.floor(d.text.length / 500));
    for (let t = 0; t < want; t++) {
      const span = randomSpan(d.text, random);
      if (span) pools.span.push({ doc: di, s: span[0], e: span[1] });
    }
  });
  const kinds: EvalKind[] = ['line', 'block', 'call', 'span'];
  for (const k of kinds) shuffle(pools[k], random);
  const quota: Record<EvalKind, number> = { line: 0, block: 0, call: 0, span: 0 };
  let left = count;
  // Round-robin over kinds that still have candidates: equal shares, shortfalls refilled.
  while (left > 0) {
    let progressed = false;
    for (const k of kinds) {
      if (left > 0 && quota[k] < pools[k].length) {
        quota[k]++;
        left--;
        progressed = true;
      }
    }
    if (!progressed) break;
  }
  const picked: { task: EvalTask; doc: number; s: number }[] = [];
  for (const k of kinds) {
    const seen = new Set<string>();
    let taken = 0;
    for (const c of pools[k]) {
      if (taken >= quota[k]) break;
      const key = `${c.doc}:${c.s}:${c.e}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const d = docs[c.doc];
      const prefix = cutPrefix(d.text, c.s);
      const suffix = cutSuffix(d.text, c.e);
      const task: EvalTask = { id: '', path: d.path, language: d.language, kind: k, prefix, middle: d.text.slice(c.s, c.e), suffix };
      picked.push({ task, doc: c.doc, s: c.s });
      taken++;
    }
  }
  // Stable order: by document, then position in the file; ids follow that order.
  picked.sort((a, b) => a.doc - b.doc || a.s - b.s || a.task.kind.localeCompare(b.task.kind) || a.task.middle.length - b.task.middle.length);
  const tasks = picked.map((p) => p.task);
  tasks.forEach((t, i) => (t.id = `eval-${String(i + 1).padStart(4, '0')}`));
  return tasks;
}

function cutPrefix(text: string, s: number): string {
  if (s <= PREFIX_CHARS) return text.slice(0, s);
  const from = text.indexOf('\n', s - PREFIX_CHARS);
  return text.slice(from < 0 || from >= s ? s - PREFIX_CHARS : from + 1, s);
}

function cutSuffix(text: string, e: number): string {
  if (text.length - e <= SUFFIX_CHARS) return text.slice(e);
  const to = text.lastIndexOf('\n', e + SUFFIX_CHARS);
  return text.slice(e, to <= e ? e + SUFFIX_CHARS : to + 1);
}

function randomSpan(text: string, random: () => number): [number, number] | undefined {
  if (text.length < 40) return undefined;
  for (let attempt = 0; attempt < 8; attempt++) {
    let s = Math.floor(random() * (text.length - 10));
    // Move to a word start.
    while (s > 0 && /\w/.test(text[s - 1]) && /\w/.test(text[s])) s--;
    while (s < text.length && /\s/.test(text[s])) s++;
    const len = 8 + Math.floor(random() * 120);
    let e = Math.min(text.length, s + len);
    while (e < text.length && /\w/.test(text[e - 1]) && /\w/.test(text[e])) e++;
    while (e > s && /\s/.test(text[e - 1])) e--;
    if (e - s >= 8 && e - s <= MAX_MIDDLE.span && text.slice(s, e).trim() !== '') return [s, e];
  }
  return undefined;
}

function shuffle<T>(a: T[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}
