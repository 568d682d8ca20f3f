// Fast infill (docs/engine.md "Fast decoding"): the contract's samplers over the cached graphs of
// model.json `graphs.context` / `graphs.step` (trainer/cached.py), Fast-dLLM's dual cache.
//   - diffusion: one context pass over prefix ++ [MASK]*L ++ suffix gives the first step's canvas
//     logits (exactly the full model's) and every layer's K/V; the prefix and suffix columns are
//     kept, and each later step runs only the canvas (L rows) against them. The approximation: the
//     cached prefix/suffix K/V do not see the canvas decisions (they saw masks); `refreshEvery`
//     re-runs the context pass every N steps (1 = exact, the naive sampler with fewer logits).
//   - AR: a KV cache: the prompt pass, then one token a step appended to the cache (exact).
// The unmasking loop itself is sampler.ts's `unmask`, so tie-breaks and stops are the contract's.
import {
  arPrompt, DEFAULT_SPECIAL_IDS, greedyDecode, scoreRows, unmask,
  type ARResult, type AROptions, type DiffusionOptions, type DiffusionResult, type LogitsModel, type MaskedScores,
} from './sampler';

/** Per-layer keys or values, float32 row-major [n_layers, batch, heads, len, head_dim]. */
export interface KV {
  data: Float32Array;
  dims: [number, number, number, number, number];
}

export interface CachedOutput {
  /** float32 [batch, rows, vocab]: the rows asked for (context) or the canvas rows (step). */
  logits: Float32Array;
  keys: KV;
  values: KV;
}

/** A model with the cached graphs; `forward` is the full model (the context graph at every row). */
export interface CachedLogitsModel extends LogitsModel {
  readonly cachedGraphs: true;
  /** ids [1, seq] -> logits at `positions` [1, p], K/V for all seq positions. */
  context(ids: BigInt64Array, seq: number, positions: BigInt64Array): Promise<CachedOutput>;
  /**
   * canvas ids at absolute positions [1, c] against context K/V -> logits of the canvas rows `rows`
   * (indices into the canvas; default all) and the canvas's own K/V.
   */
  step(canvasIds: BigInt64Array, positions: BigInt64Array, ctxKeys: KV, ctxValues: KV, rows?: BigInt64Array): Promise<CachedOutput>;
  /**
   * `step`, but the graph picks (trainer/cached.py `pick_in_graph`): each row's argmax and its
   * softmax probability, `forbid` (0 or -inf per id) added to the logits first.
   */
  stepScores(canvasIds: BigInt64Array, positions: BigInt64Array, ctxKeys: KV, ctxValues: KV, rows: BigInt64Array,
    forbid: Float32Array): Promise<MaskedScores>;
}

export function isCachedModel(m: LogitsModel): m is CachedLogitsModel {
  return (m as Partial<CachedLogitsModel>).cachedGraphs === true;
}

/** Drops the columns [start, start + n) of axis 3 (the canvas, from a context pass's K/V). */
export function dropColumns(kv: KV, start: number, n: number): KV {
  const [l, b, h, t, d] = kv.dims;
  const outer = l * b * h;
  const keep = t - n;
  const out = new Float32Array(outer * keep * d);
  for (let o = 0; o < outer; o++) {
    const src = o * t * d;
    const dst = o * keep * d;
    out.set(kv.data.subarray(src, src + start * d), dst);
    out.set(kv.data.subarray(src + (start + n) * d, src + t * d), dst + start * d);
  }
  return { data: out, dims: [l, b, h, keep, d] };
}

/** Appends `more`'s columns after `kv`'s along axis 3 (an AR cache growing by a token). */
export function appendColumns(kv: KV, more: KV): KV {
  const [l, b, h, t, d] = kv.dims;
  const m = more.dims[3];
  const outer = l * b * h;
  const out = new Float32Array(outer * (t + m) * d);
  for (let o = 0; o < outer; o++) {
    out.set(kv.data.subarray(o * t * d, (o + 1) * t * d), o * (t + m) * d);
    out.set(more.data.subarray(o * m * d, (o + 1) * m * d), o * (t + m) * d + t * d);
  }
  return { data: out, dims: [l, b, h, t + m, d] };
}

export interface CachedDiffusionOptions extends DiffusionOptions {
  /** Re-run the context pass (with the canvas as decided so far) every N steps; 0 = never (default). */
  refreshEvery?: number;
}

/** The contract's diffusion sampler with the dual cache (see the top of this file). */
export async function cachedDiffusionInfill(model: CachedLogitsModel, prefix: readonly number[], suffix: readonly number[],
  canvasLen: number, options: CachedDiffusionOptions = {}): Promise<DiffusionResult> {
  const L = Math.floor(canvasLen);
  const c0 = prefix.length;
  const T = c0 + L + suffix.length;
  const V = model.vocabSize;
  const positions = new BigInt64Array(L);
  for (let i = 0; i < L; i++) positions[i] = BigInt(c0 + i);
  const refresh = Math.max(0, Math.floor(options.refreshEvery ?? 0));
  let keys: KV | undefined;
  let values: KV | undefined;
  let forbid: Float32Array | undefined;
  return unmask(prefix, suffix, canvasLen, V, options, async (x, step, masked, forbidden) => {
    if (!keys || !values || (refresh > 0 && step % refresh === 0)) {
      // The context pass's logits are the full model's: scored here as the naive sampler scores
      // them, so that step 1 (and a one-step canvas) is exactly the naive sampler's.
      const out = await model.context(x, T, positions);
      if (out.logits.length !== L * V) throw new Error(`the model gave ${out.logits.length} logits for ${L} canvas positions x ${V} ids`);
      keys = dropColumns(out.keys, c0, L);
      values = dropColumns(out.values, c0, L);
      return scoreRows(out.logits, masked, (i) => i, V, forbidden);
    }
    // Only the still-masked positions (the vocabulary projection is most of a step), and the graph
    // picks: the float32 softmax of 8k ids a row in JavaScript cost more than the step itself.
    forbid ??= Float32Array.from(forbidden, (f) => (f ? -Infinity : 0));
    const scores = await model.stepScores(x.slice(c0, c0 + L), positions, keys, values, BigInt64Array.from(masked, BigInt), forbid);
    if (scores.pred.length !== masked.length || scores.conf.length !== masked.length) {
      throw new Error(`the model scored ${scores.pred.length} of ${masked.length} canvas positions`);
    }
    return scores;
  });
}

/** The contract's AR sampler with a KV cache: a prompt pass, then one token a step (same ids as `arInfill`). */
export async function cachedArInfill(model: CachedLogitsModel, prefix: readonly number[], suffix: readonly number[],
  maxNew: number, options: AROptions = {}): Promise<ARResult> {
  const V = model.vocabSize;
  const prompt = arPrompt(prefix, suffix, options.specialIds ?? DEFAULT_SPECIAL_IDS);
  let keys: KV | undefined;
  let values: KV | undefined;
  let T = prompt.length;
  return greedyDecode(maxNew, V, options, async (last) => {
    let out: CachedOutput;
    if (!keys || !values) {
      out = await model.context(BigInt64Array.from(prompt, BigInt), T, BigInt64Array.of(BigInt(T - 1)));
      keys = out.keys;
      values = out.values;
    } else {
      out = await model.step(BigInt64Array.of(BigInt(last)), BigInt64Array.of(BigInt(T)), keys, values, BigInt64Array.of(0n));
      keys = appendColumns(keys, out.keys);
      values = appendColumns(values, out.values);
      T++;
    }
    if (out.logits.length !== V) throw new Error(`the model gave ${out.logits.length} logits for 1 position x ${V} ids`);
    return { logits: out.logits, offset: 0 };
  });
}
