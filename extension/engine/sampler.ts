// The infill samplers of docs/contracts.md, token for token equal to trainer/sampling.py.
// They know nothing of text or tokenization, only ids, and nothing of ONNX: a `LogitsModel` maps
// ids to logits (the onnxruntime session in model.ts, or a tiny deterministic fake in the tests).
// Every tie-break below is part of the contract:
//   - forbidden ids (MASK and the three FIM ids) get logit -inf;
//   - softmax in float32 (the Python side is numpy float32, whose sum is pairwise: mirrored in
//     `pairwiseSum`), argmax = lowest id on ties;
//   - tau is compared in float32 (numpy casts a Python float scalar to the array's float32);
//   - with nothing above tau, the single most confident masked position that does not predict
//     PAD/EOS, leftmost on ties (all of them when every one predicts an end: ends last);
//   - with a window, "masked" is the leftmost `width` undecided positions, the width doubling
//     after a step that decided all of them and back to the window's otherwise;
// Known limit of "equal": numpy's SIMD float32 exp may differ from Math.fround(Math.exp) by an ulp,
// which only matters for a confidence within ~1e-7 of tau or of another position's.

import { SPECIAL_IDS, type SpecialIds } from '../tokenizer/specials';

/** ids -> logits, float32 row-major [batch, seq, vocab]. */
export interface LogitsModel {
  readonly vocabSize: number;
  forward(ids: BigInt64Array, batch: number, seq: number): Promise<Float32Array>;
}

/** The special ids a sampler needs (docs/contracts.md: pad 0, eos 1, mask 2, fim 3..5): the tokenizer's. */
export type SamplerIds = SpecialIds;

export const DEFAULT_SPECIAL_IDS: SamplerIds = { ...SPECIAL_IDS };

/** Default confidence threshold tau (Fast-dLLM's parallel decoding; contracts.md). */
export const DEFAULT_THRESHOLD = 0.9;

export interface DiffusionResult {
  /** Decided canvas ids left of the first PAD/EOS (undecided positions skipped). */
  ids: number[];
  /** Each of `ids`' confidence (its softmax probability) at the step that decided it. */
  confidences: number[];
  /** No PAD/EOS was decided: the middle may be longer than the canvas. */
  filled: boolean;
  /** Forward passes made. */
  steps: number;
}

export interface ARResult {
  ids: number[];
  /** Each of `ids`' softmax probability when it was chosen. */
  confidences: number[];
  /** Stopped by max_new rather than by EOS/PAD. */
  filled: boolean;
  steps: number;
}

/** Mean and least of a completion's per-token confidences (0 and 0 for no tokens). */
export function confidenceOf(confidences: readonly number[]): { mean: number; min: number } {
  if (confidences.length === 0) return { mean: 0, min: 0 };
  let sum = 0;
  let min = Infinity;
  for (const c of confidences) {
    sum += c;
    min = Math.min(min, c);
  }
  return { mean: sum / confidences.length, min };
}

export function abortError(): Error {
  const err = new Error('The completion was cancelled');
  err.name = 'AbortError';
  return err;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError();
}

let scratch = new Float32Array(0);

/**
 * numpy's float32 sum of a contiguous run (pairwise: blocks of at most 128 summed with 8
 * accumulators, halves split at multiples of 8), so that the softmax denominator is the same float.
 */
export function pairwiseSum(a: Float32Array, start: number, n: number): number {
  const f = Math.fround;
  if (n < 8) {
    let s = -0;
    for (let i = 0; i < n; i++) s = f(s + a[start + i]);
    return s;
  }
  if (n <= 128) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const j = start + i;
      r0 = f(r0 + a[j]); r1 = f(r1 + a[j + 1]); r2 = f(r2 + a[j + 2]); r3 = f(r3 + a[j + 3]);
      r4 = f(r4 + a[j + 4]); r5 = f(r5 + a[j + 5]); r6 = f(r6 + a[j + 6]); r7 = f(r7 + a[j + 7]);
    }
    let res = f(f(f(r0 + r1) + f(r2 + r3)) + f(f(r4 + r5) + f(r6 + r7)));
    for (; i < n; i++) res = f(res + a[start + i]);
    return res;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return f(pairwiseSum(a, start, half) + pairwiseSum(a, start + half, n - half));
}

/** 1 at the ids a sampler never emits (MASK and the FIM ids), for a vocabulary of `vocab`. */
export function forbiddenMask(vocab: number, sp: SamplerIds): Uint8Array {
  const m = new Uint8Array(vocab);
  for (const id of [sp.mask, sp.fimPrefix, sp.fimSuffix, sp.fimMiddle]) if (id >= 0 && id < vocab) m[id] = 1;
  return m;
}

/**
 * Softmax (float32, forbidden ids removed) of one logits row; -> [pred, conf].
 * Mirrors trainer/sampling.py `_pick`: z = l - max; p = exp(z) / sum(exp(z)); pred = argmax p
 * (first maximum of the rounded probabilities, so that ids whose float32 p ties give the lowest).
 */
export function pickRow(logits: Float32Array, offset: number, vocab: number, forbidden: Uint8Array): [number, number] {
  const f = Math.fround;
  if (scratch.length < vocab) scratch = new Float32Array(vocab);
  const e = scratch;
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) {
    if (forbidden[v]) continue;
    const l = logits[offset + v];
    if (l > max) max = l;
  }
  for (let v = 0; v < vocab; v++) e[v] = forbidden[v] ? 0 : f(Math.exp(f(logits[offset + v] - max)));
  const s = pairwiseSum(e, 0, vocab);
  // p = fround(e / s) is non-decreasing in e, so the largest p is the largest e's, and only ids
  // whose e is within a float32 rounding of that e can tie with it: divide for those alone (the
  // division of every id was ~a third of this function; it runs for every masked row every step).
  let emax = -1;
  for (let v = 0; v < vocab; v++) if (e[v] > emax) emax = e[v];
  const conf = f(emax / s);
  const near = emax * (1 - 1e-6);
  for (let v = 0; v < vocab; v++) {
    if (e[v] >= near && f(e[v] / s) === conf) return [v, conf];
  }
  return [0, conf]; // unreachable: the id holding emax matches
}

export interface DiffusionOptions {
  threshold?: number;
  maxSteps?: number;
  /**
   * Sliding window (docs/contracts.md): each step scores and decides only the leftmost `window`
   * undecided canvas positions (twice as many after a step that decided all of them); 0 or
   * absent = the whole canvas. The fast path then runs only those through the network
   * (cached.ts), which is what bounds a step's cost on a long canvas.
   */
  window?: number;
  specialIds?: SamplerIds;
  signal?: AbortSignal;
  /**
   * An early exit that is not the contract's, asked after every step: stop once it returns true,
   * given the ids decided so far from the start of the canvas without a gap (AR: all ids so far)
   * and the progress. For callers whose shown text those ids already fix (a line request whose
   * line break is decided; `endsLine`), or who will not show an unsure completion (engine.ts).
   */
  until?: (decidedPrefix: readonly number[], progress: SamplingProgress) => boolean;
}

export interface SamplingProgress {
  /** Steps (forward passes) so far. */
  steps: number;
  /** Mean confidence of every id decided so far. */
  meanConfidence: number;
}

/**
 * Confidence-threshold parallel unmasking (Fast-dLLM) over a canvas of L masks between prefix and
 * suffix (LLaDA, Open-dCoder): x = P ++ [MASK]*L ++ S, batch 1. Each step decodes every masked
 * canvas position (in the window, if one is given) with confidence >= tau, or else the single most
 * confident one that does not predict PAD/EOS (leftmost on ties), or else (all predict an end) all
 * of them; stops when the canvas is decided, when a decided PAD/EOS has every position left of it
 * decided, or after maxSteps (default L). The signal is honoured between steps.
 */
export async function diffusionInfill(model: LogitsModel, prefix: readonly number[], suffix: readonly number[],
  canvasLen: number, options: DiffusionOptions = {}): Promise<DiffusionResult> {
  const c0 = prefix.length;
  const T = c0 + Math.floor(canvasLen) + suffix.length;
  const V = model.vocabSize;
  return unmask(prefix, suffix, canvasLen, V, options, async (x, _step, masked, forbidden) => {
    const logits = await model.forward(x, 1, T);
    if (logits.length !== T * V) throw new Error(`the model gave ${logits.length} logits for ${T} positions x ${V} ids`);
    return scoreRows(logits, masked, (i) => c0 + i, V, forbidden);
  });
}

/** One step's view of the still-masked canvas positions it may decide, in `masked` order: predicted id and confidence. */
export interface MaskedScores {
  pred: ArrayLike<number>;
  conf: ArrayLike<number>;
}

/** `pickRow` for each still-masked position i, reading logits row `rowOf(i)` (row-major, V wide). */
export function scoreRows(logits: Float32Array, masked: readonly number[], rowOf: (i: number) => number, V: number,
  forbidden: Uint8Array): MaskedScores {
  const pred = new Int32Array(masked.length);
  const conf = new Float32Array(masked.length);
  masked.forEach((i, r) => { [pred[r], conf[r]] = pickRow(logits, rowOf(i) * V, V, forbidden); });
  return { pred, conf };
}

/**
 * The contract's unmasking loop, whatever scores the canvas: `scoresFor(x, step, masked, forbidden)`
 * gets the whole sequence (prefix ++ canvas ++ suffix, undecided positions MASK), the step number,
 * the still-masked canvas positions it may decide (all, or the window's) and the forbidden ids,
 * and returns each masked position's prediction and confidence in `masked` order (`scoreRows`
 * over logits rows, or a graph that picks itself). Shared by the plain sampler and the cached one
 * (cached.ts).
 */
export async function unmask(prefix: readonly number[], suffix: readonly number[], canvasLen: number, V: number,
  options: DiffusionOptions,
  scoresFor: (x: BigInt64Array, step: number, masked: number[], forbidden: Uint8Array) => Promise<MaskedScores>): Promise<DiffusionResult> {
  const L = Math.floor(canvasLen);
  if (!(L >= 1)) throw new Error(`canvas length ${canvasLen} must be >= 1`);
  const sp = options.specialIds ?? DEFAULT_SPECIAL_IDS;
  const tau = Math.fround(options.threshold ?? DEFAULT_THRESHOLD);
  const maxSteps = options.maxSteps ?? L;
  const asked = Math.floor(options.window ?? 0);
  const startWidth = asked > 0 ? asked : L; // no window: the whole canvas
  let width = startWidth;
  const forbidden = forbiddenMask(V, sp);
  const c0 = prefix.length;
  const T = c0 + L + suffix.length;
  const x = new BigInt64Array(T);
  prefix.forEach((id, i) => { x[i] = BigInt(id); });
  for (let i = 0; i < L; i++) x[c0 + i] = BigInt(sp.mask);
  suffix.forEach((id, i) => { x[c0 + L + i] = BigInt(id); });
  const canvas = new Array<number>(L).fill(sp.mask);
  const confs = new Array<number>(L).fill(0);
  const decided = new Array<boolean>(L).fill(false);
  const isStop = (id: number) => id === sp.pad || id === sp.eos;
  const firstStop = () => {
    for (let i = 0; i < L; i++) if (decided[i] && isStop(canvas[i])) return i;
    return -1;
  };
  let steps = 0;
  while (steps < maxSteps) {
    throwIfAborted(options.signal);
    const masked: number[] = [];
    for (let i = 0; i < L && masked.length < width; i++) if (!decided[i]) masked.push(i);
    const scores = await scoresFor(x, steps, masked, forbidden);
    throwIfAborted(options.signal);
    // trainer/sampling.py `choose`: every position >= tau; else the most confident one that does
    // not predict an end (PAD/EOS), leftmost on ties; else (all predict an end) all of them. Ends
    // go last: a weak model's most confident position is nearly always a trailing PAD, and deciding
    // those first spreads pads leftwards until the answer is empty.
    const chosen: Array<[number, number, number]> = []; // [position, id, confidence]
    const ends: Array<[number, number, number]> = [];
    let best = -1;
    let bestPred = 0;
    let bestConf = -Infinity;
    masked.forEach((i, r) => {
      const pred = scores.pred[r];
      const conf = scores.conf[r];
      if (conf >= tau) chosen.push([i, pred, conf]);
      if (isStop(pred)) ends.push([i, pred, conf]);
      else if (conf > bestConf) { // strict: the leftmost maximum wins ties (np.argmax)
        bestConf = conf;
        best = i;
        bestPred = pred;
      }
    });
    if (chosen.length === 0) {
      if (best >= 0) chosen.push([best, bestPred, bestConf]);
      else chosen.push(...ends);
    }
    // the model was sure of its whole window: the next step looks twice as far; else back to the start width
    width = chosen.length === masked.length ? Math.min(L, 2 * width) : startWidth;
    for (const [i, pred, conf] of chosen) {
      canvas[i] = pred;
      confs[i] = conf;
      decided[i] = true;
      x[c0 + i] = BigInt(pred);
    }
    steps++;
    if (decided.every(Boolean)) break;
    const stop = firstStop();
    if (stop >= 0 && decided.slice(0, stop).every(Boolean)) break;
    if (options.until) {
      const meanConfidence = confidenceOf(confs.filter((_, i) => decided[i])).mean;
      if (options.until(canvas.slice(0, decided.indexOf(false)), { steps, meanConfidence })) break;
    }
  }
  const stop = firstStop();
  const end = stop < 0 ? L : stop;
  const ids: number[] = [];
  const confidences: number[] = [];
  for (let i = 0; i < end; i++) {
    if (!decided[i]) continue;
    ids.push(canvas[i]);
    confidences.push(confs[i]);
  }
  return { ids, confidences, filled: stop < 0, steps };
}

export interface AROptions {
  specialIds?: SamplerIds;
  signal?: AbortSignal;
  /** As DiffusionOptions.until, on the ids chosen so far. */
  until?: (ids: readonly number[], progress: SamplingProgress) => boolean;
}

/** `<|fim_prefix|> P <|fim_suffix|> S <|fim_middle|>`: the AR sampler's prompt (PSM order). */
export function arPrompt(prefix: readonly number[], suffix: readonly number[], sp: SamplerIds): number[] {
  return [sp.fimPrefix, ...prefix, sp.fimSuffix, ...suffix, sp.fimMiddle];
}

/**
 * The contract's greedy AR loop, whatever computes the logits: `nextLogits(last)` returns the row
 * (float32 `logits` from `offset`) that predicts the next token, `last` being the token chosen one
 * step before (-1 at the first step). Lowest id on ties, MASK and FIM ids forbidden, stops at
 * EOS/PAD (not included) or after maxNew tokens; the signal is honoured around every pass.
 * Shared by `arInfill` (full recompute) and cached.ts `cachedArInfill` (KV cache).
 */
export async function greedyDecode(maxNew: number, V: number, options: AROptions,
  nextLogits: (last: number) => Promise<{ logits: Float32Array; offset: number }>): Promise<ARResult> {
  const sp = options.specialIds ?? DEFAULT_SPECIAL_IDS;
  const forbidden = forbiddenMask(V, sp);
  const ids: number[] = [];
  const confidences: number[] = [];
  let steps = 0;
  let last = -1;
  for (let n = 0; n < maxNew; n++) {
    throwIfAborted(options.signal);
    const { logits, offset } = await nextLogits(last);
    throwIfAborted(options.signal);
    steps++;
    const [tok, conf] = pickRow(logits, offset, V, forbidden);
    if (tok === sp.eos || tok === sp.pad) return { ids, confidences, filled: false, steps };
    ids.push(tok);
    confidences.push(conf);
    last = tok;
    if (options.until?.(ids, { steps, meanConfidence: confidenceOf(confidences).mean })) {
      return { ids, confidences, filled: false, steps };
    }
  }
  return { ids, confidences, filled: true, steps };
}

/**
 * Greedy PSM infill for an autoregressive model: `<|fim_prefix|> P <|fim_suffix|> S <|fim_middle|>`,
 * then one token a step (`greedyDecode`). Full recompute per token; cached.ts `cachedArInfill` is
 * the same with a KV cache.
 */
export async function arInfill(model: LogitsModel, prefix: readonly number[], suffix: readonly number[],
  maxNew: number, options: AROptions = {}): Promise<ARResult> {
  const V = model.vocabSize;
  const prompt = arPrompt(prefix, suffix, options.specialIds ?? DEFAULT_SPECIAL_IDS);
  const x = new BigInt64Array(prompt.length + Math.max(0, maxNew));
  prompt.forEach((id, i) => { x[i] = BigInt(id); });
  let T = prompt.length;
  return greedyDecode(maxNew, V, options, async (last) => {
    if (last >= 0) x[T++] = BigInt(last);
    const logits = await model.forward(x.subarray(0, T), 1, T);
    if (logits.length !== T * V) throw new Error(`the model gave ${logits.length} logits for ${T} positions x ${V} ids`);
    return { logits, offset: (T - 1) * V };
  });
}
