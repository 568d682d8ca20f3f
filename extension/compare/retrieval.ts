// The no-training baseline: answer an infill task by looking the cursor's context up in the
// training text and copying what followed it there. The cursor line in the training text is chosen
// by character-trigram similarity of the lines before it (the prefix's last lines) and by how its
// start agrees with the text already typed on the cursor's line; the answer is the training text
// from that point up to where the task's suffix begins (found in the copied continuation), or to
// the end of the line when the suffix is not found there. Scored exactly like the models
// (extension/engine/evaluate.ts: trailing white space ignored, 1 - Levenshtein / max length).
// Knows nothing of models or files: it takes the training text and the tasks.
import { editSimilarity } from '../engine/evaluate';
import type { EvalTask } from '../engine/evaluate';

interface Line {
  start: number;
  text: string;
}

/** Identifier-like words, the unit of the inverted index. */
function words(s: string): string[] {
  return s.match(/[A-Za-z_][A-Za-z0-9_]+|\d{2,}/g) ?? [];
}

function trigrams(s: string): Map<string, number> {
  const t = ` ${s.trim().replace(/\s+/g, ' ')} `;
  const m = new Map<string, number>();
  for (let i = 0; i + 3 <= t.length; i++) {
    const g = t.slice(i, i + 3);
    m.set(g, (m.get(g) ?? 0) + 1);
  }
  return m;
}

/** Dice coefficient of character-trigram multisets, in [0, 1]. */
export function trigramSimilarity(a: string, b: string): number {
  const x = trigrams(a);
  const y = trigrams(b);
  let common = 0;
  let nx = 0;
  let ny = 0;
  for (const [g, c] of x) {
    nx += c;
    common += Math.min(c, y.get(g) ?? 0);
  }
  for (const c of y.values()) ny += c;
  return nx + ny === 0 ? (a.trim() === b.trim() ? 1 : 0) : (2 * common) / (nx + ny);
}

export interface RetrievalHit {
  /** The predicted middle. */
  text: string;
  /** Offset in the training text where the copied continuation starts; -1 when nothing matched. */
  at: number;
  score: number;
}

/** Most postings looked at per query word: common words (`self`, `set`) say little and cost much. */
const MAX_POSTINGS = 4000;
/** Prefix lines used as the query, nearest the cursor first. */
const CONTEXT_LINES = 3;

export class RetrievalIndex {
  private readonly lines: Line[] = [];
  private readonly postings = new Map<string, number[]>();

  constructor(private readonly text: string) {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const end = nl < 0 ? text.length : nl;
      this.lines.push({ start, text: text.slice(start, end) });
      if (nl < 0) break;
      start = nl + 1;
    }
    this.lines.forEach((line, i) => {
      for (const w of new Set(words(line.text))) {
        let list = this.postings.get(w);
        if (!list) this.postings.set(w, (list = []));
        if (list.length <= MAX_POSTINGS) list.push(i);
      }
    });
  }

  get lineCount(): number {
    return this.lines.length;
  }

  /** Predicts the middle of a task from its prefix (and ends it where its suffix begins). */
  predict(task: Pick<EvalTask, 'prefix' | 'suffix' | 'kind'>): RetrievalHit {
    const nl = task.prefix.lastIndexOf('\n');
    const typed = task.prefix.slice(nl + 1); // the cursor line so far
    const before = nl < 0 ? [] : task.prefix.slice(0, nl).split('\n');
    // The nearest non-blank prefix lines, each with its distance d above the cursor line.
    const context: Array<{ d: number; text: string }> = [];
    for (let k = before.length - 1, d = 1; k >= 0 && context.length < CONTEXT_LINES && d <= 8; k--, d++) {
      if (before[k].trim()) context.push({ d, text: before[k] });
    }
    if (!context.length) {
      // Nothing above the cursor (the file's first line): the lines below it stand in, at
      // negative distances (only exact for a single-line middle; the best there is).
      const below = task.suffix.split('\n').slice(1);
      for (let k = 0; k < below.length && context.length < CONTEXT_LINES && k < 8; k++) {
        if (below[k].trim()) context.push({ d: -(k + 1), text: below[k] });
      }
    }
    // Candidate cursor lines: those whose line d above shares the rarest words with a context line.
    const candidates = new Set<number>();
    for (const { d, text } of context) {
      const ws = [...new Set(words(text))]
        .map((w) => ({ w, list: this.postings.get(w) }))
        .filter((x): x is { w: string; list: number[] } => x.list !== undefined)
        .sort((p, q) => p.list.length - q.list.length)
        .slice(0, 3);
      for (const { list } of ws) for (const i of list) if (i + d >= 0 && i + d < this.lines.length) candidates.add(i + d);
    }
    const typedTrim = typed.trimStart();
    if (typedTrim) {
      for (const w of words(typedTrim).slice(-2)) for (const i of this.postings.get(w) ?? []) candidates.add(i);
    }
    let best = -1;
    let bestScore = -1;
    for (const j of candidates) {
      const line = this.lines[j].text;
      let score = 0;
      for (const { d, text } of context) score += trigramSimilarity(text, this.lines[j - d]?.text ?? '') / Math.abs(d);
      if (typedTrim) {
        if (!line.trimStart().startsWith(typedTrim)) continue; // what is typed must match
        score += 1;
      } else if (leadingSpace(line) === typed) score += 0.25; // same indentation
      if (score > bestScore) {
        bestScore = score;
        best = j;
      }
    }
    if (best < 0) return { text: '', at: -1, score: 0 };
    const line = this.lines[best];
    const inLine = typedTrim ? line.text.indexOf(typedTrim) + typedTrim.length : Math.min(typed.length, leadingSpace(line.text).length);
    const at = line.start + inLine;
    return { text: this.continuation(at, task.suffix, task.kind), at, score: bestScore };
  }

  /** The training text from `at` to where the suffix's start reappears (or the end of the line). */
  private continuation(at: number, suffix: string, kind: string | undefined): string {
    const window = this.text.slice(at, at + 4000);
    const lineEnd = window.indexOf('\n') < 0 ? window.length : window.indexOf('\n');
    // Blocks run over lines; random spans may (up to 200 characters); lines and calls end on their line.
    const reach = kind === 'block' ? window.length : kind === 'line' || kind === 'call' ? lineEnd : Math.max(lineEnd, 200);
    // Where the suffix begins: inside the cursor line when the suffix has text there, else at the
    // start of a line that matches the suffix's next non-blank line (indentation included).
    const nl = suffix.indexOf('\n');
    const rest = (nl < 0 ? suffix : suffix.slice(0, nl)).trimEnd();
    let k = -1;
    if (rest.trim()) {
      k = window.indexOf(rest.slice(0, 40)); // its leading space too: that is the suffix's
      if (k < 0) k = window.indexOf(rest.trimStart().slice(0, 40));
    }
    else {
      const next = suffix.split('\n').slice(1).find((l) => l.trim());
      if (next !== undefined) {
        const at = window.indexOf('\n' + next.trimEnd().slice(0, 40));
        if (at >= 0) k = at + 1;
        // The newline(s) that begin the suffix are not the middle's.
        if (k >= 0) k -= suffix.length - suffix.trimStart().length - (next.length - next.trimStart().length);
      }
    }
    if (k >= 0 && k <= reach) return window.slice(0, Math.max(0, k));
    return window.slice(0, lineEnd);
  }
}

function leadingSpace(s: string): string {
  return s.slice(0, s.length - s.trimStart().length);
}

export interface BaselineScore {
  tasks: number;
  exact: number | null;
  edit_sim: number | null;
  by_kind: Record<string, { n: number; exact: number; edit_sim: number }>;
  samples: Array<{ id?: string; kind: string; expected: string; got: string }>;
  ms_per_task: number | null;
}

/** Scores the retrieval baseline on tasks the way evaluateTasks scores a model's postprocessed text. */
export function scoreRetrieval(index: RetrievalIndex, tasks: readonly EvalTask[], samples = 3): BaselineScore {
  const t0 = Date.now();
  const byKind: BaselineScore['by_kind'] = {};
  const kept: BaselineScore['samples'] = [];
  let exact = 0;
  let sim = 0;
  for (const task of tasks) {
    const got = index.predict(task).text;
    const want = task.middle;
    const e = Number(got.trimEnd() === want.trimEnd());
    const s = editSimilarity(want.trimEnd(), got.trimEnd());
    const k = (byKind[task.kind ?? 'span'] ??= { n: 0, exact: 0, edit_sim: 0 });
    k.n++;
    k.exact += e;
    k.edit_sim += s;
    exact += e;
    sim += s;
    if (kept.length < samples) kept.push({ id: task.id, kind: task.kind ?? 'span', expected: want, got });
  }
  for (const k of Object.values(byKind)) {
    k.exact /= k.n;
    k.edit_sim /= k.n;
  }
  const n = tasks.length;
  return { tasks: n, exact: n ? exact / n : null, edit_sim: n ? sim / n : null, by_kind: byKind, samples: kept, ms_per_task: n ? (Date.now() - t0) / n : null };
}
