// The corpus indexer's public entry (docs/contracts.md): indexWorkspace(root, runDir, options,
// hooks) builds RUN/corpus/ and RUN/run.json from a workspace folder. Editor-independent: never
// imports `vscode`. The stages live in their own modules (scan, filter, secrets, dedupe, parse
// pool + worker, fallback, split, encode); build.ts runs them in order.
import { chooseVocabSize, TOKENIZER_VERSION, trainTokenizerAsync } from '../tokenizer';
import { buildCorpus, IndexError } from './build';
import { IndexHooks, IndexOptions, IndexSummary } from './types';

export type { IndexOptions, IndexProgress, IndexPhase, IndexHooks, IndexSummary, ManifestFile, SkipReason } from './types';
export { IndexError } from './build';
export { SECRET_RULES, SECRET_PLACEHOLDER, scrubSecrets } from './secrets';
export { grammarManifest, languageFor } from './languages';

/**
 * Indexes `root` into `runDir/corpus/` (manifest.json, tokenizer.json, train.bin, val.bin,
 * train.spans.bin, eval.jsonl) and writes `runDir/run.json`. Cancelling through `hooks.signal`
 * rejects with the signal's reason and leaves any previous corpus as it was. Throws IndexError when
 * nothing can be indexed.
 */
export async function indexWorkspace(root: string, runDir: string, options: IndexOptions = {}, hooks: IndexHooks = {}): Promise<IndexSummary> {
  return buildCorpus(root, runDir, options, hooks, {
    trainTokenizer: trainTokenizerAsync,
    chooseVocabSize: (bytes) => chooseVocabSize(bytes),
    tokenizerVersion: TOKENIZER_VERSION,
  });
}

export function isIndexError(err: unknown): err is IndexError {
  return err instanceof IndexError;
}
