// The orchestrator: one completion is a straight sequence of the pipeline's stages (DESIGN.md
// "Completion pipeline"), each a plain function in its own module:
//   cache (cache.ts) -> gather context (context.ts) -> sample (sampler.ts) -> postprocess
//   (postprocess.ts) -> cache.
// It also owns the loaded model: load with checks (model.ts), hot-swap to a newer export while
// requests are in flight (each request holds the model it started with; the old session is
// released when its last request finishes), and a failed load that leaves the current model
// serving. Takes an AbortSignal, never imports `vscode`.
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { Tokenizer } from '../tokenizer/index';
import { CompletionCache } from './cache';
import { chooseMode, gatherContext, DEFAULT_PREFIX_SHARE, type CompletionMode } from './context';
import { cachedArInfill, cachedDiffusionInfill, isCachedModel, type CachedLogitsModel } from './cached';
import {
  CachedOnnxModel, checkTokenizerMatch, ModelLoadError, OnnxModel, readModelMeta, readTokenizerFile, sha256Hex, type ModelMeta,
} from './model';
import { endsLine, shownCompletion, stopAtLineEnd } from './postprocess';
import { abortError, arInfill, diffusionInfill, DEFAULT_THRESHOLD, type LogitsModel, type SamplingProgress } from './sampler';

/** A `complete` with a gate stops sampling once, after this many steps, ... */
export const UNSURE_AFTER_STEPS = 8;
/** ... the mean confidence of the decided ids is this far below the gate (docs/engine.md "Confidence gate"). */
export const UNSURE_MARGIN = 0.1;

/** First canvas per request kind; the trainer's span-infill canvases are 16, 32, 64 (contracts.md). */
export const LINE_CANVAS = 16;
export const BLOCK_CANVAS = 64;

export interface EngineOptions {
  /** onnxruntime intra-op threads (default: the number of cores). */
  threads?: number;
  /** Confidence threshold tau (default: model.json sampler.threshold, else 0.9). */
  threshold?: number;
  /** First canvas for single-line requests (16) and blocks (64); doubled while the model fills it. */
  lineCanvas?: number;
  blockCanvas?: number;
  /** Largest canvas (default: the largest of model.json sampler.canvas_lengths, else 64; at most max_seq_len / 2). */
  maxCanvas?: number;
  /** Share of the context room given to the prefix (0.7). */
  prefixShare?: number;
  /**
   * Most positions fed to the model per request, context and canvas together (default
   * DEFAULT_MAX_POSITIONS, 512; 0: the model's whole window; never above model.json max_seq_len
   * nor below 2 x the line canvas). A pass costs about in proportion to it: base trains on 1024
   * positions and completes in 1.9x less time at 512 (docs/engine.md "Positions"); tiny (256) and
   * small (512) are served whole either way.
   */
  maxPositions?: number;
  /** Completions kept in the LRU (128); 0 turns the cache off, type-through included (benchmarks). */
  cacheSize?: number;
  /**
   * 'fast' (default): the cached graphs of model.json graphs.context/step when the export has them
   * (dual K/V cache, canvas-only steps; AR: a KV cache), else the plain model. 'naive': always the
   * plain model, a full forward pass per step (the contract's reference).
   */
  decoding?: 'fast' | 'naive';
  /** Fast diffusion: re-run the context pass every N steps (0 = never, the default; 1 = exact). */
  refreshEvery?: number;
  /**
   * Fast diffusion: stop recomputing a canvas position one step after it is decided, its K/V
   * kept with the context's (cached.ts CachedDiffusionOptions.freezeDecided; default true where
   * the step graph hands its K/V over; false: every step runs the whole canvas).
   */
  freezeDecided?: boolean;
  /**
   * Diffusion: each step decides among the leftmost N undecided canvas positions only (the
   * sampler's `window`; default: model.json sampler.window, the one the trainer evaluated with,
   * else DEFAULT_DECODE_WINDOW; 0 = the whole canvas). On the fast path
   * only those run through the network.
   */
  decodeWindow?: number;
  /**
   * Fast path: the canvas steps' weights. 'int8' (default): model.json graphs.step_int8 when the
   * export has it (a step streams a quarter of the bytes; docs/engine.md measures what it costs in
   * accuracy), else the float32 step graph. 'float32': always graphs.step (exact K/V-cache parity).
   */
  stepWeights?: 'int8' | 'float32';
  /**
   * Fast diffusion with int8 steps: the context K/V the steps read. 'int8': model.json
   * graphs.step_int8_kv when the export has it (a quarter of the bytes out of the context pass and
   * into every step; docs/engine.md measures speed and accuracy), else float32. 'float32':
   * graphs.step_int8. 'auto' (default): int8 where the float32 K/V of a full window would be
   * INT8_KV_MIN_BYTES or more (contextKvBytes), the size at which it was measured faster: small at
   * 512 positions (17 MB) yes, small at 256 and tiny at 512 (9 and 4 MB) no.
   */
  contextKV?: 'auto' | 'int8' | 'float32';
  /** Opens the model instead of onnxruntime (tests: a deterministic fake; one with the cached methods is used as such). */
  openModel?(path: string, meta: ModelMeta, options: { threads?: number }): Promise<ReleasableModel>;
}

export interface ReleasableModel extends LogitsModel {
  release?(): Promise<void>;
}

/**
 * The editor's default for suggestions.minConfidence (package.json): below it a suggestion is
 * hidden. Measured in docs/engine.md "Confidence gate".
 */
export const DEFAULT_MIN_CONFIDENCE = 0.6;

export interface CompletionRequest {
  prefix: string;
  suffix: string;
  languageId?: string;
  /** Single line or block; by default chosen from the cursor's line (context.ts chooseMode). */
  mode?: CompletionMode;
  /**
   * The confidence below which the caller will not show the suggestion (the editor's
   * suggestions.minConfidence; default 0: no effect). Sampling spends less on what would be
   * hidden: a canvas filled with a confidence more than UNSURE_MARGIN below it is not grown (a
   * longer canvas costs 2-3x the steps), and a completion whose decided ids are that unsure after
   * UNSURE_AFTER_STEPS steps is abandoned and reported below the gate (docs/engine.md
   * "Confidence gate": no shown suggestion changed on the held-out tasks of four models).
   */
  minConfidence?: number;
}

export interface CompletionResult {
  text: string;
  /** Ids the sampler produced (before postprocessing). */
  tokens: number;
  /** Forward passes. */
  steps: number;
  ms: number;
  cached: boolean;
  mode: CompletionMode;
  /** Final canvas length (diffusion) or max new tokens (AR); 0 when cached. */
  canvas: number;
  /**
   * The mean of the sampler's per-token confidences (softmax probability of each id when it was
   * decided) over the ids whose text is shown (`shownConfidences`; 0 for none): the editor hides
   * suggestions below `suggestions.minConfidence`
   * (bench/confidence.bench.ts measures how well it separates right answers from wrong ones).
   */
  confidence: number;
}

export interface InfillRequest {
  prefix: string;
  suffix: string;
  mode?: CompletionMode;
  /** A fixed canvas (no growth), e.g. the oracle length len(middle) + 1 in evaluation. */
  canvasLength?: number;
}

export interface InfillResult {
  ids: number[];
  /** Each id's softmax probability when the sampler decided it. */
  confidences: number[];
  /** The ids decoded, before postprocessing. */
  text: string;
  steps: number;
  canvas: number;
  filled: boolean;
  mode: CompletionMode;
  /**
   * Sampling stopped as unsure (a `complete` with a minConfidence gate): the mean confidence of
   * what was decided by then. The ids are the part decided, so the text has gaps; never shown.
   */
  abandoned?: number;
}

export interface ModelInfo {
  runDir: string;
  generation: number;
  objective: ModelMeta['objective'];
  preset?: string;
  params?: number;
  vocabSize: number;
  maxSeqLen: number;
  /** Positions a request feeds the model: max_seq_len, or fewer (`maxPositions`). */
  positions: number;
  /** Which sampler path serves: the cached graphs ('fast') or the plain model ('naive'). */
  decoding: 'fast' | 'naive';
  /** Why the export's cached graphs could not be used (the plain model serves instead). */
  fastUnavailable?: string;
  /** The fast path's step weights (absent when the plain model serves). */
  stepWeights?: 'int8' | 'float32';
  /** Why the export's int8 step graph could not be used (the float32 one serves instead). */
  int8Unavailable?: string;
  /** The context K/V the fast path's steps read (absent when the plain model serves). */
  contextKV?: 'int8' | 'float32';
  /** Why the export's int8-K/V step graph could not be used. */
  int8KvUnavailable?: string;
  /**
   * Fast diffusion freezes decided positions (`freezeDecided`): false when turned off or when the
   * step graph hands over no K/V (an int8-K/V graph exported before it did: export again).
   */
  freezeDecided?: boolean;
  /** Diffusion: the sampler's sliding window (`decodeWindow`; 0 = the whole canvas). */
  decodeWindow?: number;
}

/** Which graphs serve, and why not the faster ones. */
type ServingNotes = Pick<ModelInfo, 'fastUnavailable' | 'stepWeights' | 'int8Unavailable' | 'contextKV' | 'int8KvUnavailable' | 'freezeDecided'>;

/** What describeServing reads: ModelInfo's serving fields (the editor's narrow view of them too). */
export type ServingInfo = Pick<ModelInfo, 'decoding'> & Partial<ServingNotes & Pick<ModelInfo, 'decodeWindow'>>;

/**
 * How a loaded model is served, in words (the editor's log, `repo-diffusion bench`'s header), and
 * a warning when it is served the slow way (the plain model, one full forward pass a sampler step:
 * an export without the cached graphs, or graphs the engine cannot use), which exporting again
 * (`python -m trainer export RUN`) fixes.
 */
export function describeServing(info: ServingInfo, runDir: string): { text: string; warning?: string } {
  const exportAgain = `export it again ("python -m trainer export ${runDir}", run in the extension's folder)`;
  if (info.decoding === 'naive') {
    const why = info.fastUnavailable ? `its fast-decoding graphs cannot be used: ${info.fastUnavailable}` : 'its export has no fast-decoding graphs';
    return {
      text: `the plain model, one forward pass a step (${why})`,
      warning: `Repo Diffusion: suggestions from this model will be several times slower than they can be: ${why}. To fix it, ${exportAgain}.`,
    };
  }
  const parts = [info.stepWeights && `${info.stepWeights} step weights`, info.contextKV && `${info.contextKV} context K/V`,
    info.freezeDecided === true ? 'decided positions frozen' : undefined,
    info.decodeWindow ? `a window of ${info.decodeWindow} positions` : undefined].filter(Boolean);
  const notes = [
    info.int8Unavailable && `; the int8 step graph cannot be used: ${info.int8Unavailable}`,
    info.int8KvUnavailable && `; the int8-K/V step graph cannot be used: ${info.int8KvUnavailable}`,
    info.freezeDecided === false && `; every step runs the whole canvas: to freeze decided positions, ${exportAgain}`,
  ].filter(Boolean).join('');
  return { text: `fast decoding (${parts.join(', ')})${notes}` };
}

/** One loaded model with its tokenizer; reference-counted so that a swap never cuts a request short. */
class Loaded {
  private refs = 0;
  private retired = false;
  private closed?: Promise<void>;

  constructor(readonly runDir: string, readonly meta: ModelMeta, readonly tokenizer: Tokenizer,
    readonly model: ReleasableModel, readonly generation: number, readonly serving: ServingNotes = {}) {}

  acquire(): this {
    this.refs++;
    return this;
  }

  release(): void {
    this.refs--;
    if (this.retired && this.refs === 0) void this.close();
  }

  /** Takes no new requests; the session is released once the in-flight ones finish. */
  retire(): Promise<void> {
    this.retired = true;
    return this.refs === 0 ? this.close() : Promise.resolve();
  }

  close(): Promise<void> {
    this.closed ??= (this.model.release?.() ?? Promise.resolve()).catch(() => undefined);
    return this.closed;
  }
}

/** The float32 context K/V size from which contextKV 'auto' reads them in int8 (docs/engine.md "Fast decoding" item 7). */
export const INT8_KV_MIN_BYTES = 16 * 2 ** 20;

/** Bytes of a full window's float32 K/V (2 x n_layers x d_model x positions x 4), from model.json's config; 0 if it has none. */
export function contextKvBytes(meta: ModelMeta, positions = meta.maxSeqLen): number {
  const config = (meta.raw.config ?? {}) as Record<string, unknown>;
  const { n_layers: layers, d_model: width } = config;
  return typeof layers === 'number' && typeof width === 'number' ? 2 * layers * width * positions * 4 : 0;
}

/** EngineOptions.maxPositions' default: the issue's latency targets are set at 512 positions. */
export const DEFAULT_MAX_POSITIONS = 512;

/**
 * The diffusion sampler's default sliding window (`decodeWindow`; docs/engine.md "Fast decoding"
 * item 10): each step decides among the 8 leftmost undecided canvas positions, and the fast path
 * runs only those (and the ones to freeze) through the network. Measured (fast path, held-out
 * tasks): on the model that scores, 200 tasks at the middle's own length, 55 instead of 97 ms a
 * task at the same exact match (40.0%), edit similarity 60.3% instead of 59.7%; at the engine's
 * canvas lengths the same exact match, edit similarity 59.1% instead of 54.8% (longer middles come
 * out better written from the left) for ~20% more time; the 512-position Tcl model, 259 instead
 * of 408 ms a task. 4 measured 4% faster at the 16-position worst case and 3-4 points lower
 * edit similarity.
 */
export const DEFAULT_DECODE_WINDOW = 8;

function decodeWindow(o: EngineOptions, meta: ModelMeta): number {
  return Math.max(0, Math.floor(o.decodeWindow ?? meta.window ?? DEFAULT_DECODE_WINDOW));
}

/** The positions a request feeds the model: max_seq_len, capped by `maxPositions` (0: no cap; not below two line canvases). */
export function servedPositions(meta: ModelMeta, maxPositions = DEFAULT_MAX_POSITIONS): number {
  if (!Number.isFinite(maxPositions) || maxPositions <= 0) return meta.maxSeqLen;
  return Math.min(meta.maxSeqLen, Math.max(2 * LINE_CANVAS, Math.floor(maxPositions)));
}

let generations = 0;

async function loadRun(runDir: string, options: EngineOptions): Promise<Loaded> {
  const meta = await readModelMeta(runDir);
  const tok = await readTokenizerFile(runDir);
  let tokenizer: Tokenizer;
  try {
    tokenizer = Tokenizer.fromJSON(tok.bytes.toString('utf8'));
  } catch (err) {
    throw new ModelLoadError(`${tok.path}: ${(err as Error).message}`);
  }
  checkTokenizerMatch(meta, tokenizer.vocabSize, sha256Hex(tok.bytes), runDir);
  const path = resolve(runDir, meta.graph);
  const threads = { threads: options.threads };
  const ctxPath = meta.contextGraph && resolve(runDir, meta.contextGraph);
  const stepPath = meta.stepGraph && resolve(runDir, meta.stepGraph);
  const int8Path = meta.stepInt8Graph && resolve(runDir, meta.stepInt8Graph);
  const int8KvPath = meta.stepInt8KvGraph && resolve(runDir, meta.stepInt8KvGraph);
  // The fast path needs both cached graphs on disk; an older export (graphs.full only) or a copy
  // without them falls back to the plain model.
  if (options.openModel) return new Loaded(runDir, meta, tokenizer, await options.openModel(path, meta, threads), ++generations);
  const fast = (options.decoding ?? 'fast') === 'fast' && !!ctxPath && !!stepPath && existsSync(ctxPath) && existsSync(stepPath);
  let fastUnavailable: string | undefined;
  let int8Unavailable: string | undefined;
  let int8KvUnavailable: string | undefined;
  if (fast) {
    // Fastest first: int8 weights and int8 context K/V (diffusion), int8 weights, float32.
    const steps: Array<['int8' | 'float32', 'int8' | 'float32', string]> = [['float32', 'float32', stepPath!]];
    const int8 = (options.stepWeights ?? 'int8') === 'int8';
    if (int8 && int8Path && existsSync(int8Path)) steps.unshift(['int8', 'float32', int8Path]);
    const asked = options.contextKV ?? 'auto';
    const int8Kv = asked === 'int8' ||
      (asked === 'auto' && contextKvBytes(meta, servedPositions(meta, options.maxPositions)) >= INT8_KV_MIN_BYTES);
    if (int8 && meta.objective === 'diffusion' && int8Kv && int8KvPath && existsSync(int8KvPath)) {
      steps.unshift(['int8', 'int8', int8KvPath]);
    }
    for (const [weights, kv, step] of steps) {
      try {
        const model = await CachedOnnxModel.open(ctxPath!, step, meta.vocabSize, { ...threads, int8Kv: kv === 'int8' });
        const freezeDecided = meta.objective === 'diffusion' ? model.stepGivesKV && options.freezeDecided !== false : undefined;
        return new Loaded(runDir, meta, tokenizer, model, ++generations, { stepWeights: weights, contextKV: kv, int8Unavailable, int8KvUnavailable, freezeDecided });
      } catch (err) {
        // Cached graphs from another export version, or damaged: the next step graph, then the
        // plain model still serve (slower); the plain model's own errors are the ones worth reporting.
        if (!(err instanceof ModelLoadError)) throw err;
        if (kv === 'int8') int8KvUnavailable = err.message;
        else if (weights === 'int8') int8Unavailable = err.message;
        else fastUnavailable = err.message;
      }
    }
  }
  return new Loaded(runDir, meta, tokenizer, await OnnxModel.open(path, meta.vocabSize, threads), ++generations,
    { fastUnavailable, int8Unavailable, int8KvUnavailable });
}

export class InfillEngine {
  private current: Loaded;
  private disposed = false;
  private readonly cache: CompletionCache;
  private swapping: Promise<unknown> = Promise.resolve();

  private constructor(loaded: Loaded, private readonly options: EngineOptions) {
    this.current = loaded;
    const cacheSize = options.cacheSize ?? 128;
    this.cache = new CompletionCache(cacheSize, cacheSize > 0 ? 8 : 0); // 0: no cache, not even type-through
  }

  /** Loads RUN/model.onnx + model.json + corpus/tokenizer.json; a ModelLoadError says what to do. */
  static async load(runDir: string, options: EngineOptions = {}): Promise<InfillEngine> {
    return new InfillEngine(await loadRun(resolve(runDir), options), options);
  }

  get info(): ModelInfo {
    const { runDir, generation, meta } = this.current;
    return {
      runDir, generation, objective: meta.objective, preset: meta.preset, params: meta.params, vocabSize: meta.vocabSize, maxSeqLen: meta.maxSeqLen,
      positions: servedPositions(meta, this.options.maxPositions),
      decoding: this.cachedModel(this.current) ? 'fast' : 'naive',
      ...(meta.objective === 'diffusion' ? { decodeWindow: decodeWindow(this.options, meta) } : {}),
      ...Object.fromEntries(Object.entries(this.current.serving).filter(([, v]) => v !== undefined)),
    };
  }

  /** The current model's tokenizer. */
  get tokenizer(): Tokenizer {
    return this.current.tokenizer;
  }

  /** One inline completion: cache -> context -> sample -> postprocess -> cache. */
  async complete(request: CompletionRequest, signal?: AbortSignal): Promise<CompletionResult> {
    const t0 = performance.now();
    if (signal?.aborted) throw abortError();
    const loaded = this.acquire();
    try {
      const { prefix, suffix } = request;
      const mode = request.mode ?? chooseMode(prefix, suffix);
      const gate = request.minConfidence ?? 0;
      // a result not grown under one gate is not the answer under a lower one
      const cacheMode = gate > 0 ? `${mode} gate ${gate}` : mode;
      const hit = this.cache.get(loaded.generation, cacheMode, prefix, suffix);
      if (hit) return { ...hit, ms: performance.now() - t0, cached: true, mode, canvas: 0 };
      // A line request stops sampling once its line break is decided: postprocessing keeps that
      // line and nothing after it, so the text and its confidence are the same, in fewer steps.
      const raw = await this.sample(loaded, { prefix, suffix, mode }, signal,
        { stopAtLine: mode === 'line', minConfidence: gate });
      const shown = shownCompletion((ids) => loaded.tokenizer.decode(ids), { prefix, suffix, mode }, raw);
      // An abandoned completion is reported below the gate, whatever its decided part looks like.
      const confidence = raw.abandoned === undefined ? shown.confidence : Math.min(shown.confidence, raw.abandoned);
      const value = { text: shown.text, tokens: raw.ids.length, steps: raw.steps, confidence };
      this.cache.set(loaded.generation, cacheMode, prefix, suffix, value);
      return { ...value, ms: performance.now() - t0, cached: false, mode, canvas: raw.canvas };
    } finally {
      loaded.release();
    }
  }

  /** The sampling stage alone (context, sampler, decode; no postprocess, no cache): for evaluation. */
  async infill(request: InfillRequest, signal?: AbortSignal): Promise<InfillResult> {
    if (signal?.aborted) throw abortError();
    const loaded = this.acquire();
    try {
      return await this.sample(loaded, { ...request, mode: request.mode ?? chooseMode(request.prefix, request.suffix) }, signal);
    } finally {
      loaded.release();
    }
  }

  /** Re-reads the current run folder (a newer export of the same run). */
  reload(): Promise<void> {
    return this.swap(this.current.runDir);
  }

  /**
   * Loads runDir's model and switches to it. Requests already running finish on the old model,
   * whose session is released after the last of them. If the new model fails to load, the error
   * is thrown and the current model keeps serving. Swaps run one after another.
   */
  swap(runDir: string): Promise<void> {
    const next = this.swapping.then(async () => {
      if (this.disposed) throw new Error('The completion engine was disposed.');
      const loaded = await loadRun(resolve(runDir), this.options);
      if (this.disposed) {
        await loaded.close();
        throw new Error('The completion engine was disposed.');
      }
      const old = this.current;
      this.current = loaded;
      this.cache.clear();
      await old.retire();
    });
    this.swapping = next.catch(() => undefined);
    return next;
  }

  /** Releases the model once in-flight requests finish; later requests are refused. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.cache.clear();
    await this.current.retire();
  }

  /** The model's cached graphs when they serve this engine (not asked for naive decoding). */
  private cachedModel(loaded: Loaded): CachedLogitsModel | undefined {
    return this.options.decoding !== 'naive' && isCachedModel(loaded.model) ? loaded.model : undefined;
  }

  private acquire(): Loaded {
    if (this.disposed) throw new Error('The completion engine was disposed.');
    return this.current.acquire();
  }

  /** `early`: what only `complete` does (the editor's request), not `infill` (what evaluation scores). */
  private async sample(loaded: Loaded, req: InfillRequest & { mode: CompletionMode }, signal?: AbortSignal,
    early = { stopAtLine: false, minConfidence: 0 }): Promise<InfillResult> {
    const { meta, tokenizer, model } = loaded;
    const lineStop = early.stopAtLine ? (ids: readonly number[]) => endsLine(tokenizer.decode(ids)) : undefined;
    const o = this.options;
    const share = o.prefixShare ?? DEFAULT_PREFIX_SHARE;
    const window = servedPositions(meta, o.maxPositions);
    const cap = Math.max(1, Math.min(o.maxCanvas ?? Math.max(...(meta.canvasLengths ?? [BLOCK_CANVAS])), Math.floor(window / 2)));
    // A fixed canvas (evaluation's oracle length) is held to half the window, as in trainer/evaluate.py.
    let L = req.canvasLength !== undefined
      ? Math.max(1, Math.min(Math.floor(req.canvasLength), Math.floor(window / 2)))
      : Math.min(req.mode === 'line' ? o.lineCanvas ?? LINE_CANVAS : o.blockCanvas ?? BLOCK_CANVAS, cap);
    if (L >= window) throw new Error(`A canvas of ${L} tokens does not fit the model's ${window} positions.`);
    if (meta.objective === 'autoregressive') {
      // AR: no canvas to grow; L is the most new tokens, and the prompt has 3 fim tokens.
      const ctx = gatherContext(tokenizer, req.prefix, req.suffix, window - 3 - L, share);
      const arOptions = { specialIds: meta.specialIds, signal, until: lineStop };
      const cached = this.cachedModel(loaded);
      const r = cached
        ? await cachedArInfill(cached, ctx.prefixIds, ctx.suffixIds, L, arOptions)
        : await arInfill(model, ctx.prefixIds, ctx.suffixIds, L, arOptions);
      return { ids: r.ids, confidences: r.confidences, text: tokenizer.decode(r.ids), steps: r.steps, canvas: L, filled: r.filled, mode: req.mode };
    }
    const threshold = o.threshold ?? meta.threshold ?? DEFAULT_THRESHOLD;
    const cached = this.cachedModel(loaded);
    let steps = 0;
    // Abandoned as unsure: the sampler decides the surest positions first, so the mean confidence
    // of what it decided is, give or take, an upper bound of the whole completion's (exceeded by
    // at most 0.11 on three models' held-out tasks); once it is UNSURE_MARGIN below the caller's
    // gate after UNSURE_AFTER_STEPS steps, the completion would be hidden too.
    const gated = early.minConfidence > 0;
    const unsureBelow = early.minConfidence - UNSURE_MARGIN;
    let abandoned: number | undefined;
    const until = gated || lineStop ? (ids: readonly number[], p: SamplingProgress): boolean => {
      if (gated && p.steps >= UNSURE_AFTER_STEPS && p.meanConfidence < unsureBelow) {
        abandoned = p.meanConfidence;
        return true;
      }
      return lineStop?.(ids) ?? false;
    } : undefined;
    const sampleWindow = decodeWindow(o, meta); // the same for every canvas of this completion
    for (;;) {
      const ctx = gatherContext(tokenizer, req.prefix, req.suffix, window - L, share);
      const dOptions = { threshold, specialIds: meta.specialIds, signal, refreshEvery: o.refreshEvery, freezeDecided: o.freezeDecided, window: sampleWindow, until };
      const r = cached
        ? await cachedDiffusionInfill(cached, ctx.prefixIds, ctx.suffixIds, L, dOptions)
        : await diffusionInfill(model, ctx.prefixIds, ctx.suffixIds, L, dOptions);
      steps += r.steps;
      const text = tokenizer.decode(r.ids);
      // The model wrote to the end of the canvas: the middle may be longer. Try twice the canvas,
      // from scratch, as the trainer's engine-length evaluation does (trainer/evaluate.py) — unless
      // a single-line request already has its whole line: postprocessing keeps only that line, so a
      // longer canvas would cost 2-3x the steps for text that is thrown away.
      const lineDone = req.mode === 'line' && stopAtLineEnd(text) !== text;
      const mayGrow = abandoned === undefined && r.filled && req.canvasLength === undefined && L * 2 <= cap && !lineDone;
      // Nor for a suggestion that would be hidden as unsure (CompletionRequest.minConfidence),
      // with the margin: near the gate a longer canvas can end a middle with more confidence.
      const unsure = () => gated && shownCompletion((ids) => tokenizer.decode(ids), req, { ...r, text }).confidence < unsureBelow;
      if (mayGrow && !unsure()) {
        L *= 2;
        continue;
      }
      return { ids: r.ids, confidences: r.confidences, text, steps, canvas: L, filled: r.filled, mode: req.mode, abandoned };
    }
  }
}

