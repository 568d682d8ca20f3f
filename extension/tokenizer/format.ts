// tokenizer.json, in Hugging Face's layout (docs/contracts.md): writing it from a vocabulary and merge
// list, and reading it back with every check a corrupt or foreign file could fail, each with a
// message that says what is wrong. Knows nothing of encoding: only the file's shape.
import { bytesToTokenString, BYTE_TO_CHAR, tokenStringToBytes } from './byteUnicode';
import { Merge } from './bpe';
import { PRE_TOKENIZE_PATTERN } from './pretokenize';
import { BYTE_BASE, FIRST_MERGE_ID, SPECIAL_TOKENS } from './specials';

/** What a tokenizer is made of: the bytes of every non-special id, and the merges in rank order. */
export interface TokenizerParts {
  /** tokenBytes[id] for id >= BYTE_BASE; entries below BYTE_BASE (the specials) are empty. */
  tokenBytes: Uint8Array[];
  merges: Merge[];
}

/** Thrown by Tokenizer.fromJSON / load for a file that is not a tokenizer this code can use. */
export class TokenizerFormatError extends Error {
  constructor(problem: string) {
    super(`Invalid tokenizer.json: ${problem}`);
    this.name = 'TokenizerFormatError';
  }
}

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

export function partsToJSON(parts: TokenizerParts): object {
  // A null-prototype object, so that a token such as `__proto__` is an ordinary key.
  const vocab: Record<string, number> = Object.create(null);
  const strings: string[] = [];
  SPECIAL_TOKENS.forEach((t, id) => {
    vocab[t] = id;
    strings.push(t);
  });
  for (let id = BYTE_BASE; id < parts.tokenBytes.length; id++) {
    const s = bytesToTokenString(parts.tokenBytes[id]);
    vocab[s] = id;
    strings.push(s);
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: PRE_TOKENIZE_PATTERN }, behavior: 'Isolated', invert: false },
        BYTE_LEVEL,
      ],
    },
    post_processor: null,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: parts.merges.map((m) => `${strings[m.a]} ${strings[m.b]}`),
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(problem: string): never {
  throw new TokenizerFormatError(problem);
}

function quote(s: string): string {
  const j = JSON.stringify(s);
  return j.length > 60 ? `${j.slice(0, 57)}..."` : j;
}

/** Checks a parsed tokenizer.json and returns its parts; throws TokenizerFormatError. */
export function partsFromJSON(json: unknown): TokenizerParts {
  if (!isObject(json)) fail(`expected a JSON object, got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}`);
  const model = json.model;
  if (!isObject(model)) fail('"model" is missing or not an object');
  if (model.type !== 'BPE') fail(`model.type is ${quote(String(model.type))}, expected "BPE"`);
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (model[key] !== undefined && model[key] !== null && model[key] !== '') fail(`model.${key} is set; only plain byte-level BPE is supported`);
  }
  if (model.byte_fallback === true) fail('model.byte_fallback is true; only plain byte-level BPE is supported');
  if (json.normalizer !== undefined && json.normalizer !== null) fail('"normalizer" is set; this tokenizer never normalizes text');
  checkPreTokenizer(json.pre_tokenizer);
  const decoder = json.decoder;
  if (!isObject(decoder) || decoder.type !== 'ByteLevel') fail('"decoder" must be {"type": "ByteLevel"}');

  // Special tokens: added_tokens must hold exactly the six, at ids 0..5.
  const added = json.added_tokens;
  if (!Array.isArray(added)) fail('"added_tokens" is missing or not an array');
  const seenSpecial = new Set<number>();
  for (const t of added) {
    if (!isObject(t) || !Number.isInteger(t.id) || typeof t.content !== 'string') fail('an entry of added_tokens lacks an integer "id" or a string "content"');
    const id = t.id as number;
    if (SPECIAL_TOKENS[id] !== t.content) fail(`added token ${quote(t.content as string)} has id ${id}; the special tokens must be ${SPECIAL_TOKENS.join(' ')} at ids 0..5`);
    seenSpecial.add(id);
  }
  if (seenSpecial.size !== SPECIAL_TOKENS.length) fail(`added_tokens must hold all six special tokens (${SPECIAL_TOKENS.join(' ')}), found ${seenSpecial.size}`);

  // The vocabulary: ids contiguous from 0, bytes at 6..261, merged tokens after.
  const vocab = model.vocab;
  if (!isObject(vocab)) fail('model.vocab is missing or not an object');
  const entries = Object.entries(vocab);
  let size = SPECIAL_TOKENS.length;
  for (const [, id] of entries) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) fail(`model.vocab holds a value that is not a non-negative integer id: ${quote(String(id))}`);
    size = Math.max(size, id + 1);
  }
  if (size > 1 << 24) fail(`model.vocab has an id of ${size - 1}, more than this tokenizer supports`);
  const strings = new Array<string | undefined>(size);
  SPECIAL_TOKENS.forEach((t, id) => (strings[id] = t));
  const tokenBytes = new Array<Uint8Array>(size);
  for (let id = 0; id < BYTE_BASE; id++) tokenBytes[id] = new Uint8Array(0);
  for (const [token, id] of entries as [string, number][]) {
    if (id < BYTE_BASE) {
      if (token !== SPECIAL_TOKENS[id]) fail(`model.vocab gives id ${id} to ${quote(token)}, but id ${id} is ${SPECIAL_TOKENS[id]}`);
      continue;
    }
    if (strings[id] !== undefined) fail(`model.vocab gives id ${id} to both ${quote(strings[id]!)} and ${quote(token)}`);
    const bytes = tokenStringToBytes(token);
    if (!bytes || bytes.length === 0) fail(`model.vocab token ${quote(token)} (id ${id}) is not a byte-level string (GPT-2 byte-to-unicode alphabet)`);
    if (id < FIRST_MERGE_ID ? token !== BYTE_TO_CHAR[id - BYTE_BASE] : bytes.length < 2) {
      fail(`model.vocab token ${quote(token)} has id ${id}; ids ${BYTE_BASE}..${FIRST_MERGE_ID - 1} must be the 256 single bytes in byte order, merged tokens after them`);
    }
    strings[id] = token;
    tokenBytes[id] = bytes;
  }
  for (let id = 0; id < size; id++) if (strings[id] === undefined) fail(`model.vocab has no token with id ${id} (ids must run from 0 to ${size - 1} without gaps)`);
  if (size < FIRST_MERGE_ID) fail(`model.vocab has ${size} ids; it needs at least the 6 special and 256 byte tokens`);

  // Merges: "a b" strings (or [a, b] pairs, Hugging Face's newer form) whose parts and result exist.
  const idOf = new Map<string, number>();
  strings.forEach((s, id) => id >= BYTE_BASE && idOf.set(s!, id));
  const rawMerges = model.merges;
  if (!Array.isArray(rawMerges)) fail('model.merges is missing or not an array');
  const merges: Merge[] = rawMerges.map((m, rank) => {
    let pair: unknown[];
    if (typeof m === 'string') pair = m.split(' ');
    else if (Array.isArray(m)) pair = m;
    else fail(`model.merges[${rank}] is neither an "a b" string nor a pair`);
    if (pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') fail(`model.merges[${rank}] = ${quote(JSON.stringify(m))} is not two tokens`);
    const [left, right] = pair as [string, string];
    const a = idOf.get(left);
    const b = idOf.get(right);
    const to = idOf.get(left + right);
    if (a === undefined || b === undefined) fail(`model.merges[${rank}] = ${quote(left + ' ' + right)} names a token that is not in model.vocab`);
    if (to === undefined) fail(`model.merges[${rank}] = ${quote(left + ' ' + right)} makes ${quote(left + right)}, which is not in model.vocab`);
    return { a, b, to };
  });
  return { tokenBytes, merges };
}

function checkPreTokenizer(pre: unknown): void {
  const wanted = `pre_tokenizer must split on this tokenizer's code pattern (a Sequence of Split {"Regex": ${quote(PRE_TOKENIZE_PATTERN)}} and ByteLevel)`;
  if (!isObject(pre) || pre.type !== 'Sequence' || !Array.isArray(pre.pretokenizers)) fail(wanted);
  const steps = pre.pretokenizers as unknown[];
  const split = steps[0];
  const byteLevel = steps[1];
  if (steps.length !== 2 || !isObject(split) || split.type !== 'Split' || !isObject(split.pattern) || split.pattern.Regex !== PRE_TOKENIZE_PATTERN) fail(wanted);
  if (!isObject(byteLevel) || byteLevel.type !== 'ByteLevel' || byteLevel.add_prefix_space === true || byteLevel.use_regex === true) fail(wanted);
}
