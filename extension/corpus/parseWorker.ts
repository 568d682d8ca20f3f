// The tree-sitter parse worker (a worker_thread): loads web-tree-sitter and grammars on demand,
// parses one file per request and answers with infill spans and chunk starts. Once the corpus
// tokenizer exists it also encodes files, to share that work with the main thread. Runs apart from the
// indexer so that a grammar that loops forever can be stopped with terminate() (platform notes:
// a parse callback does not fire inside such a loop). Bundled as dist/parseWorker.js; run from
// source through tsx. See parsePool.ts for the other side of the protocol.
import { parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { Language, Parser } from 'web-tree-sitter';
import { treeSpans } from './treeSpans';
import { structuralSpans } from './fallback';
import { TextSpan } from './types';
import { Tokenizer } from '../tokenizer';
import { encodeDocument, tokenByteLengths } from './encode';

export interface ParseRequest {
  id: number;
  language: string;
  /** Empty: no grammar, use the structural fallback (fallback.ts), under the same deadline. */
  grammarPath: string;
  text: string;
  chunks: string[];
  blocks: string[];
  calls: string[];
  /**
   * Present: encode the text with the corpus tokenizer instead of parsing it, and map these
   * character spans (flat triples) to token offsets. The tokenizer's JSON comes with the first
   * such request a worker gets (the pool keeps track), later ones reuse it.
   */
  encode?: { spans: Int32Array; tokenizerJson?: string };
}

export type ParseReply =
  | { id: number; type: 'started' }
  | { id: number; type: 'done'; spans: Int32Array; chunkStarts: number[]; hasError: boolean; nodes: number; unknownTypes: string[]; ids?: Uint32Array }
  | { id: number; type: 'failed'; error: string };

export interface ParseWorkerData {
  treeSitterWasm: string;
  /** Compile wasm with Liftoff only (default true; see below). */
  liftoffOnly?: boolean;
}

// Liftoff only (V8's baseline wasm compiler, no TurboFan tier-up), unless the pool says otherwise.
// Measured on Node 20 with web-tree-sitter 0.27.1 on 2 cores: with tier-up, loading our 42
// grammars one after another took 20 s (one grammar alone stalled 17 s in TurboFan) and a process
// that had loaded them lingered ~25 s at exit on background compile jobs; Liftoff-only loads all 42
// in 0.2 s and parses about 1.5x slower (1 MB of Python: 160 ms instead of 100 ms). V8 flags are
// per process: this also applies to wasm compiled later by the host process (docs/corpus.md).
if ((workerData as ParseWorkerData | undefined)?.liftoffOnly !== false) setFlagsFromString('--liftoff-only');

const languages = new Map<string, { language: Language; unknownTypes: string[] }>();
let parser: Parser | undefined;
let initialised: Promise<void> | undefined;

async function ensureInit(): Promise<void> {
  const data = workerData as ParseWorkerData;
  initialised ??= Parser.init({ locateFile: () => data.treeSitterWasm }).then(() => {
    parser = new Parser();
  });
  await initialised;
}

function flatten(spans: TextSpan[]): Int32Array {
  const flat = new Int32Array(spans.length * 3);
  spans.forEach((s, k) => flat.set(s, k * 3));
  return flat;
}

let tokenizer: { tok: Tokenizer; lens: Int32Array } | undefined;

function encode(req: ParseRequest): ParseReply {
  const job = req.encode!;
  if (job.tokenizerJson) {
    const tok = Tokenizer.fromJSON(job.tokenizerJson);
    tokenizer = { tok, lens: tokenByteLengths(tok) };
  }
  if (!tokenizer) throw new Error('encode request before any tokenizer');
  parentPort!.postMessage({ id: req.id, type: 'started' } satisfies ParseReply);
  const spans: TextSpan[] = [];
  for (let k = 0; k + 2 < job.spans.length; k += 3) spans.push([job.spans[k], job.spans[k + 1], job.spans[k + 2]]);
  const enc = encodeDocument(tokenizer.tok, tokenizer.lens, req.text, spans);
  return { id: req.id, type: 'done', spans: flatten(enc.spans), chunkStarts: [], hasError: false, nodes: 0, unknownTypes: [], ids: Uint32Array.from(enc.ids) };
}

async function handle(req: ParseRequest): Promise<ParseReply> {
  if (req.encode) return encode(req);
  if (!req.grammarPath) {
    parentPort!.postMessage({ id: req.id, type: 'started' } satisfies ParseReply);
    const { spans, chunkStarts } = structuralSpans(req.text);
    return { id: req.id, type: 'done', spans: flatten(spans), chunkStarts, hasError: false, nodes: 0, unknownTypes: [] };
  }
  await ensureInit();
  let lang = languages.get(req.language);
  if (!lang) {
    const language = await Language.load(readFileSync(req.grammarPath));
    // Node types the manifest names but the grammar lacks: a manifest mistake, reported upward.
    const unknownTypes = [...req.chunks, ...req.blocks, ...req.calls].filter((t) => language.idForNodeType(t, true) === null);
    lang = { language, unknownTypes };
    languages.set(req.language, lang);
  }
  // From here on the time is the parser's: the pool's deadline starts now.
  parentPort!.postMessage({ id: req.id, type: 'started' } satisfies ParseReply);
  parser!.setLanguage(lang.language);
  const tree = parser!.parse(req.text);
  if (!tree) throw new Error('parser returned no tree');
  try {
    const { spans, chunkStarts, nodes } = treeSpans(tree, req.text, req);
    return { id: req.id, type: 'done', spans: flatten(spans), chunkStarts, hasError: tree.rootNode.hasError, nodes, unknownTypes: lang.unknownTypes };
  } finally {
    tree.delete();
  }
}

// Requests are handled one after another, in the order they came: the pool reads the replies as a
// FIFO (several files may be queued here at once) and times the one that said 'started'.
let chain: Promise<void> = Promise.resolve();
parentPort?.on('message', (req: ParseRequest) => {
  chain = chain.then(() =>
    handle(req).then(
      (reply) =>
        parentPort!.postMessage(
          reply,
          reply.type === 'done' ? [reply.spans.buffer as ArrayBuffer, ...(reply.ids ? [reply.ids.buffer as ArrayBuffer] : [])] : [],
        ),
      (err: unknown) =>
        parentPort!.postMessage({ id: req.id, type: 'failed', error: err instanceof Error ? err.message : String(err) } satisfies ParseReply),
    ),
  );
});
