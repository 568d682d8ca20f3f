// Turns documents into token ids and their character spans into token offsets, and writes the
// little-endian binary files of the corpus (docs/contracts.md "Corpus files"). Knows the tokenizer
// only through the small interface below (the shape of extension/tokenizer's Tokenizer).
import { endianness } from 'node:os';
import { TextSpan } from './types';

export interface CorpusTokenizer {
  readonly vocabSize: number;
  readonly specialIds: { pad: number; eos: number; mask: number; fimPrefix: number; fimSuffix: number; fimMiddle: number };
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  decodeBytes(ids: ArrayLike<number>): Uint8Array;
  toJSON(): object;
}

/** Byte length of every token id, for mapping byte offsets to token offsets. */
export function tokenByteLengths(tok: CorpusTokenizer): Int32Array {
  const lens = new Int32Array(tok.vocabSize);
  const one = [0];
  for (let id = 0; id < tok.vocabSize; id++) {
    one[0] = id;
    lens[id] = tok.decodeBytes(one).length;
  }
  return lens;
}

/** UTF-8 byte offsets of the given UTF-16 offsets (any order; out[i] matches points[i]). */
export function utf8Offsets(text: string, points: readonly number[]): number[] {
  const order = points.map((p, i) => i).sort((a, b) => points[a] - points[b]);
  const out = new Array<number>(points.length);
  let ci = 0;
  let bytes = 0;
  for (const k of order) {
    const target = points[k];
    for (; ci < target && ci < text.length; ci++) {
      const c = text.charCodeAt(ci);
      if (c < 0x80) bytes += 1;
      else if (c < 0x800) bytes += 2;
      else if (c >= 0xd800 && c <= 0xdbff && ci + 1 < text.length) {
        const d = text.charCodeAt(ci + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          bytes += 4;
          ci++;
        } else bytes += 3; // lone surrogate: encoded as U+FFFD
      } else bytes += 3;
    }
    out[k] = bytes;
  }
  return out;
}

export interface EncodedDocument {
  ids: number[];
  /** [startToken, endToken, kind], relative to the document's first token; end exclusive. */
  spans: [number, number, number][];
}

/**
 * Encodes a document and maps its spans to tokens: a span covers every token that overlaps it
 * (BPE tokens rarely cross a syntax boundary since the pre-tokenizer splits identifiers, spaces and
 * punctuation apart; where one does, the span grows to whole tokens).
 */
export function encodeDocument(tok: CorpusTokenizer, lens: Int32Array, text: string, spans: readonly TextSpan[]): EncodedDocument {
  const ids = tok.encode(text);
  if (!spans.length) return { ids, spans: [] };
  const starts = new Float64Array(ids.length + 1);
  for (let i = 0; i < ids.length; i++) starts[i + 1] = starts[i] + lens[ids[i]];
  const points: number[] = [];
  for (const [s, e] of spans) points.push(s, e);
  const bytes = utf8Offsets(text, points);
  const out: [number, number, number][] = [];
  for (let k = 0; k < spans.length; k++) {
    const sb = bytes[2 * k];
    const eb = bytes[2 * k + 1];
    // first token whose end is after sb  ==  last token starting at or before sb
    const st = upperBound(starts, sb, ids.length + 1) - 1;
    // first token starting at or after eb
    const en = lowerBound(starts, eb, ids.length + 1);
    if (st >= 0 && en > st && en <= ids.length) {
      const prev = out[out.length - 1];
      if (!prev || prev[0] !== st || prev[1] !== en || prev[2] !== spans[k][2]) out.push([st, en, spans[k][2]]);
    }
  }
  return { ids, spans: out };
}

function upperBound(a: Float64Array, x: number, n: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lowerBound(a: Float64Array, x: number, n: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A growable little-endian buffer of unsigned token ids. */
export class TokenSink {
  private buf: Uint32Array = new Uint32Array(1 << 16);
  length = 0;
  push(ids: ArrayLike<number>): void {
    if (this.length + ids.length > this.buf.length) {
      let cap = this.buf.length;
      while (cap < this.length + ids.length) cap *= 2;
      const next = new Uint32Array(cap);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    for (let i = 0; i < ids.length; i++) this.buf[this.length + i] = ids[i];
    this.length += ids.length;
  }
  pushOne(id: number): void {
    this.push([id]);
  }
  /** uint16 when every id fits (vocab <= 65536), uint32 otherwise; little-endian either way. */
  toBytes(dtype: 'uint16' | 'uint32'): Buffer {
    const src = this.buf.subarray(0, this.length);
    const arr = dtype === 'uint16' ? Uint16Array.from(src) : Uint32Array.from(src);
    const out = Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
    if (endianness() === 'BE') (dtype === 'uint16' ? out.swap16() : out.swap32());
    return out;
  }
}

export function int32LE(values: ArrayLike<number>): Buffer {
  const arr = Int32Array.from(values as ArrayLike<number>);
  const out = Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
  if (endianness() === 'BE') out.swap32();
  return out;
}
