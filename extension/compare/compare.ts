// Diffusion against autoregressive on one repository, at equal compute. The orchestrator, as a
// straight sequence:
//   corpus (index DIR into OUT/corpus once, or reuse it) -> two run folders OUT/diffusion and
//   OUT/autoregressive, each with the corpus hard-linked in (self-contained runs) -> train both
//   with the same preset, seed, evaluation schedule and number of training tokens (FLOPs ~
//   6 * params * tokens, the same for both) -> curves from each metrics.jsonl -> crossover ->
//   the retrieval baseline -> both exported models through the editor's engine (evaluateTasks,
//   oracle and engine length) on the same tasks -> syntax check -> OUT/compare.json + compare.svg.
// A `--minutes` budget is the diffusion run's; the AR run then gets exactly the tokens diffusion
// trained on, so the comparison stays at equal FLOPs (wall time is reported, not matched).
// Editor-independent: never imports vscode; takes an AbortSignal.
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runLayout } from '../common/runLayout';
import { writeFileAtomic } from '../common/atomicWrite';
import { indexWorkspace } from '../corpus/index';
import type { IndexOptions } from '../corpus/types';
import { evaluateTasks, InfillEngine, readTasks, type EvalReport, type EvalTask } from '../engine/index';
import { launchTrainer, type TrainerOutcome } from '../training/launcher';
import type { TrainerEvent } from '../training/protocol';
import { readMetrics } from '../training/runState';
import { renderCompareSvg } from './chart';
import { readCorpusTokens, trainingText } from './corpusText';
import { curveFromEvents, findCrossover, fmtFlops, pairPoints, resultSentence, trainingFlops, type Crossover, type PairedPoint, type RunCurve } from './curves';
import { RetrievalIndex, scoreRetrieval, type BaselineScore } from './retrieval';
import { checkSyntax, type SyntaxReport } from './syntax';

export const OBJECTIVES = ['diffusion', 'autoregressive'] as const;
export type ObjectiveName = (typeof OBJECTIVES)[number];

export interface CompareOptions {
  /** Folder to index; not needed when OUT/corpus exists. */
  source?: string;
  out: string;
  /** Training tokens for each run (counting repeats). */
  tokens?: number;
  /** Wall-clock budget of the diffusion run; AR then trains on the same number of tokens. */
  minutes?: number;
  preset?: string;
  device?: string;
  seed?: number;
  /** Evaluate every N steps (both runs). Default: the trainer's plan/10 for --tokens, 50 for --minutes. */
  evalEvery?: number;
  /** Held-out tasks per trainer evaluation (both runs; trainer default 32). */
  evalTasks?: number;
  /** Tasks of eval.jsonl for the final engine evaluation, evenly spread (default 64; 0: all). */
  finalTasks?: number;
  /** Further trainer flags for both runs (e.g. ['--batch-size', '4', '--seq-len', '64']). */
  trainerArgs?: string[];
  /** Indexer options when OUT/corpus has to be built. */
  index?: IndexOptions;
  python: string;
  /** Folder that holds trainer/ (the trainer's cwd). */
  trainerRoot: string;
  /** onnxruntime threads for the final evaluation. */
  threads?: number;
}

export interface CompareHooks {
  signal?: AbortSignal;
  /** A line of progress for a human (stderr). */
  onLog?(line: string): void;
  /** Trainer events as they come, tagged with the objective. */
  onEvent?(objective: ObjectiveName, e: TrainerEvent): void;
  onEvalProgress?(label: string, done: number, total: number): void;
}

export interface EngineScores {
  oracle: EvalReport;
  engine: EvalReport;
  syntax: SyntaxReport;
}

export interface CompareReport {
  format: 1;
  out: string;
  corpus: {
    train_tokens: number; val_tokens: number; vocab_size: number; corpus_sha256: string;
    /** Tasks both runs were evaluated from (middle <= MAX_MIDDLE_TOKENS), of eval_tasks_in_corpus. */
    eval_tasks: number; eval_tasks_in_corpus: number; max_middle_tokens: number; reused: boolean;
  };
  budget: { kind: 'tokens' | 'minutes'; tokens: number; minutes?: number; note: string };
  runs: Record<ObjectiveName, {
    dir: string; reused: boolean; preset?: string; params: number; device?: string; batch_size?: number; seq_len?: number;
    trained_tokens: number | null; epochs: number | null; flops: number | null; wall_s: number | null; tokens_per_s: number | null;
    curve: RunCurve['points'];
  }>;
  equal_tokens: boolean;
  paired: { exact: PairedPoint[]; edit_sim: PairedPoint[] };
  crossover: { exact: Crossover | null; edit_sim: Crossover | null };
  retrieval: BaselineScore;
  final: { tasks: number; diffusion: EngineScores; autoregressive: EngineScores };
  sentence: string;
}

function log(h: CompareHooks, line: string) {
  h.onLog?.(line);
}

/** Builds OUT/corpus from `source` unless a complete one is there. */
async function ensureCorpus(o: CompareOptions, h: CompareHooks): Promise<boolean> {
  const out = runLayout(o.out);
  if (existsSync(out.manifest) && existsSync(out.trainBin) && existsSync(out.tokenizer)) {
    log(h, `reusing the corpus in ${out.corpusDir}`);
    return true;
  }
  if (!o.source) throw new Error(`${out.corpusDir} does not exist: give a folder to index`);
  log(h, `indexing ${o.source} into ${out.corpusDir}`);
  await indexWorkspace(resolve(o.source), o.out, o.index ?? {}, { signal: h.signal });
  return false;
}

/**
 * Longest held middle (tokens) a compared task may have: the engine's largest canvas is 64 with one
 * slot for the end marker, and the trainer's diffusion evaluation skips a middle longer than half
 * the window while its AR evaluation does not (an AR prompt of more than max_seq_len tokens even
 * stops the trainer). Both runs are therefore evaluated on the tasks both can answer.
 */
export const MAX_MIDDLE_TOKENS = 63;

/** eval.jsonl lines whose middle has at most `max` tokens (the lines are kept byte for byte). */
function fittingTaskLines(text: string, max: number): { lines: string[]; total: number } {
  const all = text.split('\n').filter((l) => l.trim());
  const lines = all.filter((l) => {
    const t = JSON.parse(l) as { middle_ids?: number[]; middle: string };
    return (t.middle_ids?.length ?? Buffer.byteLength(t.middle)) <= max;
  });
  return { lines, total: all.length };
}

/**
 * Hard-links (or copies, across devices) every file of OUT/corpus into RUN/corpus, except
 * eval.jsonl, which is written with the tasks that fit (fittingTaskLines).
 */
async function linkCorpus(from: string, to: string, evalLines: string[]): Promise<void> {
  const sha = (dir: string) => {
    try {
      return (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { corpus_sha256?: string }).corpus_sha256;
    } catch {
      return undefined;
    }
  };
  const evalText = evalLines.map((l) => l + '\n').join('');
  if (!(existsSync(to) && sha(to) === sha(from))) {
    await fs.rm(to, { recursive: true, force: true });
    await fs.mkdir(to, { recursive: true });
  }
  for (const name of await fs.readdir(from)) {
    const src = join(from, name);
    if (!(await fs.stat(src)).isFile()) continue;
    if (name === 'eval.jsonl') {
      const dst = join(to, name);
      if (!existsSync(dst) || readFileSync(dst, 'utf8') !== evalText) await writeFileAtomic(dst, evalText);
      continue;
    }
    if (existsSync(join(to, name))) continue;
    try {
      await fs.link(src, join(to, name));
    } catch {
      await fs.copyFile(src, join(to, name));
    }
  }
}

interface RunPlan {
  objective: ObjectiveName;
  dir: string;
  args: string[];
}

/** What compare writes into each run's run.json: how the run was made, and the key for reuse. */
function runRecord(plan: RunPlan, corpusInfo: unknown) {
  return { format: 1, corpus: corpusInfo, compare: { objective: plan.objective, trainer_args: plan.args } };
}

/**
 * Trains one run, or reuses it when a previous compare made it with the same arguments and it
 * finished with an export. A folder compare did not make is never touched.
 */
async function trainRun(plan: RunPlan, o: CompareOptions, h: CompareHooks, corpusInfo: unknown): Promise<{ events: TrainerEvent[]; reused: boolean }> {
  const layout = runLayout(plan.dir);
  const record = runRecord(plan, corpusInfo);
  let previous: { compare?: unknown } | undefined;
  try {
    previous = JSON.parse(readFileSync(layout.runJson, 'utf8'));
  } catch {
    previous = undefined;
  }
  const replay = await readMetrics(layout.metrics);
  if (replay.events.length && !previous?.compare) {
    throw new Error(`${plan.dir} holds a run that compare did not make: choose another --out`);
  }
  if (JSON.stringify(previous?.compare) === JSON.stringify(record.compare) && existsSync(layout.modelJson)
    && replay.events.some((e) => e.type === 'done' && e.reason !== 'cancelled')) {
    log(h, `${plan.objective}: reusing the finished run in ${plan.dir}`);
    return { events: replay.events, reused: true };
  }
  // Made by compare with other arguments, or unfinished: start over.
  for (const p of [layout.metrics, layout.modelJson, layout.modelOnnx, layout.checkpointsDir]) await fs.rm(p, { recursive: true, force: true });
  await writeFileAtomic(layout.runJson, JSON.stringify(record, null, 2) + '\n');
  log(h, `${plan.objective}: python -m trainer train ${plan.dir} ${plan.args.join(' ')}`);
  const events: TrainerEvent[] = [];
  const trainer = await launchTrainer({
    python: o.python,
    trainerRoot: o.trainerRoot,
    runDir: plan.dir,
    args: plan.args,
    onEvent: (e) => {
      events.push(e);
      h.onEvent?.(plan.objective, e);
    },
    onLog: (line) => {
      if (process.env.REPO_DIFFUSION_VERBOSE) log(h, line);
    },
  });
  const onAbort = () => void trainer.cancel();
  h.signal?.addEventListener('abort', onAbort, { once: true });
  let outcome: TrainerOutcome;
  try {
    outcome = await trainer.outcome;
  } finally {
    h.signal?.removeEventListener('abort', onAbort);
  }
  if (h.signal?.aborted) throw h.signal.reason ?? new Error('cancelled');
  if (outcome.kind !== 'done') {
    const hint = outcome.error?.hint ? ` (${outcome.error.hint})` : '';
    throw new Error(`${plan.objective} training: ${outcome.message}${hint}`);
  }
  if (!existsSync(layout.modelJson)) throw new Error(`${plan.objective} training finished without an exported model in ${plan.dir}`);
  return { events, reused: false };
}

/** `n` tasks spread evenly over the file (eval.jsonl groups tasks by file and kind). */
export function spreadTasks<T>(tasks: readonly T[], n: number): T[] {
  if (n <= 0 || n >= tasks.length) return [...tasks];
  return Array.from({ length: n }, (_, i) => tasks[Math.floor((i * tasks.length) / n)]);
}

async function engineScores(runDir: string, objective: ObjectiveName, tasks: EvalTask[], o: CompareOptions, h: CompareHooks): Promise<EngineScores> {
  const engine = await InfillEngine.load(runDir, { threads: o.threads });
  try {
    const run = (oracleLength: boolean) => evaluateTasks(engine, tasks, {
      oracleLength, samples: tasks.length, signal: h.signal,
      onProgress: (done, total) => h.onEvalProgress?.(`${objective} ${oracleLength ? 'oracle' : 'engine'} length`, done, total),
    });
    const oracle = await run(true);
    const eng = await run(false);
    // evaluateTasks keeps one sample per task, in task order, when asked for as many as there are tasks.
    const syntax = await checkSyntax(tasks, eng.samples.map((s) => s.got));
    // The per-task samples made the syntax check; keep three in the report, as `repo-diffusion eval` does.
    oracle.samples = oracle.samples.slice(0, 3);
    eng.samples = eng.samples.slice(0, 3);
    return { oracle, engine: eng, syntax };
  } finally {
    await engine.dispose();
  }
}

export async function runCompare(o: CompareOptions, h: CompareHooks = {}): Promise<CompareReport> {
  if (o.tokens !== undefined && o.minutes !== undefined) throw new Error('give one budget: --tokens or --minutes');
  const out = resolve(o.out);
  o = { ...o, out };
  await fs.mkdir(out, { recursive: true });
  const corpusReused = await ensureCorpus(o, h);
  const layout = runLayout(out);
  const manifest = JSON.parse(await fs.readFile(layout.manifest, 'utf8')) as Record<string, number & string>;
  let corpusInfo: unknown = { corpus_sha256: manifest.corpus_sha256 };
  try {
    corpusInfo = (JSON.parse(await fs.readFile(layout.runJson, 'utf8')) as { corpus?: unknown }).corpus ?? corpusInfo;
  } catch {
    /* a corpus copied in without run.json */
  }

  const common: string[] = [];
  if (o.preset) common.push('--preset', o.preset);
  if (o.device) common.push('--device', o.device);
  common.push('--seed', String(o.seed ?? 0));
  if (o.evalTasks !== undefined) common.push('--eval-tasks', String(o.evalTasks));
  const evalEvery = o.evalEvery ?? (o.tokens === undefined ? 50 : undefined);
  if (evalEvery !== undefined) common.push('--eval-every', String(evalEvery));
  common.push(...(o.trainerArgs ?? []));

  // A window shorter than a preset's (--seq-len) lowers the limit to what diffusion evaluates.
  const seqArg = o.trainerArgs?.indexOf('--seq-len') ?? -1;
  const seqLen = seqArg >= 0 ? Number(o.trainerArgs![seqArg + 1]) : NaN;
  const maxMiddle = Number.isFinite(seqLen) ? Math.min(MAX_MIDDLE_TOKENS, Math.floor(seqLen / 2) - 1) : MAX_MIDDLE_TOKENS;
  const fitting = fittingTaskLines(existsSync(layout.evalTasks) ? await fs.readFile(layout.evalTasks, 'utf8') : '', maxMiddle);
  if (fitting.lines.length < fitting.total) {
    log(h, `${fitting.total - fitting.lines.length} of ${fitting.total} eval tasks have a middle over ${maxMiddle} tokens: both runs are evaluated on the other ${fitting.lines.length}`);
  }
  const runs = {} as Record<ObjectiveName, { dir: string; events: TrainerEvent[]; reused: boolean; curve: RunCurve }>;
  let budgetTokens = o.tokens;
  const minutes = o.tokens === undefined ? o.minutes ?? 30 : undefined;
  for (const objective of OBJECTIVES) {
    const dir = join(out, objective);
    await fs.mkdir(dir, { recursive: true });
    await linkCorpus(layout.corpusDir, runLayout(dir).corpusDir, fitting.lines);
    const budget = budgetTokens !== undefined ? ['--tokens', String(budgetTokens)] : ['--minutes', String(minutes)];
    const plan: RunPlan = { objective, dir, args: ['--objective', objective, ...budget, ...common] };
    const { events, reused } = await trainRun(plan, o, h, corpusInfo);
    const curve = curveFromEvents(events);
    runs[objective] = { dir, events, reused, curve };
    // A wall-clock budget is diffusion's; AR gets the tokens diffusion trained on (equal FLOPs).
    if (budgetTokens === undefined) {
      if (!curve.trainedTokens) throw new Error('the diffusion run reported no trained tokens');
      budgetTokens = curve.trainedTokens;
    }
  }
  const d = runs.diffusion.curve;
  const a = runs.autoregressive.curve;

  const pairs = { exact: pairPoints(d, a, 'exact'), edit_sim: pairPoints(d, a, 'editSim') };
  const crossover = { exact: findCrossover(pairs.exact, d), edit_sim: findCrossover(pairs.edit_sim, d) };

  log(h, 'retrieval baseline: indexing the training text');
  const allTasks = await readTasks(runLayout(runs.diffusion.dir).evalTasks);
  const tasks = spreadTasks(allTasks, o.finalTasks ?? 64);
  const corpusTokens = await readCorpusTokens(out);
  const retrieval = scoreRetrieval(new RetrievalIndex(trainingText(corpusTokens)), tasks);

  log(h, `final evaluation through the engine: ${tasks.length} tasks, oracle and engine length, both models`);
  const final = {
    tasks: tasks.length,
    diffusion: await engineScores(runs.diffusion.dir, 'diffusion', tasks, o, h),
    autoregressive: await engineScores(runs.autoregressive.dir, 'autoregressive', tasks, o, h),
  };

  const budgetText = `${(budgetTokens ?? 0).toLocaleString('en-US')} training tokens each, ${fmtFlops(trainingFlops(d.params, d.trainedTokens ?? 0))} FLOPs`;
  const sentence = resultSentence(pairs.exact, crossover.exact, {
    diffusion: final.diffusion.engine.exact,
    autoregressive: final.autoregressive.engine.exact,
    label: `held-out infill exact match through the engine (${tasks.length} tasks, engine length)`,
    editSim: { diffusion: final.diffusion.engine.edit_sim, autoregressive: final.autoregressive.engine.edit_sim },
  }, budgetText);

  const runInfo = (name: ObjectiveName) => {
    const r = runs[name];
    const c = r.curve;
    return {
      dir: r.dir, reused: r.reused, preset: c.preset, params: c.params, device: c.device, batch_size: c.batchSize, seq_len: c.seqLen,
      trained_tokens: c.trainedTokens, epochs: c.epochs, flops: c.trainedTokens === null ? null : trainingFlops(c.params, c.trainedTokens),
      wall_s: c.wallSeconds, tokens_per_s: c.tokensPerSecond, curve: c.points,
    };
  };
  const report: CompareReport = {
    format: 1,
    out,
    corpus: {
      train_tokens: Number(manifest.train_tokens), val_tokens: Number(manifest.val_tokens), vocab_size: Number(manifest.vocab_size),
      corpus_sha256: String(manifest.corpus_sha256), eval_tasks: allTasks.length, eval_tasks_in_corpus: fitting.total,
      max_middle_tokens: maxMiddle, reused: corpusReused,
    },
    budget: {
      kind: o.tokens !== undefined ? 'tokens' : 'minutes',
      tokens: budgetTokens ?? 0,
      ...(minutes !== undefined ? { minutes } : {}),
      note: o.tokens !== undefined
        ? 'both runs were given the same token budget'
        : `diffusion trained for ${minutes} minutes; AR was given the tokens diffusion trained on`,
    },
    runs: { diffusion: runInfo('diffusion'), autoregressive: runInfo('autoregressive') },
    equal_tokens: d.trainedTokens !== null && d.trainedTokens === a.trainedTokens,
    paired: pairs,
    crossover: { exact: crossover.exact ?? null, edit_sim: crossover.edit_sim ?? null },
    retrieval,
    final,
    sentence,
  };
  await writeFileAtomic(join(out, 'compare.json'), JSON.stringify(report, null, 2) + '\n');
  await writeFileAtomic(join(out, 'compare.svg'), chartFromReport(report));
  return report;
}

/** The chart of a comparison, from compare.json alone (so that it can be drawn again later). */
export function chartFromReport(r: CompareReport): string {
  const curve = (name: ObjectiveName): RunCurve => {
    const run = r.runs[name];
    return {
      objective: name, params: run.params, preset: run.preset, tokensPerStep: 0, points: run.curve,
      trainedTokens: run.trained_tokens, epochs: run.epochs, wallSeconds: run.wall_s, tokensPerSecond: run.tokens_per_s,
    };
  };
  const d = r.runs.diffusion;
  return renderCompareSvg({
    title: `Diffusion vs autoregressive at equal compute (${(r.budget.tokens).toLocaleString('en-US')} training tokens each, ${fmtFlops(trainingFlops(d.params, d.trained_tokens ?? 0))} FLOPs)`,
    diffusion: curve('diffusion'), autoregressive: curve('autoregressive'),
    retrievalExact: r.retrieval.exact, crossover: r.crossover.exact ?? undefined, subtitle: r.sentence,
  });
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);

/** The comparison as a plain-text table (what `repo-diffusion compare` prints). */
export function formatCompareTable(r: CompareReport): string {
  const rows: string[][] = [['', 'diffusion', 'autoregressive', 'retrieval']];
  const d = r.runs.diffusion;
  const a = r.runs.autoregressive;
  const f = r.final;
  const int = (x: number | null | undefined) => (x === null || x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));
  rows.push(['preset / params', `${d.preset ?? '?'} / ${int(d.params)}`, `${a.preset ?? '?'} / ${int(a.params)}`, 'no training']);
  rows.push(['training tokens', int(d.trained_tokens), int(a.trained_tokens), '-']);
  rows.push(['epochs', d.epochs?.toFixed(1) ?? '-', a.epochs?.toFixed(1) ?? '-', '-']);
  rows.push(['training FLOPs (6ND)', d.flops === null ? '-' : fmtFlops(d.flops), a.flops === null ? '-' : fmtFlops(a.flops), '0']);
  rows.push(['wall time (with evals)', d.wall_s === null ? '-' : `${d.wall_s.toFixed(0)} s`, a.wall_s === null ? '-' : `${a.wall_s.toFixed(0)} s`, '-']);
  rows.push(['train tokens/s (median)', int(d.tokens_per_s), int(a.tokens_per_s), '-']);
  const lastOf = (c: typeof d.curve) => c[c.length - 1];
  rows.push(['trainer eval exact (last)', pct(lastOf(d.curve)?.exact), pct(lastOf(a.curve)?.exact), '-']);
  // Validation loss is not comparable across objectives (a diffusion bound vs next-token CE); its
  // shape is: a loss that turns up while the data repeats is the saturation the research describes.
  const valLoss = (c: typeof d.curve) => {
    const v = c.map((p) => p.valLoss).filter((x): x is number => x !== null);
    if (!v.length) return '-';
    const min = Math.min(...v);
    const at = c.find((p) => p.valLoss === min)!;
    return `${min.toFixed(2)} @ ep ${at.epoch.toFixed(1)} -> ${v[v.length - 1].toFixed(2)}`;
  };
  rows.push(['val loss (min -> last)', valLoss(d.curve), valLoss(a.curve), '-']);
  rows.push([`engine exact, oracle length`, pct(f.diffusion.oracle.exact), pct(f.autoregressive.oracle.exact), pct(r.retrieval.exact)]);
  rows.push([`engine exact, engine length`, pct(f.diffusion.engine.exact), pct(f.autoregressive.engine.exact), pct(r.retrieval.exact)]);
  rows.push([`engine edit sim, engine length`, pct(f.diffusion.engine.edit_sim), pct(f.autoregressive.engine.edit_sim), pct(r.retrieval.edit_sim)]);
  rows.push(['forward passes / task', f.diffusion.engine.steps_per_task?.toFixed(1) ?? '-', f.autoregressive.engine.steps_per_task?.toFixed(1) ?? '-', '0']);
  const syn = (s: SyntaxReport) => (s.checked ? `${pct(s.rate)} of ${s.checked}` : `n/a (${s.skippedNoGrammar} no grammar, ${s.skippedReferenceErrors} ref. errors)`);
  rows.push(['still parses (engine length)', syn(f.diffusion.syntax), syn(f.autoregressive.syntax), '-']);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const lines = rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  const kinds = [...new Set([...Object.keys(f.diffusion.engine.by_kind), ...Object.keys(f.autoregressive.engine.by_kind)])].sort();
  const byKind = kinds.map((k) => `  ${k.padEnd(6)} diffusion ${pct(f.diffusion.engine.by_kind[k]?.exact)}  AR ${pct(f.autoregressive.engine.by_kind[k]?.exact)}  retrieval ${pct(r.retrieval.by_kind[k]?.exact)}  (n=${f.diffusion.engine.by_kind[k]?.n ?? 0})`);
  return [
    `${f.tasks} held-out tasks (of ${r.corpus.eval_tasks} with a middle of at most ${r.corpus.max_middle_tokens} tokens, ${r.corpus.eval_tasks_in_corpus} in eval.jsonl); corpus ${r.corpus.train_tokens.toLocaleString('en-US')} training tokens; ${r.budget.note}`,
    '',
    ...lines,
    '',
    'engine exact match by kind (engine length):',
    ...byKind,
    '',
    r.sentence,
  ].join('\n') + '\n';
}
