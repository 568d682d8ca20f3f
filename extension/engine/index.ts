// The infill engine's public entry: editor-independent (never imports `vscode`). docs/engine.md
// describes it; docs/contracts.md fixes the samplers. Stages: context.ts, sampler.ts,
// postprocess.ts, cache.ts; the model file: model.ts; the orchestrator: engine.ts; held-out
// evaluation through the same engine: evaluate.ts.
export { InfillEngine, LINE_CANVAS, BLOCK_CANVAS, DEFAULT_MIN_CONFIDENCE, UNSURE_AFTER_STEPS, UNSURE_MARGIN, INT8_KV_MIN_BYTES, contextKvBytes, DEFAULT_MAX_POSITIONS, DEFAULT_DECODE_WINDOW, servedPositions, describeServing } from './engine';
export type { EngineOptions, CompletionRequest, CompletionResult, InfillRequest, InfillResult, ModelInfo, ReleasableModel, ServingInfo } from './engine';
export { diffusionInfill, arInfill, pickRow, forbiddenMask, confidenceOf, abortError, DEFAULT_THRESHOLD, DEFAULT_SPECIAL_IDS } from './sampler';
export type { LogitsModel, SamplerIds, DiffusionResult, ARResult, SamplingProgress } from './sampler';
export { gatherContext, chooseMode, splitLines, cursorLine, DEFAULT_PREFIX_SHARE } from './context';
export type { CompletionMode, GatheredContext, Encoder } from './context';
export { postprocess, stopAtPad, stopAtLineEnd, endsLine, stopAtBlockEnd, dropSuffixOverlap, balanceBrackets, trimTrailing, shownConfidences, shownCompletion } from './postprocess';
export type { PostprocessContext } from './postprocess';
export { CompletionCache } from './cache';
export { cachedDiffusionInfill, cachedArInfill, isCachedModel, canvasMask, appendColumns, freezeColumns } from './cached';
export type { CachedLogitsModel, CachedOutput, CachedScores, CachedDiffusionOptions, KV, StepScores } from './cached';
export { OnnxModel, CachedOnnxModel, ModelLoadError, parseModelMeta, readModelMeta, checkTokenizerMatch, SUPPORTED_FORMATS, defaultThreads } from './model';
export type { ModelMeta, Objective } from './model';
export { evaluateTasks, readTasks, editSimilarity, levenshtein } from './evaluate';
export type { EvalTask, EvalOptions, EvalReport, KindScore } from './evaluate';
