// The parts the adapter uses from the rest of the extension, as narrow interfaces, so that the
// adapter can be tested with small fakes and the real modules are wired in one place (wiring.ts).
// No vscode import.
import type { IndexSummary, IndexOptions, IndexProgress } from '../corpus/types';
import type { ServingInfo } from '../engine/index';

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

export interface EngineLike {
  complete(request: CompletionRequest, signal: AbortSignal): Promise<CompletionResult>;
  /** How the loaded model is served (InfillEngine.info; optional: tests' fakes may have none). */
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
