// The Tokenizer: text or bytes -> ids and back, with a trained vocabulary. Text is encoded as its
// UTF-8 bytes, split by the code-aware pre-tokenizer, each piece merged by BPE (with a per-piece
// cache: code repeats its identifiers and indentation, so most pieces are cache hits). Special ids
// are never produced from text: `<|mask|>` written in a file is just eight bytes. Decoding never
// throws; special ids and unknown ids decode to nothing (the same rule as trainer/data.py's Decoder).
import { readFile } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { applyMerges, MergeTable } from './bpe';
import { partsFromJSON, partsToJSON, TokenizerFormatError, TokenizerParts } from './format';
import { pieceEnd } from './pretokenize';
import { BYTE_BASE, SPECIAL_IDS, SpecialIds } from './specials';

const BYTE0 = BYTE_BASE; // a local copy: an imported binding is a getter call in CommonJS output
const CACHE_LIMIT = 1 << 17; // pieces kept before the cache starts over (bounds memory on odd input)
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // keep a leading U+FEFF: exact round trip

export class Tokenizer {
  readonly vocabSize: number;
  readonly specialIds: Readonly<SpecialIds> = SPECIAL_IDS;
  private readonly tokenBytes: Uint8Array[];
  private readonly table: MergeTable;
  private readonly cache = new Map<string, number[]>();

  /** Use trainTokenizer, fromJSON or load; `parts` must already be valid. */
  constructor(private readonly parts: TokenizerParts) {
    this.tokenBytes = parts.tokenBytes;
    this.vocabSize = parts.tokenBytes.length;
    this.table = new MergeTable(parts.merges, this.vocabSize);
  }

  /**
   * A tokenizer from tokenizer.json content (the parsed object, or its text). Throws a
   * TokenizerFormatError, whose message starts "Invalid tokenizer.json:", for anything malformed.
   */
  static fromJSON(json: unknown): Tokenizer {
    if (typeof json === 'string') {
      try {
        json = JSON.parse(json);
      } catch (err) {
        throw new TokenizerFormatError(`not valid JSON (${(err as Error).message})`);
      }
    }
    return new Tokenizer(partsFromJSON(json));
  }

  /** Reads and checks a tokenizer.json file; the error names the file. */
  static async load(path: string): Promise<Tokenizer> {
    const text = await readFile(path, 'utf8');
    try {
      return Tokenizer.fromJSON(text);
    } catch (err) {
      if (err instanceof TokenizerFormatError) err.message = `${err.message} (in ${path})`;
      throw err;
    }
  }

  /** The tokenizer.json content; JSON.stringify of it is byte-identical for identical tokenizers. */
  toJSON(): object {
    return partsToJSON(this.parts);
  }

  /** Number of merges (ranks); can exceed vocabSize - 262 when two merges make the same token. */
  get mergeCount(): number {
    return this.parts.merges.length;
  }

  /** Ids of `text`'s UTF-8 bytes (lone surrogates become U+FFFD, as in every UTF-8 encoder). */
  encode(text: string): number[] {
    const out: number[] = [];
    const n = text.length;
    for (let i = 0; i < n; ) {
      const j = pieceEnd(text, i);
      const c = text.charCodeAt(i);
      if (j === i + 1 && c < 0x80) {
        out.push(BYTE0 + c); // one byte: nothing to merge
      } else {
        const ids = this.encodePiece(text.slice(i, j));
        for (let k = 0; k < ids.length; k++) out.push(ids[k]);
      }
      i = j;
    }
    return out;
  }

  /** Ids of arbitrary bytes: valid UTF-8 runs as in encode, each invalid byte as its own byte token. */
  encodeBytes(bytes: Uint8Array): number[] {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (isUtf8(buf)) return this.encode(buf.toString('utf8'));
    const out: number[] = [];
    let start = 0; // start of the current valid run
    for (let i = 0; i < buf.length; ) {
      const len = validSequenceLength(buf, i);
      if (len > 0) {
        i += len;
        continue;
      }
      if (i > start) for (const id of this.encode(buf.toString('utf8', start, i))) out.push(id);
      out.push(BYTE0 + buf[i]);
      start = ++i;
    }
    if (buf.length > start) for (const id of this.encode(buf.toString('utf8', start))) out.push(id);
    return out;
  }

  /** The bytes of `ids`; special, unknown and non-integer ids contribute nothing. Never throws. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += this.bytesOf(ids[i]).length;
    const out = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.bytesOf(ids[i]);
      out.set(b, at);
      at += b.length;
    }
    return out;
  }

  /** The text of `ids`: decodeBytes read as UTF-8, invalid sequences as U+FFFD. Never throws. */
  decode(ids: ArrayLike<number>): string {
    return utf8Decoder.decode(this.decodeBytes(ids));
  }

  private bytesOf(id: number): Uint8Array {
    return (Number.isInteger(id) && this.tokenBytes[id]) || EMPTY;
  }

  private encodePiece(piece: string): number[] {
    let ids = this.cache.get(piece);
    if (ids === undefined) {
      const bytes = Buffer.from(piece, 'utf8');
      const syms = new Array<number>(bytes.length);
      for (let k = 0; k < bytes.length; k++) syms[k] = BYTE0 + bytes[k];
      ids = applyMerges(this.table, syms);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(piece, ids);
    }
    return ids;
  }
}

const EMPTY = new Uint8Array(0);

/** Length of the well-formed UTF-8 sequence at `i` (Unicode table 3-7), or 0 when it is not one. */
function validSequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
