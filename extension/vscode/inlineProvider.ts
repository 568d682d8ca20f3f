// Inline suggestions for every language: debounce, cancellation and registration only (DESIGN.md:
// the completion pipeline's stages live in extension/engine). Each request gets a child
// CancellationTokenSource, cancelled when VS Code cancels the request or a newer request starts,
// turned into an AbortSignal for the engine, and disposed in `finally`.
// Quiet by design: no model, a disabled language, a cancelled request, an empty result or one whose
// confidence is below `suggestions.minConfidence` give no message; a real engine error is logged
// and shown once per distinct message.
import * as vscode from 'vscode';
import { delay, isAbort, tokenToSignal } from './cancellation';
import { completionConfidence, completionText, type EngineLike } from './services';

/** Characters of context sent each side of the cursor; the engine cuts further to its token budget. */
export const CONTEXT_CHARS = 24_000;

export interface InlineProviderHost {
  engine(): EngineLike | undefined;
  enabled(): boolean;
  disabledLanguages(): string[];
  debounceMs(): number;
  /** Suggestions whose mean per-token confidence is below this are not shown (0: all are). */
  minConfidence(): number;
  trusted(): boolean;
  /** Called once per request that found no model (the status bar shows the hint). */
  noModel(): void;
  /** Called for each non-empty completion: shown, or hidden below minConfidence (the status bar counts them). */
  suggestionOutcome(shown: boolean): void;
  reportError(err: unknown): void;
}

export class RepoDiffusionInlineProvider implements vscode.InlineCompletionItemProvider {
  private inflight: vscode.CancellationTokenSource | undefined;

  constructor(private readonly host: InlineProviderHost) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    if (!this.host.trusted() || !this.host.enabled()) return undefined;
    if (this.host.disabledLanguages().includes(document.languageId)) return undefined;
    const engine = this.host.engine();
    if (!engine) {
      this.host.noModel();
      return undefined;
    }
    // A newer request supersedes the one still running.
    this.inflight?.cancel();
    const cts = new vscode.CancellationTokenSource();
    this.inflight = cts;
    const parentSub = token.onCancellationRequested(() => cts.cancel());
    const { signal, dispose } = tokenToSignal(cts.token);
    try {
      const automatic = context.triggerKind !== vscode.InlineCompletionTriggerKind.Invoke;
      if (automatic && !(await delay(this.host.debounceMs(), cts.token))) return undefined;
      const { prefix, suffix } = contextAround(document, position);
      const minConfidence = this.host.minConfidence();
      const result = await engine.complete({ prefix, suffix, languageId: document.languageId, minConfidence }, signal);
      if (cts.token.isCancellationRequested) return undefined;
      const text = completionText(result);
      if (!text) return undefined;
      // A weak model's guesses ("file file file") are worse than no suggestion; measured in
      // docs/engine.md "Confidence gate", which also gives the default.
      const confidence = completionConfidence(result);
      const shown = confidence === undefined || confidence >= minConfidence;
      this.host.suggestionOutcome(shown);
      if (!shown) return undefined;
      return [new vscode.InlineCompletionItem(text, new vscode.Range(position, position))];
    } catch (err) {
      if (!isAbort(err, signal)) this.host.reportError(err);
      return undefined;
    } finally {
      parentSub.dispose();
      dispose();
      if (this.inflight === cts) this.inflight = undefined;
      cts.dispose();
    }
  }

  dispose(): void {
    this.inflight?.cancel();
  }
}

/** Text before and after the cursor, at most CONTEXT_CHARS each, cut at line boundaries. */
export function contextAround(document: vscode.TextDocument, position: vscode.Position): { prefix: string; suffix: string } {
  const text = document.getText();
  const offset = document.offsetAt(position);
  let start = Math.max(0, offset - CONTEXT_CHARS);
  if (start > 0) {
    const nl = text.indexOf('\n', start);
    start = nl >= 0 && nl < offset ? nl + 1 : start;
  }
  let end = Math.min(text.length, offset + CONTEXT_CHARS);
  if (end < text.length) {
    const nl = text.lastIndexOf('\n', end);
    end = nl > offset ? nl + 1 : end;
  }
  return { prefix: text.slice(start, offset), suffix: text.slice(offset, end) };
}
