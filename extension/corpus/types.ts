// Options, progress and results of the corpus indexer, shared by its stages. No behaviour here.

export interface IndexOptions {
  /** Globs (gitignore syntax, relative to the root) a file must match to be indexed; empty: all. */
  include?: string[];
  /** Globs of files to leave out, on top of .gitignore. */
  exclude?: string[];
  /** Files larger than this are skipped (default 1 MiB). */
  maxFileBytes?: number;
  /** Seed of the train/val split and of the eval tasks (default 1234). */
  seed?: number;
  /** Share of files held out for validation (default 0.1; at least one file when there are two or more). */
  valFraction?: number;
  /** Number of eval.jsonl infill tasks (default 200). */
  evalTasks?: number;
  /** Tokenizer vocabulary (default 8192; smaller for tiny corpora). */
  vocabSize?: number;
  /** Near-duplicate threshold on estimated Jaccard similarity of word 5-shingles (default 0.85). */
  nearDuplicateThreshold?: number;
  /** Milliseconds one file may take to parse before its worker is killed (default 5000). */
  parseTimeoutMs?: number;
  /** Parse workers (default: cores - 1, at least 1, at most 4). */
  parseWorkers?: number;
  /**
   * Compile the grammars with V8's Liftoff only (default true). Avoids multi-second TurboFan stalls
   * and a slow process exit, but V8 flags are per process: a host that runs other wasm (an editor's
   * extension host) may prefer false, or index in a child process (docs/corpus.md).
   */
  parseLiftoffOnly?: boolean;
  /** Upper bound on the text the tokenizer is trained on, in characters (default 4 Mi: a seeded sample of whole training files beyond that). */
  tokenizerTrainChars?: number;
  /** Written to run.json as given (preset, objective, budget...) by the caller. */
  runInfo?: Record<string, unknown>;
}

export type IndexPhase =
  | 'scan'
  | 'filter'
  | 'parse'
  | 'dedupe'
  | 'split'
  | 'tokenizer'
  | 'encode'
  | 'write'
  | 'done';

export interface IndexProgress {
  phase: IndexPhase;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  message?: string;
}

export interface IndexHooks {
  onProgress?(p: IndexProgress): void;
  signal?: AbortSignal;
}

export type SkipReason =
  | 'gitignored'
  | 'excluded'
  | 'not-included'
  | 'vendored'
  | 'run-folder'
  | 'symlink'
  | 'symlink-outside'
  | 'symlink-loop'
  | 'symlink-broken'
  | 'unreadable'
  | 'special-file'
  | 'empty'
  | 'too-large'
  | 'binary'
  | 'minified'
  | 'generated'
  | 'lockfile'
  | 'data'
  | 'secret-file'
  | 'duplicate'
  | 'near-duplicate';

export interface ManifestFile {
  path: string;
  status: 'kept' | 'skipped';
  reason?: SkipReason;
  /** Detail for the reason (an error code, the file it duplicates, the measured value...). */
  detail?: string;
  language?: string;
  bytes: number;
  tokens?: number;
  split?: 'train' | 'val';
  /** How the file was parsed: a tree-sitter grammar, or the fallback (and why). */
  parser?: string;
  /** Set when invalid UTF-8 was decoded with U+FFFD replacement characters. */
  encoding?: 'utf-8' | 'utf-8-replaced';
  secrets?: number;
}

export interface IndexSummary {
  corpusDir: string;
  filesSeen: number;
  filesKept: number;
  trainFiles: number;
  valFiles: number;
  trainTokens: number;
  valTokens: number;
  evalTasks: number;
  vocabSize: number;
  corpusSha256: string;
  scrubbed: Record<string, number>;
  duplicates: { exact: number; near: number };
  skipped: Record<string, number>;
  /** Human-readable remarks (tiny corpus, no val material...). */
  notes: string[];
  timings: Record<string, number>;
}

/** Span kinds, as written to train.spans.bin (docs/contracts.md). */
export const SPAN_KIND = { line: 1, block: 2, call: 3 } as const;
export type SpanKindName = keyof typeof SPAN_KIND;

/** A span in a document's text: [start, end) in UTF-16 code units, and its kind (1..3). */
export type TextSpan = [start: number, end: number, kind: number];
