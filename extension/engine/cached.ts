// Fast infill (docs/engine.md "Fast decoding"): the contract's samplers over the cached graphs of
// model.json `graphs.context` / `graphs.step` (trainer/cached.py), Fast-dLLM's dual cache.
//   - diffusion: one context pass over prefix ++ [MASK]*L ++ suffix gives the first step's canvas
//     picks (from the full model's logits) and every layer's K/V; each later step runs only the
//     canvas (L rows) against those K/V, the canvas's own columns masked. The approximation: the
//     cached prefix/suffix K/V do not see the canvas decisions (they saw masks); `refreshEvery`
//     re-runs the context pass every N steps (1 = exact, the naive sampler with fewer logits).
//     A decided position runs one more step with its id, and is then frozen (dKV-Cache): its K/V
//     go into the context's column of it, and later steps run only the rest of the canvas. With
//     the sampler's window, masked positions beyond it are parked on the context pass's K/V.
//   - AR: a KV cache: the prompt pass, then one token a step appended to the cache (exact).
// The unmasking loop itself is sampler.ts's `unmask`, so tie-breaks and stops are the contract's.
import {
  arPrompt, DEFAULT_SPECIAL_IDS, greedyDecode, unmask,
  type ARResult, type AROptions, type DiffusionOptions, type DiffusionResult, type LogitsModel, type MaskedScores,
} from './sampler';

/**
 * Keys or values, one float32 row-major array per layer, each [batch, heads, len, head_dim] (`dims`).
 * A context pass for an int8-K/V step graph gives `int8` instead (trainer/quantize.py quantize_kv:
 * per layer int8 keys [b, h, head_dim, len] or values [b, h, len, head_dim], and a float32 scale
 * per token [b, h, 1, len]) and no float32 `layers`.
 */
export interface KV {
  layers: Float32Array[];
  dims: [number, number, number, number];
  int8?: { layers: Int8Array[]; scales: Float32Array[] };
}

export interface CachedOutput {
  /** float32 [batch, rows, vocab]: the rows asked for (context) or the canvas rows (step). */
  logits: Float32Array;
  keys: KV;
  values: KV;
}

/** A context pass's pick at the rows asked for (MaskedScores in `positions` order) and its K/V. */
export interface CachedScores extends MaskedScores {
  keys: KV;
  values: KV;
}

/** A model with the cached graphs; `forward` is the full model (the context graph at every row). */
export interface CachedLogitsModel extends LogitsModel {
  readonly cachedGraphs: true;
  /** ids [1, seq] -> logits at `positions` [1, p], K/V for all seq positions. */
  context(ids: BigInt64Array, seq: number, positions: BigInt64Array): Promise<CachedOutput>;
  /**
   * `context`, but the graph picks at `positions` (trainer/cached.py `pick_in_graph`): each row's
   * argmax and its softmax probability, `forbid` (0 or -inf per id) added to the logits first.
   */
  contextScores(ids: BigInt64Array, seq: number, positions: BigInt64Array, forbid: Float32Array): Promise<CachedScores>;
  /**
   * canvas ids at absolute positions [1, c] against context K/V (their columns under `ctxMask`:
   * 0, or -inf for a column not to attend) -> logits of the canvas rows `rows` (indices into the
   * canvas; default all) and the canvas's own K/V.
   */
  step(canvasIds: BigInt64Array, positions: BigInt64Array, ctxKeys: KV, ctxValues: KV, ctxMask: Float32Array, rows?: BigInt64Array): Promise<CachedOutput>;
  /**
   * `step`, but the graph picks, as in `contextScores`; with `kvRows` (canvas indices), also the
   * canvas's own K/V at those rows, in that order (float32 whatever the context K/V are), for
   * `freezeColumns`.
   */
  stepScores(canvasIds: BigInt64Array, positions: BigInt64Array, ctxKeys: KV, ctxValues: KV, ctxMask: Float32Array, rows: BigInt64Array,
    forbid: Float32Array, kvRows?: readonly number[]): Promise<StepScores>;
  /** Whether stepScores can hand over chosen rows of the canvas's K/V (`kv_rows`; an export before it cannot: no freezing). */
  readonly stepGivesKV: boolean;
}

/** A step's pick, and with `kvRows` the canvas's own K/V at them ([1, heads, kvRows.length, head_dim] float32). */
export interface StepScores extends MaskedScores {
  keys?: KV;
  values?: KV;
}

export function isCachedModel(m: LogitsModel): m is CachedLogitsModel {
  return (m as Partial<CachedLogitsModel>).cachedGraphs === true;
}

/**
 * The step graph's ctx_mask for a context pass's K/V over `total` positions: -inf at the canvas
 * columns [start, start + n) (they saw masks; each step computes the canvas afresh), 0 elsewhere.
 * The K/V are passed whole: copying them without those columns cost ~1 ms (tiny) to ~4 ms (small)
 * at 512 positions.
 */
export function canvasMask(total: number, start: number, n: number): Float32Array {
  const mask = new Float32Array(total);
  mask.fill(-Infinity, start, start + n);
  return mask;
}

/** Appends `more`'s columns after `kv`'s along the length axis, layer by layer (an AR cache growing by a token). */
export function appendColumns(kv: KV, more: KV): KV {
  const [b, h, t, d] = kv.dims;
  const m = more.dims[2];
  const outer = b * h;
  const layers = kv.layers.map((past, i) => {
    const fresh = more.layers[i];
    const out = new Float32Array(outer * (t + m) * d);
    for (let o = 0; o < outer; o++) {
      out.set(past.subarray(o * t * d, (o + 1) * t * d), o * (t + m) * d);
      out.set(fresh.subarray(o * m * d, (o + 1) * m * d), o * (t + m) * d + t * d);
    }
    return out;
  });
  return { layers, dims: [b, h, t + m, d] };
}

/**
 * Writes canvas rows' own K/V (a step's float32 output, rows `from`) into the context K/V's columns
 * `to`, in place, layer by layer: float32 as they are, int8 quantized as trainer/quantize.py
 * quantize_kv does (per token and head, symmetric, [-63, 63], round half to even), the keys
 * transposed ([b, h, head_dim, len]). The step graph reads the same arrays again (their input
 * tensors wrap them), so the next step attends to these columns once ctx_mask opens them.
 */
export function freezeColumns(ctx: KV, own: KV, from: readonly number[], to: readonly number[], keys: boolean): void {
  const [b, h, t, d] = ctx.dims;
  const c = own.dims[2];
  const outer = b * h;
  if (own.dims[3] !== d || own.dims[1] !== h) throw new Error(`canvas K/V [${own.dims.join(', ')}] do not fit the context's [${ctx.dims.join(', ')}]`);
  // plain loops: this runs after every step (small, one position: 117 us with closures and arrays, 55 us without)
  for (let l = 0; l < own.layers.length; l++) {
    const fresh = own.layers[l];
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < from.length; j++) {
        const src = (o * c + from[j]) * d;
        const col = to[j];
        if (!ctx.int8) {
          ctx.layers[l].set(fresh.subarray(src, src + d), (o * t + col) * d);
          continue;
        }
        let top = 0;
        for (let k = 0; k < d; k++) top = Math.max(top, Math.abs(fresh[src + k]));
        const scale = Math.fround(Math.max(top, KV_MIN_SCALE) / KV_INT8_MAX);
        ctx.int8.scales[l][o * t + col] = scale;
        // keys [b, h, head_dim, len] (a column strides by len), values [b, h, len, head_dim]
        const q = ctx.int8.layers[l];
        const at = keys ? o * d * t + col : (o * t + col) * d;
        const stride = keys ? t : 1;
        for (let k = 0; k < d; k++) q[at + k * stride] = roundHalfEven(Math.fround(fresh[src + k] / scale));
      }
    }
  }
}

/** trainer/quantize.py WEIGHT_MAX: the 7-bit range of int8 weights and K/V; and its clamp of an all-zero row's scale. */
const KV_INT8_MAX = 63;
const KV_MIN_SCALE = Math.fround(1e-12);

/** torch.round: halves to the even neighbour (Math.round takes them up). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface CachedDiffusionOptions extends DiffusionOptions {
  /** Re-run the context pass (with the canvas as decided so far) every N steps; 0 = never (default). */
  refreshEvery?: number;
  /**
   * dKV-Cache's delayed caching (Ma et al. 2025): a canvas position decided at step t goes through
   * step t + 1 with its id, and its K/V from that step are then written into the context's
   * columns (`freezeColumns`); from step t + 2 it is attended to but no longer recomputed, so a
   * step runs the still-masked positions and those decided one step before only. Default true
   * when the step graph gives its K/V (docs/engine.md "Fast decoding" measures speed and accuracy).
   */
  freezeDecided?: boolean;
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
  const freeze = (options.freezeDecided ?? true) && model.stepGivesKV;
  let context: CachedScores | undefined;
  /**
   * The steps' ctx_mask: a canvas column open (0) holds a frozen position's K/V (freezeDecided),
   * or, undecided, a parked one's from the context pass (beyond the sampler's window).
   */
  let mask = canvasMask(T, c0, L);
  let forbid: Float32Array | undefined;
  const maskId = BigInt((options.specialIds ?? DEFAULT_SPECIAL_IDS).mask);
  return unmask(prefix, suffix, canvasLen, V, options, async (x, step, masked, forbidden) => {
    // The graphs pick (argmax and its probability, trainer/cached.py `pick_in_graph`): the float32
    // softmax of 8k ids a row in JavaScript cost more than a step of tiny.
    forbid ??= Float32Array.from(forbidden, (f) => (f ? -Infinity : 0));
    let scores: MaskedScores;
    if (!context || (refresh > 0 && step % refresh === 0)) {
      // the context pass: its canvas rows are the full model's, so step 1 (and a one-step canvas)
      // is the naive sampler's
      context = await model.contextScores(x, T, positions, forbid);
      if (context.pred.length !== L) throw new Error(`the model scored ${context.pred.length} of ${L} canvas positions`);
      if (freeze && step > 0) mask = canvasMask(T, c0, L); // a refresh: nothing stays frozen
      const rows = context;
      scores = { pred: Int32Array.from(masked, (i) => rows.pred[i]), conf: Float32Array.from(masked, (i) => rows.conf[i]) };
    } else {
      // Through the network go the still-masked positions in the sampler's window and those
      // decided one step before (freezeDecided; without it every decided one); logits only for
      // the still-masked ones (the vocabulary projection is most of a step). A masked position
      // beyond the window is parked: its column is opened with the context pass's K/V (it saw
      // masks, as the dual cache's suffix does) until the window reaches it.
      const stillMasked = new Set(masked);
      const active: number[] = [];
      const settled: number[] = [];
      for (let i = 0; i < L; i++) {
        const col = c0 + i;
        if (x[col] === maskId) {
          const inWindow = stillMasked.has(i);
          mask[col] = inWindow ? -Infinity : 0;
          if (inWindow) active.push(i);
        } else if (!freeze) {
          active.push(i);
        } else if (mask[col] !== 0) { // decided, its column not frozen yet
          active.push(i);
          settled.push(i);
        }
      }
      const rowOf = new Map(active.map((i, r) => [i, r]));
      const out = await model.stepScores(BigInt64Array.from(active, (i) => x[c0 + i]), BigInt64Array.from(active, (i) => positions[i]),
        context.keys, context.values, mask, BigInt64Array.from(masked, (i) => BigInt(rowOf.get(i)!)), forbid,
        settled.length > 0 ? settled.map((i) => rowOf.get(i)!) : undefined);
      if (settled.length > 0) {
        // decided before this step: their K/V now see their own ids, and stay as they are
        if (!out.keys || !out.values) throw new Error('the step graph gave no K/V of the canvas');
        const from = settled.map((_, j) => j);
        const to = settled.map((i) => c0 + i);
        freezeColumns(context.keys, out.keys, from, to, true);
        freezeColumns(context.values, out.values, from, to, false);
        for (const i of settled) mask[c0 + i] = 0;
      }
      scores = out;
    }
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
      out = await model.step(BigInt64Array.of(BigInt(last)), BigInt64Array.of(BigInt(T)), keys, values, new Float32Array(T), BigInt64Array.of(0n));
      keys = appendColumns(keys, out.keys);
      values = appendColumns(values, out.values);
      T++;
    }
    if (out.logits.length !== V) throw new Error(`the model gave ${out.logits.length} logits for 1 position x ${V} ids`);
    return { logits: out.logits, offset: 0 };
  });
}
