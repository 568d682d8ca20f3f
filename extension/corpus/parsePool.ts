// A small pool of parse workers with a deadline per file. A worker that overruns its deadline (a
// grammar stuck in a loop, or a pathological input) is terminated and replaced, the file is
// reported as timed out (the caller falls back), and the other files queued on that worker go back
// to the queue. Each worker holds a few files at once (up to a byte budget), so that it keeps
// working while the main thread is busy and cannot hand out the next file. Knows the worker
// protocol (parseWorker.ts), nothing of what the spans are for.
import { Worker } from 'node:worker_threads';
import type { ParseReply, ParseRequest, ParseWorkerData } from './parseWorker';
import { resolveParseWorker, resolveTreeSitterWasm, WorkerEntry } from './languages';
import { TextSpan } from './types';

export type ParseOutcome =
  | { ok: true; spans: TextSpan[]; chunkStarts: number[]; hasError: boolean; nodes: number; unknownTypes: string[]; ids?: Uint32Array }
  | { ok: false; reason: 'timeout' | 'error'; error: string };

export interface ParsePoolOptions {
  size: number;
  /** Deadline of one parse, from the moment its grammar is loaded and the parse starts (ms). */
  timeoutMs: number;
  /** Deadline for starting a worker or loading a grammar (ms; default max(30 s, timeoutMs)). */
  loadTimeoutMs?: number;
  /** Override of the worker entry (tests start a worker that hangs). */
  worker?: WorkerEntry;
  /**
   * A worker is retired after loading this many grammars (default 16), and jobs go to a worker
   * that already has their grammar: each grammar costs wasm memory that is never given back.
   */
  maxGrammarsPerWorker?: number;
  /** Characters of text queued on one worker at most (default 2 Mi; one file always fits). */
  maxQueuedChars?: number;
  /** Compile grammars with V8's Liftoff only (default true; parseWorker.ts says why). */
  liftoffOnly?: boolean;
}

interface Job {
  req: Omit<ParseRequest, 'id'>;
  resolve(o: ParseOutcome): void;
}

interface InFlight extends Job {
  id: number;
}

interface Slot {
  worker: Worker;
  languages: Set<string>;
  /** Jobs posted to this worker, in the order it runs them. */
  inflight: InFlight[];
  queuedChars: number;
  timer?: NodeJS.Timeout;
  /** Which tokenizer this worker holds (see setTokenizer). */
  tokenizerKey: number;
}

export class ParsePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private readonly entry: WorkerEntry;
  private readonly wasm: string;
  /** Workers terminated for overrunning a deadline. */
  timeouts = 0;
  private tokenizerJson = '';
  private tokenizerKey = 0;

  constructor(private readonly options: ParsePoolOptions) {
    this.entry = options.worker ?? resolveParseWorker();
    const wasm = resolveTreeSitterWasm();
    if (!wasm) throw new Error('web-tree-sitter.wasm not found (run npm run build, or npm install)');
    this.wasm = wasm;
  }

  /** Starts the workers now (they take a moment to boot), instead of at the first parse. */
  warm(): void {
    while (!this.closed && this.slots.length < this.options.size) this.spawn();
  }

  parse(req: Omit<ParseRequest, 'id'>): Promise<ParseOutcome> {
    if (this.closed) return Promise.resolve({ ok: false, reason: 'error', error: 'pool closed' });
    return new Promise((resolve) => {
      this.queue.push({ req, resolve });
      this.pump();
    });
  }

  /** The tokenizer that later encode() calls use; each worker is sent it once. */
  setTokenizer(json: string): void {
    this.tokenizerJson = json;
    this.tokenizerKey++;
  }

  /** Encodes a text and maps its character spans to token offsets in a worker (see encode.ts). */
  encode(text: string, spans: readonly TextSpan[]): Promise<ParseOutcome> {
    const flat = new Int32Array(spans.length * 3);
    spans.forEach((sp, k) => flat.set(sp, k * 3));
    return this.parse({ language: '', grammarPath: '', text, chunks: [], blocks: [], calls: [], encode: { spans: flat } });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve({ ok: false, reason: 'error', error: 'pool closed' });
    await Promise.all(
      this.slots.splice(0).map((slot) => {
        clearTimeout(slot.timer);
        for (const job of slot.inflight.splice(0)) job.resolve({ ok: false, reason: 'error', error: 'pool closed' });
        return slot.worker.terminate();
      }),
    );
  }

  private get loadTimeout(): number {
    return this.options.loadTimeoutMs ?? Math.max(30_000, this.options.timeoutMs);
  }

  private pump(): void {
    const maxGrammars = this.options.maxGrammarsPerWorker ?? 16;
    const maxChars = this.options.maxQueuedChars ?? 2 * 1024 * 1024;
    while (!this.closed && this.queue.length) {
      const job = this.queue[0];
      // A fallback job (no grammar) runs anywhere; a grammar job prefers a worker that has it.
      const lang = job.req.grammarPath ? job.req.language : undefined;
      const open = this.slots.filter((s) => s.inflight.length === 0 || s.queuedChars + job.req.text.length <= maxChars);
      open.sort((a, b) => a.queuedChars - b.queuedChars);
      let slot =
        lang === undefined ? open[0] : open.find((s) => s.languages.has(lang)) ?? open.find((s) => s.languages.size < maxGrammars);
      if (!slot && this.slots.length < this.options.size) slot = this.spawn();
      if (!slot) {
        // Every worker with room is full of other grammars: retire an idle one.
        const idle = open.find((s) => s.inflight.length === 0);
        if (!idle) return;
        this.remove(idle);
        void idle.worker.terminate();
        slot = this.spawn();
      }
      this.queue.shift();
      const id = this.nextId++;
      if (lang !== undefined) slot.languages.add(lang);
      slot.inflight.push({ ...job, id });
      slot.queuedChars += job.req.text.length;
      if (slot.inflight.length === 1) this.arm(slot, this.loadTimeout);
      let req: ParseRequest = { ...job.req, id };
      if (req.encode && slot.tokenizerKey !== this.tokenizerKey) {
        req = { ...req, encode: { ...req.encode, tokenizerJson: this.tokenizerJson } };
        slot.tokenizerKey = this.tokenizerKey;
      }
      slot.worker.postMessage(req);
    }
  }

  private arm(slot: Slot, ms: number): void {
    clearTimeout(slot.timer);
    slot.timer = setTimeout(() => this.kill(slot, ms), ms);
  }

  private spawn(): Slot {
    const data: ParseWorkerData = { treeSitterWasm: this.wasm, liftoffOnly: this.options.liftoffOnly ?? true };
    const worker = new Worker(this.entry.file, { execArgv: this.entry.execArgv, workerData: data });
    const slot: Slot = { worker, languages: new Set(), inflight: [], queuedChars: 0, tokenizerKey: 0 };
    worker.on('message', (reply: ParseReply) => {
      const head = slot.inflight[0];
      if (!head || head.id !== reply.id) return;
      if (reply.type === 'started') {
        this.arm(slot, this.options.timeoutMs);
        return;
      }
      slot.inflight.shift();
      slot.queuedChars -= head.req.text.length;
      if (slot.inflight.length) this.arm(slot, this.loadTimeout);
      else clearTimeout(slot.timer);
      if (reply.type === 'done') {
        const spans: TextSpan[] = [];
        for (let k = 0; k + 2 < reply.spans.length; k += 3) spans.push([reply.spans[k], reply.spans[k + 1], reply.spans[k + 2]]);
        head.resolve({ ok: true, spans, chunkStarts: reply.chunkStarts, hasError: reply.hasError, nodes: reply.nodes, unknownTypes: reply.unknownTypes, ids: reply.ids });
      } else {
        head.resolve({ ok: false, reason: 'error', error: reply.error });
      }
      this.pump();
    });
    const onDeath = (why: string) => {
      if (!this.remove(slot)) return; // already removed (terminated on purpose)
      this.failHead(slot, { ok: false, reason: 'error', error: why });
    };
    worker.on('error', (err) => onDeath(`worker error: ${err.message}`));
    worker.on('exit', (code) => onDeath(`worker exited with code ${code}`));
    // The pool must not keep the process alive on its own.
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private remove(slot: Slot): boolean {
    const i = this.slots.indexOf(slot);
    if (i < 0) return false;
    this.slots.splice(i, 1);
    clearTimeout(slot.timer);
    return true;
  }

  /** The running job gets the outcome; the files queued behind it go back to the pool's queue. */
  private failHead(slot: Slot, outcome: ParseOutcome): void {
    const [head, ...rest] = slot.inflight.splice(0);
    slot.queuedChars = 0;
    this.queue.unshift(...rest.map(({ req, resolve }) => ({ req, resolve })));
    head?.resolve(outcome);
    this.pump();
  }

  private kill(slot: Slot, ms: number): void {
    if (!this.remove(slot)) return;
    this.timeouts++;
    void slot.worker.terminate();
    this.failHead(slot, { ok: false, reason: 'timeout', error: `no result within ${ms} ms` });
  }
}
