// A run's exported model: reads and checks model.json, opens model.onnx with onnxruntime-node (CPU)
// and exposes it as the samplers' `LogitsModel`. Knows nothing of text or sampling.
// It refuses, with a message a user can act on: an unknown `format`, a model whose vocabulary or
// tokenizer hash differs from the run's corpus/tokenizer.json, and a model file that onnxruntime
// cannot open (corrupt, truncated, missing) or that lacks `input_ids` -> `logits`.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { CachedLogitsModel, CachedOutput, CachedScores, KV, StepScores } from './cached';
import type { LogitsModel, MaskedScores, SamplerIds } from './sampler';

/** The model.json versions this engine reads (docs/contracts.md). */
export const SUPPORTED_FORMATS = [1];

export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

export type Objective = 'diffusion' | 'autoregressive';

/** model.json, the fields the engine uses (all of it in `raw`). */
export interface ModelMeta {
  format: number;
  objective: Objective;
  vocabSize: number;
  specialIds: SamplerIds;
  maxSeqLen: number;
  preset?: string;
  params?: number;
  tokenizerSha256?: string;
  threshold?: number;
  canvasLengths?: number[];
  /** sampler.window (diffusion): the sliding window the trainer evaluated with; absent in exports before it. */
  window?: number;
  /** The graph file, relative to the run folder (graphs.full, default model.onnx). */
  graph: string;
  /** The cached graphs (graphs.context, graphs.step), when the export wrote them (docs/contracts.md "Cached graphs"). */
  contextGraph?: string;
  stepGraph?: string;
  /** graphs.step_int8: the step graph with int8 weights (trainer/quantize.py), when the export wrote it. */
  stepInt8Graph?: string;
  /**
   * graphs.step_int8_kv: int8 weights and int8 context K/V (trainer/quantize.py quantize_kv), for
   * diffusion exports that wrote it.
   */
  stepInt8KvGraph?: string;
  raw: Record<string, unknown>;
}

function positiveInt(v: unknown, what: string, file: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ModelLoadError(`${file}: ${what} must be a positive integer, got ${JSON.stringify(v)}. Export the model again.`);
  }
  return v;
}

/** Checks parsed model.json content; `file` names it in errors. */
export function parseModelMeta(json: unknown, file = 'model.json'): ModelMeta {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ModelLoadError(`${file} is not a JSON object. Export the model again.`);
  const j = json as Record<string, unknown>;
  if (!SUPPORTED_FORMATS.includes(j.format as number)) {
    throw new ModelLoadError(`${file} has format ${JSON.stringify(j.format)}, which this version of Repo Diffusion does not understand ` +
      `(it reads format ${SUPPORTED_FORMATS.join(', ')}). Update the extension, or export the model again with the bundled trainer.`);
  }
  if (j.objective !== 'diffusion' && j.objective !== 'autoregressive') {
    throw new ModelLoadError(`${file}: unknown objective ${JSON.stringify(j.objective)} (expected "diffusion" or "autoregressive").`);
  }
  const s = (j.special_ids ?? {}) as Record<string, unknown>;
  const sid = (k: string, dflt: number) => (typeof s[k] === 'number' ? (s[k] as number) : dflt);
  const sampler = (j.sampler ?? {}) as Record<string, unknown>;
  const graphs = (j.graphs ?? {}) as Record<string, unknown>;
  const cached = typeof graphs.context === 'string' && typeof graphs.step === 'string'; // both, or the plain model alone
  const lengths = Array.isArray(sampler.canvas_lengths)
    ? (sampler.canvas_lengths as unknown[]).filter((n): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0)
    : [];
  return {
    format: j.format as number,
    objective: j.objective,
    vocabSize: positiveInt(j.vocab_size, 'vocab_size', file),
    specialIds: {
      pad: sid('pad', 0), eos: sid('eos', 1), mask: sid('mask', 2),
      fimPrefix: sid('fim_prefix', 3), fimSuffix: sid('fim_suffix', 4), fimMiddle: sid('fim_middle', 5),
    },
    maxSeqLen: positiveInt(j.max_seq_len, 'max_seq_len', file),
    preset: typeof j.preset === 'string' ? j.preset : undefined,
    params: typeof j.params === 'number' ? j.params : undefined,
    tokenizerSha256: typeof j.tokenizer_sha256 === 'string' && /^[0-9a-f]{64}$/.test(j.tokenizer_sha256) ? j.tokenizer_sha256 : undefined,
    threshold: typeof sampler.threshold === 'number' ? sampler.threshold : undefined,
    canvasLengths: lengths.length ? lengths : undefined,
    window: typeof sampler.window === 'number' && Number.isInteger(sampler.window) && sampler.window >= 0 ? sampler.window : undefined,
    graph: typeof graphs.full === 'string' ? graphs.full : 'model.onnx',
    contextGraph: cached ? graphs.context as string : undefined,
    stepGraph: cached ? graphs.step as string : undefined,
    stepInt8Graph: cached && typeof graphs.step_int8 === 'string' ? graphs.step_int8 : undefined,
    stepInt8KvGraph: cached && typeof graphs.step_int8_kv === 'string' ? graphs.step_int8_kv : undefined,
    raw: j,
  };
}

export async function readModelMeta(runDir: string): Promise<ModelMeta> {
  const file = join(runDir, 'model.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ModelLoadError((err as NodeJS.ErrnoException).code === 'ENOENT'
      ? `No exported model in ${runDir} (model.json is missing): train a model first, or run "python -m trainer export RUN".`
      : `Cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(`${file} is not valid JSON (${(err as Error).message}). Export the model again.`);
  }
  return parseModelMeta(json, file);
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Refuses a model that was not trained with this tokenizer: vocabulary size, and the sha256 of
 * tokenizer.json's bytes when model.json records one (a test corpus may record none).
 */
export function checkTokenizerMatch(meta: ModelMeta, tokenizerVocab: number, tokenizerSha: string, where: string): void {
  if (meta.vocabSize !== tokenizerVocab) {
    throw new ModelLoadError(`The model in ${where} has a vocabulary of ${meta.vocabSize} ids but corpus/tokenizer.json has ${tokenizerVocab}: ` +
      'they come from different runs. Train again, or select the run the model was trained on.');
  }
  if (meta.tokenizerSha256 && meta.tokenizerSha256 !== tokenizerSha) {
    throw new ModelLoadError(`The model in ${where} was trained with another tokenizer (model.json tokenizer_sha256 ${meta.tokenizerSha256.slice(0, 12)}…, ` +
      `corpus/tokenizer.json ${tokenizerSha.slice(0, 12)}…). Train again, or select the run the model was trained on.`);
  }
}

export function defaultThreads(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length || 1;
}

let ortModule: typeof import('onnxruntime-node') | undefined;
function ort(): typeof import('onnxruntime-node') {
  // Loaded on first use: the native binding is not needed by the fake-model tests.
  ortModule ??= require('onnxruntime-node') as typeof import('onnxruntime-node');
  return ortModule;
}

/** An onnxruntime-node session as a LogitsModel: `input_ids` int64 [b, s] -> `logits` float32 [b, s, v]. */
export class OnnxModel implements LogitsModel {
  private constructor(private readonly session: OrtSession, readonly vocabSize: number, readonly path: string) {}

  /** Opens `path`; a corrupt, truncated or missing file gives a ModelLoadError naming it. */
  static async open(path: string, vocabSize: number, options: { threads?: number } = {}): Promise<OnnxModel> {
    return new OnnxModel(await openSession(path, ['input_ids'], ['logits'], options), vocabSize, path);
  }

  async forward(ids: BigInt64Array, batch: number, seq: number): Promise<Float32Array> {
    const { Tensor } = ort();
    const out = await this.session.run({ input_ids: new Tensor('int64', ids, [batch, seq]) });
    const dims = out.logits.dims;
    if (dims.length !== 3 || dims[0] !== batch || dims[1] !== seq || dims[2] !== this.vocabSize) {
      throw new ModelLoadError(`The model gave logits of shape [${dims.join(', ')}] for input [${batch}, ${seq}], but model.json says vocab_size ${this.vocabSize}. Export the model again.`);
    }
    return out.logits.data as Float32Array;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** An onnxruntime-node session with the given inputs and outputs, or a ModelLoadError that says what to do. */
async function openSession(path: string, inputs: string[], outputs: string[], options: { threads?: number }): Promise<OrtSession> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ModelLoadError(`Cannot read the model file ${path}: ${(err as Error).message}. Export the model again.`);
  }
  let session: OrtSession;
  try {
    session = await ort().InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.threads && options.threads > 0 ? options.threads : defaultThreads(),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // onnxruntime's pool threads spin while they wait for work, and by default keep spinning
      // after a run. Within a run spinning pays (a thread woken from sleep for each of a step's
      // ~300 small operators costs more than the operator); after it, with two sessions (the
      // cached graphs) on a laptop's few cores, the idle one's spinning took the cores from the
      // busy one (a 16-step completion of tiny at 512: 106 ms, 75 ms without spinning at all), and
      // an editor should not burn cores between keystrokes. So: spin within a run, stop when it
      // returns (the same completion: 52-58 ms; docs/engine.md "Spinning within a run, not between runs").
      extra: { session: { intra_op: { allow_spinning: '1' }, force_spinning_stop: '1' } },
    });
  } catch (err) {
    const why = String((err as Error)?.message ?? err).split('\n')[0].slice(0, 300);
    throw new ModelLoadError(`The model file ${path} (${bytes.length} bytes) could not be loaded: it is corrupt or truncated ` +
      `(onnxruntime: ${why}). Export the model again ("python -m trainer export RUN").`);
  }
  if (!inputs.every((n) => session.inputNames.includes(n)) || !outputs.every((n) => session.outputNames.includes(n))) {
    const names = `inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}]`;
    await session.release().catch(() => undefined);
    throw new ModelLoadError(`The model file ${path} has ${names}; expected ${inputs.join(', ')} -> ${outputs.join(', ')}. Export the model again with the bundled trainer.`);
  }
  return session;
}

/** `kv_rows` where no K/V are fetched: a valid index, the Gather it feeds is never run. */
const ONE_ROW = BigInt64Array.of(0n);

/** The cached graph's output `name`, of rank 4 and, when given, of the shape `want`. */
function output4(out: Record<string, OrtTensor>, name: string, path: string, want?: readonly number[]): OrtTensor {
  const t = out[name];
  if (!t || t.dims.length !== 4 || (want && t.dims.some((n, k) => n !== want[k]))) {
    throw new ModelLoadError(`${path} gave ${name} of shape [${t?.dims.join(', ')}]; expected [${want?.join(', ') ?? '4 axes'}]. Export the model again.`);
  }
  return t;
}

/** The per-layer `${name}_i` outputs of a cached graph ([batch, heads, len, head_dim], all alike) as one KV. */
function kvOf(out: Record<string, OrtTensor>, name: 'keys' | 'values', layers: number, path: string): KV {
  const dims = output4(out, `${name}_0`, path).dims;
  const arrays = Array.from({ length: layers }, (_, i) => output4(out, `${name}_${i}`, path, dims).data as Float32Array);
  return { layers: arrays, dims: [...dims] as KV['dims'] };
}

/**
 * The context graph's int8 K/V outputs (trainer/quantize.py quantize_kv) as the KV pair an int8-K/V
 * step graph takes: `layers` empty, `int8` the arrays as they came, `dims` the float K/V's
 * [batch, heads, len, head_dim] (what the keys_int8 [b, h, head_dim, len] transpose).
 */
function int8KvOf(out: Record<string, OrtTensor>, layers: number, path: string): { keys: KV; values: KV } {
  const [b, h, d, t] = output4(out, 'keys_int8_0', path).dims;
  const per = <T>(name: string, want: number[]) => Array.from({ length: layers }, (_, i) => output4(out, `${name}_${i}`, path, want).data as T);
  return {
    keys: { layers: [], dims: [b, h, t, d], int8: { layers: per<Int8Array>('keys_int8', [b, h, d, t]), scales: per<Float32Array>('key_scales', [b, h, 1, t]) } },
    values: { layers: [], dims: [b, h, t, d], int8: { layers: per<Int8Array>('values_int8', [b, h, t, d]), scales: per<Float32Array>('value_scales', [b, h, 1, t]) } },
  };
}

/** Output names `${name}_0..` of a cached graph: how many layers it hands over. */
function layerCount(names: readonly string[], path: string): number {
  const n = names.filter((x) => /^keys_\d+$/.test(x)).length;
  if (n === 0 || !names.includes(`values_${n - 1}`)) throw new ModelLoadError(`${path} has no per-layer keys_i/values_i outputs. Export the model again with the bundled trainer.`);
  return n;
}

/**
 * The cached graphs (model.json graphs.context + graphs.step, trainer/cached.py) as one model:
 * `context` (ids -> logits and the graph's pick at chosen rows + every layer's K/V), `step` (canvas
 * rows against cached K/V), and `forward` = the context graph at every row (the full model, so no
 * model.onnx session).
 */
export class CachedOnnxModel implements CachedLogitsModel {
  readonly cachedGraphs = true as const;
  /** `forbid` where pred/conf are not fetched: zeros, made once (the AR cache steps per token). */
  private readonly noForbid: Float32Array;
  /**
   * The step's input tensors of the cached K/V, the mask and `forbid`, by array: every step of a
   * completion feeds the same ones, made once (weakly held: they go with their arrays).
   */
  private readonly feedTensors = new WeakMap<Float32Array | Int8Array, OrtTensor>();
  /** Output names of the graphs' per-layer K/V (keys_0.., values_0..). */
  private readonly kvOutputs: string[];
  /** The context graph's int8 K/V outputs (keys_int8_0.., key_scales_0.., ...), fetched for an int8-K/V step graph. */
  private readonly int8KvOutputs: string[];
  private constructor(private readonly ctx: OrtSession, private readonly stp: OrtSession, readonly vocabSize: number,
    readonly path: string, readonly stepPath: string, private readonly layers: number,
    /** The step graph takes the context K/V as int8 (model.step.int8kv.onnx): scores only, no K/V of its own. */
    readonly int8Kv: boolean,
    /**
     * The step graph hands over chosen rows of the canvas's own K/V (input `kv_rows`): what
     * freezing decided positions needs. An export before it hands over all rows (float32 K/V
     * graphs; the AR cache's step()) or none (int8 K/V).
     */
    readonly stepGivesKV: boolean) {
    this.noForbid = new Float32Array(vocabSize);
    const perLayer = (names: string[]) => names.flatMap((name) => Array.from({ length: layers }, (_, i) => `${name}_${i}`));
    this.kvOutputs = perLayer(['keys', 'values']);
    this.int8KvOutputs = perLayer(['keys_int8', 'key_scales', 'values_int8', 'value_scales']);
  }

  /** `int8Kv`: stepPath is an int8-K/V step graph (graphs.step_int8_kv; diffusion only: `step` is not served). */
  static async open(contextPath: string, stepPath: string, vocabSize: number, options: { threads?: number; int8Kv?: boolean } = {}): Promise<CachedOnnxModel> {
    // An export older than the in-graph picks, the per-layer K/V inputs and the context mask fails
    // here, and the engine serves the plain model with a message to export again.
    const ctx = await openSession(contextPath, ['input_ids', 'positions', 'forbid'], ['logits', 'keys_0', 'values_0', 'pred', 'conf'], options);
    let stp: OrtSession | undefined;
    try {
      const layers = layerCount(ctx.outputNames, contextPath);
      if (options.int8Kv) {
        // model.step.int8kv.onnx: the context graph must hand its K/V over as int8 too
        if (!ctx.outputNames.includes(`value_scales_${layers - 1}`)) {
          throw new ModelLoadError(`${contextPath} has no int8 K/V outputs (keys_int8_i, ...), which ${stepPath} needs. Export the model again.`);
        }
        stp = await openSession(stepPath, ['canvas_ids', 'canvas_positions', 'rows', 'forbid', 'ctx_mask', 'ctx_keys_int8_0', 'ctx_value_scales_0'],
          ['logits', 'pred', 'conf'], options);
        if (!stp.inputNames.includes(`ctx_value_scales_${layers - 1}`) || stp.inputNames.includes(`ctx_value_scales_${layers}`)) {
          throw new ModelLoadError(`${contextPath} and ${stepPath} disagree on the number of layers. Export the model again.`);
        }
        const givesKV = stp.inputNames.includes('kv_rows') && stp.outputNames.includes('keys_0') && layerCount(stp.outputNames, stepPath) === layers;
        return new CachedOnnxModel(ctx, stp, vocabSize, contextPath, stepPath, layers, true, givesKV);
      }
      stp = await openSession(stepPath, ['canvas_ids', 'canvas_positions', 'rows', 'forbid', 'ctx_mask', 'ctx_keys_0', 'ctx_values_0'],
        ['logits', 'keys_0', 'values_0', 'pred', 'conf'], options);
      if (layerCount(stp.outputNames, stepPath) !== layers || !stp.inputNames.includes(`ctx_values_${layers - 1}`)) {
        throw new ModelLoadError(`${contextPath} and ${stepPath} disagree on the number of layers. Export the model again.`);
      }
      return new CachedOnnxModel(ctx, stp, vocabSize, contextPath, stepPath, layers, false, stp.inputNames.includes('kv_rows'));
    } catch (err) {
      await ctx.release().catch(() => undefined);
      await stp?.release().catch(() => undefined);
      throw err;
    }
  }

  private checkLogits(dims: readonly number[], batch: number, rows: number, path: string): void {
    if (dims.length !== 3 || dims[0] !== batch || dims[1] !== rows || dims[2] !== this.vocabSize) {
      throw new ModelLoadError(`${path} gave logits of shape [${dims.join(', ')}] for ${batch} x ${rows} rows, but model.json says vocab_size ${this.vocabSize}. Export the model again.`);
    }
  }

  private checkScores(pred: OrtTensor, conf: OrtTensor, rows: number, path: string): MaskedScores {
    if (pred.dims.length !== 2 || pred.dims[1] !== rows || conf.dims.length !== 2 || conf.dims[1] !== rows) {
      throw new ModelLoadError(`${path} gave pred/conf of shape [${pred.dims.join(', ')}] / [${conf.dims.join(', ')}] for ${rows} rows. Export the model again.`);
    }
    return { pred: pred.data as Int32Array, conf: conf.data as Float32Array };
  }

  /** ids [batch, seq], positions [batch, rows]. */
  private contextFeeds(ids: BigInt64Array, batch: number, seq: number, positions: BigInt64Array, forbid: Float32Array): Record<string, OrtTensor> {
    const { Tensor } = ort();
    if (forbid.length !== this.vocabSize) throw new Error(`forbid has ${forbid.length} ids, the model ${this.vocabSize}`);
    return {
      input_ids: new Tensor('int64', ids, [batch, seq]), positions: new Tensor('int64', positions, [batch, positions.length / batch]),
      forbid: new Tensor('float32', forbid, [forbid.length]),
    };
  }

  async context(ids: BigInt64Array, seq: number, positions: BigInt64Array): Promise<CachedOutput> {
    const out = await this.ctx.run(this.contextFeeds(ids, 1, seq, positions, this.noForbid), ['logits', ...this.kvOutputs]);
    this.checkLogits(out.logits.dims, 1, positions.length, this.path);
    return { logits: out.logits.data as Float32Array, ...this.kv(out, this.path) };
  }

  async contextScores(ids: BigInt64Array, seq: number, positions: BigInt64Array, forbid: Float32Array): Promise<CachedScores> {
    // pred and conf instead of the logits: 16 x 8k float32 softmax in JavaScript cost ~2.5 ms
    // Only the K/V the step graph takes cross into JavaScript (onnxruntime-node copies each output:
    // small's float32 K/V at 512 positions are 17 MB, its int8 ones a quarter).
    const out = await this.ctx.run(this.contextFeeds(ids, 1, seq, positions, forbid), [...(this.int8Kv ? this.int8KvOutputs : this.kvOutputs), 'pred', 'conf']);
    const kv = this.int8Kv ? int8KvOf(out, this.layers, this.path) : this.kv(out, this.path);
    return { ...this.checkScores(out.pred, out.conf, positions.length, this.path), ...kv };
  }

  private kv(out: Record<string, OrtTensor>, path: string): { keys: KV; values: KV } {
    return { keys: kvOf(out, 'keys', this.layers, path), values: kvOf(out, 'values', this.layers, path) };
  }

  /**
   * The step graph's inputs. Each layer's cached K/V is the context pass's output as it came (no
   * copy here or in the graph).
   */
  private stepFeeds(canvasIds: BigInt64Array, positions: BigInt64Array, ctxKeys: KV, ctxValues: KV, ctxMask: Float32Array,
    rows: BigInt64Array, forbid: Float32Array, kvRows: BigInt64Array): Record<string, OrtTensor> {
    const { Tensor } = ort();
    const c = canvasIds.length;
    if (forbid.length !== this.vocabSize) throw new Error(`forbid has ${forbid.length} ids, the model ${this.vocabSize}`);
    const [b, h, t, d] = ctxKeys.dims;
    if (ctxMask.length !== t) throw new Error(`ctx_mask has ${ctxMask.length} columns, the cached K/V ${t}`);
    if (!this.int8Kv && (ctxKeys.layers.length !== this.layers || ctxValues.layers.length !== this.layers)) throw new Error(`cached K/V of ${ctxKeys.layers.length} layers, the model ${this.layers}`);
    const feeds: Record<string, OrtTensor> = {
      ctx_mask: this.feedTensor(ctxMask, [t]), canvas_ids: new Tensor('int64', canvasIds, [1, c]),
      canvas_positions: new Tensor('int64', positions, [1, c]), rows: new Tensor('int64', rows, [1, rows.length]),
      forbid: this.feedTensor(forbid, [forbid.length]),
      ...(this.stepGivesKV ? { kv_rows: new Tensor('int64', kvRows, [kvRows.length]) } : {}),
    };
    if (this.int8Kv) {
      const keys = ctxKeys.int8;
      const values = ctxValues.int8;
      if (!keys || !values || keys.layers.length !== this.layers || values.layers.length !== this.layers) {
        throw new Error(`${this.stepPath} takes int8 context K/V of ${this.layers} layers (contextScores gives them)`);
      }
      for (let i = 0; i < this.layers; i++) {
        feeds[`ctx_keys_int8_${i}`] = this.feedTensor(keys.layers[i], [b, h, d, t]);
        feeds[`ctx_key_scales_${i}`] = this.feedTensor(keys.scales[i], [b, h, 1, t]);
        feeds[`ctx_values_int8_${i}`] = this.feedTensor(values.layers[i], [b, h, t, d]);
        feeds[`ctx_value_scales_${i}`] = this.feedTensor(values.scales[i], [b, h, 1, t]);
      }
      return feeds;
    }
    for (let i = 0; i < this.layers; i++) {
      feeds[`ctx_keys_${i}`] = this.feedTensor(ctxKeys.layers[i], [b, h, t, d]);
      feeds[`ctx_values_${i}`] = this.feedTensor(ctxValues.layers[i], [b, h, t, d]);
    }
    return feeds;
  }

  private feedTensor(data: Float32Array | Int8Array, dims: number[]): OrtTensor {
    let tensor = this.feedTensors.get(data);
    if (!tensor) {
      tensor = data instanceof Int8Array ? new (ort().Tensor)('int8', data, dims) : new (ort().Tensor)('float32', data, dims);
      this.feedTensors.set(data, tensor);
    }
    return tensor;
  }

  async step(canvasIds: BigInt64Array, positions: BigInt64Array, ctxKeys: KV, ctxValues: KV, ctxMask: Float32Array, rows?: BigInt64Array): Promise<CachedOutput> {
    if (this.int8Kv) throw new Error(`${this.stepPath} scores a diffusion canvas only (stepScores)`);
    const all = BigInt64Array.from({ length: canvasIds.length }, (_, i) => BigInt(i));
    const r = rows ?? all;
    const out = await this.stp.run(this.stepFeeds(canvasIds, positions, ctxKeys, ctxValues, ctxMask, r, this.noForbid, all), ['logits', ...this.kvOutputs]);
    this.checkLogits(out.logits.dims, 1, r.length, this.stepPath);
    return { logits: out.logits.data as Float32Array, ...this.kv(out, this.stepPath) };
  }

  async stepScores(canvasIds: BigInt64Array, positions: BigInt64Array, ctxKeys: KV, ctxValues: KV, ctxMask: Float32Array,
    rows: BigInt64Array, forbid: Float32Array, kvRows?: readonly number[]): Promise<StepScores> {
    // Only pred and conf come back (and the K/V of kvRows): the logits stay inside onnxruntime.
    if (kvRows && !this.stepGivesKV) throw new Error(`${this.stepPath} hands over no chosen rows of the canvas's K/V. Export the model again.`);
    const withKV = !!kvRows && kvRows.length > 0;
    // without kvRows the K/V outputs are not fetched, so onnxruntime does not compute them
    const feeds = this.stepFeeds(canvasIds, positions, ctxKeys, ctxValues, ctxMask, rows, forbid, withKV ? BigInt64Array.from(kvRows, BigInt) : ONE_ROW);
    const out = await this.stp.run(feeds, withKV ? ['pred', 'conf', ...this.kvOutputs] : ['pred', 'conf']);
    const scores = this.checkScores(out.pred, out.conf, rows.length, this.stepPath);
    return withKV ? { ...scores, ...this.kv(out, this.stepPath) } : scores;
  }

  async forward(ids: BigInt64Array, batch: number, seq: number): Promise<Float32Array> {
    const positions = new BigInt64Array(batch * seq);
    for (let i = 0; i < positions.length; i++) positions[i] = BigInt(i % seq);
    const out = await this.ctx.run(this.contextFeeds(ids, batch, seq, positions, this.noForbid), ['logits']);
    this.checkLogits(out.logits.dims, batch, seq, this.path);
    return out.logits.data as Float32Array;
  }

  async release(): Promise<void> {
    await Promise.all([this.ctx.release(), this.stp.release()]);
  }
}

/** The bytes of RUN/corpus/tokenizer.json (hashed for the tokenizer check). */
export async function readTokenizerFile(runDir: string): Promise<{ path: string; bytes: Buffer }> {
  const path = join(runDir, 'corpus', 'tokenizer.json');
  try {
    return { path, bytes: await readFile(path) };
  } catch (err) {
    throw new ModelLoadError(`Cannot read ${path}: ${(err as Error).message}. The run's corpus is missing; index the workspace again.`);
  }
}
