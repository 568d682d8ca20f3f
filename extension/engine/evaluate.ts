// Held-out evaluation through the same engine the editor uses (context cut, sampler, postprocess):
// exact match and edit similarity over eval.jsonl tasks, overall and per kind. With `oracleLength`
// the canvas is len(middle_ids) + 1 (room for the pad that ends the middle, as the trainer's
// `infill_exact`); without it the engine picks and grows the canvas as for a real request.
// `raw_*` scores the sampler's decoded text (comparable with the trainer's figures, which do not
// postprocess); `exact`/`edit_sim` score what a user would see (postprocessed; trailing white
// space ignored on both sides, since postprocessing trims it).
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { InfillEngine } from './engine';
import { postprocess, shownConfidences } from './postprocess';
import { chooseMode, type CompletionMode } from './context';
import { confidenceOf } from './sampler';

export interface EvalTask {
  id?: string;
  path?: string;
  language?: string;
  kind?: string;
  prefix: string;
  middle: string;
  suffix: string;
  prefix_ids?: number[];
  middle_ids?: number[];
  suffix_ids?: number[];
}

export interface EvalOptions {
  /** Canvas = len(middle) + 1 tokens, no growth (the trainer's infill_exact). */
  oracleLength?: boolean;
  /** Evaluate at most this many tasks (in file order). */
  limit?: number;
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
  /** Samples kept in the report (3). */
  samples?: number;
}

export interface KindScore {
  n: number;
  exact: number;
  edit_sim: number;
  raw_exact: number;
  raw_edit_sim: number;
}

export interface EvalReport {
  tasks: number;
  oracle_length: boolean;
  exact: number | null;
  edit_sim: number | null;
  raw_exact: number | null;
  raw_edit_sim: number | null;
  by_kind: Record<string, KindScore>;
  steps_per_task: number | null;
  ms_per_task: number | null;
  /** The first `samples` tasks; `confidence`: the mean, `min_confidence` the least, of the shown ids' confidences (postprocess.ts shownConfidences; 0 for none). */
  samples: Array<{ id?: string; kind: string; expected: string; got: string; raw: string; confidence: number; min_confidence: number }>;
}

/** Levenshtein distance over UTF-16 code units (two rows). */
export function levenshtein(a: string, b: string): number {
  if (a.length < b.length) [a, b] = [b, a];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** 1 - Levenshtein / max length (trainer/evaluate.py `edit_similarity`). */
export function editSimilarity(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  return n === 0 ? 1 : 1 - levenshtein(a, b) / n;
}

/** Reads eval.jsonl (blank lines skipped; a bad line names its number). */
export async function readTasks(path: string): Promise<EvalTask[]> {
  const text = await readFile(path, 'utf8');
  const tasks: EvalTask[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let t: EvalTask;
    try {
      t = JSON.parse(line) as EvalTask;
    } catch (err) {
      throw new Error(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof t.prefix !== 'string' || typeof t.middle !== 'string' || typeof t.suffix !== 'string') {
      throw new Error(`${path}:${i + 1}: a task needs string prefix, middle and suffix`);
    }
    tasks.push(t);
  });
  return tasks;
}

/** The request kind a task stands for: line and call tasks are single-line, the rest by their middle. */
function modeFor(task: EvalTask): CompletionMode {
  if (task.kind === 'line' || task.kind === 'call') return 'line';
  if (task.kind === 'block') return 'block';
  return task.middle.trimEnd().includes('\n') ? 'block' : chooseMode(task.prefix, task.suffix);
}

/** Runs every task through `engine` and scores it against its middle. */
export async function evaluateTasks(engine: InfillEngine, tasks: readonly EvalTask[], options: EvalOptions = {}): Promise<EvalReport> {
  const list = options.limit !== undefined ? tasks.slice(0, options.limit) : tasks;
  const byKind: Record<string, KindScore> = {};
  const samples: EvalReport['samples'] = [];
  let steps = 0;
  let ms = 0;
  for (let k = 0; k < list.length; k++) {
    const task = list[k];
    const t0 = performance.now();
    const mode = modeFor(task);
    const canvasLength = options.oracleLength
      ? (task.middle_ids?.length ?? engine.tokenizer.encode(task.middle).length) + 1
      : undefined;
    const r = await engine.infill({ prefix: task.prefix, suffix: task.suffix, mode, canvasLength }, options.signal);
    const got = postprocess(r.text, { prefix: task.prefix, suffix: task.suffix, mode });
    ms += performance.now() - t0;
    steps += r.steps;
    const want = task.middle;
    const s = (byKind[task.kind ?? 'span'] ??= { n: 0, exact: 0, edit_sim: 0, raw_exact: 0, raw_edit_sim: 0 });
    s.n++;
    s.exact += Number(got.trimEnd() === want.trimEnd());
    s.edit_sim += editSimilarity(want.trimEnd(), got.trimEnd());
    s.raw_exact += Number(r.text === want);
    s.raw_edit_sim += editSimilarity(want, r.text);
    if (samples.length < (options.samples ?? 3)) {
      const c = confidenceOf(shownConfidences((ids) => engine.tokenizer.decode(ids), r.ids, r.confidences, r.text, got));
      samples.push({ id: task.id, kind: task.kind ?? 'span', expected: want, got, raw: r.text, confidence: c.mean, min_confidence: c.min });
    }
    options.onProgress?.(k + 1, list.length);
  }
  const n = list.length;
  const total = { exact: 0, edit_sim: 0, raw_exact: 0, raw_edit_sim: 0 };
  for (const s of Object.values(byKind)) {
    for (const key of Object.keys(total) as Array<keyof typeof total>) {
      total[key] += s[key];
      s[key] /= s.n;
    }
  }
  const avg = (x: number) => (n ? x / n : null);
  return {
    tasks: n, oracle_length: Boolean(options.oracleLength),
    exact: avg(total.exact), edit_sim: avg(total.edit_sim), raw_exact: avg(total.raw_exact), raw_edit_sim: avg(total.raw_edit_sim),
    by_kind: byKind, steps_per_task: avg(steps), ms_per_task: avg(ms), samples,
  };
}
