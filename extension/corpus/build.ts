// The indexer's pipeline, stage by stage: scan → filter → scrub → dedupe → parse (spans, chunks) →
// split → tokenizer → encode → eval tasks → write. Builds everything in a temporary folder inside
// the run folder and renames it to corpus/ only when complete, so that a cancelled or failed run
// leaves the previous corpus untouched. The tokenizer is passed in (index.ts passes the real one).
import { promises as fsp } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { basename, isAbsolute, join, relative, sep } from 'node:path';
import { runLayout } from '../common/runLayout';
import packageJson from '../../package.json';
import { syncDir, writeFileAtomic, writeFileDurable } from '../common/atomicWrite';
import { processAlive } from '../common/processAlive';
import { findDuplicates } from './dedupe';
import { CorpusTokenizer, EncodedDocument, encodeDocument, int32LE, TokenSink, tokenByteLengths } from './encode';
import { classifyByName, classifyText, decodeSource } from './filter';
import { grammarManifest, languageFor, resolveGrammar, WorkerEntry } from './languages';
import { ParsePool } from './parsePool';
import { nodeFs, scanWorkspace, ScanFs, errorCode } from './scan';
import { scrubSecrets } from './secrets';
import { buildEvalTasks, EvalDoc, singleFileCut, splitFiles } from './split';
import { IndexHooks, IndexOptions, IndexPhase, IndexSummary, ManifestFile, SPAN_KIND, TextSpan } from './types';

export const CORPUS_FORMAT = 1;

export interface BuildDeps {
  trainTokenizer(
    texts: Iterable<string>,
    options: { vocabSize: number; signal?: AbortSignal; onProgress?(done: number, total: number): void },
  ): CorpusTokenizer | Promise<CorpusTokenizer>;
  /** Vocabulary for a training text of this many bytes when the caller does not fix one. */
  chooseVocabSize?(trainBytes: number): number;
  /** Version string of the tokenizer implementation, for run.json. */
  tokenizerVersion?: string;
  fs?: ScanFs;
  parseWorker?: WorkerEntry;
}

export class IndexError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'IndexError';
  }
}

interface Doc {
  path: string;
  language: string;
  text: string;
  bytes: number;
  entry: ManifestFile;
  spans: TextSpan[];
  chunkStarts: number[];
}

export function resolveOptions(options: IndexOptions): Required<Omit<IndexOptions, 'runInfo' | 'vocabSize'>> & { vocabSize?: number } {
  return {
    parseLiftoffOnly: options.parseLiftoffOnly ?? true,
    include: options.include ?? [],
    exclude: options.exclude ?? [],
    maxFileBytes: options.maxFileBytes ?? 1024 * 1024,
    seed: options.seed ?? 1234,
    valFraction: options.valFraction ?? 0.1,
    evalTasks: options.evalTasks ?? 200,
    vocabSize: options.vocabSize,
    nearDuplicateThreshold: options.nearDuplicateThreshold ?? 0.85,
    parseTimeoutMs: options.parseTimeoutMs ?? 5000,
    parseWorkers: Math.max(1, Math.floor(options.parseWorkers ?? Math.min(4, cpus().length - 1))),
    tokenizerTrainChars: options.tokenizerTrainChars ?? 4 * 1024 * 1024,
  };
}

/** Vocabulary for a training text of this many bytes, when neither the caller nor the tokenizer module says. */
export function defaultVocabSize(trainBytes: number): number {
  // 262 ids are specials and bytes; roughly one merge per 200 bytes of text, 512..8192.
  const want = 262 + Math.floor(trainBytes / 200);
  return Math.max(512, Math.min(8192, want));
}

export async function buildCorpus(root: string, runDir: string, options: IndexOptions, hooks: IndexHooks, deps: BuildDeps): Promise<IndexSummary> {
  // An inner signal that also fires when the build fails or ends, so that background work (the
  // parse pool) never outlives the call.
  const inner = new AbortController();
  const outer = hooks.signal;
  const forward = () => inner.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward);
  try {
    return await build(root, runDir, options, { ...hooks, signal: inner.signal }, deps);
  } finally {
    outer?.removeEventListener('abort', forward);
    inner.abort(new Error('index build finished'));
  }
}

async function build(root: string, runDir: string, options: IndexOptions, hooks: IndexHooks, deps: BuildDeps): Promise<IndexSummary> {
  const opts = resolveOptions(options);
  const signal = hooks.signal;
  const fs = deps.fs ?? nodeFs;
  const timings: Record<string, number> = {};
  const notes: string[] = [];
  let phaseStart = performance.now();
  let phase: IndexPhase = 'scan';
  let filesTotal = 0;
  let bytesTotal = 0;
  const progress = (filesDone: number, bytesDone: number, message?: string) =>
    hooks.onProgress?.({ phase, filesDone, filesTotal, bytesDone, bytesTotal, ...(message ? { message } : {}) });
  const enter = (next: IndexPhase) => {
    timings[phase] = (timings[phase] ?? 0) + (performance.now() - phaseStart) / 1000;
    phase = next;
    phaseStart = performance.now();
    signal?.throwIfAborted();
    filesTotal = 0;
    bytesTotal = 0;
    if (next !== 'done') progress(0, 0);
  };

  signal?.throwIfAborted();
  // ---- scan
  progress(0, 0);
  const scan = await scanWorkspace(root, {
    include: opts.include,
    exclude: opts.exclude,
    output: await runFolderGlobs(fs, root, runDir),
    fs,
    signal,
    onDir: (dirs, files) => progress(files, 0, `${dirs} folders`),
  });
  const entries: ManifestFile[] = [...scan.skipped];
  // The parse workers boot while the main thread reads and filters.
  const pool = scan.candidates.length
    ? new ParsePool({ size: opts.parseWorkers, timeoutMs: opts.parseTimeoutMs, worker: deps.parseWorker, liftoffOnly: opts.parseLiftoffOnly })
    : undefined;
  const closePool = () => void pool?.close();
  signal?.addEventListener('abort', closePool);
  pool?.warm();

  // ---- filter + scrub
  enter('filter');
  const stats = await mapLimit(scan.candidates, 32, async (c) => {
    try {
      return { size: (await fs.stat(c.abs)).size };
    } catch (err) {
      return { error: errorCode(err) };
    }
  });
  filesTotal = scan.candidates.length;
  bytesTotal = stats.reduce((a, s) => a + (s.size ?? 0), 0);
  const scrubbed: Record<string, number> = {};
  let filesDone = 0;
  let bytesDone = 0;
  const kept = await mapLimit(scan.candidates, 16, async (c, i): Promise<Doc | undefined> => {
    signal?.throwIfAborted();
    const st = stats[i];
    const size = st.size ?? 0;
    const done = () => {
      filesDone++;
      bytesDone += size;
      progress(filesDone, bytesDone);
    };
    if (st.error !== undefined) {
      entries.push({ path: c.path, status: 'skipped', reason: 'unreadable', detail: st.error, bytes: 0 });
      done();
      return undefined;
    }
    const byName = classifyByName(c.path, size, { maxFileBytes: opts.maxFileBytes });
    if (byName) {
      entries.push({ path: c.path, status: 'skipped', reason: byName.reason, ...(byName.detail ? { detail: byName.detail } : {}), bytes: size });
      done();
      return undefined;
    }
    let raw: Buffer;
    try {
      raw = await fs.readFile(c.abs);
    } catch (err) {
      entries.push({ path: c.path, status: 'skipped', reason: 'unreadable', detail: errorCode(err), bytes: size });
      done();
      return undefined;
    }
    // The size above came from an earlier stat: a file that grew since (a log being written) is
    // judged by what was read.
    if (raw.length > opts.maxFileBytes) {
      entries.push({ path: c.path, status: 'skipped', reason: 'too-large', detail: `${raw.length} > ${opts.maxFileBytes} bytes`, bytes: raw.length });
      done();
      return undefined;
    }
    const decoded = decodeSource(raw);
    if (!decoded.ok) {
      entries.push({ path: c.path, status: 'skipped', reason: decoded.reason, detail: decoded.detail, bytes: raw.length });
      done();
      return undefined;
    }
    const verdict = classifyText(decoded.text);
    if (verdict) {
      entries.push({ path: c.path, status: 'skipped', reason: verdict.reason, ...(verdict.detail ? { detail: verdict.detail } : {}), bytes: raw.length });
      done();
      return undefined;
    }
    const scrub = scrubSecrets(decoded.text);
    for (const [rule, n] of Object.entries(scrub.counts)) scrubbed[rule] = (scrubbed[rule] ?? 0) + n;
    const language = languageFor(c.path)?.id ?? 'unknown';
    const entry: ManifestFile = { path: c.path, status: 'kept', language, bytes: raw.length };
    if (decoded.encoding !== 'utf-8') entry.encoding = decoded.encoding;
    if (scrub.total) entry.secrets = scrub.total;
    done();
    return { path: c.path, language, text: scrub.text, bytes: raw.length, entry, spans: [], chunkStarts: [0] };
  });
  let docs = kept.filter((d): d is Doc => d !== undefined);

  // ---- parse, in the workers, while the main thread dedupes, splits and trains the tokenizer
  // (a duplicate dropped below was parsed for nothing: rare, and cheaper than waiting).
  const parseStart = performance.now();
  const parsing = pool ? parseAll(docs, pool, signal) : Promise.resolve({ timeouts: 0 });
  // A rejected parse is awaited below; until then it must not count as unhandled.
  parsing.catch(() => undefined);

  // ---- dedupe (path order: the first copy stays)
  enter('dedupe');
  const verdicts = await findDuplicates(docs.map((d) => d.text), opts.nearDuplicateThreshold, signal);
  const duplicates = { exact: 0, near: 0 };
  docs = docs.filter((d, i) => {
    const v = verdicts[i];
    if (!v) return true;
    duplicates[v.kind === 'duplicate' ? 'exact' : 'near']++;
    d.entry.status = 'skipped';
    d.entry.reason = v.kind;
    d.entry.detail = v.kind === 'duplicate' ? `same as ${docs[v.of].path}` : `${Math.round(v.similarity * 100)}% like ${docs[v.of].path}`;
    delete d.entry.language;
    entries.push(d.entry);
    return false;
  });
  for (const d of docs) entries.push(d.entry);

  // ---- split
  enter('split');
  if (docs.length === 0) {
    const reasons = countBy(entries.filter((e) => e.status === 'skipped'), (e) => e.reason ?? 'unknown');
    throw new IndexError(
      `nothing to index in ${root}: ${entries.length} paths seen, none kept (${Object.entries(reasons).map(([r, n]) => `${r} ${n}`).join(', ') || 'empty folder'})`,
      'check the include/exclude settings and .gitignore',
    );
  }
  const split = splitFiles(docs.map((d) => d.path), opts.seed, opts.valFraction);
  let trainDocs: Doc[] = [];
  let valDocs: Doc[] = [];
  let splitNote = split.note;
  if (docs.length === 1) {
    await parsing; // the cut needs the file's chunk starts
    const d = docs[0];
    const cut = singleFileCut(d.text, d.chunkStarts);
    if (cut === undefined) {
      trainDocs = [d];
      d.entry.split = 'train';
      splitNote = `single file ${d.path} is too small to hold anything out: val.bin and eval.jsonl are empty`;
    } else {
      const head: Doc = { ...d, text: d.text.slice(0, cut), spans: d.spans.filter((s) => s[1] <= cut) };
      head.bytes = Buffer.byteLength(head.text);
      const tail: Doc = {
        ...d,
        bytes: d.bytes - head.bytes,
        text: d.text.slice(cut),
        spans: d.spans.filter((s) => s[0] >= cut).map(([s, e, k]) => [s - cut, e - cut, k] as TextSpan),
      };
      trainDocs = [head];
      valDocs = [tail];
      d.entry.split = 'train';
      splitNote = `single file: the tail of ${d.path} from character ${cut} (a top-level boundary) is held out as val and eval material; a corpus of one file cannot be split by file`;
    }
  } else {
    docs.forEach((d, i) => {
      const isVal = split.val.has(i);
      d.entry.split = isVal ? 'val' : 'train';
      (isVal ? valDocs : trainDocs).push(d);
    });
  }
  if (splitNote) notes.push(splitNote);

  // ---- tokenizer, trained on the training split only (a deterministic sample when very large)
  enter('tokenizer');
  const trainBytes = trainDocs.reduce((a, d) => a + Buffer.byteLength(d.text), 0);
  const vocabSize = opts.vocabSize ?? (deps.chooseVocabSize ?? defaultVocabSize)(trainBytes);
  const sample = sampleForTokenizer(trainDocs.map((d) => d.text), opts.tokenizerTrainChars, opts.seed);
  const tokenizer = await deps.trainTokenizer(sample, {
    vocabSize,
    signal,
    onProgress: (done, total) => hooks.onProgress?.({ phase: 'tokenizer', filesDone: done, filesTotal: total, bytesDone: 0, bytesTotal: trainBytes }),
  });
  signal?.throwIfAborted();

  // ---- wait for the parse (spans)
  enter('parse');
  filesTotal = docs.length;
  bytesTotal = docs.reduce((a, d) => a + d.bytes, 0);
  const parsed = await parsing;
  timings.parse_workers = (performance.now() - parseStart) / 1000;
  progress(docs.length, bytesTotal);

  // ---- encode
  enter('encode');
  const units = [...trainDocs.map((d) => ({ d, train: true })), ...valDocs.map((d) => ({ d, train: false }))];
  filesTotal = units.length;
  bytesTotal = units.reduce((a, u) => a + u.d.bytes, 0);
  filesDone = 0;
  bytesDone = 0;
  const tokJson = Buffer.from(JSON.stringify(tokenizer.toJSON()));
  const lens = tokenByteLengths(tokenizer);
  const encoded: (EncodedDocument | undefined)[] = new Array(units.length);
  const unitDone = (i: number) => {
    filesDone++;
    bytesDone += units[i].d.bytes;
    progress(filesDone, bytesDone);
  };
  // The workers (idle by now) take the tail of the list, about their share of the bytes; the main
  // thread encodes from the head. A worker failure only means the main thread does that file too.
  const offload: number[] = [];
  if (pool && units.length > 1) {
    pool.setTokenizer(tokJson.toString('utf8'));
    const share = (opts.parseWorkers / (opts.parseWorkers + 1)) * 0.7;
    for (let i = units.length - 1, acc = 0; i > 0 && acc < bytesTotal * share; i--) {
      offload.push(i);
      acc += units[i].d.bytes;
    }
  }
  const offloaded = new Set(offload);
  const remote = Promise.all(
    offload.map(async (i) => {
      const u = units[i];
      const o = await pool!.encode(u.d.text, u.train ? u.d.spans : []);
      if (o.ok && o.ids) {
        encoded[i] = { ids: Array.from(o.ids), spans: o.spans };
        unitDone(i);
      }
    }),
  );
  let lastYield = performance.now();
  for (let i = 0; i < units.length; i++) {
    if (offloaded.has(i)) continue;
    if (performance.now() - lastYield > 10) {
      // Lets the workers' replies in, so that they are handed their next file.
      await yieldToLoop();
      signal?.throwIfAborted();
      lastYield = performance.now();
    }
    const u = units[i];
    encoded[i] = encodeDocument(tokenizer, lens, u.d.text, u.train ? u.d.spans : []);
    unitDone(i);
  }
  await remote;
  signal?.throwIfAborted();
  signal?.removeEventListener('abort', closePool);
  await pool?.close();
  const eos = tokenizer.specialIds.eos;
  const train = new TokenSink();
  const val = new TokenSink();
  const spanTriples: number[] = [];
  const spanCounts = { line: 0, block: 0, call: 0 };
  const tokensByPath = new Map<string, number>();
  units.forEach((u, i) => {
    const enc = (encoded[i] ??= encodeDocument(tokenizer, lens, u.d.text, u.train ? u.d.spans : []));
    const sink = u.train ? train : val;
    const base = sink.length;
    sink.push(enc.ids);
    sink.pushOne(eos);
    for (const [s, e, k] of enc.spans) {
      spanTriples.push(base + s, base + e, k);
      if (k === SPAN_KIND.line) spanCounts.line++;
      else if (k === SPAN_KIND.block) spanCounts.block++;
      else spanCounts.call++;
    }
    tokensByPath.set(u.d.path, (tokensByPath.get(u.d.path) ?? 0) + enc.ids.length);
  });
  for (const d of docs) d.entry.tokens = tokensByPath.get(d.path) ?? 0;

  // Eval tasks from the held-out documents, each piece encoded on its own (docs/contracts.md).
  const evalDocs: EvalDoc[] = valDocs.map((d) => ({ path: d.path, language: d.language, text: d.text, spans: d.spans }));
  const tasks = buildEvalTasks(evalDocs, opts.evalTasks, opts.seed);
  if (valDocs.length && tasks.length < opts.evalTasks) {
    notes.push(`only ${tasks.length} of ${opts.evalTasks} eval tasks: the held-out files offer no more spans`);
  }
  const evalLines = tasks.map((t) =>
    JSON.stringify({
      ...t,
      prefix_ids: tokenizer.encode(t.prefix),
      middle_ids: tokenizer.encode(t.middle),
      suffix_ids: tokenizer.encode(t.suffix),
    }),
  );

  // ---- write: everything into a temporary folder, then swap it in
  enter('write');
  const layout = runLayout(runDir);
  await fsp.mkdir(runDir, { recursive: true });
  await removeDeadWritersTemps(runDir);
  const tmp = join(runDir, `.corpus-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(tmp);
  try {
    const dtype = tokenizer.vocabSize <= 65536 ? 'uint16' : 'uint32';
    const trainBuf = train.toBytes(dtype);
    const valBuf = val.toBytes(dtype);
    const corpusSha = createHash('sha256').update(trainBuf).update(valBuf).digest('hex');
    const tokenizerSha = createHash('sha256').update(tokJson).digest('hex');
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const e of entries) if (e.status === 'skipped') delete e.parser; // duplicates parsed before dedupe
    const skippedCounts = countBy(entries.filter((e) => e.status === 'skipped'), (e) => e.reason ?? 'unknown');
    const byLanguage: Record<string, { files: number; bytes: number; tokens: number }> = {};
    for (const d of docs) {
      const l = (byLanguage[d.language] ??= { files: 0, bytes: 0, tokens: 0 });
      l.files++;
      l.bytes += d.bytes;
      l.tokens += d.entry.tokens ?? 0;
    }
    const manifest = {
      format: CORPUS_FORMAT,
      vocab_size: tokenizer.vocabSize,
      token_dtype: dtype,
      train_tokens: train.length,
      val_tokens: val.length,
      span_count: spanTriples.length / 3,
      eval_tasks: tasks.length,
      corpus_sha256: corpusSha,
      tokenizer_sha256: tokenizerSha,
      totals: {
        paths_seen: entries.length,
        files_kept: docs.length,
        bytes_kept: docs.reduce((a, d) => a + d.bytes, 0),
        train_files: docs.filter((d) => d.entry.split === 'train').length,
        val_files: docs.filter((d) => d.entry.split === 'val').length + (docs.length === 1 && valDocs.length ? 1 : 0),
        skipped: skippedCounts,
        languages: sortKeys(byLanguage),
        parsers: countBy(docs, (d) => d.entry.parser ?? 'none'),
        parse_timeouts: parsed.timeouts,
        spans: spanCounts,
      },
      scrubbed: sortKeys(scrubbed),
      duplicates,
      split: { seed: opts.seed, val_fraction: opts.valFraction, ...(splitNote ? { note: splitNote } : {}) },
      notes,
      files: entries,
    };
    // fsynced, with their folder, before the swap: after a power loss the new corpus is whole or
    // the old one is still there (the old one is deleted only after the swap is on disk)
    await Promise.all([
      writeFileDurable(join(tmp, 'train.bin'), trainBuf),
      writeFileDurable(join(tmp, 'val.bin'), valBuf),
      writeFileDurable(join(tmp, 'train.spans.bin'), int32LE(spanTriples)),
      writeFileDurable(join(tmp, 'tokenizer.json'), tokJson),
      writeFileDurable(join(tmp, 'eval.jsonl'), evalLines.length ? evalLines.join('\n') + '\n' : ''),
      writeFileDurable(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n'),
    ]);
    await syncDir(tmp);
    signal?.throwIfAborted();
    await swapIn(tmp, layout.corpusDir);

    enter('done');
    const summary: IndexSummary = {
      corpusDir: layout.corpusDir,
      filesSeen: entries.length,
      filesKept: docs.length,
      trainFiles: trainDocs.length,
      valFiles: valDocs.length,
      trainTokens: train.length,
      valTokens: val.length,
      evalTasks: tasks.length,
      vocabSize: tokenizer.vocabSize,
      corpusSha256: corpusSha,
      scrubbed,
      duplicates,
      skipped: skippedCounts,
      notes,
      timings,
    };
    await writeRunJson(layout.runJson, root, options, opts, summary, tokenizerSha, deps.tokenizerVersion);
    filesTotal = docs.length;
    bytesTotal = manifest.totals.bytes_kept;
    progress(filesTotal, bytesTotal);
    return summary;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The run folder as scan globs when it lies inside the workspace (`index . --out runs/r1`), so that
 * a run never indexes its own output or an earlier run's. None when it is outside or does not
 * exist yet (then there is nothing of it to scan). Compared by real path, so that a symlinked root
 * or run folder is recognised.
 */
export async function runFolderGlobs(fs: ScanFs, root: string, runDir: string): Promise<string[]> {
  let rel: string;
  try {
    rel = relative(await fs.realpath(root), await fs.realpath(runDir));
  } catch {
    return [];
  }
  if (rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel)) return [];
  const escape = (name: string) => name.replace(/[\\*?[\]!# ]/g, (c) => '\\' + c);
  if (rel !== '') return ['/' + rel.split(sep).map(escape).join('/') + '/'];
  // The workspace is the run folder itself: leave out what a run writes there.
  const layout = runLayout(runDir);
  const names = [layout.runJson, layout.corpusDir, layout.checkpointsDir, layout.metrics, layout.modelOnnx, layout.modelJson, layout.pidFile];
  return [...names.map((p) => '/' + escape(basename(p))), '/.corpus-tmp-*', `/${escape(basename(layout.corpusDir))}.old-*`];
}

/**
 * Spans and chunk starts for every document: tree-sitter where a grammar exists, the structural
 * fallback elsewhere or when the grammar fails or overruns its deadline. Everything runs in the
 * worker pool, so that the main thread is free and a stuck parse can be killed.
 */
async function parseAll(docs: Doc[], pool: ParsePool, signal: AbortSignal | undefined): Promise<{ timeouts: number }> {
  await Promise.all(
      docs.map(async (d) => {
        const lang = languageFor(d.path);
        const grammarPath = lang ? resolveGrammar(lang) : undefined;
        let how: string;
        const fallback = async (why: string) => {
          const fb = await pool.parse({ language: d.language, grammarPath: '', text: d.text, chunks: [], blocks: [], calls: [] });
          if (fb.ok) {
            d.spans = fb.spans;
            d.chunkStarts = fb.chunkStarts;
            return why;
          }
          d.spans = [];
          d.chunkStarts = [0];
          return `none (${why}; fallback ${fb.reason})`;
        };
        if (lang && grammarPath) {
          const outcome = await pool.parse({
            language: lang.id,
            grammarPath,
            text: d.text,
            chunks: lang.chunks ?? [],
            blocks: lang.blocks ?? [],
            calls: lang.calls ?? [],
          });
          if (outcome.ok) {
            d.spans = outcome.spans;
            d.chunkStarts = outcome.chunkStarts;
            how = outcome.hasError ? 'tree-sitter (with syntax errors)' : 'tree-sitter';
          } else {
            how = await fallback(outcome.reason === 'timeout' ? 'fallback (parse timed out)' : `fallback (parse failed: ${outcome.error.slice(0, 80)})`);
          }
        } else {
          how = await fallback(lang?.grammar ? 'fallback (grammar not found)' : 'fallback');
        }
        signal?.throwIfAborted();
        d.entry.parser = how;
      }),
  );
  return { timeouts: pool.timeouts };
}

/** Replaces corpus/ with the finished folder; the old corpus is removed only once the new one is in place. */
async function swapIn(tmp: string, corpusDir: string): Promise<void> {
  const old = `${corpusDir}.old-${randomBytes(4).toString('hex')}`;
  let moved = false;
  try {
    await fsp.rename(corpusDir, old);
    moved = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    await fsp.rename(tmp, corpusDir);
  } catch (err) {
    if (moved) await fsp.rename(old, corpusDir).catch(() => undefined);
    throw err;
  }
  await syncDir(join(corpusDir, '..'));
  if (moved) await fsp.rm(old, { recursive: true, force: true });
}

/**
 * Removes `.corpus-tmp-PID-*` folders of indexers that are no longer running (SIGKILLed mid-write;
 * a live one's, e.g. a second index into the same run folder, is left alone) and `corpus.old-*`
 * folders that a killed swap left (the swap removes its own right after the rename).
 */
export async function removeDeadWritersTemps(runDir: string): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await fsp.readdir(runDir);
  } catch {
    return removed;
  }
  const writerPid = (name: string) => Number(/^\.corpus-tmp-(\d+)-[0-9a-f]+$/.exec(name)?.[1] ?? NaN);
  // another indexer mid-swap (this process's too: called before this run makes its own folder)
  // may still need its corpus.old-* to roll back: then leave those
  const othersWriting = names.some((n) => processAlive(writerPid(n)));
  for (const name of names) {
    const pid = writerPid(name);
    const stale = Number.isInteger(pid) ? !processAlive(pid) : !othersWriting && /^corpus\.old-[0-9a-f]+$/.test(name);
    if (!stale) continue;
    await fsp.rm(join(runDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

async function writeRunJson(
  path: string,
  root: string,
  options: IndexOptions,
  opts: ReturnType<typeof resolveOptions>,
  summary: IndexSummary,
  tokenizerSha: string,
  tokenizerVersion: string | undefined,
): Promise<void> {
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(await fsp.readFile(path, 'utf8'));
  } catch {
    /* first write */
  }
  const run = {
    ...previous,
    ...(options.runInfo ?? {}),
    format: 1,
    corpus: {
      created: new Date().toISOString(),
      source: root,
      corpus_sha256: summary.corpusSha256,
      tokenizer_sha256: tokenizerSha,
      files_kept: summary.filesKept,
      train_tokens: summary.trainTokens,
      val_tokens: summary.valTokens,
      eval_tasks: summary.evalTasks,
      vocab_size: summary.vocabSize,
      options: { ...opts },
      timings_s: Object.fromEntries(Object.entries(summary.timings).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
    },
    versions: {
      ...((previous.versions as Record<string, unknown>) ?? {}),
      repo_diffusion: packageJson.version,
      web_tree_sitter: packageJson.dependencies['web-tree-sitter'],
      node: process.version,
      corpus_format: CORPUS_FORMAT,
      grammar_manifest: grammarManifest.version,
      ...(tokenizerVersion ? { tokenizer: tokenizerVersion } : {}),
    },
  };
  await writeFileAtomic(path, JSON.stringify(run, null, 2) + '\n');
}

/** Up to `limit` characters of training text for the tokenizer: whole files, a seeded choice. */
function sampleForTokenizer(texts: string[], limit: number, seed: number): string[] {
  const total = texts.reduce((a, t) => a + t.length, 0);
  if (total <= limit) return texts;
  const order = texts.map((t, i) => ({ i, key: createHash('sha1').update(`${seed}:${i}`).digest('hex') }));
  order.sort((a, b) => (a.key < b.key ? -1 : 1));
  const out: string[] = [];
  let n = 0;
  for (const { i } of order) {
    if (n >= limit) break;
    out.push(texts[i]);
    n += texts[i].length;
  }
  return out;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const it of items) out[key(it)] = (out[key(it)] ?? 0) + 1;
  return sortKeys(out);
}

function sortKeys<V>(o: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
