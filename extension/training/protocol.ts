// The trainer's progress protocol (DESIGN.md "The progress protocol"): one JSON object a line on
// the trainer's stdout, the same lines appended to <run>/metrics.jsonl.
// This module types the events and turns a byte/text stream into events. It knows nothing of
// processes, files or editors: the launcher feeds it stdout chunks, runState feeds it file text.
//
// Tolerance rules (a consumer ignores what it does not know):
//  - an object with an unknown `type` becomes { type: 'unknown', originalType, raw } and is kept,
//  - unknown fields stay on the event untouched,
//  - a line that is not a JSON object (a stray print, a torn write) is reported through
//    `onGarbage` and skipped, never fatal,
//  - a partial line is held until its newline arrives (or until `end()`).

export interface EventBase {
  type: string;
  /** Unix seconds. Always present on events from a conforming trainer; 0 when it was missing. */
  time: number;
  [extra: string]: unknown;
}

export interface StartEvent extends EventBase {
  type: 'start';
  run_id?: string;
  device?: string;
  objective?: string;
  preset?: string;
  params?: number;
  tokens_per_epoch?: number;
  planned_steps?: number;
  planned_epochs?: number;
  planned_minutes?: number;
}

export interface StepEvent extends EventBase {
  type: 'step';
  step: number;
  epoch: number;
  loss: number;
  lr?: number;
  tokens_per_s?: number;
  eta_s?: number;
}

export interface InfillSample {
  prefix_tail: string;
  expected: string;
  got: string;
  kind?: string;
  [extra: string]: unknown;
}

export interface EvalEvent extends EventBase {
  type: 'eval';
  step: number;
  epoch: number;
  val_loss?: number;
  infill_exact?: number;
  infill_edit_sim?: number;
  /** per task, in the order of the run's eval subset (the trainer compares evaluations pairwise) */
  infill_edit_sims?: number[];
  by_kind?: Record<string, { infill_exact?: number; infill_edit_sim?: number; n?: number; [k: string]: unknown }>;
  samples?: InfillSample[];
}

export interface CheckpointEvent extends EventBase {
  type: 'checkpoint';
  step: number;
  path: string;
  best: boolean;
  /** Optional: why this checkpoint is the best so far (e.g. "infill_exact 0.41 > 0.38"). */
  reason?: string;
  infill_exact?: number;
}

export interface ExportEvent extends EventBase {
  type: 'export';
  path: string;
}

export type DoneReason = 'budget' | 'epochs' | 'cancelled' | string;

export interface DoneEvent extends EventBase {
  type: 'done';
  reason: DoneReason;
  best_step?: number;
}

export interface ErrorEvent extends EventBase {
  type: 'error';
  message: string;
  hint?: string;
}

/** An object with a type this version does not know; kept so that nothing is lost on replay. */
export interface UnknownEvent extends EventBase {
  type: 'unknown';
  originalType: string;
}

export type KnownEvent = StartEvent | StepEvent | EvalEvent | CheckpointEvent | ExportEvent | DoneEvent | ErrorEvent;
export type TrainerEvent = KnownEvent | UnknownEvent;

export interface GarbageLine {
  /** 1-based line number in the stream. */
  line: number;
  text: string;
  reason: string;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/**
 * Checks the fields an event type needs, returning why it is malformed or undefined when fine.
 * Only the fields a consumer relies on are checked; anything else is optional.
 */
function problem(obj: Record<string, unknown>): string | undefined {
  switch (obj.type) {
    case 'step':
      if (!isNum(obj.step) || !isNum(obj.epoch) || !isNum(obj.loss)) return 'step event needs numeric step, epoch and loss';
      return undefined;
    case 'eval':
      if (!isNum(obj.step) || !isNum(obj.epoch)) return 'eval event needs numeric step and epoch';
      return undefined;
    case 'checkpoint':
      if (!isNum(obj.step) || !isStr(obj.path)) return 'checkpoint event needs step and path';
      return undefined;
    case 'export':
      if (!isStr(obj.path)) return 'export event needs path';
      return undefined;
    case 'done':
      if (!isStr(obj.reason)) return 'done event needs reason';
      return undefined;
    case 'error':
      if (!isStr(obj.message)) return 'error event needs message';
      return undefined;
    default:
      return undefined;
  }
}

const KNOWN = new Set(['start', 'step', 'eval', 'checkpoint', 'export', 'done', 'error']);

/** Parses one line (without its newline). Returns an event, or a reason string for garbage. */
export function parseEventLine(line: string): TrainerEvent | { garbage: string } | undefined {
  const text = line.trim();
  if (text === '') return undefined; // blank lines are neither events nor garbage
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { garbage: `not JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { garbage: 'not a JSON object' };
  const obj = value as Record<string, unknown>;
  if (!isStr(obj.type)) return { garbage: 'object has no string "type"' };
  const time = isNum(obj.time) ? obj.time : 0;
  if (!KNOWN.has(obj.type)) {
    return { ...obj, type: 'unknown', originalType: obj.type, time } as UnknownEvent;
  }
  const why = problem(obj);
  if (why) return { garbage: why };
  const event = { ...obj, time } as KnownEvent;
  if (event.type === 'checkpoint') event.best = obj.best === true;
  return event;
}

export interface LineParserHandlers {
  onEvent(event: TrainerEvent): void;
  onGarbage?(garbage: GarbageLine): void;
}

/**
 * Turns chunks of text (or bytes) into events. Chunks may split lines, and may split a multi-byte
 * UTF-8 character when given as bytes: a TextDecoder in streaming mode keeps the tail.
 */
export class LineParser {
  private buffer = '';
  private lineNo = 0;
  private readonly decoder = new TextDecoder('utf-8');
  /** Lines longer than this are garbage (a runaway print without newline must not eat memory). */
  static readonly MAX_LINE = 8 * 1024 * 1024;

  constructor(private readonly handlers: LineParserHandlers) {}

  /** Feeds a chunk. Complete lines are parsed now; the rest waits for its newline. */
  push(chunk: string | Uint8Array): void {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.handle(line);
    }
    if (this.buffer.length > LineParser.MAX_LINE) {
      this.lineNo++;
      this.handlers.onGarbage?.({ line: this.lineNo, text: this.buffer.slice(0, 200), reason: 'line too long' });
      this.buffer = '';
    }
  }

  /**
   * The stream ended: a last line without newline is parsed if it is a whole event, and reported as
   * garbage (a torn write) otherwise. Returns whether such a torn tail was found.
   */
  end(): boolean {
    this.buffer += this.decoder.decode();
    const rest = this.buffer;
    this.buffer = '';
    if (rest.trim() === '') return false;
    return !this.handle(rest);
  }

  /** Text still waiting for its newline. */
  get pending(): string {
    return this.buffer;
  }

  private handle(line: string): boolean {
    this.lineNo++;
    const parsed = parseEventLine(line);
    if (parsed === undefined) return true;
    if ('garbage' in parsed && typeof parsed.garbage === 'string' && !('type' in parsed)) {
      this.handlers.onGarbage?.({ line: this.lineNo, text: line.length > 500 ? line.slice(0, 500) + '…' : line, reason: parsed.garbage });
      return false;
    }
    this.handlers.onEvent(parsed as TrainerEvent);
    return true;
  }
}

/** Parses a whole text (e.g. a metrics.jsonl file) into events, collecting garbage lines. */
export function parseEvents(text: string): { events: TrainerEvent[]; garbage: GarbageLine[]; tornTail: boolean } {
  const events: TrainerEvent[] = [];
  const garbage: GarbageLine[] = [];
  const parser = new LineParser({ onEvent: (e) => events.push(e), onGarbage: (g) => garbage.push(g) });
  parser.push(text);
  const tornTail = parser.end();
  return { events, garbage, tornTail };
}
