// The parts the adapter uses from the rest of the extension, as narrow interfaces, so that the
// adapter can be tested with small fakes and the real modules are wired in one place (wiring.ts).
// No vscode import.
import type { IndexSummary, IndexOptions, IndexProgress } from '../corpus/types';

export type { IndexSummary, IndexOptions, IndexProgress };

export interface CompletionRequest {
  prefix: string;
  suffix: string;
  languageId: string;
  /** The gate the suggestion will be judged by (suggestions.minConfidence): the engine spends less on what it would hide. */
  minConfidence?: number;
}

/** What the engine returns: the text to insert (or nothing), with the sampler's mean confidence when it has one. */
export type CompletionResult = string | { text?: string; insertText?: string; confidence?: number } | undefined | null;

/** What the engine says about how it serves the loaded model (InfillEngine.info; docs/engine.md "Fast decoding"). */
export interface ServingInfo {
  decoding?: 'fast' | 'naive';
  /** Why the export's cached graphs could not be used. */
  fastUnavailable?: string;
  stepWeights?: string;
  contextKV?: string;
  /** false: the step graph predates freezing decided positions (export again). */
  freezeDecided?: boolean;
}

export interface EngineLike {
  complete(request: CompletionRequest, signal: AbortSignal): Promise<CompletionResult>;
  /** How the loaded model is served (optional: tests' fakes may have none). */
  readonly info?: ServingInfo;
  /** Swap to another run's model without dropping in-flight requests (optional). */
  swap?(runDir: string): Promise<void>;
  dispose?(): void | Promise<void>;
}

export interface Services {
  indexWorkspace(root: string, runDir: string, options: IndexOptions, hooks: { onProgress?(p: IndexProgress): void; signal?: AbortSignal }): Promise<IndexSummary>;
  loadEngine(runDir: string, options: { threads?: number; maxPositions?: number }): Promise<EngineLike>;
}

/** The result's confidence in [0, 1], or undefined when the engine gives none. */
export function completionConfidence(result: CompletionResult): number | undefined {
  return result && typeof result === 'object' && typeof result.confidence === 'number' ? result.confidence : undefined;
}

export function completionText(result: CompletionResult): string {
  if (!result) return '';
  if (typeof result === 'string') return result;
  return result.text ?? result.insertText ?? '';
}

/**
 * How a model is served, for the output channel, and a warning when it is served the slow way
 * (the plain model, one full forward pass a sampler step: 5-15x slower, docs/engine.md) because
 * its export is too old or its cached graphs are damaged: exporting again fixes both.
 */
export function servingSummary(info: ServingInfo | undefined, runDir: string): { line: string; warning?: string } {
  if (!info?.decoding) return { line: 'serving: unknown' };
  const exportAgain = `export it again ("python -m trainer export ${runDir}", run in the extension's folder)`;
  if (info.decoding === 'naive') {
    const why = info.fastUnavailable ? `its fast-decoding graphs cannot be used: ${info.fastUnavailable}` : 'its export has no fast-decoding graphs';
    return {
      line: `serving: the plain model, one forward pass a step (${why})`,
      warning: `Repo Diffusion: suggestions from this model will be several times slower than they can be: ${why}. To fix it, ${exportAgain}.`,
    };
  }
  const parts = [info.stepWeights && `${info.stepWeights} step weights`, info.contextKV && `${info.contextKV} context K/V`,
    info.freezeDecided === true ? 'decided positions frozen' : undefined].filter(Boolean);
  const older = info.freezeDecided === false ? `; every step runs the whole canvas: to freeze decided positions, ${exportAgain}` : '';
  return { line: `serving: fast decoding (${parts.join(', ')})${older}` };
}
