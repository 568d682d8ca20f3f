// Learning curves of a diffusion run and an autoregressive run on the same corpus, read from each
// run's progress events (metrics.jsonl `start` and `eval`), put on a common compute axis, and the
// crossover between them: the evaluation from which diffusion stays ahead of AR after having been
// level or behind (Ni et al. 2025, "Diffusion Language Models are Super Data Learners").
// Compute is counted as training FLOPs ~ 6 * params * tokens (Kaplan et al. 2020, forward + backward,
// attention ignored): with the same network, the same token budget is the same compute for both.
// Knows nothing of processes, files or charts.
import type { TrainerEvent } from '../training/protocol';

export interface CurvePoint {
  step: number;
  epoch: number;
  /** Training tokens seen at this evaluation (step * batch * seq_len * world size). */
  tokens: number;
  /** 6 * params * tokens. */
  flops: number;
  /** Held-out infill exact match with the oracle middle length (the trainer's `infill_exact`). */
  exact: number | null;
  editSim: number | null;
  /** The engine's canvas (16/32/64, grown while full); diffusion only. */
  exactEngineLength: number | null;
  valLoss: number | null;
}

export interface RunCurve {
  objective: string;
  params: number;
  preset?: string;
  device?: string;
  batchSize?: number;
  seqLen?: number;
  tokensPerStep: number;
  tokensPerEpoch?: number;
  points: CurvePoint[];
  /** From the `done` event: tokens trained, epochs, wall seconds (evaluations included). */
  trainedTokens: number | null;
  epochs: number | null;
  wallSeconds: number | null;
  /** Median tokens/s of the step events (training throughput without evaluation pauses). */
  tokensPerSecond: number | null;
  doneReason?: string;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** FLOPs of training a `params`-parameter network on `tokens` tokens (6ND). */
export function trainingFlops(params: number, tokens: number): number {
  return 6 * params * tokens;
}

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * One run's curve from its events. After a `--resume` a step may appear twice: the latest line per
 * step wins (docs/trainer.md). Throws when there is no `start` event (nothing was trained).
 */
export function curveFromEvents(events: readonly TrainerEvent[]): RunCurve {
  const starts = events.filter((e) => e.type === 'start');
  const start = starts[starts.length - 1];
  if (!start) throw new Error('no start event: the run was never trained');
  const params = num(start.params) ?? 0;
  const batch = num(start.batch_size) ?? undefined;
  const seqLen = num(start.seq_len) ?? undefined;
  const world = num(start.world_size) ?? 1;
  const tokensPerStep = batch && seqLen ? batch * seqLen * world : 0;
  const byStep = new Map<number, CurvePoint>();
  const rates: number[] = [];
  let prev: TrainerEvent | undefined;
  for (const e of events) {
    if (e.type === 'eval') {
      const step = e.step;
      const tokens = step * tokensPerStep;
      byStep.set(step, {
        step, epoch: e.epoch, tokens, flops: trainingFlops(params, tokens),
        exact: num(e.infill_exact), editSim: num(e.infill_edit_sim),
        exactEngineLength: num(e.infill_exact_engine_length), valLoss: num(e.val_loss),
      });
    } else if (e.type === 'step' && prev?.type === 'step') {
      // A step event right after an evaluation or a checkpoint counts that pause in its rate.
      const r = num(e.tokens_per_s);
      if (r !== null && r > 0) rates.push(r);
    }
    prev = e;
  }
  const dones = events.filter((e) => e.type === 'done');
  const done = dones[dones.length - 1];
  return {
    objective: String(start.objective ?? 'diffusion'),
    params,
    preset: start.preset as string | undefined,
    device: start.device as string | undefined,
    batchSize: batch,
    seqLen,
    tokensPerStep,
    tokensPerEpoch: num(start.tokens_per_epoch) ?? undefined,
    points: [...byStep.values()].sort((a, b) => a.step - b.step),
    trainedTokens: done ? num(done.tokens) : null,
    epochs: done ? num(done.epoch) : null,
    wallSeconds: done ? num(done.elapsed_s) : null,
    tokensPerSecond: median(rates),
    doneReason: done?.reason as string | undefined,
  };
}

export type Metric = 'exact' | 'editSim' | 'exactEngineLength';

export interface Crossover {
  /** The evaluation (the diffusion run's) from which diffusion stays strictly ahead of AR. */
  step: number;
  epoch: number;
  tokens: number;
  flops: number;
  diffusion: number;
  autoregressive: number;
}

export interface PairedPoint {
  tokens: number;
  epoch: number;
  step: number;
  diffusion: number;
  autoregressive: number;
}

/** Evaluations of both runs at the same number of training tokens (same eval steps, same step size). */
export function pairPoints(d: RunCurve, a: RunCurve, metric: Metric): PairedPoint[] {
  const arByTokens = new Map(a.points.map((p) => [p.tokens, p]));
  const out: PairedPoint[] = [];
  for (const p of d.points) {
    const q = arByTokens.get(p.tokens);
    const x = p[metric];
    const y = q?.[metric];
    if (q && x !== null && y !== null && y !== undefined) out.push({ tokens: p.tokens, epoch: p.epoch, step: p.step, diffusion: x, autoregressive: y });
  }
  return out;
}

/**
 * The crossover on paired evaluations: the first evaluation after which diffusion is strictly ahead
 * at every later one, provided AR was level or ahead at some earlier evaluation. Undefined when
 * diffusion never gets (and stays) ahead, or leads from the first evaluation (no crossing seen).
 */
export function findCrossover(pairs: readonly PairedPoint[], d: RunCurve): Crossover | undefined {
  let from = pairs.length;
  while (from > 0 && pairs[from - 1].diffusion > pairs[from - 1].autoregressive) from--;
  if (from === pairs.length || from === 0) return undefined;
  const p = pairs[from];
  return { step: p.step, epoch: p.epoch, tokens: p.tokens, flops: trainingFlops(d.params, p.tokens), diffusion: p.diffusion, autoregressive: p.autoregressive };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export interface FinalScores {
  diffusion: number | null;
  autoregressive: number | null;
  /** What the numbers are, e.g. "held-out infill exact match (engine, oracle length, 64 tasks)". */
  label: string;
  /** Edit similarity on the same tasks: said too, since exact match alone hides partial progress. */
  editSim?: { diffusion: number | null; autoregressive: number | null };
}

/**
 * The one-sentence result, e.g. "diffusion passed AR at epoch 14.0; at the end 31.2% vs 24.5%
 * held-out infill exact match ..." or "no crossover within this budget: ...".
 */
export function resultSentence(pairs: readonly PairedPoint[], crossover: Crossover | undefined, final: FinalScores, budget: string): string {
  const sim = final.editSim && final.editSim.diffusion !== null && final.editSim.autoregressive !== null
    ? ` (edit similarity ${pct(final.editSim.diffusion)} vs ${pct(final.editSim.autoregressive)})`
    : '';
  const end = final.diffusion !== null && final.autoregressive !== null
    ? `${pct(final.diffusion)} (diffusion) vs ${pct(final.autoregressive)} (AR) ${final.label}${sim}`
    : `no final ${final.label}`;
  if (!pairs.length) return `no paired evaluations to compare within this budget (${budget}); at the end ${end}.`;
  const first = pairs[0];
  const last = pairs[pairs.length - 1];
  if (crossover) {
    return `diffusion passed AR at epoch ${crossover.epoch.toFixed(1)} (${fmtFlops(crossover.flops)} training FLOPs) and stayed ahead; at the end ${end}.`;
  }
  if (first.diffusion > first.autoregressive && pairs.every((p) => p.diffusion > p.autoregressive)) {
    return `diffusion led AR from the first evaluation (epoch ${first.epoch.toFixed(1)}) to the last, so no crossover was seen within this budget (${budget}); at the end ${end}.`;
  }
  const ahead = last.diffusion > last.autoregressive ? 'diffusion' : last.diffusion < last.autoregressive ? 'AR' : 'neither';
  return `no crossover within this budget (${budget}): at the last paired evaluation (epoch ${last.epoch.toFixed(1)}) ${ahead === 'neither' ? 'the two were level' : `${ahead} was ahead`} at ${pct(last.diffusion)} vs ${pct(last.autoregressive)}; at the end ${end}.`;
}

/** 1.23e15 style. */
export function fmtFlops(f: number): string {
  if (!Number.isFinite(f) || f <= 0) return '0';
  const e = Math.floor(Math.log10(f));
  return `${(f / 10 ** e).toFixed(2)}e${e}`;
}
